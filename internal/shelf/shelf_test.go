package shelf_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/internal/shelf"
)

// TestOpenClearsOnlyLeftovers: a partial folder nobody writes is what an
// interrupted write left, and goes; one whose lock is held is being
// written by another process, and stays.
func TestOpenClearsOnlyLeftovers(t *testing.T) {
	dir := t.TempDir()
	s, err := shelf.Open(dir, "test shelf", "lock")
	require.NoError(t, err)
	require.NoError(t, os.Mkdir(s.Path("whole"), 0o755))
	left := s.Partial("left", "")
	require.NoError(t, os.Mkdir(left, 0o755))
	busy := s.Partial("busy", "")
	require.NoError(t, os.Mkdir(busy, 0o755))
	lock, err := s.Lock(busy)
	require.NoError(t, err)
	defer lock.Close()
	_, err = s.Lock(busy)
	assert.ErrorContains(t, err, "is being written by another process")

	_, err = shelf.Open(dir, "test shelf", "lock")
	require.NoError(t, err)
	assert.True(t, s.Has("whole"))
	assert.NoDirExists(t, left)
	assert.DirExists(t, busy)
}

func TestRemove(t *testing.T) {
	s, err := shelf.Open(t.TempDir(), "test shelf", "lock")
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(s.Path("a", "sub"), 0o755))
	require.NoError(t, os.WriteFile(s.Path("a", "sub", "f"), []byte("x"), 0o644))
	require.NoError(t, s.Remove("a"))
	assert.False(t, s.Has("a"))
	ents, err := os.ReadDir(s.Dir)
	require.NoError(t, err)
	assert.Empty(t, ents, "nothing is left, not even the partial folder")
	assert.ErrorContains(t, s.Remove("missing"), "deleting missing")
	n, err := s.Free()
	require.NoError(t, err)
	assert.Positive(t, n)
}

// TestPartialFoldersNeverMeet: the folder of one entry's stage is never
// the folder another entry is written in, though names hold dots.
func TestPartialFoldersNeverMeet(t *testing.T) {
	s, err := shelf.Open(t.TempDir(), "test shelf", "data")
	require.NoError(t, err)
	for _, tc := range []struct{ name, stage, other string }{
		{"a", ".update", "a.update"},
		{"a", ".old", "a.old"},
		{"a", ".deleting", "a.deleting"},
		{"a.update", "", "a"},
	} {
		assert.NotEqual(t, s.Partial(tc.other, ""), s.Partial(tc.name, tc.stage), "%s%s and %s", tc.name, tc.stage, tc.other)
		assert.NotEqual(t, s.Partial(tc.other, ".update"), s.Partial(tc.name, tc.stage), "%s%s and %s.update", tc.name, tc.stage, tc.other)
	}
}
