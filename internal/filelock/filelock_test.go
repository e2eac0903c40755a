package filelock_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/internal/filelock"
)

// TestLocks: a lock belongs to an open file, so two opens in one process
// behave like two programs.
func TestLocks(t *testing.T) {
	tests := []struct {
		name              string
		first, second     bool // exclusive?
		wantSecondRefused bool
	}{
		{"two readers", false, false, false},
		{"a writer then a reader", true, false, true},
		{"a reader then a writer", false, true, true},
		{"two writers", true, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "master.img")
			require.NoError(t, os.WriteFile(path, []byte("x"), 0o644))
			a, err := os.Open(path)
			require.NoError(t, err)
			defer a.Close()
			b, err := os.Open(path)
			require.NoError(t, err)
			defer b.Close()

			require.NoError(t, filelock.Lock(a, tt.first))
			err = filelock.Lock(b, tt.second)
			if tt.wantSecondRefused {
				assert.ErrorIs(t, err, filelock.ErrLocked)
			} else {
				assert.NoError(t, err)
			}
			require.NoError(t, a.Close())
			assert.NoError(t, filelock.Lock(b, true), "closing the file ends its lock")
		})
	}
}

func TestFree(t *testing.T) {
	n, err := filelock.Free(t.TempDir())
	require.NoError(t, err)
	assert.Positive(t, n)
	_, err = filelock.Free(filepath.Join(t.TempDir(), "missing"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}
