//go:build linux

package blockdev

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSystemDisksFromMountinfo(t *testing.T) {
	dir := t.TempDir()
	// A fake sysfs: sda (8:0) with partitions sda1 (8:1) and sda2 (8:2),
	// mmcblk0 (179:0) with mmcblk0p1 (179:1).
	mk := func(path, dev string, partition bool) {
		full := filepath.Join(dir, "devices", path)
		require.NoError(t, os.MkdirAll(full, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(full, "dev"), []byte(dev+"\n"), 0o644))
		if partition {
			require.NoError(t, os.WriteFile(filepath.Join(full, "partition"), []byte("1\n"), 0o644))
		}
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "dev/block"), 0o755))
		require.NoError(t, os.Symlink(full, filepath.Join(dir, "dev/block", dev)))
	}
	mk("sda", "8:0", false)
	mk("sda/sda1", "8:1", true)
	mk("sda/sda2", "8:2", true)
	mk("mmcblk0", "179:0", false)
	mk("mmcblk0/mmcblk0p1", "179:1", true)
	mountinfo := filepath.Join(dir, "mountinfo")
	require.NoError(t, os.WriteFile(mountinfo, []byte(`22 1 179:1 / / rw,relatime - ext4 /dev/mmcblk0p1 rw
23 22 8:1 / /boot/firmware rw - vfat /dev/sda1 rw
24 22 0:21 / /tmp rw - tmpfs tmpfs rw
25 22 8:2 / /srv/images rw - ext4 /dev/sda2 rw
26 22 0:5 / /boot/efi rw - overlay overlay rw
`), 0o644))
	disks, err := systemDisks(mountinfo, dir)
	require.NoError(t, err)
	assert.Equal(t, map[string]bool{"179:0": true, "8:0": true}, disks)

	_, err = systemDisks(filepath.Join(dir, "missing"), dir)
	assert.ErrorContains(t, err, "system disk")
}
