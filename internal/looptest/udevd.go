//go:build linux

package looptest

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

// udevdRunning reports whether systemd-udevd answers on its socket.
func udevdRunning() bool {
	st, err := os.Stat("/run/udev/control")
	return err == nil && st.Mode()&os.ModeSocket != 0
}

// StartUdevd makes sure systemd-udevd runs for the test. One the test
// started is stopped when it ends; one that was already running is left
// alone. It skips the test when udevd is not installed.
func StartUdevd(t testing.TB) {
	t.Helper()
	Require(t)
	if udevdRunning() {
		return
	}
	bin := ""
	for _, p := range []string{"/lib/systemd/systemd-udevd", "/usr/lib/systemd/systemd-udevd"} {
		if _, err := os.Stat(p); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Skip("systemd-udevd is missing (Debian package udev)")
	}
	if out, err := exec.Command(bin, "--daemon").CombinedOutput(); err != nil {
		t.Fatalf("%s --daemon: %v: %s", bin, err, out)
	}
	t.Cleanup(func() { StopUdevd(t) })
	for deadline := time.Now().Add(5 * time.Second); !udevdRunning(); {
		if time.Now().After(deadline) {
			t.Fatal("systemd-udevd did not open /run/udev/control within 5 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// StopUdevd stops a running systemd-udevd and waits until it is gone.
// It returns false when udevd was not running.
func StopUdevd(t testing.TB) bool {
	t.Helper()
	if !udevdRunning() {
		return false
	}
	if out, err := exec.Command("udevadm", "control", "--exit").CombinedOutput(); err != nil {
		t.Logf("udevadm control --exit: %v: %s", err, out)
	}
	for deadline := time.Now().Add(5 * time.Second); udevdRunning(); {
		if time.Now().After(deadline) {
			t.Fatal("systemd-udevd did not exit within 5 s")
		}
		_ = os.Remove("/run/udev/control") // a stale socket of a dead udevd
		time.Sleep(20 * time.Millisecond)
	}
	return true
}
