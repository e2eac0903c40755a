//go:build linux

package vmtest_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/internal/imgtest"
	"github.com/clonebay/clonebay/internal/vmtest"
)

func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is missing (scripts/deps.sh installs the test tools)", tool)
		}
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	require.NoError(t, err, "%s %s: %s", name, strings.Join(args, " "), out)
	return string(out)
}

// TestMakeMaster checks the master drive the system test boots with: a
// valid GPT with an EFI system partition and a Linux one, each holding a
// clean file system with the files.
func TestMakeMaster(t *testing.T) {
	need(t, "sgdisk", "mkfs.vfat", "mcopy", "mdir", "fsck.vfat", "mkfs.ext4", "e2fsck", "debugfs")
	dir := t.TempDir()
	img := filepath.Join(dir, "master.img")
	l := vmtest.DefaultMaster
	require.NoError(t, vmtest.MakeMaster(img, t.TempDir(), l, 7))

	out := run(t, "sgdisk", "--verify", img)
	imgtest.GPTGood(t, out, img)
	out = run(t, "sgdisk", "--print", img)
	assert.Regexp(t, `1\s+2048\s+83967\s+40\.0 MiB\s+EF00\s+boot`, out)
	assert.Regexp(t, `2\s+83968\s+124927\s+20\.0 MiB\s+8300\s+root`, out)
	assert.Equal(t, int64(124928*512), l.UsedEnd())

	// Each partition, cut out, is a clean file system with its files.
	whole, err := os.ReadFile(img)
	require.NoError(t, err)
	boot := filepath.Join(dir, "boot.part")
	require.NoError(t, os.WriteFile(boot, whole[1<<20:(1<<20)+l.BootSize], 0o644))
	run(t, "fsck.vfat", "-n", boot)
	assert.Contains(t, run(t, "mdir", "-i", boot, "::/EFI/BOOT"), "BOOTX64  EFI")
	root := filepath.Join(dir, "root.part")
	require.NoError(t, os.WriteFile(root, whole[(1<<20)+l.BootSize:l.UsedEnd()], 0o644))
	run(t, "e2fsck", "-fn", root)
	assert.Contains(t, run(t, "debugfs", "-R", "ls -l /srv", root), "data-b.bin")

	t.Run("the same seed makes the same master", func(t *testing.T) {
		again := filepath.Join(dir, "again.img")
		require.NoError(t, vmtest.MakeMaster(again, t.TempDir(), l, 7))
		// File systems stamp times and ids; the files' bytes repeat.
		a := run(t, "debugfs", "-R", "cat /srv/data-a.bin", root)
		other, err := os.ReadFile(again)
		require.NoError(t, err)
		root2 := filepath.Join(dir, "root2.part")
		require.NoError(t, os.WriteFile(root2, other[(1<<20)+l.BootSize:l.UsedEnd()], 0o644))
		assert.Equal(t, a, run(t, "debugfs", "-R", "cat /srv/data-a.bin", root2))
	})
	t.Run("partitions that do not fit are refused", func(t *testing.T) {
		err := vmtest.MakeMaster(filepath.Join(dir, "tight.img"), t.TempDir(), vmtest.MasterLayout{Size: 60 << 20, BootSize: 40 << 20, RootSize: 20 << 20}, 1)
		assert.ErrorContains(t, err, "past the room")
	})
}
