//go:build linux

package cli

import (
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInputsThatAreNotFiles: an input file that is a named pipe (which
// would keep the command waiting for a writer for ever), a folder or a
// device is refused at once, with what it is.
func TestInputsThatAreNotFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe")
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	raw := writeFile(t, dir, "disk.img", make([]byte, 64<<10))
	lib := filepath.Join(dir, "library")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"a record to verify", []string{"log", "verify", "--log", fifo}, fifo + ": not a regular file: it is a named pipe (FIFO)"},
		{"a record to show", []string{"log", "show", "--log", fifo}, fifo + ": not a regular file: it is a named pipe (FIFO)"},
		{"a record that is a folder", []string{"log", "verify", "--log", dir}, dir + ": not a regular file: it is a folder"},
		{"an image to import", []string{"image", "import", "--library", lib, fifo}, fifo + ": not a regular file: it is a named pipe (FIFO)"},
		{"a device to import", []string{"image", "import", "--library", lib, "/dev/null"}, "/dev/null: not a regular file: it is a device"},
		{"a block map", []string{"image", "import", "--library", lib, "--bmap", fifo, raw}, fifo + ": not a regular file: it is a named pipe (FIFO)"},
		{"a checksum file", []string{"image", "import", "--library", lib, "--sha256", fifo, raw}, fifo + ": not a regular file: it is a named pipe (FIFO)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tc.args...)
			assert.NotEqual(t, 0, code, "%s%s", out, errOut)
			assert.Contains(t, errOut, tc.want)
			assert.NoDirExists(t, filepath.Join(lib, "disk"), "nothing was imported")
		})
	}
}
