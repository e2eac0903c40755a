//go:build linux

package fatfs_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/engine/fatfs"
	"github.com/clonebay/clonebay/internal/imgtest"
)

// TestReframeServesASmallerVolume: a FAT32 volume built and filled for 64
// MiB, cut to 40 MiB with its first sectors reframed, is a volume the
// real tools accept, holding every file, with its own free count.
func TestReframeServesASmallerVolume(t *testing.T) {
	nodes, files := tree(3)
	big := format(t, "fat32", 64<<20)
	fill(t, big, nodes, files)

	small := filepath.Join(t.TempDir(), "small.img")
	head := cut(t, big, small, 64<<20, 40<<20)
	assert.Len(t, head, 8*512, "boot sector, FSInfo and their backups")

	imgtest.Check(t, "fat32", small)
	got := readWithTools(t, "fat32", small)
	assert.Len(t, got, len(files))
	for p, want := range files {
		assert.True(t, bytes.Equal(want, got[p]), "%s: the tools read other bytes", p)
	}
	v := openImage(t, small)
	require.NoError(t, v.Check(), "the free count matches the smaller FAT")
	out := imgtest.Run(t, "fsck.vfat", "-n", "-v", small)
	assert.Contains(t, out, "81920 sectors total", "the tools see the smaller volume")
	assert.Contains(t, out, "79870 data clusters", "with the FATs of the larger one")
	assert.NotContains(t, out, "differ")
}

func TestReframeRefuses(t *testing.T) {
	mod := time.Date(2024, 1, 2, 3, 4, 6, 0, time.UTC)
	big := format(t, "fat32", 64<<20)
	f, err := os.OpenFile(big, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	_, err = fatfs.Populate(f, 64<<20, []fatfs.Node{{Path: "big.bin", Size: 45 << 20, ModTime: mod}}, fatfs.PopulateOptions{})
	require.NoError(t, err)

	for _, tc := range []struct {
		name string
		size int64
		want error
		says string
	}{
		{"a cluster in use lies beyond the smaller volume", 40 << 20, fatfs.ErrNoSpace, "is in use"},
		{"too few clusters for FAT32", 30 << 20, fatfs.ErrNoSpace, "FAT32 needs 65525"},
		{"a larger volume", 65 << 20, nil, "cannot be reframed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := fatfs.Reframe(f, 64<<20, tc.size)
			require.Error(t, err)
			if tc.want != nil {
				assert.ErrorIs(t, err, tc.want)
			}
			assert.Contains(t, err.Error(), tc.says)
		})
	}
}

// cut writes the first size bytes of the volume image from into to, with
// the first sectors reframed, and returns them.
func cut(t *testing.T, from, to string, size, newSize int64) []byte {
	t.Helper()
	src, err := os.Open(from)
	require.NoError(t, err)
	defer src.Close()
	head, err := fatfs.Reframe(src, size, newSize)
	require.NoError(t, err)
	dst, err := os.Create(to)
	require.NoError(t, err)
	defer dst.Close()
	_, err = io.Copy(dst, io.NewSectionReader(src, 0, newSize))
	require.NoError(t, err)
	_, err = dst.WriteAt(head, 0)
	require.NoError(t, err)
	return head
}
