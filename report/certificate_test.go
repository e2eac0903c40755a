package report_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/record"
	"github.com/clonebay/clonebay/report"
)

const size = 8_000_000_000

// erased is an erase entry of the record as the firmware writes it.
func erased(seq int64, mode string, verified bool, result string) record.Entry {
	at := time.Date(2026, 11, 22, 14, 0, 0, 0, time.UTC)
	e := record.Entry{Seq: seq, Time: at, Started: at.Add(-10 * time.Minute), Job: "w1", Lot: "W1", Mode: "erase",
		Area: "erase " + mode, Port: int(seq), Label: "P2", TargetModel: "Samsung T7", TargetSerial: "S5SXNG0R",
		TargetSize: size, Result: result, Sum: strings.Repeat("ab", 32)}
	switch mode {
	case "zeros", "random":
		e.Written = size
	case "dod":
		e.Written = 3 * size
	case "quick":
		e.Written = 12 << 20
	default:
		e.Written = size
	}
	if verified && result == "PASS" {
		e.Verified = size
		if mode == "quick" {
			e.Verified = 12 << 20
		}
	}
	if result != "PASS" {
		e.Reason = "port 2: zeros pass: write at 4096: input/output error"
		e.Written = 4096
	}
	return e
}

func eraseEntries() []record.Entry {
	return []record.Entry{
		erased(1, "zeros", true, "PASS"),
		erased(2, "dod", false, "PASS"),
		erased(3, "random", true, "FAIL"),
		{Seq: 4, Job: "c1", Lot: "W1", Mode: "copy+verify", Result: "PASS"}, // not an erase: no certificate
	}
}

func TestCertificateLevels(t *testing.T) {
	short := erased(1, "zeros", true, "PASS")
	short.Verified = size / 2
	thin := erased(1, "dod", true, "PASS")
	thin.Written = size
	unsized := erased(1, "zeros", true, "PASS")
	unsized.TargetSize = 0
	for _, tc := range []struct {
		name      string
		e         record.Entry
		level     report.Level
		statement string
		verify    string
	}{
		{"zeros, verified", erased(1, "zeros", true, "PASS"), report.Clear,
			"Clear (NIST SP 800-88): every user-addressable block was overwritten (1 pass: zeros) and the last pass was read back", "matched"},
		{"random, verified", erased(1, "random", true, "PASS"), report.Clear, "(1 pass: random)", "matched"},
		{"DoD, verified", erased(1, "dod", true, "PASS"), report.Clear, "(3 passes: zeros, ones, random)", "matched"},
		{"zeros, not verified", erased(1, "zeros", false, "PASS"), report.NotSanitized,
			"Not certified as Clear: every user-addressable block was overwritten (1 pass: zeros), but nothing was read back", "not run"},
		{"DoD, not verified", erased(1, "dod", false, "PASS"), report.NotSanitized, "Not certified as Clear", "not run"},
		{"a verify pass over half the drive", short, report.NotSanitized, "the verify pass read back 4000000000 of the drive's 8000000000 bytes", "matched"},
		{"fewer bytes than the passes need", thin, report.NotSanitized, "less than 3 passes", "matched"},
		{"no size recorded", unsized, report.NotSanitized, "the drive's size was not recorded", "matched"},
		{"quick, verified", erased(1, "quick", true, "PASS"), report.NotSanitized,
			"Not a sanitization: a quick erase removes the partition tables and file-system signatures only", "matched"},
		{"discard", erased(1, "discard", false, "PASS"), report.NotSanitized, "Not a sanitization: a discard tells the drive", "not run"},
		{"secure discard", erased(1, "secure-discard", false, "PASS"), report.NotSanitized, "Not a sanitization: a secure discard", "not run"},
		{"a failed erase", erased(1, "zeros", true, "FAIL"), report.NotSanitized,
			"Not sanitized: the erase ended FAIL (port 2: zeros pass: write at 4096: input/output error).", "not run"},
		{"an aborted erase", erased(1, "dod", true, "ABORTED"), report.NotSanitized, "Not sanitized: the erase ended ABORTED", "not run"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := report.CertificateFor(tc.e, meta)
			require.NoError(t, err)
			assert.Equal(t, tc.level, c.Sanitization.Level)
			assert.Equal(t, "NIST SP 800-88", c.Sanitization.Standard)
			assert.Contains(t, c.Sanitization.Statement, tc.statement)
			assert.Equal(t, tc.verify, c.Verify.Result)
			assert.NotEqual(t, report.Purge, c.Sanitization.Level, "no erase mode reaches Purge")
		})
	}
}

func TestEveryEraseModeIsDescribed(t *testing.T) {
	for m := engine.EraseQuick; m <= engine.EraseSecureDiscard; m++ {
		t.Run(m.String(), func(t *testing.T) {
			c, err := report.CertificateFor(erased(1, m.String(), true, "PASS"), meta)
			require.NoError(t, err)
			assert.NotEmpty(t, c.Method.Description)
		})
	}
}

func TestCertificateRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		e    record.Entry
		want string
	}{
		{"a copy", record.Entry{Seq: 7, Port: 3, Mode: "copy+verify"}, `record entry 7 (port 3): not an erase (mode "copy+verify")`},
		{"an unknown mode", record.Entry{Seq: 8, Port: 2, Mode: "erase", Area: "erase gutmann"}, `record entry 8 (port 2): unknown erase mode "erase gutmann"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := report.CertificateFor(tc.e, meta)
			assert.EqualError(t, err, tc.want)
		})
	}
	_, err := report.Certificates(eraseEntries(), "W9", meta)
	assert.ErrorIs(t, err, report.ErrNoEntries)
	_, err = report.Certificates([]record.Entry{{Seq: 1, Lot: "C1", Mode: "copy"}}, "C1", meta)
	assert.EqualError(t, err, `lot "C1": nothing in the record: no drive of it was erased`)
	assert.Error(t, report.WriteCertificatesPDF(&bytes.Buffer{}, nil, meta))
}

func TestCertificatePDFAndJSON(t *testing.T) {
	certs, err := report.Certificates(eraseEntries(), "W1", meta)
	require.NoError(t, err)
	require.Len(t, certs, 3, "one certificate per erased drive; the copy has none")

	var pdf bytes.Buffer
	require.NoError(t, report.WriteCertificatesPDF(&pdf, certs, meta))
	text := pdfText(t, pdf.Bytes())
	pages := strings.Split(strings.TrimRight(text, "\f"), "\f")
	require.Len(t, pages, 3, "a page per drive")

	for _, want := range []string{
		"Erase certificate", "NIST SP 800-88: Clear", "Samsung T7", "S5SXNG0R", "8 GB (8000000000 bytes)",
		"overwrite of every block with zeros (1 pass)", "matched, 8 GB (8000000000 bytes) read back",
		"2026-11-22 13:50:00 UTC", "2026-11-22 14:00:00 UTC", "CB-0007", "1.4.2", "W1", strings.Repeat("ab", 32),
	} {
		assert.Contains(t, pages[0], want)
	}
	assert.Regexp(t, `Record entry\s+1\b`, pages[0])
	assert.Contains(t, pages[1], "NIST SP 800-88: not sanitized")
	assert.Contains(t, pages[1], "Not certified as Clear")
	assert.Contains(t, pages[1], "3 passes: zeros, ones, random")
	assert.NotContains(t, pages[1], "NIST SP 800-88: Clear")
	assert.Contains(t, pages[2], "Not sanitized: the erase ended FAIL")

	var js bytes.Buffer
	require.NoError(t, report.WriteCertificatesJSON(&js, certs))
	var back []map[string]any
	require.NoError(t, json.Unmarshal(js.Bytes(), &back))
	require.Len(t, back, 3)
	first := back[0]
	assert.Equal(t, "Clear", first["sanitization"].(map[string]any)["level"])
	assert.Equal(t, "S5SXNG0R", first["drive"].(map[string]any)["serial"])
	assert.Equal(t, float64(8e9), first["drive"].(map[string]any)["size"])
	assert.Equal(t, []any{"zeros"}, first["method"].(map[string]any)["passes"])
	assert.Equal(t, true, first["verify"].(map[string]any)["ran"])
	assert.Equal(t, float64(1), first["record"].(map[string]any)["seq"])
	assert.Equal(t, strings.Repeat("ab", 32), first["record"].(map[string]any)["sum"])
	assert.Equal(t, "CB-0007", first["appliance_id"])
	assert.Equal(t, "1.4.2", first["firmware"])
	assert.Equal(t, "2026-11-22T13:50:00Z", first["started"])
	assert.Equal(t, "2026-11-22T14:00:00Z", first["finished"])
	assert.Equal(t, "none", back[1]["sanitization"].(map[string]any)["level"])

	var one bytes.Buffer
	require.NoError(t, report.WriteCertificateJSON(&one, certs[0]))
	var c report.Certificate
	require.NoError(t, json.Unmarshal(one.Bytes(), &c))
	assert.Equal(t, certs[0], c)
}
