//go:build linux

package looptest

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestLockFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "udevd.lock")
	// tryLock takes the lock through a file of its own, as another process
	// would, and lets it go again.
	tryLock := func() error {
		f, err := os.Open(file)
		require.NoError(t, err)
		defer f.Close()
		return unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	}

	t.Run("held for the test", func(t *testing.T) {
		lockFile(t, file, time.Minute, nil)
		assert.ErrorIs(t, tryLock(), unix.EWOULDBLOCK)
		holder, err := os.ReadFile(file)
		require.NoError(t, err)
		assert.Contains(t, string(holder), "TestLockFile/held_for_the_test", "the file names its holder")
	})
	assert.NoError(t, tryLock(), "free once the test ended")

	other, err := os.Open(file)
	require.NoError(t, err)
	defer other.Close()
	require.NoError(t, unix.Flock(int(other.Fd()), unix.LOCK_EX))
	t.Run("waits for another holder", func(t *testing.T) {
		// The other holder lets go once the wait has begun.
		lockFile(t, file, time.Minute, func() { other.Close() })
		assert.ErrorIs(t, tryLock(), unix.EWOULDBLOCK)
	})
	assert.NoError(t, tryLock())
}
