package report_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/internal/testenv"
	"github.com/clonebay/clonebay/record"
	"github.com/clonebay/clonebay/report"
)

// pdfText reads a PDF's text back with pdftotext (poppler-utils), pages
// separated by form feeds.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		testenv.Skip(t, "pdftotext is not installed (Debian package poppler-utils)")
	}
	path := filepath.Join(t.TempDir(), "out.pdf")
	require.NoError(t, os.WriteFile(path, pdf, 0o644))
	out, err := exec.Command("pdftotext", "-layout", path, "-").CombinedOutput()
	require.NoError(t, err, "pdftotext: %s", out)
	return string(out)
}

var (
	generated = time.Date(2026, 11, 23, 9, 30, 0, 0, time.UTC)
	meta      = report.Meta{Firmware: "1.4.2", ApplianceID: "CB-0007", Generated: generated}
)

// lotRecord writes a record with two lots and returns it as read.
func lotRecord(t *testing.T) *record.Report {
	t.Helper()
	path := filepath.Join(t.TempDir(), "jobs.log")
	l, _, err := record.Open(fsys.OS, path)
	require.NoError(t, err)
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	drive := func(job, lot string, port int, model, serial, result, reason string) record.Entry {
		e := record.Entry{Time: at, Started: at.Add(-2 * time.Minute), Job: job, Lot: lot, Mode: "copy+verify",
			MasterKind: "image", MasterName: "kiosk-v3", MasterSize: 7_500_000_000,
			MasterSHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", Area: "used", Bytes: 7_500_000_000,
			Port: port, Label: "P" + string(rune('0'+port)), TargetModel: model, TargetSerial: serial, TargetSize: 16_000_000_000,
			Result: result, Reason: reason, MBps: 30}
		if result == "PASS" {
			e.Written, e.Verified, e.SHA256 = e.Bytes, e.Bytes, e.MasterSHA256
		} else {
			e.Written = 1 << 20
		}
		return e
	}
	require.NoError(t, l.Append(
		drive("j1", "A17", 2, "Kingston DataTraveler", "KT-0001", "PASS", ""),
		drive("j1", "A17", 3, "SanDisk Cruzer", "SD-0002", "FAIL", "port 3: write at 1048576: input/output error"),
		drive("j1", "A17", 4, "=HYPERLINK(\"x\")", "-SERIAL", "PASS", ""),
	))
	require.NoError(t, l.Append(drive("j2", "B2", 2, "Kingston DataTraveler", "KT-0009", "PASS", "")))
	require.NoError(t, l.Append(drive("j3", "Bestellung Müller 注文", 2, "Intenso", "IN-1", "ABORTED", "port 2: aborted while copying")))
	require.NoError(t, l.Close())
	rep, err := record.Read(fsys.OS, path)
	require.NoError(t, err)
	require.NoError(t, rep.Err())
	return rep
}

func batchOf(t *testing.T, rep *record.Report, lot string) report.Batch {
	t.Helper()
	sel, err := report.LotEntries(rep.Entries, lot)
	require.NoError(t, err)
	return report.Batch{Lot: lot, Entries: sel, Head: report.HeadOf(rep), Meta: meta}
}

func TestBatchPDF(t *testing.T) {
	rep := lotRecord(t)
	b := batchOf(t, rep, "A17")
	var buf bytes.Buffer
	require.NoError(t, report.WriteBatchPDF(&buf, b))
	text := pdfText(t, buf.Bytes())
	last := rep.Entries[len(rep.Entries)-1].Sum
	for _, want := range []string{
		"Batch report", "Lot A17", "CB-0007", "1.4.2", "2026-11-23 09:30:00 UTC",
		"Drives", "PASS", "FAIL", "ABORTED",
		"image kiosk-v3, 7.5 GB (copy+verify)",
		"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		"KT-0001", "SD-0002", "Kingston DataTraveler", "16 GB",
		"port 3: write at 1048576: input/output error",
		"Chain head of the production record", last,
	} {
		assert.Contains(t, text, want)
	}
	assert.Regexp(t, `Entries\s+5\b`, text, "the chain head counts the whole record, not the lot")
	assert.Regexp(t, `Drives\s+3\b`, text)
	assert.Regexp(t, `PASS\s+2\b`, text)
	assert.Regexp(t, `FAIL\s+1\b`, text)
	assert.NotContains(t, text, "KT-0009", "another lot's drive")
	assert.Contains(t, text, "page 1 of 1")

	t.Run("the same record makes the same bytes", func(t *testing.T) {
		var again bytes.Buffer
		require.NoError(t, report.WriteBatchPDF(&again, b))
		assert.Equal(t, buf.Bytes(), again.Bytes())
	})

	t.Run("text the core fonts lack shows as question marks", func(t *testing.T) {
		var buf bytes.Buffer
		require.NoError(t, report.WriteBatchPDF(&buf, batchOf(t, rep, "Bestellung Müller 注文")))
		text := pdfText(t, buf.Bytes())
		assert.Contains(t, text, "Lot Bestellung Müller ??")
		assert.Contains(t, text, "port 2: aborted while copying")
	})

	t.Run("many drives run onto more pages", func(t *testing.T) {
		big := b
		for range 40 {
			big.Entries = append(big.Entries, b.Entries...)
		}
		var buf bytes.Buffer
		require.NoError(t, report.WriteBatchPDF(&buf, big))
		text := pdfText(t, buf.Bytes())
		pages := strings.Count(text, "\f")
		assert.Greater(t, pages, 2)
		assert.Contains(t, text, "page 2 of ")
		assert.Equal(t, pages, strings.Count(text, "Time (UTC)"), "every page of drives starts with the table's header")
	})
}

func TestBatchCSV(t *testing.T) {
	rep := lotRecord(t)
	var buf bytes.Buffer
	require.NoError(t, report.WriteBatchCSV(&buf, batchOf(t, rep, "A17")))
	r := csv.NewReader(&buf)
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	require.NoError(t, err)

	head := map[string][]string{}
	i := 0
	for ; rows[i][0] != "seq"; i++ {
		head[rows[i][0]] = rows[i][1:]
	}
	assert.Equal(t, []string{"Lot A17"}, head["selection"])
	assert.Equal(t, []string{"CB-0007"}, head["appliance"])
	assert.Equal(t, []string{"1.4.2"}, head["firmware"])
	assert.Equal(t, []string{"3"}, head["drives"])
	assert.Equal(t, []string{"2"}, head["pass"])
	assert.Equal(t, []string{"1"}, head["fail"])
	assert.Equal(t, []string{"0"}, head["aborted"])
	assert.Equal(t, []string{"image", "kiosk-v3", "", "7500000000", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "copy+verify"}, head["master"])

	col := map[string]int{}
	for j, h := range rows[i] {
		col[h] = j
	}
	drives := rows[i+1 : i+4]
	assert.Equal(t, "KT-0001", drives[0][col["serial"]])
	assert.Equal(t, "FAIL", drives[1][col["result"]])
	assert.Equal(t, "port 3: write at 1048576: input/output error", drives[1][col["reason"]])
	assert.Equal(t, `'=HYPERLINK("x")`, drives[2][col["model"]], "a drive's model never runs as a formula")
	assert.Equal(t, "'-SERIAL", drives[2][col["serial"]])
	assert.Equal(t, "16000000000", drives[0][col["size"]])
	assert.Equal(t, "7500000000", drives[0][col["written"]])
	assert.Equal(t, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", drives[0][col["sha256"]])
	assert.Equal(t, "2026-11-22T10:00:00Z", drives[0][col["time"]])

	end := rows[len(rows)-2:]
	assert.Equal(t, []string{"chain_head_count", "chain_head_sum", "note"}, end[0])
	assert.Equal(t, []string{"5", rep.Entries[4].Sum, ""}, end[1], "the report ends with the record's chain head")
}

func TestSelection(t *testing.T) {
	rep := lotRecord(t)
	t.Run("an unknown lot names the lots there are", func(t *testing.T) {
		_, err := report.LotEntries(rep.Entries, "A18")
		assert.ErrorIs(t, err, report.ErrNoEntries)
		assert.EqualError(t, err, `lot "A18": nothing in the record (its lots: Bestellung Müller 注文, B2, A17)`)
	})
	t.Run("a record without lots", func(t *testing.T) {
		_, err := report.LotEntries([]record.Entry{{Job: "j"}}, "A18")
		assert.EqualError(t, err, `lot "A18": nothing in the record: the record holds no lots`)
	})

	utc := time.UTC
	for _, tc := range []struct {
		name         string
		since, until string
		want         int
		err          string
	}{
		{"the day of the jobs", "2026-11-22", "2026-11-22", 5, ""},
		{"a week", "2026-11-16", "2026-11-22", 5, ""},
		{"RFC 3339 ends", "2026-11-22T09:00:00Z", "2026-11-22T10:00:01Z", 5, ""},
		{"the day before", "2026-11-21", "2026-11-21", 0, "nothing in the record"},
		{"reversed", "2026-11-22", "2026-11-01", 0, "--until 2026-11-01 is before --since 2026-11-22"},
		{"not a date", "2026-13-01", "2026-11-22", 0, `--since "2026-13-01": not a date (give YYYY-MM-DD or an RFC 3339 time`},
		{"a word", "2026-11-01", "yesterday", 0, `--until "yesterday": not a date`},
		{"no end", "2026-11-01", "", 0, "a date range needs both --since and --until"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			since, until, err := report.ParseRange(tc.since, tc.until, utc)
			if err == nil {
				var sel []record.Entry
				sel, err = report.RangeEntries(rep.Entries, since, until)
				assert.Len(t, sel, tc.want)
			}
			if tc.err == "" {
				assert.NoError(t, err)
			} else {
				assert.ErrorContains(t, err, tc.err)
			}
		})
	}
}

// fullDisk fails every write after the first n bytes as a full file
// system does.
type fullDisk struct{ n int }

func (f *fullDisk) Write(p []byte) (int, error) {
	if len(p) <= f.n {
		f.n -= len(p)
		return len(p), nil
	}
	n := f.n
	f.n = 0
	return n, &os.PathError{Op: "write", Path: "/media/stick/report.pdf", Err: syscall.ENOSPC}
}

func TestWritersReportAFullDisk(t *testing.T) {
	rep := lotRecord(t)
	b := batchOf(t, rep, "A17")
	c, err := report.Certificates(eraseEntries(), "W1", meta)
	require.NoError(t, err)
	for name, write := range map[string]func(w *fullDisk) error{
		"batch pdf":        func(w *fullDisk) error { return report.WriteBatchPDF(w, b) },
		"batch csv":        func(w *fullDisk) error { return report.WriteBatchCSV(w, b) },
		"certificate pdf":  func(w *fullDisk) error { return report.WriteCertificatesPDF(w, c, meta) },
		"certificate json": func(w *fullDisk) error { return report.WriteCertificatesJSON(w, c) },
	} {
		t.Run(name, func(t *testing.T) {
			err := write(&fullDisk{n: 100})
			require.Error(t, err)
			assert.True(t, errors.Is(err, syscall.ENOSPC), "%v", err)
		})
	}
}
