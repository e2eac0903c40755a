//go:build linux

package looptest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/clonebay/clonebay/internal/testenv"
)

// Require skips the test unless it runs as root with losetup available.
func Require(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Skip(t, "real-device test: needs root to attach loop devices (run 'make test' as root)")
	}
	if _, err := exec.LookPath("losetup"); err != nil {
		testenv.Skip(t, "real-device test: losetup is missing (Debian package util-linux)")
	}
}

// Device is an attached loop device and its backing file.
type Device struct {
	Node string // /dev/loopN
	File string // the backing file
}

// Attach makes a sparse backing file of size bytes, optionally filled with
// content from offset 0, attaches it to a free loop device and detaches it
// when the test ends.
func Attach(t testing.TB, size int64, content []byte) Device {
	t.Helper()
	Require(t)
	file := filepath.Join(t.TempDir(), "backing.img")
	f, err := os.Create(file)
	if err != nil {
		t.Fatalf("loop backing file: %v", err)
	}
	if _, err := f.Write(content); err != nil {
		t.Fatalf("loop backing file: %v", err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatalf("loop backing file: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("loop backing file: %v", err)
	}
	return AttachFile(t, file)
}

// AttachFile attaches an existing file to a free loop device.
func AttachFile(t testing.TB, file string) Device {
	t.Helper()
	Require(t)
	out, err := exec.Command("losetup", "--find", "--show", file).CombinedOutput()
	if err != nil {
		t.Fatalf("losetup --find --show %s: %v: %s", file, err, out)
	}
	node := strings.TrimSpace(string(out))
	t.Cleanup(func() { Detach(t, node) })
	return Device{Node: node, File: file}
}

// Detach detaches a loop device; detaching one that is gone is not an
// error.
func Detach(t testing.TB, node string) {
	t.Helper()
	out, err := exec.Command("losetup", "--detach", node).CombinedOutput()
	if err != nil && !strings.Contains(string(out), "No such device") && !strings.Contains(string(out), "No such file") {
		t.Logf("losetup --detach %s: %v: %s", node, err, out)
	}
}

// FreeNumbers returns count loop device numbers from 200 up that no loop
// device uses: either missing or not attached. A test names them in a
// board before the devices appear, then attaches them with AttachAt.
func FreeNumbers(t testing.TB, count int) []int {
	t.Helper()
	var out []int
	for n := 200; len(out) < count && n < 1000; n++ {
		b, err := os.ReadFile(fmt.Sprintf("/sys/block/loop%d/size", n))
		if err != nil || strings.TrimSpace(string(b)) == "0" {
			out = append(out, n)
		}
	}
	if len(out) < count {
		t.Fatalf("no %d free loop device numbers", count)
	}
	return out
}

// AttachAt attaches a new backing file of size bytes (content at offset
// 0) to the loop device with number n, creating /dev/loopN through
// /dev/loop-control when it does not exist yet (and removing it again
// when the test ends).
func AttachAt(t testing.TB, n int, size int64, content []byte) Device {
	t.Helper()
	Require(t)
	node := fmt.Sprintf("/dev/loop%d", n)
	if _, err := os.Stat(node); err != nil {
		t.Cleanup(func() { removeLoop(n) })
		ctl, err := os.OpenFile("/dev/loop-control", os.O_RDWR, 0)
		if err != nil {
			t.Fatalf("loop-control: %v", err)
		}
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, ctl.Fd(), unix.LOOP_CTL_ADD, uintptr(n))
		ctl.Close()
		if errno != 0 && errno != unix.EEXIST {
			t.Fatalf("LOOP_CTL_ADD %d: %v", n, errno)
		}
		for deadline := time.Now().Add(30 * time.Second); ; { // a bound: devtmpfs makes the node soon, later on a loaded machine
			if _, err := os.Stat(node); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s did not appear", node)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	file := filepath.Join(t.TempDir(), fmt.Sprintf("loop%d.img", n))
	if err := os.WriteFile(file, content, 0o644); err != nil {
		t.Fatalf("loop backing file: %v", err)
	}
	if err := os.Truncate(file, size); err != nil {
		t.Fatalf("loop backing file: %v", err)
	}
	if out, err := exec.Command("losetup", node, file).CombinedOutput(); err != nil {
		t.Fatalf("losetup %s %s: %v: %s", node, file, err, out)
	}
	t.Cleanup(func() { Detach(t, node) })
	return Device{Node: node, File: file}
}

// removeLoop deletes a detached loop device made for a test.
func removeLoop(n int) {
	ctl, err := os.OpenFile("/dev/loop-control", os.O_RDWR, 0)
	if err != nil {
		return
	}
	defer ctl.Close()
	_, _, _ = unix.Syscall(unix.SYS_IOCTL, ctl.Fd(), unix.LOOP_CTL_REMOVE, uintptr(n))
}
