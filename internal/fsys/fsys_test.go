package fsys_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/internal/fsys/fsystest"
)

// TestWriteFileAtomicAtEveryPowerCut cuts the power after every operation
// of a replacement: the file is always the old version or the new one,
// and once WriteFileAtomic returned nil it is the new one.
func TestWriteFileAtomicAtEveryPowerCut(t *testing.T) {
	for n := 0; ; n++ {
		d := fsystest.NewDisk()
		require.NoError(t, fsys.WriteFileAtomic(d, "/state/settings.yaml", []byte("old"), 0o600))
		d.PowerOffAfter(n)
		err := fsys.WriteFileAtomic(d, "/state/settings.yaml", []byte("new"), 0o600)
		after := d.Cut(nil)
		got, rerr := after.ReadFile("/state/settings.yaml")
		require.NoError(t, rerr, "power cut after %d operations: the file is there", n)
		if err == nil {
			assert.Equal(t, "new", string(got), "power cut after %d operations, after success", n)
			return // the whole write fitted in n operations: every point was tried
		}
		assert.Contains(t, []string{"old", "new"}, string(got), "power cut after %d operations", n)
	}
}

// skipSync is a file system whose writers "forgot" one kind of sync.
type skipSync struct {
	fsys.FS
	files, dirs bool
}

type noSyncFile struct{ fsys.File }

func (noSyncFile) Sync() error { return nil }

func (s skipSync) OpenFile(name string, flag int, perm fs.FileMode) (fsys.File, error) {
	f, err := s.FS.OpenFile(name, flag, perm)
	if err != nil || !s.files {
		return f, err
	}
	return noSyncFile{f}, nil
}

func (s skipSync) SyncDir(dir string) error {
	if s.dirs {
		return nil
	}
	return s.FS.SyncDir(dir)
}

// TestTheDoubleCatchesAMissingSync shows why the double exists: without
// the file's sync or the folder's, a write that returned nil is lost.
func TestTheDoubleCatchesAMissingSync(t *testing.T) {
	for _, skip := range []skipSync{{files: true}, {dirs: true}} {
		t.Run(fmt.Sprintf("files=%v dirs=%v", skip.files, skip.dirs), func(t *testing.T) {
			d := fsystest.NewDisk()
			skip.FS = d
			require.NoError(t, fsys.WriteFileAtomic(skip, "/state/journal", []byte("checkpoint 7"), 0o644))
			got, _ := d.Cut(nil).ReadFile("/state/journal")
			assert.NotEqual(t, "checkpoint 7", string(got))
		})
	}
}

func TestWriteFileAtomicOnTheOS(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "settings.yaml")
	require.NoError(t, fsys.WriteFileAtomic(fsys.OS, path, []byte("a: 1\n"), 0o600))
	require.NoError(t, fsys.WriteFileAtomic(fsys.OS, path, []byte("a: 2\n"), 0o600))
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "a: 2\n", string(got))
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	ents, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	assert.Len(t, ents, 1, "no temporary file is left")
	assert.Error(t, fsys.WriteFileAtomic(fsys.OS, filepath.Join(path, "under-a-file"), nil, 0o644), "a folder that cannot exist")
}

func TestIsTemp(t *testing.T) {
	assert.True(t, fsys.IsTemp(".settings.yaml.0a1b2c3d4e5f.tmp"))
	assert.False(t, fsys.IsTemp("settings.yaml"))
	assert.False(t, fsys.IsTemp(".tmp"))
}
