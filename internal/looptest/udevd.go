//go:build linux

package looptest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/clonebay/clonebay/internal/hotplug"

	"github.com/clonebay/clonebay/internal/testenv"
)

// UdevdLockFile is the machine-wide lock of the tests that start or stop
// systemd-udevd. go test runs packages at once, and more than one checkout
// may test on one machine: a test that stops udevd under another that
// waits for udev's events fails that one.
var UdevdLockFile = filepath.Join(lockDir(), "clonebay-test-udevd.lock")

// UdevdLockWait bounds the wait for another test's hold on the lock.
const UdevdLockWait = 3 * time.Minute

// udevdHolds counts this process's holds on the lock; starting or stopping
// udevd without one is a test bug.
var udevdHolds atomic.Int32

func lockDir() string {
	if st, err := os.Stat("/run/lock"); err == nil && st.IsDir() {
		return "/run/lock"
	}
	return os.TempDir()
}

// LockUdevd takes the machine-wide udevd lock for the rest of the test (a
// t.Cleanup lets it go). Take it before StartUdevd or StopUdevd, and hold
// it as long as the test depends on udevd's state. It waits while another
// test holds it, up to UdevdLockWait, and then fails naming the holder.
func LockUdevd(t testing.TB) {
	t.Helper()
	Require(t)
	lockFile(t, UdevdLockFile, UdevdLockWait, nil)
	udevdHolds.Add(1)
	t.Cleanup(func() { udevdHolds.Add(-1) })
}

// lockFile holds an exclusive flock on file until the test ends, waiting
// up to wait for another holder; onWait, when set, runs once the wait
// begins.
func lockFile(t testing.TB, file string, wait time.Duration, onWait func()) {
	t.Helper()
	f, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatalf("lock %s: %v", file, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(file)
		t.Logf("waiting for the lock %s, held by %s", file, strings.TrimSpace(string(holder)))
		locked := make(chan error, 1)
		abandoned := make(chan struct{})
		go func() {
			err := unix.Flock(int(f.Fd()), unix.LOCK_EX)
			select {
			case locked <- err:
			case <-abandoned:
				f.Close() // the test gave up: let go at once
			}
		}()
		if onWait != nil {
			onWait()
		}
		select {
		case err = <-locked:
		case <-time.After(wait):
			close(abandoned)
			t.Fatalf("lock %s: still held after %v by %s", file, wait, strings.TrimSpace(string(holder)))
		}
		if err != nil {
			f.Close()
			t.Fatalf("lock %s: %v", file, err)
		}
	}
	// Name the holder for tests that wait for it.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(fmt.Sprintf("pid %d (%s)\n", os.Getpid(), t.Name())), 0)
	}
	t.Cleanup(func() { f.Close() }) // closing the file lets the lock go
}

func mustHoldUdevdLock(t testing.TB) {
	t.Helper()
	if udevdHolds.Load() == 0 {
		t.Fatal("looptest: take LockUdevd before starting or stopping systemd-udevd")
	}
}

// udevdRunning reports whether systemd-udevd answers on its socket.
func udevdRunning() bool { return hotplug.UdevdRunning() }

// StartUdevd makes sure systemd-udevd runs for the test. One the test
// started is stopped when it ends; one that was already running is left
// alone. It skips the test when udevd is not installed. The test must
// hold LockUdevd.
func StartUdevd(t testing.TB) {
	t.Helper()
	Require(t)
	mustHoldUdevdLock(t)
	if udevdRunning() {
		return
	}
	startUdevd(t)
	t.Cleanup(func() { StopUdevd(t) })
}

// RestoreUdevd puts systemd-udevd back as it is now, running or not, when
// the test ends, whatever the test started or stopped. The test must hold
// LockUdevd.
func RestoreUdevd(t testing.TB) {
	t.Helper()
	Require(t)
	mustHoldUdevdLock(t)
	if !udevdRunning() {
		return
	}
	// Cleanups run last first: this one runs after those of StartUdevd.
	t.Cleanup(func() {
		if !udevdRunning() {
			startUdevd(t)
		}
	})
}

// startUdevd starts systemd-udevd as a daemon and waits for its control
// socket.
func startUdevd(t testing.TB) {
	t.Helper()
	bin := ""
	for _, p := range []string{"/lib/systemd/systemd-udevd", "/usr/lib/systemd/systemd-udevd"} {
		if _, err := os.Stat(p); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		testenv.Skip(t, "systemd-udevd is missing (Debian package udev)")
	}
	if out, err := exec.Command(bin, "--daemon").CombinedOutput(); err != nil {
		t.Fatalf("%s --daemon: %v: %s", bin, err, out)
	}
	for deadline := time.Now().Add(udevdWait); !udevdRunning(); {
		if time.Now().After(deadline) {
			t.Fatalf("systemd-udevd did not open /run/udev/control within %v", udevdWait)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// udevdWait bounds the waits for systemd-udevd to start or to exit. They
// are bounds, not measures: asked to exit, udevd first handles the events
// it has queued, and a machine running many tests at once (each attaching
// loop devices) queued enough that 5 s was too short.
const udevdWait = time.Minute

// StopUdevd stops a running systemd-udevd and waits until it is gone.
// It returns false when udevd was not running. The test must hold
// LockUdevd.
func StopUdevd(t testing.TB) bool {
	t.Helper()
	mustHoldUdevdLock(t)
	if !udevdRunning() {
		return false
	}
	if out, err := exec.Command("udevadm", "control", "--exit").CombinedOutput(); err != nil {
		t.Logf("udevadm control --exit: %v: %s", err, out)
	}
	for deadline := time.Now().Add(udevdWait); udevdRunning(); {
		if time.Now().After(deadline) {
			t.Fatalf("systemd-udevd did not exit within %v", udevdWait)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// An exited udevd leaves its socket; tools that only look for the
	// file would take it for a running udevd.
	_ = os.Remove(hotplug.UdevdControl)
	return true
}
