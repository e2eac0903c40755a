//go:build linux

package fatfs_test

import (
	"bytes"
	"encoding/binary"
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
// MiB, cut to 40 MiB with its first sectors reframed, keeping its FATs or
// with FATs only as long as its clusters need, is a volume the real tools
// accept, holding every file, with its own sizes and free count.
func TestReframeServesASmallerVolume(t *testing.T) {
	nodes, files := tree(3)
	big := format(t, "fat32", 64<<20)
	fill(t, big, nodes, files)
	for _, tc := range []struct {
		name   string
		fatLen int64
		fsck   []string // what fsck.vfat -v says of it
	}{
		{"the built FATs kept", 0, []string{"81920 sectors total", "79870 data clusters"}},
		{"FATs cut to its clusters", 320 << 10, []string{"81920 sectors total", "327680 bytes per FAT"}}, // clusters 2 to 81921
	} {
		t.Run(tc.name, func(t *testing.T) {
			small := filepath.Join(t.TempDir(), "small.img")
			head := cut(t, big, small, 64<<20, 40<<20, tc.fatLen)
			assert.Len(t, head, 8*512, "boot sector, FSInfo and their backups")

			imgtest.Check(t, "fat32", small)
			got := readWithTools(t, "fat32", small)
			assert.Len(t, got, len(files))
			for p, want := range files {
				assert.True(t, bytes.Equal(want, got[p]), "%s: the tools read other bytes", p)
			}
			v := openImage(t, small)
			require.NoError(t, v.Check(), "the free count matches the smaller volume")
			out := imgtest.Run(t, "fsck.vfat", "-n", "-v", small)
			for _, says := range tc.fsck {
				assert.Contains(t, out, says)
			}
			assert.NotContains(t, out, "differ")
		})
	}
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
		name   string
		size   int64
		fatLen int64
		want   error
		says   string
	}{
		{"a cluster in use lies beyond the smaller volume", 40 << 20, 0, fatfs.ErrNoSpace, "is in use"},
		{"too few clusters for FAT32", 30 << 20, 0, fatfs.ErrNoSpace, "FAT32 needs 65525"},
		{"a larger volume", 65 << 20, 0, nil, "cannot be reframed"},
		{"FATs too short for the clusters", 60 << 20, 256 << 10, fatfs.ErrNoSpace, "more than FATs of 262144 bytes hold"},
		{"FATs longer than built", 60 << 20, 1 << 20, nil, "cannot be cut"},
		{"FATs of part of a sector", 60 << 20, 300<<10 + 1, nil, "cannot be cut"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := fatfs.Reframe(f, 64<<20, tc.size, tc.fatLen)
			require.Error(t, err)
			if tc.want != nil {
				assert.ErrorIs(t, err, tc.want)
			}
			assert.Contains(t, err.Error(), tc.says)
		})
	}
}

// cut writes the volume image from as a volume of newSize bytes into to,
// with FATs of fatLen bytes (0: as built): its first sectors reframed,
// the first fatLen bytes of each FAT, and the cluster heap moved down by
// what the FATs lost. It returns the reframed sectors.
func cut(t *testing.T, from, to string, size, newSize, fatLen int64) []byte {
	t.Helper()
	src, err := os.Open(from)
	require.NoError(t, err)
	defer src.Close()
	head, err := fatfs.Reframe(src, size, newSize, fatLen)
	require.NoError(t, err)
	bs := make([]byte, 512)
	_, err = src.ReadAt(bs, 0)
	require.NoError(t, err)
	fatOff := int64(binary.LittleEndian.Uint16(bs[14:])) * 512
	built := int64(binary.LittleEndian.Uint32(bs[36:])) * 512
	if fatLen == 0 {
		fatLen = built
	}
	dst, err := os.Create(to)
	require.NoError(t, err)
	defer dst.Close()
	require.NoError(t, dst.Truncate(newSize))
	piece := func(off, n, at int64) {
		_, err := io.Copy(io.NewOffsetWriter(dst, at), io.NewSectionReader(src, off, n))
		require.NoError(t, err)
	}
	piece(0, fatOff, 0)                                             // reserved sectors
	piece(fatOff, fatLen, fatOff)                                   // FAT 1
	piece(fatOff+built, fatLen, fatOff+fatLen)                      // FAT 2
	piece(fatOff+2*built, newSize-fatOff-2*fatLen, fatOff+2*fatLen) // the cluster heap
	_, err = dst.WriteAt(head, 0)
	require.NoError(t, err)
	return head
}
