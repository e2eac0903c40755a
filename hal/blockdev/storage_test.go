//go:build linux

package blockdev_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/hal/blockdev"
	"github.com/clonebay/clonebay/internal/looptest"
)

// losetup attaches a free loop device with the given losetup arguments
// (options and the backing file or device) and detaches it when the test
// ends.
func losetup(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("losetup", append([]string{"--find", "--show"}, args...)...).CombinedOutput()
	require.NoError(t, err, "losetup %v: %s", args, out)
	node := strings.TrimSpace(string(out))
	t.Cleanup(func() { looptest.Detach(t, node) })
	return node
}

func sizedFile(t *testing.T, dir, name string, size int64) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(name), 0o644))
	require.NoError(t, os.Truncate(p, size))
	return p
}

// TestStorageOfEveryName looks up one file through every name a job
// could be given for it, and other storage that must not be taken for it.
func TestStorageOfEveryName(t *testing.T) {
	looptest.Require(t)
	dir := t.TempDir()
	master := sizedFile(t, dir, "master.img", 4*MiB)
	other := sizedFile(t, dir, "other.img", 4*MiB)
	hardlink := filepath.Join(dir, "hardlink.img")
	require.NoError(t, os.Link(master, hardlink))
	symlink := filepath.Join(dir, "symlink.img")
	require.NoError(t, os.Symlink(master, symlink))
	loopAtOffset := losetup(t, "--offset", "1048576", master)
	loopWhole := losetup(t, master)
	loopOther := losetup(t, other)
	loopOnLoop := losetup(t, loopOther)

	// A loop device whose file's first name is gone: sysfs shows the
	// old name "(deleted)", the device itself knows the inode.
	gone := sizedFile(t, dir, "gone.img", 2*MiB)
	loopGone := losetup(t, gone)
	survivor := filepath.Join(dir, "survivor.img")
	require.NoError(t, os.Link(gone, survivor))
	require.NoError(t, os.Remove(gone))

	resolve := func(name string) blockdev.Storage {
		s, err := blockdev.Resolve(name)
		require.NoError(t, err, name)
		return s
	}
	for _, tc := range []struct {
		name string
		a, b string
		same bool
	}{
		{"a hard link", master, hardlink, true},
		{"a symbolic link", master, symlink, true},
		{"a loop device at an offset", master, loopAtOffset, true},
		{"a loop device on the whole file", master, loopWhole, true},
		{"two loop devices on one file", loopAtOffset, loopWhole, true},
		{"a loop device on a loop device", loopOther, loopOnLoop, true},
		{"the file under a loop device on a loop device", other, loopOnLoop, true},
		{"a loop device on a file with a deleted name", survivor, loopGone, true},
		{"another file", master, other, false},
		{"a loop device on another file", master, loopOther, false},
		{"a loop device on a loop device on another file", loopWhole, loopOnLoop, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := resolve(tc.a), resolve(tc.b)
			assert.Equal(t, tc.same, a.Same(b), "%s and %s", tc.a, tc.b)
			assert.Equal(t, tc.same, a.Key() == b.Key())
		})
	}

	// An open drive knows its storage too: the engine compares IDs.
	d, err := blockdev.OpenRead(loopAtOffset)
	require.NoError(t, err)
	defer d.Close()
	assert.True(t, d.Storage().Same(resolve(master)))
	assert.Equal(t, resolve(master).Key(), d.ID())
}

func TestLoopsOn(t *testing.T) {
	looptest.Require(t)
	dir := t.TempDir()
	file := sizedFile(t, dir, "backing.img", 4*MiB)
	free := sizedFile(t, dir, "free.img", 4*MiB)
	first := losetup(t, file)
	second := losetup(t, "--offset", "1048576", file)
	stacked := losetup(t, second)

	loopsOn := func(name string) []string {
		s, err := blockdev.Resolve(name)
		require.NoError(t, err)
		loops, err := blockdev.LoopsOn(s)
		require.NoError(t, err)
		return loops
	}
	assert.ElementsMatch(t, []string{first, second, stacked}, loopsOn(file), "every loop device over the file")
	assert.ElementsMatch(t, []string{second, stacked}, loopsOn(first), "the other loop devices on its file")
	assert.ElementsMatch(t, []string{first}, loopsOn(stacked), "the file's other loop device, not the one it is built from")
	assert.Empty(t, loopsOn(free))
}

func TestFileLocks(t *testing.T) {
	open := map[string]func(string) (*blockdev.Drive, error){"master": blockdev.OpenRead, "target": blockdev.OpenWrite}
	for _, tc := range []struct {
		first, second string
		busy          bool
		why           string
	}{
		{"master", "master", false, "two jobs may read one master"},
		{"master", "target", true, "a job never writes a master another job reads"},
		{"target", "master", true, "a job never reads a target another job writes"},
		{"target", "target", true, "two jobs never write one file"},
	} {
		t.Run(tc.first+" then "+tc.second, func(t *testing.T) {
			file := sizedFile(t, t.TempDir(), "drive.img", MiB)
			held, err := open[tc.first](file)
			require.NoError(t, err)
			d, err := open[tc.second](file)
			if !tc.busy {
				require.NoError(t, err, tc.why)
				require.NoError(t, d.Close())
			} else {
				assert.ErrorIs(t, err, hal.ErrBusy, tc.why)
				assert.ErrorContains(t, err, file)
				assert.ErrorContains(t, err, "another job is")
			}
			require.NoError(t, held.Close())
			d, err = open[tc.second](file)
			require.NoError(t, err, "free again once the first job closes it")
			require.NoError(t, d.Close())
		})
	}
}
