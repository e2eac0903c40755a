//go:build linux

package blockdev

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeSysfs builds a sysfs tree in a temporary folder: sda (8:0) with
// partitions sda1 (8:1), sda2 (8:2) and sda3 (8:3), sdb (8:16),
// mmcblk0 (179:0) with mmcblk0p1 (179:1), dm-0 (254:0) built from sda2 and
// sdb, and loop3 (7:3) on the file it returns.
func fakeSysfs(t *testing.T) (fs sysfs, backing string) {
	t.Helper()
	dir := t.TempDir()
	mk := func(path, dev string, partition bool) string {
		full := filepath.Join(dir, "devices", path)
		require.NoError(t, os.MkdirAll(full, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(full, "dev"), []byte(dev+"\n"), 0o644))
		if partition {
			require.NoError(t, os.WriteFile(filepath.Join(full, "partition"), []byte("1\n"), 0o644))
		}
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "dev/block"), 0o755))
		require.NoError(t, os.Symlink(full, filepath.Join(dir, "dev/block", dev)))
		return full
	}
	mk("sda", "8:0", false)
	mk("sda/sda1", "8:1", true)
	sda2 := mk("sda/sda2", "8:2", true)
	mk("sda/sda3", "8:3", true)
	sdb := mk("sdb", "8:16", false)
	mk("mmcblk0", "179:0", false)
	mk("mmcblk0/mmcblk0p1", "179:1", true)
	dm := mk("virtual/dm-0", "254:0", false)
	require.NoError(t, os.MkdirAll(filepath.Join(dm, "slaves"), 0o755))
	require.NoError(t, os.Symlink(sda2, filepath.Join(dm, "slaves", "sda2")))
	require.NoError(t, os.Symlink(sdb, filepath.Join(dm, "slaves", "sdb")))

	backing = filepath.Join(dir, "backing.img")
	require.NoError(t, os.WriteFile(backing, []byte("master"), 0o644))
	loop := mk("virtual/loop3", "7:3", false)
	require.NoError(t, os.MkdirAll(filepath.Join(loop, "loop"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(loop, "loop", "backing_file"), []byte(backing+"\n"), 0o644))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "block"), 0o755))
	require.NoError(t, os.Symlink(loop, filepath.Join(dir, "block", "loop3")))
	return sysfs{root: dir}, backing
}

func TestSystemDisksFromMountinfo(t *testing.T) {
	fs, _ := fakeSysfs(t)
	mountinfo := filepath.Join(t.TempDir(), "mountinfo")
	require.NoError(t, os.WriteFile(mountinfo, []byte(`22 1 179:1 / / rw,relatime - ext4 /dev/mmcblk0p1 rw
23 22 8:1 / /boot/firmware rw - vfat /dev/sda1 rw
24 22 0:21 / /tmp rw - tmpfs tmpfs rw
25 22 8:3 / /srv/images rw - ext4 /dev/sda3 rw
26 22 0:5 / /boot/efi rw - overlay overlay rw
`), 0o644))
	disks, err := systemDisks(mountinfo, fs)
	require.NoError(t, err)
	assert.Equal(t, map[string]bool{"179:0": true, "179:1": true, "8:0": true, "8:1": true}, disks,
		"the mounted partitions and their whole disks")
	for dev, system := range map[string]bool{"8:3": true, "8:0": true, "179:0": true, "8:16": false, "254:0": true} {
		s := Storage{Name: dev}
		require.NoError(t, fs.block(&s, dev))
		assert.Equal(t, system, s.OnDevices(disks), "%s: an unmounted partition of a system disk is the system disk too", dev)
	}

	lvm := filepath.Join(t.TempDir(), "mountinfo")
	require.NoError(t, os.WriteFile(lvm, []byte("22 1 254:0 / / rw - ext4 /dev/mapper/root rw\n"), 0o644))
	disks, err = systemDisks(lvm, fs)
	require.NoError(t, err)
	assert.Equal(t, map[string]bool{"254:0": true, "8:2": true, "8:0": true, "8:16": true}, disks,
		"a root on device-mapper sits on every disk it is built from")

	_, err = systemDisks(filepath.Join(t.TempDir(), "missing"), fs)
	assert.ErrorContains(t, err, "system disk")
}

func TestStorageThroughSysfs(t *testing.T) {
	fs, backing := fakeSysfs(t)
	file, err := sysfs{root: "/nonexistent"}.resolve(backing)
	require.NoError(t, err)
	resolve := func(dev string) Storage {
		s := Storage{Name: dev}
		require.NoError(t, fs.block(&s, dev))
		return s
	}
	sda, sda1, sda3, sdb := resolve("8:0"), resolve("8:1"), resolve("8:3"), resolve("8:16")
	dm, loop, mmc := resolve("254:0"), resolve("7:3"), resolve("179:1")
	for _, tc := range []struct {
		name string
		a, b Storage
		same bool
	}{
		{"a partition is its disk", sda1, sda, true},
		{"two partitions of one disk", sda1, sda3, true},
		{"two disks", sda, sdb, false},
		{"device-mapper over a partition", dm, sda3, true},
		{"device-mapper over a second disk", dm, sdb, true},
		{"a disk it is not built from", dm, mmc, false},
		{"a loop device is its backing file", loop, file, true},
		{"a loop device is not a disk", loop, sda, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.same, tc.a.Same(tc.b))
			assert.Equal(t, tc.same, tc.b.Same(tc.a))
		})
	}
	assert.Equal(t, "blk:8:0", sda1.Key(), "a partition's key is its disk's")
	assert.Equal(t, file.Key(), loop.Key(), "a loop device's key is its file's")

	loops, err := fs.loopsOn(file)
	require.NoError(t, err)
	assert.Equal(t, []string{"/dev/loop3"}, loops, "the file backs loop3")
	loops, err = fs.loopsOn(loop)
	require.NoError(t, err)
	assert.Empty(t, loops, "a loop device does not count as its own user")
	loops, err = fs.loopsOn(sda)
	require.NoError(t, err)
	assert.Empty(t, loops)
}

func TestStorageCycleIsAnError(t *testing.T) {
	dir := t.TempDir()
	// Two device-mapper devices, each built from the other.
	for _, d := range []struct{ name, dev, other string }{{"dm-1", "254:1", "dm-2"}, {"dm-2", "254:2", "dm-1"}} {
		full := filepath.Join(dir, "devices/virtual", d.name)
		require.NoError(t, os.MkdirAll(filepath.Join(full, "slaves"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(full, "dev"), []byte(d.dev), 0o644))
		require.NoError(t, os.Symlink(filepath.Join(dir, "devices/virtual", d.other), filepath.Join(full, "slaves", d.other)))
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "dev/block"), 0o755))
		require.NoError(t, os.Symlink(full, filepath.Join(dir, "dev/block", d.dev)))
	}
	s := Storage{Name: "dm-1"}
	err := sysfs{root: dir}.block(&s, "254:1")
	assert.ErrorContains(t, err, "block device 254:1 is built from itself")
}
