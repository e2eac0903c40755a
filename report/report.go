// Package report writes what is handed to a customer or an auditor from
// the production record: the batch report of a lot or a date range (PDF
// and CSV), and erase certificates (PDF and JSON). Every writer writes to
// an io.Writer and changes nothing else; the caller decides where the
// bytes go (a temporary file renamed into place), and the record is only
// ever read.
//
// report imports engine (for its names of sizes and erase modes), record
// and fpdf only; never a backend, ui or firmware.
package report

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/record"
)

// Meta is what a report says about where and when it was made.
type Meta struct {
	Firmware    string    // the firmware version that wrote the report
	ApplianceID string    // the appliance the record belongs to
	Generated   time.Time // when the report was made; also the PDF's date
}

// Head is the chain head a report ends with: how many entries the record
// held and the last one's sum, to be checked against the appliance's
// record (clonebay log verify, or its jobs.log.head).
type Head struct {
	Count int64
	Sum   string
	// Note says when the head file did not match the log's end (it lags
	// one job after a power loss, or an older firmware wrote none).
	Note string
}

// HeadOf is the chain head of a record as read: the log's end.
func HeadOf(rep *record.Report) Head {
	h := Head{Count: int64(len(rep.Entries))}
	if h.Count > 0 {
		h.Sum = rep.Entries[h.Count-1].Sum
	}
	switch {
	case rep.Head == nil && h.Count > 0:
		h.Note = "the record has no chain head file (an older firmware wrote it)"
	case rep.HeadLags:
		h.Note = "the chain head file lags the log by the last job (a power loss); the appliance brings it up to date when it starts"
	}
	return h
}

// ErrNoEntries is returned (wrapped) when a lot or a date range selects
// nothing from the record.
var ErrNoEntries = errors.New("nothing in the record")

// LotEntries selects a lot's entries. A lot the record does not hold is
// an error that lists the lots it does hold, most recent first.
func LotEntries(entries []record.Entry, lot string) ([]record.Entry, error) {
	var out []record.Entry
	var known []string
	for i := len(entries) - 1; i >= 0; i-- {
		if l := entries[i].Lot; l != "" && !slices.Contains(known, l) {
			known = append(known, l)
		}
	}
	for _, e := range entries {
		if e.Lot == lot {
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		if len(known) == 0 {
			return nil, fmt.Errorf("lot %q: %w: the record holds no lots", lot, ErrNoEntries)
		}
		if len(known) > 10 {
			known = append(known[:10], "...")
		}
		return nil, fmt.Errorf("lot %q: %w (its lots: %s)", lot, ErrNoEntries, strings.Join(known, ", "))
	}
	return out, nil
}

// RangeEntries selects the entries of jobs that ended in [since, until).
func RangeEntries(entries []record.Entry, since, until time.Time) ([]record.Entry, error) {
	if !until.After(since) {
		return nil, fmt.Errorf("the range ends (%s) before it starts (%s)", stamp(until), stamp(since))
	}
	var out []record.Entry
	for _, e := range entries {
		if !e.Time.Before(since) && e.Time.Before(until) {
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s to %s: %w", stamp(since), stamp(until), ErrNoEntries)
	}
	return out, nil
}

// ParseRange reads a date range as the command line gives it: each end a
// day (2006-01-02, in loc; the until day is included whole) or an RFC 3339
// time. It returns [since, until).
func ParseRange(since, until string, loc *time.Location) (time.Time, time.Time, error) {
	parse := func(flag, s string, end bool) (time.Time, error) {
		if t, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
			if end {
				t = t.AddDate(0, 0, 1)
			}
			return t, nil
		}
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t, nil
		}
		return time.Time{}, fmt.Errorf("%s %q: not a date (give YYYY-MM-DD or an RFC 3339 time such as 2026-11-22T08:00:00Z)", flag, s)
	}
	if since == "" || until == "" {
		return time.Time{}, time.Time{}, errors.New("a date range needs both --since and --until")
	}
	s, err := parse("--since", since, false)
	if err != nil {
		return s, s, err
	}
	u, err := parse("--until", until, true)
	if err != nil {
		return s, u, err
	}
	if !u.After(s) {
		return s, u, fmt.Errorf("--until %s is before --since %s", until, since)
	}
	return s, u, nil
}

// Batch is a batch report: a lot's (or a date range's) drives.
type Batch struct {
	Lot          string    // the lot; "" for a date range
	Since, Until time.Time // the date range [Since, Until) when Lot is ""
	Entries      []record.Entry
	Head         Head
	Meta         Meta
}

// Totals counts a batch's drives.
type Totals struct {
	Drives, Pass, Fail, Aborted int
	Written                     int64 // bytes written to every drive together
}

// Totals counts the batch's drives by result.
func (b Batch) Totals() Totals {
	var t Totals
	for _, e := range b.Entries {
		t.Drives++
		t.Written += e.Written
		switch e.Result {
		case "PASS":
			t.Pass++
		case "FAIL":
			t.Fail++
		case "ABORTED":
			t.Aborted++
		}
	}
	return t
}

// Master is one master the batch's drives were made from.
type Master struct {
	Kind   string // "drive", "image", "file"; "" for an erase
	Name   string
	Serial string
	Size   int64
	SHA256 string
	Mode   string
}

func (m Master) String() string {
	if m.Kind == "" {
		return "none (" + m.Mode + ")"
	}
	s := m.Kind + " " + m.Name
	if m.Serial != "" {
		s += ", serial " + m.Serial
	}
	return s + ", " + engine.FormatSize(m.Size) + " (" + m.Mode + ")"
}

// Masters lists the batch's masters, each once, in the order first used.
func (b Batch) Masters() []Master {
	var out []Master
	for _, e := range b.Entries {
		m := Master{Kind: e.MasterKind, Name: e.MasterName, Serial: e.MasterSerial, Size: e.MasterSize, SHA256: e.MasterSHA256, Mode: e.Mode}
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// title names the batch.
func (b Batch) title() string {
	if b.Lot != "" {
		return "Lot " + b.Lot
	}
	return fmt.Sprintf("%s to %s", stamp(b.Since), stamp(b.Until))
}

// WriteBatchCSV writes the batch as CSV: a block of "name,value" rows
// (the report, the totals, the masters), a blank line, one row per
// drive under a header row, a blank line, and the chain head last.
// Text a spreadsheet would run as a formula is quoted with a leading
// apostrophe.
func WriteBatchCSV(w io.Writer, b Batch) error {
	cw := csv.NewWriter(w)
	t := b.Totals()
	i64 := func(n int64) string { return strconv.FormatInt(n, 10) }
	rows := [][]string{
		{"report", "batch report"},
		{"selection", cell(b.title())},
		{"lot", cell(b.Lot)},
		{"appliance", cell(b.Meta.ApplianceID)},
		{"firmware", cell(b.Meta.Firmware)},
		{"generated", b.Meta.Generated.UTC().Format(time.RFC3339)},
		{"drives", strconv.Itoa(t.Drives)},
		{"pass", strconv.Itoa(t.Pass)},
		{"fail", strconv.Itoa(t.Fail)},
		{"aborted", strconv.Itoa(t.Aborted)},
		{"written", i64(t.Written)},
	}
	for _, m := range b.Masters() {
		rows = append(rows, []string{"master", cell(m.Kind), cell(m.Name), cell(m.Serial), i64(m.Size), m.SHA256, m.Mode})
	}
	rows = append(rows, nil, []string{"seq", "time", "job", "port", "label", "model", "serial", "cid", "size",
		"result", "reason", "written", "sha256", "sum"})
	for _, e := range b.Entries {
		rows = append(rows, []string{i64(e.Seq), e.Time.UTC().Format(time.RFC3339), cell(e.Job), strconv.Itoa(e.Port),
			cell(e.Label), cell(e.TargetModel), cell(e.TargetSerial), e.TargetCID, i64(e.TargetSize), e.Result,
			cell(e.Reason), i64(e.Written), e.SHA256, e.Sum})
	}
	rows = append(rows, nil, []string{"chain_head_count", "chain_head_sum", "note"},
		[]string{i64(b.Head.Count), b.Head.Sum, b.Head.Note})
	for _, r := range rows {
		if r == nil {
			// A blank line between the blocks; the csv package would
			// write an empty record as "".
			cw.Flush()
			if _, err := io.WriteString(w, "\n"); err != nil {
				return err
			}
			continue
		}
		if err := cw.Write(r); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// cell keeps a spreadsheet from running text as a formula (record.Cell).
func cell(s string) string { return record.Cell(s) }

// WriteBatchPDF writes the batch as a PDF: the report's header, the
// totals, the masters, a table of the drives, and the chain head last.
func WriteBatchPDF(w io.Writer, b Batch) error {
	t := b.Totals()
	d := newDoc("Batch report: "+b.title(), b.Meta, fmt.Sprintf("Clonebay batch report: %s. Appliance %s, firmware %s, generated %s.",
		b.title(), b.Meta.ApplianceID, b.Meta.Firmware, stamp(b.Meta.Generated)))
	p := d.pdf
	p.AddPage()
	d.font("B", 16)
	p.CellFormat(d.width, 9, d.text("Batch report"), "", 1, "L", false, 0, "")
	d.font("", 11)
	p.CellFormat(d.width, 6, d.text(b.title()), "", 1, "L", false, 0, "")
	p.Ln(2)
	d.field("Appliance", b.Meta.ApplianceID)
	d.field("Firmware", b.Meta.Firmware)
	d.field("Generated", stamp(b.Meta.Generated))

	d.heading("Totals")
	d.field("Drives", strconv.Itoa(t.Drives))
	d.field("PASS", strconv.Itoa(t.Pass))
	d.field("FAIL", strconv.Itoa(t.Fail))
	d.field("ABORTED", strconv.Itoa(t.Aborted))
	d.field("Written", engine.FormatSize(t.Written)+" ("+strconv.FormatInt(t.Written, 10)+" bytes)")

	d.heading("Master")
	for _, m := range b.Masters() {
		d.field("Master", m.String())
		if m.SHA256 != "" {
			d.mono("SHA-256", m.SHA256)
		}
	}

	d.heading("Drives")
	cols := []struct {
		name  string
		w     float64
		align string
	}{{"Port", 14, "L"}, {"Model", 44, "L"}, {"Serial", 40, "L"}, {"Size", 18, "R"}, {"Result", 16, "L"},
		{"Written", 20, "R"}, {"Time (UTC)", 28, "R"}}
	header := func() {
		d.font("B", 8)
		p.SetFillColor(230, 230, 230)
		for _, c := range cols {
			p.CellFormat(c.w, lineH, c.name, "B", 0, c.align, true, 0, "")
		}
		p.Ln(-1)
	}
	header()
	for _, e := range b.Entries {
		// Keep a drive's two lines on one page, the header on top.
		if _, pageH := p.GetPageSize(); p.GetY()+lineH+2*smallH > pageH-margin-pageFoot {
			p.AddPage()
			header()
		}
		d.font("", 8)
		// A front-panel label is short ("P3"); the command line's is the
		// target's path, which goes where the model would, its end kept.
		port, model := strconv.Itoa(e.Port), e.TargetModel
		switch {
		case e.Label == "" || e.Label == port:
		case len(e.Label) <= 5:
			port += " " + e.Label
		case model == "":
			model = e.Label
		}
		vals := []string{port, model, e.TargetSerial, engine.FormatSize(e.TargetSize), e.Result, engine.FormatSize(e.Written),
			e.Time.UTC().Format("2006-01-02 15:04")}
		for i, c := range cols {
			style := ""
			if i == 4 && e.Result != "PASS" {
				style = "B"
			}
			d.font(style, 8)
			v := d.text(vals[i])
			if i == 1 && model != e.TargetModel {
				v = d.fitEnd(v, c.w-1)
			} else {
				v = d.fit(v, c.w-1)
			}
			p.CellFormat(c.w, lineH, v, "", 0, c.align, false, 0, "")
		}
		p.Ln(-1)
		p.SetTextColor(70, 70, 70)
		if e.SHA256 != "" {
			p.SetFont("Courier", "", 7)
			p.CellFormat(d.width, smallH, "  sha256 "+e.SHA256, "", 1, "L", false, 0, "")
		}
		if e.Reason != "" {
			d.font("I", 7)
			p.MultiCell(d.width, smallH, d.text("  "+e.Reason), "", "L", false)
		}
		p.SetTextColor(0, 0, 0)
		p.SetDrawColor(210, 210, 210)
		p.Line(margin, p.GetY()+0.5, margin+d.width, p.GetY()+0.5)
		p.SetDrawColor(0, 0, 0)
		p.Ln(1)
	}

	d.heading("Chain head of the production record")
	d.field("Entries", strconv.FormatInt(b.Head.Count, 10))
	d.mono("Last sum", b.Head.Sum)
	if b.Head.Note != "" {
		d.field("Note", b.Head.Note)
	}
	d.para("I", 8, "Each entry of the production record carries a SHA-256 over its content and the entry before it. "+
		"The appliance's record must end with this count and sum (clonebay log verify); a record that does not was changed after this report.")
	return d.output(w)
}
