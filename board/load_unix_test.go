//go:build unix

package board_test

import (
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/board"
)

// TestLoadRefusesWhatIsNoFile: a board "file" that is a named pipe would
// keep the firmware waiting for a writer at its start for ever; it is
// refused at once, and so is a folder.
func TestLoadRefusesWhatIsNoFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "board.yaml")
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	for _, tc := range []struct{ path, want string }{
		{fifo, "board file: " + fifo + ": not a regular file: it is a named pipe (FIFO)"},
		{dir + "/", "it is a folder"},
	} {
		_, err := board.Load(tc.path)
		assert.ErrorContains(t, err, tc.want)
	}
}
