package record_test

import (
	"bytes"
	"encoding/csv"
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

// copyLog copies a log and its head from testdata into a fresh folder.
func copyLog(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{name, record.HeadPath(name)} {
		data, err := os.ReadFile(filepath.Join("testdata", f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), data, 0o644))
	}
	return filepath.Join(dir, name)
}

// testdata/before-lots.log was written by the firmware before entries had
// a lot, a start time or a card's CID: its sums must still verify, and
// the log must go on with entries that have them.
func TestEntriesFromBeforeLotsStillVerify(t *testing.T) {
	path := copyLog(t, "before-lots.log")
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, field := range []string{`"lot"`, `"started"`, `"target_cid"`} {
		require.NotContains(t, string(raw), field, "the old log has no %s", field)
	}

	rep, err := record.Read(fsys.OS, path)
	require.NoError(t, err)
	require.NoError(t, rep.Err())
	require.Len(t, rep.Entries, 3)
	assert.Empty(t, rep.Entries[0].Lot)
	assert.True(t, rep.Entries[0].Started.IsZero())

	l := openLog(t, path)
	e := entry(4, "PASS")
	e.Job, e.Lot, e.TargetCID = "job-3", "A17", "035344534c30384780b2e1c57b013d00"
	e.Started = e.Time.Add(-90 * time.Second)
	require.NoError(t, l.Append(e))
	require.NoError(t, l.Close())

	rep, err = record.Read(fsys.OS, path)
	require.NoError(t, err)
	require.NoError(t, rep.Err(), "old and new entries chain into one log")
	require.Len(t, rep.Entries, 4)
	got := rep.Entries[3]
	assert.Equal(t, "A17", got.Lot)
	assert.Equal(t, e.TargetCID, got.TargetCID)
	assert.True(t, e.Started.Equal(got.Started))

	t.Run("the lot is part of the checksum", func(t *testing.T) {
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		edited := strings.Replace(string(data), `"lot":"A17"`, `"lot":"A18"`, 1)
		require.NotEqual(t, string(data), edited)
		require.NoError(t, os.WriteFile(path, []byte(edited), 0o644))
		rep, err := record.Read(fsys.OS, path)
		require.NoError(t, err)
		assert.ErrorIs(t, rep.Err(), record.ErrDamaged)
		assert.Contains(t, rep.Entries[3].Problem, "checksum does not match")
	})

	t.Run("the export carries the lot and the CID", func(t *testing.T) {
		var cs bytes.Buffer
		require.NoError(t, record.WriteCSV(&cs, []record.Entry{got}))
		rows, err := csv.NewReader(&cs).ReadAll()
		require.NoError(t, err)
		require.Len(t, rows, 2)
		col := map[string]int{}
		for i, h := range rows[0] {
			col[h] = i
		}
		assert.Equal(t, "A17", rows[1][col["lot"]])
		assert.Equal(t, e.TargetCID, rows[1][col["target_cid"]])
	})
}
