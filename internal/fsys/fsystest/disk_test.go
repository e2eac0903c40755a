package fsystest_test

import (
	"io"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/internal/fsys/fsystest"
)

func write(t *testing.T, d fsys.FS, name, data string, syncFile bool) {
	t.Helper()
	f, err := d.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	require.NoError(t, err)
	_, err = f.Write([]byte(data))
	require.NoError(t, err)
	if syncFile {
		require.NoError(t, f.Sync())
	}
	require.NoError(t, f.Close())
}

// TestCutKeepsOnlyWhatWasSynced is the double's contract: a file's
// content survives once the file is synced, its name once its folder is.
func TestCutKeepsOnlyWhatWasSynced(t *testing.T) {
	tests := []struct {
		name              string
		syncFile, syncDir bool
		wantExists        bool
		wantContent       string
	}{
		{"nothing synced", false, false, false, ""},
		{"file synced, folder not", true, false, false, ""},
		{"folder synced, file not", false, true, true, ""},
		{"both synced", true, true, true, "hello"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := fsystest.NewDisk()
			require.NoError(t, d.MkdirAll("/state", 0o755))
			write(t, d, "/state/f", "hello", tt.syncFile)
			if tt.syncDir {
				require.NoError(t, d.SyncDir("/state"))
			}
			after := d.Cut(nil)
			got, err := after.ReadFile("/state/f")
			if !tt.wantExists {
				assert.ErrorIs(t, err, os.ErrNotExist)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.wantContent, string(got))
		})
	}
}

func TestRenameIsDurableOnlyAfterTheFolderSync(t *testing.T) {
	d := fsystest.NewDisk()
	require.NoError(t, d.MkdirAll("/s", 0o755))
	write(t, d, "/s/a", "old", true)
	require.NoError(t, d.SyncDir("/s"))
	write(t, d, "/s/b", "new", true)
	require.NoError(t, d.Rename("/s/b", "/s/a"))

	before := d.Cut(nil)
	got, err := before.ReadFile("/s/a")
	require.NoError(t, err)
	assert.Equal(t, "old", string(got), "the rename was not synced")
}

func TestAfterTheCutEverythingFails(t *testing.T) {
	d := fsystest.NewDisk()
	require.NoError(t, d.MkdirAll("/s", 0o755))
	f, err := d.OpenFile("/s/a", os.O_RDWR|os.O_CREATE, 0o644)
	require.NoError(t, err)
	d.Cut(nil)
	_, err = f.Write([]byte("x"))
	assert.ErrorIs(t, err, fsystest.ErrPowerOff)
	assert.ErrorIs(t, f.Sync(), fsystest.ErrPowerOff)
	_, err = d.ReadFile("/s/a")
	assert.ErrorIs(t, err, fsystest.ErrPowerOff)
}

func TestPowerOffAfter(t *testing.T) {
	d := fsystest.NewDisk()
	require.NoError(t, d.MkdirAll("/s", 0o755))
	d.PowerOffAfter(2)
	f, err := d.OpenFile("/s/a", os.O_RDWR|os.O_CREATE, 0o644)
	require.NoError(t, err)
	_, err = f.Write([]byte("x"))
	require.NoError(t, err)
	assert.ErrorIs(t, f.Sync(), fsystest.ErrPowerOff, "the third operation finds the power off")
}

func TestTornAppendKeepsAPrefix(t *testing.T) {
	d := fsystest.NewDisk()
	require.NoError(t, d.MkdirAll("/s", 0o755))
	write(t, d, "/s/log", "first\n", true)
	require.NoError(t, d.SyncDir("/s"))
	f, err := d.OpenFile("/s/log", os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = io.WriteString(f, "second entry\n")
	require.NoError(t, err)
	after := d.Cut(rand.New(rand.NewPCG(1, 1)))
	got, err := after.ReadFile("/s/log")
	require.NoError(t, err)
	assert.True(t, len(got) >= len("first\n") && len(got) <= len("first\nsecond entry\n"))
	assert.Equal(t, "first\nsecond entry\n"[:len(got)], string(got))
}
