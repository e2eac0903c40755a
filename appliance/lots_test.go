package appliance

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/record"
)

// TestLotCarriesOnAfterARestart: a scanned lot is kept in the state
// folder; the appliance starts again on it.
func TestLotCarriesOnAfterARestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		paths := Paths{Record: filepath.Join(dir, "jobs.log"), State: dir}
		r := startRig(t, Config{}, paths, nil)
		r.waitText("Clonebay", time.Second)
		r.rig.Scanner.Scan("WO-2231")
		r.waitText("Lot WO-2231", time.Second)
		r.press(hal.Up, hal.Up, hal.OK)
		r.waitText("Lot WO-2231: 0/2", time.Second)
		r.stop()
		data, err := os.ReadFile(filepath.Join(dir, "lot.json"))
		require.NoError(t, err)
		assert.JSONEq(t, `{"name":"WO-2231","goal":2}`, string(data))

		r = startRig(t, Config{}, paths, nil)
		r.waitText("Lot WO-2231: 0/2", time.Second)
		r.press(hal.Down, hal.Up, hal.Up, hal.OK)
		r.waitText(">End lot WO-2231", time.Second)
		r.press(hal.OK)
		r.waitText("Clonebay", time.Second)
		r.stop()
		data, err = os.ReadFile(filepath.Join(dir, "lot.json"))
		require.NoError(t, err)
		assert.JSONEq(t, `{"name":""}`, string(data), "ended")
	})
}

// TestLotRefusals: every bad lot says what is wrong, and no lot runs.
func TestLotRefusals(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   Config
		paths func(dir string) Paths
		scan  string
		want  string
	}{
		{"a control character", Config{}, withRecord, "A1\x07", "Character 3 of the"},
		{"1000 characters", Config{}, withRecord, longCode(1000), "The code is 1000"},
		{"a name no file system takes", Config{}, withRecord, "A17/B", "Character 4 ('/') is"},
		{"no record", Config{Lot: "A17"}, func(string) Paths { return Paths{} }, "", "No production"},
		{"a count of 0 is no count, -1 none at all", Config{Lot: "A17", LotGoal: -1}, withRecord, "", "A lot needs at least"},
		{"a damaged saved lot", Config{}, func(dir string) Paths {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "lot.json"), []byte(`{"name":"A17","goal":`), 0o644))
			return withRecord(dir)
		}, "", "The saved lot cannot"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := startRig(t, tc.cfg, tc.paths(t.TempDir()), nil)
				r.waitText("", time.Second)
				if tc.scan != "" {
					r.rig.Scanner.Scan(tc.scan)
				}
				r.waitText(tc.want, time.Second)
				assert.Equal(t, "", r.app.lot.Name)
			})
		})
	}
}

func withRecord(dir string) Paths { return Paths{Record: filepath.Join(dir, "jobs.log"), State: dir} }

func longCode(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'A'
	}
	return string(b)
}

// TestLotReportForTheExport: the export carries the running lot's batch
// report, as PDF and CSV, counted from the record.
func TestLotReportForTheExport(t *testing.T) {
	dir := t.TempDir()
	l, _, err := record.Open(fsys.OS, filepath.Join(dir, "jobs.log"))
	require.NoError(t, err)
	defer l.Close()
	require.NoError(t, l.Append(
		record.Entry{Job: "j1", Lot: "A17", Mode: "copy+verify", Port: 2, Result: "PASS", TargetSerial: "S1"},
		record.Entry{Job: "j1", Lot: "A17", Mode: "copy+verify", Port: 3, Result: "FAIL", TargetSerial: "S2"}))
	require.NoError(t, l.Append(
		record.Entry{Job: "j2", Lot: "A16", Mode: "copy+verify", Port: 2, Result: "PASS", TargetSerial: "S3"}))
	a := &Appliance{jobLog: l, version: "1.2.3", id: "box-1"}
	files, err := a.lotReports(l.Entries())
	require.NoError(t, err)
	assert.Empty(t, files, "no lot runs")

	a.lot = lotRun{Name: "A17"}
	files, err = a.lotReports(l.Entries())
	require.NoError(t, err)
	require.Len(t, files, 2)
	assert.Equal(t, "lot-A17.pdf", files[0].Name)
	assert.True(t, bytes.HasPrefix(files[0].Data, []byte("%PDF-")))
	assert.Equal(t, "lot-A17.csv", files[1].Name)
	csv := string(files[1].Data)
	assert.Contains(t, csv, "drives,2\npass,1\nfail,1\n")
	assert.Contains(t, csv, "firmware,1.2.3\n")
	assert.NotContains(t, csv, "S3", "another lot's drive")

	a.lot = lotRun{Name: "A18"}
	files, err = a.lotReports(l.Entries())
	require.NoError(t, err)
	assert.Empty(t, files, "a lot with no entry yet has no report")
}

// TestRecordLockedByACommandLineJob: the appliance and a command-line job
// never append to one record at once: whichever holds the record's lock
// first keeps it, and the appliance says it records nothing.
func TestRecordLockedByACommandLineJob(t *testing.T) {
	dir := t.TempDir()
	jobs := filepath.Join(dir, "jobs.log")
	held, err := lockRecord(jobs)
	require.NoError(t, err)
	synctest.Test(t, func(t *testing.T) {
		r := startRig(t, Config{}, Paths{Record: jobs}, nil)
		r.waitText("Jobs are not", time.Second)
		assert.Nil(t, r.app.jobLog)
	})
	require.NoError(t, held.Close())

	synctest.Test(t, func(t *testing.T) {
		r := startRig(t, Config{}, Paths{Record: jobs}, nil)
		r.waitText("Clonebay", time.Second)
		_, err := lockRecord(jobs)
		assert.ErrorContains(t, err, "another program is writing to it", "the running appliance holds it")
		r.stop()
		again, err := lockRecord(jobs)
		require.NoError(t, err, "let go when the appliance stops")
		again.Close()
	})
}
