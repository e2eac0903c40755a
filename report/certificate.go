package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/record"
)

// Level is a sanitization level in the terms of NIST SP 800-88.
type Level string

// Sanitization levels. A certificate never claims more than was done and
// checked.
const (
	// Clear: every user-addressable block was overwritten and the last
	// pass was read back from the media and matched.
	Clear Level = "Clear"
	// Purge needs the drive's own sanitize or secure-erase command, run
	// and verified. No erase mode of the appliance earns it today.
	Purge Level = "Purge"
	// NotSanitized: the erase is no sanitization, was not verified, or
	// did not complete.
	NotSanitized Level = "none"
)

// Standard names the guideline the levels come from.
const Standard = "NIST SP 800-88"

// method is what an erase mode does, as a certificate says it.
type method struct {
	passes      []string // the overwrite passes, in order; none for a mode that does not overwrite
	description string
	notSanitize string // why the mode is no sanitization at all; "" for an overwrite
}

// methods describes every erase mode by its name in the record.
var methods = map[string]method{
	engine.EraseQuick.String(): {description: "quick erase: zeroes the partition tables and file-system signatures " +
		"(the first and last 4 MiB of the drive and the first 1 MiB of every partition)",
		notSanitize: "a quick erase removes the partition tables and file-system signatures only; the data stays on the drive"},
	engine.EraseZeros.String():  {passes: []string{"zeros"}, description: "overwrite of every block with zeros (1 pass)"},
	engine.EraseRandom.String(): {passes: []string{"random"}, description: "overwrite of every block with random data (1 pass)"},
	engine.EraseDoD.String(): {passes: []string{"zeros", "ones", "random"},
		description: "overwrite of every block after DoD 5220.22-M: zeros, ones, then random data (3 passes)"},
	engine.EraseDiscard.String(): {description: "discard (TRIM) of the whole drive",
		notSanitize: "a discard tells the drive its blocks are unused; whether and when it erases them is up to the drive, and nothing was read back"},
	engine.EraseSecureDiscard.String(): {description: "secure discard of the whole drive",
		notSanitize: "a secure discard asks the drive to erase its blocks; the appliance cannot read back what it did, so it is not certified"},
}

// Certificate is one drive's erase certificate.
type Certificate struct {
	Title  string    `json:"title"`
	Issued time.Time `json:"issued"`

	Drive struct {
		Port   int    `json:"port"`
		Label  string `json:"label"`
		Model  string `json:"model"`
		Serial string `json:"serial"`
		CID    string `json:"cid,omitempty"`
		Size   int64  `json:"size"`
	} `json:"drive"`

	Method struct {
		Mode        string   `json:"mode"`
		Description string   `json:"description"`
		Passes      []string `json:"passes"`
	} `json:"method"`

	Verify struct {
		Ran    bool   `json:"ran"`
		Bytes  int64  `json:"bytes"`
		Result string `json:"result"`
	} `json:"verify"`

	Result   string    `json:"result"` // the erase's: PASS, FAIL or ABORTED
	Reason   string    `json:"reason,omitempty"`
	Written  int64     `json:"written"`
	Started  time.Time `json:"started,omitzero"`
	Finished time.Time `json:"finished"`

	Sanitization struct {
		Standard  string `json:"standard"`
		Level     Level  `json:"level"`
		Statement string `json:"statement"`
	} `json:"sanitization"`

	Lot         string `json:"lot,omitempty"`
	Job         string `json:"job"`
	ApplianceID string `json:"appliance_id"`
	Firmware    string `json:"firmware"`
	Record      struct {
		Seq int64  `json:"seq"`
		Sum string `json:"sum"`
	} `json:"record"`
}

// ErrNotErase is returned (wrapped) for a record entry that is no erase.
var ErrNotErase = errors.New("not an erase")

// CertificateFor makes the certificate of one erase entry of the record.
// It names the method honestly: an overwrite whose last pass was read
// back over the whole drive is Clear; the same without a full read-back
// is not certified; quick erase and discards are no sanitization; an
// erase that did not pass sanitized nothing.
func CertificateFor(e record.Entry, m Meta) (Certificate, error) {
	var c Certificate
	if e.Mode != engine.Erase.String() {
		return c, fmt.Errorf("record entry %d (port %d): %w (mode %q)", e.Seq, e.Port, ErrNotErase, e.Mode)
	}
	mode, _ := strings.CutPrefix(e.Area, "erase ")
	how, ok := methods[mode]
	if !ok {
		return c, fmt.Errorf("record entry %d (port %d): unknown erase mode %q", e.Seq, e.Port, e.Area)
	}
	c.Title = "Erase certificate"
	c.Issued = m.Generated.UTC()
	c.Drive.Port, c.Drive.Label, c.Drive.Model, c.Drive.Serial, c.Drive.CID, c.Drive.Size =
		e.Port, e.Label, e.TargetModel, e.TargetSerial, e.TargetCID, e.TargetSize
	c.Method.Mode, c.Method.Description, c.Method.Passes = mode, how.description, how.passes
	if c.Method.Passes == nil {
		c.Method.Passes = []string{}
	}
	c.Verify.Ran, c.Verify.Bytes = e.Verified > 0, e.Verified
	c.Result, c.Reason, c.Written = e.Result, e.Reason, e.Written
	if !e.Started.IsZero() {
		c.Started = e.Started.UTC()
	}
	c.Finished = e.Time.UTC()
	c.Lot, c.Job, c.ApplianceID, c.Firmware = e.Lot, e.Job, m.ApplianceID, m.Firmware
	c.Record.Seq, c.Record.Sum = e.Seq, e.Sum
	c.Sanitization.Standard = Standard
	c.Sanitization.Level, c.Sanitization.Statement = judge(e, how)
	switch {
	case !c.Verify.Ran:
		c.Verify.Result = "not run"
	case e.Result == "PASS":
		c.Verify.Result = "matched"
	default:
		c.Verify.Result = "did not complete"
	}
	return c, nil
}

// judge decides the level an erase reached and says why.
func judge(e record.Entry, how method) (Level, string) {
	passes := len(how.passes)
	switch {
	case e.Result != "PASS":
		why := e.Reason
		if why == "" {
			why = "no reason recorded"
		}
		return NotSanitized, fmt.Sprintf("Not sanitized: the erase ended %s (%s).", e.Result, why)
	case how.notSanitize != "":
		return NotSanitized, "Not a sanitization: " + how.notSanitize + "."
	case e.TargetSize <= 0:
		return NotSanitized, "Not certified: the drive's size was not recorded, so the overwrite cannot be shown to cover it."
	case e.Written < int64(passes)*e.TargetSize:
		return NotSanitized, fmt.Sprintf("Not certified: %d bytes were written, less than %d passes over the drive's %d bytes.",
			e.Written, passes, e.TargetSize)
	case e.Verified == 0:
		return NotSanitized, fmt.Sprintf("Not certified as Clear: every user-addressable block was overwritten (%s), "+
			"but nothing was read back from the media (no verify pass).", passesText(how.passes))
	case e.Verified < e.TargetSize:
		return NotSanitized, fmt.Sprintf("Not certified as Clear: the verify pass read back %d of the drive's %d bytes.",
			e.Verified, e.TargetSize)
	}
	return Clear, fmt.Sprintf("Clear (%s): every user-addressable block was overwritten (%s) and the last pass was read back "+
		"from the media and matched. Clear does not reach blocks the drive has retired or keeps in reserve "+
		"(remapped sectors, spare flash).", Standard, passesText(how.passes))
}

func passesText(passes []string) string {
	if len(passes) == 1 {
		return "1 pass: " + passes[0]
	}
	return strconv.Itoa(len(passes)) + " passes: " + strings.Join(passes, ", ")
}

// Certificates makes the certificates of a lot's erased drives, in
// record order. A lot without erases is an error.
func Certificates(entries []record.Entry, lot string, m Meta) ([]Certificate, error) {
	sel, err := LotEntries(entries, lot)
	if err != nil {
		return nil, err
	}
	var out []Certificate
	for _, e := range sel {
		if e.Mode != engine.Erase.String() {
			continue
		}
		c, err := CertificateFor(e, m)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("lot %q: %w: no drive of it was erased", lot, ErrNoEntries)
	}
	return out, nil
}

// WriteCertificatesJSON writes certificates as one JSON array.
func WriteCertificatesJSON(w io.Writer, certs []Certificate) error {
	if certs == nil {
		certs = []Certificate{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(certs)
}

// WriteCertificateJSON writes one certificate as a JSON object.
func WriteCertificateJSON(w io.Writer, c Certificate) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(c)
}

// WriteCertificatesPDF writes certificates as one PDF, a page a drive.
func WriteCertificatesPDF(w io.Writer, certs []Certificate, m Meta) error {
	if len(certs) == 0 {
		return errors.New("no certificates to write")
	}
	title := "Erase certificate"
	if len(certs) > 1 {
		title = fmt.Sprintf("Erase certificates (%d drives)", len(certs))
	}
	d := newDoc(title, m, fmt.Sprintf("Clonebay erase certificate. Appliance %s, firmware %s, issued %s.",
		m.ApplianceID, m.Firmware, stamp(m.Generated)))
	p := d.pdf
	for _, c := range certs {
		p.AddPage()
		d.font("B", 18)
		p.CellFormat(d.width, 10, "Erase certificate", "", 1, "L", false, 0, "")
		p.Ln(2)
		d.font("B", 13)
		if c.Sanitization.Level == Clear {
			p.SetTextColor(0, 100, 0)
			p.CellFormat(d.width, 8, d.text(Standard+": "+string(Clear)), "", 1, "L", false, 0, "")
		} else {
			p.SetTextColor(160, 0, 0)
			p.CellFormat(d.width, 8, d.text(Standard+": not sanitized"), "", 1, "L", false, 0, "")
		}
		p.SetTextColor(0, 0, 0)
		d.para("", 9, c.Sanitization.Statement)

		d.heading("Drive")
		d.field("Model", c.Drive.Model)
		d.field("Serial", orNone(c.Drive.Serial))
		if c.Drive.CID != "" {
			d.mono("Card ID (CID)", c.Drive.CID)
		}
		d.field("Size", fmt.Sprintf("%s (%d bytes)", engine.FormatSize(c.Drive.Size), c.Drive.Size))
		d.field("Port", fmt.Sprintf("%d %s", c.Drive.Port, c.Drive.Label))

		d.heading("Method")
		d.field("Mode", c.Method.Mode)
		d.field("Description", c.Method.Description)
		if len(c.Method.Passes) > 0 {
			d.field("Passes", passesText(c.Method.Passes))
		} else {
			d.field("Passes", "no overwrite")
		}
		d.field("Written", fmt.Sprintf("%s (%d bytes)", engine.FormatSize(c.Written), c.Written))
		d.field("Verify pass", verifyText(c))
		d.field("Result", strings.TrimSpace(c.Result+" "+c.Reason))
		d.field("Started", stamp(c.Started))
		d.field("Finished", stamp(c.Finished))

		d.heading("Record")
		d.field("Lot", orNone(c.Lot))
		d.field("Job", c.Job)
		d.field("Appliance", c.ApplianceID)
		d.field("Firmware", c.Firmware)
		d.field("Record entry", strconv.FormatInt(c.Record.Seq, 10))
		d.mono("Entry sum", c.Record.Sum)
		d.field("Issued", stamp(c.Issued))
		p.Ln(2)
		d.para("I", 8, "The entry sum is the SHA-256 that chains this drive's entry into the appliance's production record; "+
			"the record verifies with clonebay log verify.")
	}
	return d.output(w)
}

func verifyText(c Certificate) string {
	if !c.Verify.Ran {
		return "not run"
	}
	return fmt.Sprintf("%s, %s (%d bytes) read back", c.Verify.Result, engine.FormatSize(c.Verify.Bytes), c.Verify.Bytes)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
