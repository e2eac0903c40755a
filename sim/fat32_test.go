package sim_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/sim"

	"github.com/clonebay/clonebay/internal/testenv"
)

// TestFAT32DiskIsReal checks the simulator's master with the real tools:
// fsck.vfat finds nothing wrong and mtools reads the files back.
func TestFAT32DiskIsReal(t *testing.T) {
	for _, tool := range []string{"fsck.vfat", "mcopy"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Skip(t, "%s is missing (Debian packages dosfstools and mtools)", tool)
		}
	}
	files := []sim.File{
		{Name: "README.TXT", Data: []byte("Made by the Clonebay simulator.\r\n")},
		{Name: "DATA.BIN", Data: bytes.Repeat([]byte("0123456789abcdef"), 20000)},
	}
	img, err := sim.FAT32Disk(48<<20, 40<<20, "CLONEBAY", files)
	require.NoError(t, err)
	dir := t.TempDir()
	disk := filepath.Join(dir, "disk.img")
	part := filepath.Join(dir, "part.img")
	require.NoError(t, os.WriteFile(disk, img, 0o644))
	require.NoError(t, os.WriteFile(part, img[2048*512:2048*512+40<<20], 0o644))

	out, err := exec.Command("fsck.vfat", "-n", "-v", part).CombinedOutput()
	require.NoError(t, err, "fsck.vfat: %s", out)
	assert.Contains(t, string(out), "FAT32")

	for _, f := range files {
		got := filepath.Join(dir, f.Name)
		out, err := exec.Command("mcopy", "-n", "-i", disk+"@@1M", "::"+f.Name, got).CombinedOutput()
		require.NoError(t, err, "mcopy: %s", out)
		data, err := os.ReadFile(got)
		require.NoError(t, err)
		assert.Equal(t, f.Data, data, f.Name)
	}
}

func TestFAT32DiskErrors(t *testing.T) {
	_, err := sim.FAT32Disk(16<<20, 8<<20, "X", nil)
	assert.ErrorContains(t, err, "too few for FAT32")
	_, err = sim.FAT32Disk(40<<20, 40<<20, "X", nil)
	assert.ErrorContains(t, err, "does not fit")
	_, err = sim.FAT32Disk(48<<20, 40<<20, "X", []sim.File{{Name: "toolongname.txt"}})
	assert.ErrorContains(t, err, "not an 8.3 name")
}
