package record_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/record"
)

func entry(port int, result string) record.Entry {
	return record.Entry{Time: time.Date(2026, 11, 22, 10, 0, port, 0, time.UTC), Job: "job-1", Mode: "copy+verify",
		MasterKind: "drive", MasterName: "SanDisk Ultra", MasterSize: 8e9, MasterSHA256: "ab12", Area: "whole media", Bytes: 8e9,
		Port: port, Label: fmt.Sprint(port), TargetModel: "Kingston DT", TargetSerial: fmt.Sprintf("SN%03d", port), TargetSize: 16e9,
		Result: result, Written: 8e9, Verified: 8e9, MBps: 31.5, SHA256: "ab12",
		BadRanges: []record.Range{{Off: 4096, Len: 512}}}
}

func openLog(t *testing.T, path string) *record.Log {
	t.Helper()
	l, rep, err := record.Open(fsys.OS, path)
	require.NoError(t, err)
	require.Zero(t, rep.Torn)
	t.Cleanup(func() { l.Close() })
	return l
}

func TestAppendAndReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "jobs.log")
	l := openLog(t, path)
	require.NoError(t, l.Append(entry(2, "PASS"), entry(3, "FAIL")))
	require.NoError(t, l.Append(entry(2, "PASS")))
	require.NoError(t, l.Close())

	l2 := openLog(t, path)
	got := l2.Entries()
	require.Len(t, got, 3)
	assert.Equal(t, []int64{1, 2, 3}, []int64{got[0].Seq, got[1].Seq, got[2].Seq})
	assert.Empty(t, got[0].Prev)
	assert.Equal(t, got[0].Sum, got[1].Prev, "each entry is chained to the one before")
	assert.Equal(t, "FAIL", got[1].Result)
	require.NoError(t, l2.Append(entry(4, "PASS")))
	assert.Len(t, l2.Entries(), 4)
}

// TestSnapshotStaysAsTaken: a snapshot is not copied, yet the log's later
// appends do not change it, nor does appending to it change the log.
func TestSnapshotStaysAsTaken(t *testing.T) {
	l := openLog(t, filepath.Join(t.TempDir(), "jobs.log"))
	require.NoError(t, l.Append(entry(2, "PASS")))
	snap := l.Snapshot()
	require.NoError(t, l.Append(entry(3, "FAIL")))
	assert.Len(t, snap, 1)
	_ = append(snap, entry(4, "PASS"))
	got := l.Snapshot()
	require.Len(t, got, 2)
	assert.Equal(t, "FAIL", got[1].Result, "the log's own second entry")
	require.NoError(t, l.Close())
}

func TestDamageIsDetected(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(lines []string) []string
		want string
	}{
		{"edited result", func(l []string) []string { l[1] = strings.Replace(l[1], `"FAIL"`, `"PASS"`, 1); return l },
			"entry 2 (line 2): checksum does not match its content"},
		{"removed entry", func(l []string) []string { return append(l[:1], l[2:]...) },
			"entry 3 (line 2): it does not follow the entry before"},
		{"garbage line", func(l []string) []string { l[0] = "not json"; return l }, "line 1 is not an entry"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "jobs.log")
			l := openLog(t, path)
			require.NoError(t, l.Append(entry(2, "PASS"), entry(3, "FAIL"), entry(4, "PASS")))
			require.NoError(t, l.Close())
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
			require.NoError(t, os.WriteFile(path, []byte(strings.Join(tc.edit(lines), "\n")+"\n"), 0o644))

			l2, _, err := record.Open(fsys.OS, path)
			require.ErrorIs(t, err, record.ErrDamaged)
			assert.ErrorContains(t, err, tc.want)
			require.NotNil(t, l2, "what is there can still be read")
			l2.Close()
		})
	}
}

func TestTornEntryIsCutOff(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.log")
	l := openLog(t, path)
	require.NoError(t, l.Append(entry(2, "PASS"), entry(3, "PASS")))
	require.NoError(t, l.Close())
	before, err := os.ReadFile(path)
	require.NoError(t, err)
	// A write the plug interrupted: half an entry, no newline.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"seq":3,"time":"2026-11-22T10:0`)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	l2, rep, err := record.Open(fsys.OS, path)
	require.NoError(t, err, "a torn last entry is not damage")
	assert.NotZero(t, rep.Torn)
	assert.Contains(t, rep.Notes, "the last entry was cut short by a power loss")
	assert.Len(t, l2.Entries(), 2, "every earlier entry is there")
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, before, after, "the torn bytes are gone")
	require.NoError(t, l2.Append(entry(4, "PASS")))
	require.NoError(t, l2.Close())
	openLog(t, path)
}

func TestExportReadsBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.log")
	l := openLog(t, path)
	e3 := entry(3, "FAIL")
	e3.Reason = `port 3: verify: mismatch at 1234, "quoted"`
	require.NoError(t, l.Append(entry(2, "PASS"), e3))
	entries := l.Entries()

	var js bytes.Buffer
	require.NoError(t, record.WriteJSON(&js, entries))
	var back []record.Entry
	require.NoError(t, json.Unmarshal(js.Bytes(), &back))
	assert.Equal(t, entries, back)

	var cs bytes.Buffer
	require.NoError(t, record.WriteCSV(&cs, entries))
	rows, err := csv.NewReader(&cs).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 3)
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for i, e := range entries {
		row := rows[i+1]
		assert.Equal(t, fmt.Sprint(e.Seq), row[col["seq"]])
		assert.Equal(t, e.Result, row[col["result"]])
		assert.Equal(t, e.Reason, row[col["reason"]])
		assert.Equal(t, e.TargetSerial, row[col["target_serial"]])
		assert.Equal(t, "4096+512", row[col["bad_ranges"]])
		assert.Equal(t, e.Sum, row[col["sum"]])
	}
}

// TestCSVRunsNoFormula: text a drive or an operator supplied that a
// spreadsheet would run as a formula is written with a leading
// apostrophe; everything else is written as it is.
func TestCSVRunsNoFormula(t *testing.T) {
	e := entry(2, "PASS")
	e.TargetModel = `=HYPERLINK("http://x.example","open")`
	e.TargetSerial = "+1+cmd|' /C calc'!A0"
	e.Label = "@SUM(1)"
	e.Lot = "-2"
	e.MasterName = "Golden image = v3"
	var cs bytes.Buffer
	require.NoError(t, record.WriteCSV(&cs, []record.Entry{e}))
	rows, err := csv.NewReader(&cs).ReadAll()
	require.NoError(t, err)
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, tc := range []struct{ column, want string }{
		{"target_model", `'=HYPERLINK("http://x.example","open")`},
		{"target_serial", "'+1+cmd|' /C calc'!A0"},
		{"label", "'@SUM(1)"},
		{"lot", "'-2"},
		{"master_name", "Golden image = v3"},
	} {
		assert.Equal(t, tc.want, rows[1][col[tc.column]], tc.column)
	}
}
