package cli

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/internal/testenv"
	"github.com/clonebay/clonebay/record"
)

// pdfText reads a PDF's text back with pdftotext (poppler-utils).
func pdfText(t *testing.T, path string) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		testenv.Skip(t, "pdftotext is not installed (Debian package poppler-utils)")
	}
	out, err := exec.Command("pdftotext", "-layout", path, "-").CombinedOutput()
	require.NoError(t, err, "pdftotext: %s", out)
	return string(out)
}

// readRecord reads a record and requires it to verify.
func readRecord(t *testing.T, path string) []record.Entry {
	t.Helper()
	rep, err := record.Read(fsys.OS, path)
	require.NoError(t, err)
	require.NoError(t, rep.Err())
	return rep.Entries
}

// lotBench is a master file and target files for command-line jobs.
type lotBench struct {
	dir, master, log string
	targets          []string
}

func newLotBench(t *testing.T, targets int) lotBench {
	t.Helper()
	b := lotBench{dir: t.TempDir()}
	data := make([]byte, 1<<20+4096)
	_, err := rand.Read(data)
	require.NoError(t, err)
	b.master = writeFile(t, b.dir, "master.img", data)
	for i := range targets {
		b.targets = append(b.targets, writeFile(t, b.dir, "t"+string(rune('1'+i))+".img", make([]byte, 2<<20)))
	}
	b.log = filepath.Join(b.dir, "state", "jobs.log")
	return b
}

func (b lotBench) to() []string {
	var args []string
	for _, t := range b.targets {
		args = append(args, "--to", t)
	}
	return args
}

func TestCopyRecordsItsLot(t *testing.T) {
	b := newLotBench(t, 2)
	args := append([]string{"copy", "--from", b.master, "--record", b.log, "--lot", "A17"}, b.to()...)
	code, out, errOut := runCLI(t, args...)
	require.Equal(t, 0, code, "%s%s", out, errOut)
	code, out, errOut = runCLI(t, "copy", "--from", b.master, "--to", b.targets[0], "--record", b.log)
	require.Equal(t, 0, code, "%s%s", out, errOut)

	entries := readRecord(t, b.log)
	require.Len(t, entries, 3)
	for i, e := range entries[:2] {
		assert.Equal(t, "A17", e.Lot)
		assert.Equal(t, "copy+verify", e.Mode)
		assert.Equal(t, "PASS", e.Result)
		assert.Equal(t, "file", e.MasterKind)
		assert.Equal(t, b.master, e.MasterName)
		assert.Equal(t, int64(1<<20+4096), e.MasterSize)
		assert.Equal(t, i+1, e.Port)
		assert.Equal(t, b.targets[i], e.Label)
		assert.Equal(t, int64(2<<20), e.TargetSize)
		assert.NotEmpty(t, e.SHA256)
		assert.False(t, e.Started.IsZero())
		assert.False(t, e.Time.Before(e.Started))
		assert.True(t, strings.HasPrefix(e.Job, "cli-"), e.Job)
	}
	assert.Equal(t, entries[0].Job, entries[1].Job, "one job")
	assert.Empty(t, entries[2].Lot, "a job without --lot is no lot's")
	assert.NotEqual(t, entries[0].Job, entries[2].Job)
}

func TestRecordFlagsRefuseBeforeAnyWrite(t *testing.T) {
	b := newLotBench(t, 1)
	damaged := filepath.Join(b.dir, "damaged.log")
	l, _, err := record.Open(fsys.OS, damaged)
	require.NoError(t, err)
	require.NoError(t, l.Append(record.Entry{Job: "j", Port: 2, Result: "FAIL"}))
	require.NoError(t, l.Close())
	raw, err := os.ReadFile(damaged)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(damaged, bytes.Replace(raw, []byte(`"FAIL"`), []byte(`"PASS"`), 1), 0o644))

	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"a lot without a record", []string{"copy", "--from", b.master, "--to", b.targets[0], "--lot", "A17"}, 2,
			"--lot A17 needs --record FILE: the lot is kept in the production record"},
		{"a lot name with a slash", []string{"copy", "--from", b.master, "--to", b.targets[0], "--record", b.log, "--lot", "A/17"}, 2,
			`--lot: lot name "A/17": not a usable lot name: character 2 ('/') is a path separator`},
		{"a lot name with a newline", []string{"erase", "--yes", "--to", b.targets[0], "--record", b.log, "--lot", "A17\n"}, 2,
			"character 4 is a control character (U+000A)"},
		{"a damaged record", []string{"copy", "--from", b.master, "--to", b.targets[0], "--record", damaged}, 1,
			"does not verify, so nothing was run"},
		{"a record under /dev", []string{"erase", "--yes", "--to", b.targets[0], "--record", "/dev/null"}, 1,
			"record /dev/null: refused: a production record is a file, never under /dev"},
		{"a record that is a folder", []string{"copy", "--from", b.master, "--to", b.targets[0], "--record", b.dir}, 1,
			"refused: it is not a regular file"},
		{"the record as the target", []string{"copy", "--from", b.master, "--to", damaged, "--record", damaged}, 1,
			"refused: it is a drive of this job"},
		{"the record as the master", []string{"copy", "--from", b.log, "--to", b.targets[0], "--record", b.log}, 1,
			"refused: it is a drive of this job"},
		{"the record's chain head as the target", []string{"copy", "--from", b.master, "--to", record.HeadPath(damaged), "--record", damaged}, 1,
			"refused: it is a drive of this job"},
		{"certificates without a record", []string{"erase", "--yes", "--to", b.targets[0], "--certificate", b.dir}, 2,
			"--certificate needs --record FILE"},
		{"certificates under /dev", []string{"erase", "--yes", "--to", b.targets[0], "--record", b.log, "--certificate", "/dev/shm/certs"}, 2,
			"--certificate /dev/shm/certs: refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "the record as the master" {
				// The master must exist before the job: make the log.
				l, _, err := record.Open(fsys.OS, b.log)
				require.NoError(t, err)
				require.NoError(t, l.Close())
				t.Cleanup(func() { os.Remove(b.log); os.Remove(record.HeadPath(b.log)) })
			}
			before, err := os.ReadFile(b.targets[0])
			require.NoError(t, err)
			code, out, errOut := runCLI(t, tc.args...)
			assert.Equal(t, tc.code, code, "%s%s", out, errOut)
			assert.Contains(t, errOut, tc.want)
			after, err := os.ReadFile(b.targets[0])
			require.NoError(t, err)
			assert.Equal(t, before, after, "the target was not touched")
			_, err = os.Stat(filepath.Join(b.dir, "state", "jobs.log"))
			if tc.name != "the record as the master" {
				assert.ErrorIs(t, err, os.ErrNotExist, "no record was started")
			}
		})
	}
	assert.Equal(t, bytes.Replace(raw, []byte(`"FAIL"`), []byte(`"PASS"`), 1), must(os.ReadFile(damaged)), "the damaged record is left as found")
}

// TestRefusedRecordIsLeftAsFound: a record the command line refuses is
// left byte for byte as it was, with nothing set beside it: only the
// appliance's start sets damage aside, and a refused job must not
// launder an edit (a head rewritten to match a shortened log) nor
// destroy a file that was never a record.
func TestRefusedRecordIsLeftAsFound(t *testing.T) {
	b := newLotBench(t, 1)
	for i := 0; i < 2; i++ {
		code, out, errOut := runCLI(t, "copy", "--from", b.master, "--to", b.targets[0], "--record", b.log)
		require.Equal(t, 0, code, "%s%s", out, errOut)
	}
	lines := strings.SplitAfter(string(must(os.ReadFile(b.log))), "\n")
	head := must(os.ReadFile(record.HeadPath(b.log)))
	random := make([]byte, 100_001)
	_, err := rand.Read(random)
	require.NoError(t, err)
	for _, tc := range []struct {
		name      string
		log, head string // "" for head: no head file
	}{
		{"an entry cut off, the head garbled", lines[0], "garbage\n"},
		{"cut mid-line", lines[0] + lines[1][:30], string(head)},
		{"a text file", "important data, no newline", ""},
		{"a binary file", string(random), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "jobs.log")
			require.NoError(t, os.WriteFile(path, []byte(tc.log), 0o644))
			if tc.head != "" {
				require.NoError(t, os.WriteFile(record.HeadPath(path), []byte(tc.head), 0o644))
			}
			before := dirFiles(t, dir)
			code, out, errOut := runCLI(t, "copy", "--from", b.master, "--to", b.targets[0], "--record", path)
			assert.Equal(t, 1, code, "%s%s", out, errOut)
			assert.Contains(t, errOut, "does not verify, so nothing was run and it was left as it is")
			assert.Equal(t, before, dirFiles(t, dir), "the record is left as found, nothing beside it")
			code, _, _ = runCLI(t, "log", "verify", "--log", path)
			assert.Equal(t, 1, code, "it still does not verify")
		})
	}
}

// dirFiles is every file of a folder and its bytes.
func dirFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	out := map[string]string{}
	for _, e := range ents {
		out[e.Name()] = string(must(os.ReadFile(filepath.Join(dir, e.Name()))))
	}
	return out
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// reportRecord runs two lots of command-line jobs into a record: A17 with
// a target too small (FAIL) and W1, an erase.
func reportRecord(t *testing.T) lotBench {
	t.Helper()
	b := newLotBench(t, 2)
	small := writeFile(t, b.dir, "small.img", make([]byte, 4096))
	code, out, errOut := runCLI(t, "copy", "--from", b.master, "--to", b.targets[0], "--to", small, "--record", b.log, "--lot", "A17")
	require.Equal(t, 1, code, "%s%s", out, errOut)
	code, out, errOut = runCLI(t, "erase", "--mode", "zeros", "--verify", "--yes", "--to", b.targets[1], "--record", b.log, "--lot", "W1")
	require.Equal(t, 0, code, "%s%s", out, errOut)
	return b
}

func TestReportCommand(t *testing.T) {
	b := reportRecord(t)
	entries := readRecord(t, b.log)
	require.Len(t, entries, 3)
	out := t.TempDir()

	pdf := filepath.Join(out, "A17.pdf")
	code, stdout, errOut := runCLI(t, "report", "--lot", "A17", "--out", pdf, "--log", b.log, "--appliance", "CB-0007")
	require.Equal(t, 0, code, "%s%s", stdout, errOut)
	assert.Contains(t, stdout, "2 drives, 1 passed, 1 failed, 0 aborted")
	text := pdfText(t, pdf)
	for _, want := range []string{"Batch report", "Lot A17", "CB-0007", version, "master.img", entries[0].MasterSHA256,
		"t1.img", "target 4.09 KB < master 1.05 MB", "Chain head of the production record", entries[2].Sum} {
		assert.Contains(t, text, want)
	}
	assert.Regexp(t, `Entries\s+3\b`, text)

	csvOut := filepath.Join(out, "range.csv")
	day := entries[0].Time.Local().Format("2006-01-02")
	code, stdout, errOut = runCLI(t, "report", "--since", day, "--until", day, "--out", csvOut, "--log", b.log)
	require.Equal(t, 0, code, "%s%s", stdout, errOut)
	assert.Contains(t, stdout, "3 drives")
	data, err := os.ReadFile(csvOut)
	require.NoError(t, err)
	assert.Contains(t, string(data), "chain_head_count,chain_head_sum,note\n3,"+entries[2].Sum)

	leftovers, err := filepath.Glob(filepath.Join(out, ".*"))
	require.NoError(t, err)
	assert.Empty(t, leftovers, "no temporary file is left")
}

func TestReportCommandErrors(t *testing.T) {
	b := reportRecord(t)
	out := t.TempDir()
	damaged := filepath.Join(out, "damaged.log")
	raw, err := os.ReadFile(b.log)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(damaged, bytes.Replace(raw, []byte(`"lot":"A17"`), []byte(`"lot":"A18"`), 1), 0o644))
	pdf := filepath.Join(out, "r.pdf")
	folderPDF := filepath.Join(out, "folder.pdf")
	require.NoError(t, os.Mkdir(folderPDF, 0o755))
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"an unknown lot", []string{"--lot", "A18", "--out", pdf}, 1, `lot "A18": nothing in the record (its lots: W1, A17)`},
		{"a bad lot name", []string{"--lot", "../x", "--out", pdf}, 2, `lot name "../x": not a usable lot name`},
		{"a bad date", []string{"--since", "2026-02-30", "--until", "2026-03-01", "--out", pdf}, 2, `--since "2026-02-30": not a date`},
		{"a reversed range", []string{"--since", "2026-03-01", "--until", "2026-02-01", "--out", pdf}, 2, "--until 2026-02-01 is before --since 2026-03-01"},
		{"half a range", []string{"--since", "2026-03-01", "--out", pdf}, 2, "a date range needs both --since and --until"},
		{"an empty range", []string{"--since", "2001-01-01", "--until", "2001-12-31", "--out", pdf}, 1, "nothing in the record"},
		{"a lot and a range", []string{"--lot", "A17", "--since", "2026-01-01", "--until", "2026-02-01", "--out", pdf}, 2, "give --lot or a date range"},
		{"nothing chosen", []string{"--out", pdf}, 2, "give --lot NAME, or --since DATE and --until DATE"},
		{"no --out", []string{"--lot", "A17"}, 2, "--out is required"},
		{"an unknown format", []string{"--lot", "A17", "--out", filepath.Join(out, "r.docx")}, 2, "name a .pdf or a .csv file"},
		{"a folder as the report", []string{"--lot", "A17", "--out", folderPDF}, 2, "is a folder: name the report's file"},
		{"a report under /dev", []string{"--lot", "A17", "--out", "/dev/sdz.pdf"}, 2, "--out /dev/sdz.pdf: refused"},
		{"certificates without a lot", []string{"--certificates", "--since", "2026-01-01", "--until", "2026-02-01", "--out", out}, 2, "--certificates needs --lot NAME"},
		{"certificates of a lot without erases", []string{"--certificates", "--lot", "A17", "--out", out}, 1, `lot "A17": nothing in the record: no drive of it was erased`},
		{"certificates into a file", []string{"--certificates", "--lot", "W1", "--out", b.master}, 2, "give a folder for the certificates"},
		{"a damaged record", []string{"--lot", "A17", "--out", pdf, "--log", damaged}, 1, "a report would vouch for entries no one can trust"},
		{"no record", []string{"--lot", "A17", "--out", pdf, "--log", filepath.Join(out, "none.log")}, 1, "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"report"}, tc.args...)
			if !strings.Contains(strings.Join(tc.args, " "), "--log") {
				args = append(args, "--log", b.log)
			}
			code, stdout, errOut := runCLI(t, args...)
			assert.Equal(t, tc.code, code, "%s%s", stdout, errOut)
			assert.Contains(t, errOut, tc.want)
			_, err := os.Stat(pdf)
			assert.ErrorIs(t, err, os.ErrNotExist, "no report was written")
		})
	}
	assert.Equal(t, raw, must(os.ReadFile(b.log)), "reports never change the record")
}

// TestReportOntoAFullStick writes a report onto a file system too small
// for it: the error says the disk is full, nothing is left under the
// report's name, and the record is unchanged.
func TestReportOntoAFullStick(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Skip(t, "mounting a small tmpfs as a full stick needs root")
	}
	b := reportRecord(t)
	before, err := os.ReadFile(b.log)
	require.NoError(t, err)
	head, err := os.ReadFile(record.HeadPath(b.log))
	require.NoError(t, err)

	stick := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8k", "tmpfs", stick).CombinedOutput(); err != nil {
		testenv.Skip(t, "cannot mount a tmpfs here: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", stick).Run() })
	// Fill it, as a stick of old exports is.
	filler, err := os.Create(filepath.Join(stick, "old-export.bin"))
	require.NoError(t, err)
	_, err = filler.Write(make([]byte, 64<<10))
	require.ErrorIs(t, err, syscall.ENOSPC)
	require.NoError(t, filler.Close())

	for _, tc := range []struct {
		name string
		args []string
	}{
		{"a PDF report", []string{"report", "--lot", "A17", "--out", filepath.Join(stick, "A17.pdf")}},
		{"the certificates", []string{"report", "--certificates", "--lot", "W1", "--out", stick}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, errOut := runCLI(t, append(tc.args, "--log", b.log)...)
			assert.Equal(t, 1, code, "%s%s", stdout, errOut)
			assert.Contains(t, errOut, "the disk is full")
			assert.Contains(t, errOut, "nothing was written")
			left, err := os.ReadDir(stick)
			require.NoError(t, err)
			for _, e := range left {
				assert.False(t, fsys.IsTemp(e.Name()), "temporary file %s left on the stick", e.Name())
				assert.NotEqual(t, ".pdf", filepath.Ext(e.Name()), "a cut-short PDF %s", e.Name())
			}
		})
	}
	assert.Equal(t, before, must(os.ReadFile(b.log)), "the record is unchanged")
	assert.Equal(t, head, must(os.ReadFile(record.HeadPath(b.log))), "its head too")
}

func TestEraseCertificates(t *testing.T) {
	b := newLotBench(t, 2)
	certs := filepath.Join(b.dir, "certs")
	args := append([]string{"erase", "--mode", "zeros", "--verify", "--yes", "--record", b.log, "--lot", "W1",
		"--certificate", certs, "--appliance", "CB-0007"}, b.to()...)
	code, out, errOut := runCLI(t, args...)
	require.Equal(t, 0, code, "%s%s", out, errOut)
	assert.Contains(t, out, "port 1: NIST SP 800-88 Clear")
	args = append([]string{"erase", "--mode", "zeros", "--yes", "--record", b.log, "--lot", "W1", "--certificate", certs}, b.to()[:2]...)
	code, out, errOut = runCLI(t, args...)
	require.Equal(t, 0, code, "%s%s", out, errOut)
	assert.Contains(t, out, "port 1: not sanitized", "an erase without a verify pass is not certified as Clear")

	entries := readRecord(t, b.log)
	require.Len(t, entries, 3)
	for _, tc := range []struct {
		file  string
		seq   int64
		level string
	}{
		{"erase-000001-port1", 1, "Clear"},
		{"erase-000002-port2", 2, "Clear"},
		{"erase-000003-port1", 3, "none"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(certs, tc.file+".json"))
			require.NoError(t, err)
			var c struct {
				Sanitization struct{ Level string }
				Record       struct {
					Seq int64
					Sum string
				}
				Lot         string
				ApplianceID string `json:"appliance_id"`
			}
			require.NoError(t, json.Unmarshal(data, &c))
			assert.Equal(t, tc.level, c.Sanitization.Level)
			assert.Equal(t, "W1", c.Lot)
			assert.Equal(t, map[bool]string{true: "CB-0007", false: hostname()}[tc.seq <= 2], c.ApplianceID)
			assert.Equal(t, tc.seq, c.Record.Seq)
			assert.Equal(t, entries[tc.seq-1].Sum, c.Record.Sum, "the certificate names its record entry")
			text := pdfText(t, filepath.Join(certs, tc.file+".pdf"))
			assert.Contains(t, text, "Erase certificate")
			assert.Contains(t, text, entries[tc.seq-1].Sum)
			assert.Contains(t, text, entries[tc.seq-1].Label)
		})
	}

	t.Run("again from the record, for the whole lot", func(t *testing.T) {
		dir := t.TempDir()
		code, out, errOut := runCLI(t, "report", "--certificates", "--lot", "W1", "--out", dir, "--log", b.log)
		require.Equal(t, 0, code, "%s%s", out, errOut)
		assert.Contains(t, out, "wrote 3 erase certificates of lot W1")
		var list []map[string]any
		require.NoError(t, json.Unmarshal(must(os.ReadFile(filepath.Join(dir, "erase-certificates-W1.json"))), &list))
		assert.Len(t, list, 3)
		text := pdfText(t, filepath.Join(dir, "erase-certificates-W1.pdf"))
		assert.Equal(t, 3, strings.Count(text, "\f"), "a page per drive")
		assert.Equal(t, 2, strings.Count(text, "NIST SP 800-88: Clear"))
		assert.Equal(t, 1, strings.Count(text, "NIST SP 800-88: not sanitized"))
	})
}
