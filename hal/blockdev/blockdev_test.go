//go:build linux

package blockdev_test

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/hal/blockdev"
	"github.com/clonebay/clonebay/hal/haltest"
	"github.com/clonebay/clonebay/internal/looptest"

	"github.com/clonebay/clonebay/internal/testenv"
)

const MiB = 1 << 20

func TestLoopDeviceConformance(t *testing.T) {
	looptest.Require(t)
	haltest.TestDrive(t, haltest.DriveHarness{
		OpenWrite: func(t *testing.T) hal.Drive {
			dev := looptest.Attach(t, 4*MiB, nil)
			d, err := blockdev.OpenWrite(dev.Node)
			require.NoError(t, err)
			return d
		},
		OpenRead: func(t *testing.T, w hal.Drive) hal.DriveReader {
			// The writer holds the device exclusively: a second exclusive
			// open is refused, so read through a plain descriptor view.
			f, err := os.Open(w.Info().Node)
			require.NoError(t, err)
			t.Cleanup(func() { f.Close() })
			return fileView{f: f, d: w}
		},
	})
}

// fileView is a read-only, non-exclusive view of a drive held by a writer.
type fileView struct {
	f *os.File
	d hal.Drive
}

func (v fileView) Info() hal.DriveInfo                     { return v.d.Info() }
func (v fileView) Size() int64                             { return v.d.Size() }
func (v fileView) ID() string                              { return v.d.ID() }
func (v fileView) ReadAt(p []byte, off int64) (int, error) { return v.f.ReadAt(p, off) }
func (v fileView) Close() error                            { return nil }
func (v fileView) DropCaches() error                       { return v.d.DropCaches() }

func TestImageFileConformance(t *testing.T) {
	haltest.TestDrive(t, haltest.DriveHarness{
		OpenWrite: func(t *testing.T) hal.Drive {
			file := filepath.Join(t.TempDir(), "target.img")
			require.NoError(t, os.WriteFile(file, nil, 0o644))
			require.NoError(t, os.Truncate(file, 4*MiB))
			d, err := blockdev.OpenWrite(file)
			require.NoError(t, err)
			return d
		},
		OpenRead: func(t *testing.T, w hal.Drive) hal.DriveReader {
			// The writer holds the file's exclusive lock, which a second
			// job's open would meet: read through a plain descriptor.
			f, err := os.Open(w.Info().Node)
			require.NoError(t, err)
			t.Cleanup(func() { f.Close() })
			return fileView{f: f, d: w}
		},
	})
}

func TestLoopDeviceIdentity(t *testing.T) {
	dev := looptest.Attach(t, 3*MiB, nil)
	d, err := blockdev.OpenRead(dev.Node)
	require.NoError(t, err)
	defer d.Close()
	info := d.Info()
	assert.Equal(t, int64(3*MiB), info.Size)
	assert.Equal(t, hal.BusLoop, info.Bus)
	assert.Equal(t, 512, info.LogicalSectorSize)
	assert.Contains(t, info.Path, "/devices/virtual/block/loop")
	file, err := blockdev.OpenRead(dev.File)
	require.NoError(t, err)
	defer file.Close()
	assert.Equal(t, file.ID(), d.ID(), "a loop device's ID is its backing file's")
	assert.Regexp(t, `^file:\d+:\d+$`, d.ID())
}

func TestBusyDeviceIsRefused(t *testing.T) {
	dev := looptest.Attach(t, 4*MiB, nil)
	holder, err := blockdev.OpenWrite(dev.Node)
	require.NoError(t, err)
	_, err = blockdev.OpenWrite(dev.Node)
	require.ErrorIs(t, err, hal.ErrBusy, "held exclusively by another opener")
	assert.ErrorContains(t, err, dev.Node)
	assert.ErrorContains(t, err, "mounted or in use by another program")
	require.NoError(t, holder.Close())

	// Held exclusively by another process: this test binary, re-run as a
	// helper that opens the device with O_EXCL and waits.
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldsDevice$")
	cmd.Env = append(os.Environ(), "CLONEBAY_HOLD="+dev.Node)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line := make([]byte, 4)
	_, err = io.ReadFull(stdout, line)
	require.NoError(t, err)
	require.Equal(t, "held", string(line))
	_, err = blockdev.OpenWrite(dev.Node)
	assert.ErrorIs(t, err, hal.ErrBusy, "held exclusively by another process")
	assert.ErrorContains(t, err, dev.Node)
}

// TestHelperHoldsDevice is not a test: TestBusyDeviceIsRefused runs it in
// a child process to hold a device exclusively.
func TestHelperHoldsDevice(t *testing.T) {
	node := os.Getenv("CLONEBAY_HOLD")
	if node == "" {
		t.Skip("helper process for TestBusyDeviceIsRefused")
	}
	fd, err := unix.Open(node, unix.O_RDONLY|unix.O_EXCL, 0)
	if err != nil {
		t.Fatalf("hold %s: %v", node, err)
	}
	defer unix.Close(fd)
	os.Stdout.WriteString("held")
	time.Sleep(time.Minute)
}

func TestMountedDeviceIsRefused(t *testing.T) {
	dev := looptest.Attach(t, 16*MiB, nil)
	if _, err := exec.LookPath("mkfs.ext4"); err != nil {
		testenv.Skip(t, "mkfs.ext4 is missing (Debian package e2fsprogs)")
	}
	out, err := exec.Command("mkfs.ext4", "-q", "-F", dev.Node).CombinedOutput()
	require.NoError(t, err, "%s", out)
	mnt := t.TempDir()
	if out, err := exec.Command("mount", dev.Node, mnt).CombinedOutput(); err != nil {
		testenv.Skip(t, "this kernel cannot mount ext4 here: %s", out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", mnt).Run() })
	for name, open := range map[string]func(string) (*blockdev.Drive, error){
		"as a target": blockdev.OpenWrite,
		"as a master": blockdev.OpenRead,
	} {
		_, err := open(dev.Node)
		assert.ErrorIs(t, err, hal.ErrBusy, name)
		assert.ErrorContains(t, err, dev.Node, name)
	}
}

func TestWriteBlock(t *testing.T) {
	dev := looptest.Attach(t, 4*MiB, bytes.Repeat([]byte{0x11}, 4096))
	d, err := blockdev.OpenRead(dev.Node)
	require.NoError(t, err)
	require.NoError(t, d.WriteBlock())

	write := func() error {
		// Another process writes to the device.
		return exec.Command("dd", "if=/dev/zero", "of="+dev.Node, "bs=4096", "count=1", "oflag=direct", "status=none").Run()
	}
	assert.Error(t, write(), "the master refuses writes while write-blocked")
	ro, err := os.ReadFile("/sys/block/" + filepath.Base(dev.Node) + "/ro")
	require.NoError(t, err)
	assert.Equal(t, "1\n", string(ro))

	require.NoError(t, d.Close(), "closing restores write access")
	assert.NoError(t, write(), "writable again after the job")
}

func TestDropCachesReadsMedia(t *testing.T) {
	dev := looptest.Attach(t, 4*MiB, nil)
	d, err := blockdev.OpenWrite(dev.Node)
	require.NoError(t, err)
	defer d.Close()
	data := bytes.Repeat([]byte{0xab}, 64<<10)
	// An unaligned buffer goes through the page cache.
	_, err = d.WriteAt(data[1:4097], 8192)
	require.NoError(t, err)
	require.NoError(t, d.Sync())

	// Change the backing file behind the loop device's back.
	f, err := os.OpenFile(dev.File, os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte{0x00}, 8192+100)
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	require.NoError(t, f.Close())

	got := make([]byte, 4096)
	_, err = d.ReadAt(got[1:4096], 8193)
	require.NoError(t, err)
	require.Equal(t, byte(0xab), got[100], "the page cache still holds the old bytes")
	require.NoError(t, d.DropCaches())
	_, err = d.ReadAt(got[1:4096], 8193)
	require.NoError(t, err)
	assert.Equal(t, byte(0x00), got[100], "after DropCaches the read comes from the media")
}

func TestNotADrive(t *testing.T) {
	_, err := blockdev.OpenRead("/dev/null")
	assert.ErrorContains(t, err, "/dev/null: not a block device or a file")
	_, err = blockdev.OpenRead(filepath.Join(t.TempDir(), "missing"))
	assert.ErrorContains(t, err, "no such file")
}

func TestSystemCheck(t *testing.T) {
	isSystem, err := blockdev.SystemCheck()
	require.NoError(t, err)
	dev := looptest.Attach(t, MiB, nil)
	assert.False(t, isSystem(dev.Node), "a loop device is not the system disk")
	assert.True(t, isSystem("/dev/does-not-exist"), "a node that cannot be looked at is refused")
	assert.False(t, isSystem("/dev/null"), "not a block device")
}

// A drive pulled mid-write fails with whatever the kernel returns then
// (here ENOSPC, once its size is 0, as a USB drive's is after it leaves);
// the error says the drive was removed, beside the kernel's word. A
// loop device whose backing file shrinks to nothing stands in for it.
func TestRemovedDriveSaysSo(t *testing.T) {
	dev := looptest.Attach(t, 4*MiB, nil)
	d, err := blockdev.OpenWrite(dev.Node)
	require.NoError(t, err)
	t.Cleanup(func() { d.Close() })
	chunk := make([]byte, 64<<10)
	_, err = d.WriteAt(chunk, 0)
	require.NoError(t, err, "written while the drive is there")

	require.NoError(t, os.Truncate(dev.File, 0))
	out, err := exec.Command("losetup", "--set-capacity", dev.Node).CombinedOutput()
	require.NoError(t, err, "losetup --set-capacity: %s", out)

	_, err = d.WriteAt(chunk, 1*MiB)
	require.ErrorIs(t, err, hal.ErrRemoved)
	assert.ErrorContains(t, err, dev.Node)
	assert.ErrorContains(t, err, "drive was removed (")
	var ioErr *hal.IOError
	require.ErrorAs(t, err, &ioErr)
	assert.Equal(t, int64(1*MiB), ioErr.Off)
}
