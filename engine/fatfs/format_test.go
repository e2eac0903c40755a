//go:build linux

package fatfs_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/engine/fatfs"
	"github.com/clonebay/clonebay/internal/imgtest"
)

// goFormat formats a sparse image of size bytes with FormatFAT32.
func goFormat(t *testing.T, size, cs int64, label string) string {
	t.Helper()
	img := filepath.Join(t.TempDir(), "fat32.img")
	imgtest.Sparse(t, img, size)
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, fatfs.FormatFAT32(f, size, fatfs.FormatOptions{ClusterSize: cs, HiddenSectors: 8192, Label: label,
		VolumeID: 0x1234abcd, Time: time.Date(2026, 3, 4, 5, 6, 8, 0, time.UTC)}))
	return img
}

// TestFormatFAT32: the volume the real checker accepts, with clusters
// of the size asked for, FATs no longer than they need be, the heap on a
// whole cluster, and never fewer clusters than mkfs.fat gives the same
// size.
func TestFormatFAT32(t *testing.T) {
	imgtest.Need(t, "mkfs.fat", "fsck.vfat")
	for _, tc := range []struct {
		size, cs int64
	}{
		{64 << 20, 512},
		{300 << 20, 4096},
		{1<<30 + 12345*512, 4096}, // an odd number of sectors
		{4 << 30, 4096},
		{16 << 30, 8192},
		{32 << 30, 16384},
	} {
		t.Run(fmt.Sprintf("%d MiB, %d-byte clusters", tc.size>>20, tc.cs), func(t *testing.T) {
			img := goFormat(t, tc.size, tc.cs, "Promo 2026")
			out := imgtest.Run(t, "fsck.vfat", "-n", img)
			assert.NotContains(t, out, "differ", "fsck.vfat: %s", out)
			assert.NotContains(t, out, "Dirty", "fsck.vfat: %s", out)

			v := openImage(t, img)
			require.NoError(t, v.Check())
			assert.Equal(t, fatfs.FAT32, v.Kind())
			assert.Equal(t, "PROMO 2026", v.Label())
			g := v.Geometry()
			assert.Equal(t, tc.cs, g.ClusterSize)
			assert.Zero(t, g.Heap%tc.cs, "the heap starts on a whole cluster")
			assert.LessOrEqual(t, (int64(g.Clusters)+2)*4, g.FATLength, "every cluster has its entry")
			// FATs a sector shorter would leave more clusters than they hold.
			shorter := g.FATLength - 512
			heap := (32*512 + 2*shorter + tc.cs - 1) / tc.cs * tc.cs // 32 reserved sectors, up to a whole cluster
			assert.Greater(t, ((tc.size/512*512-heap)/tc.cs+2)*4, shorter, "the FATs are no longer than they need be")

			ref := filepath.Join(t.TempDir(), "mkfs.img")
			imgtest.Sparse(t, ref, tc.size)
			imgtest.Run(t, "mkfs.fat", "-F", "32", "-S", "512", "-s", strconv.FormatInt(tc.cs/512, 10), "-h", "8192", "--mbr=n", ref)
			assert.GreaterOrEqual(t, g.Clusters, openImage(t, ref).Geometry().Clusters, "no fewer clusters than mkfs.fat gives")

			f, err := os.Open(img)
			require.NoError(t, err)
			defer f.Close()
			boot := make([]byte, 512)
			_, err = f.ReadAt(boot, 0)
			require.NoError(t, err)
			assert.Equal(t, []byte{0x00, 0x20, 0x00, 0x00}, boot[28:32], "the hidden sectors: the partition's start")
			assert.Equal(t, []byte{0xcd, 0xab, 0x34, 0x12}, boot[67:71], "the volume ID")
			backup := make([]byte, 1024)
			_, err = f.ReadAt(backup, 6*512)
			require.NoError(t, err)
			first := make([]byte, 1024)
			_, err = f.ReadAt(first, 0)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(first, backup), "the boot sector and FSInfo have their backups")
		})
	}
}

// TestFormatFAT32Fills: a volume it formats takes a set through Populate,
// and the real tools read every file back.
func TestFormatFAT32Fills(t *testing.T) {
	imgtest.Need(t, "fsck.vfat", "mcopy")
	nodes, files := tree(3)
	img := goFormat(t, 64<<20, 512, "CLONEBAY")
	fill(t, img, nodes, files)
	imgtest.Check(t, "fat32", img)
	got := readWithTools(t, "fat32", img)
	assert.Equal(t, len(files), len(got), "the tools see every file")
	for p, want := range files {
		assert.True(t, bytes.Equal(want, got[p]), "%s: the tools read other bytes", p)
	}
	require.NoError(t, openImage(t, img).Check())
}

// TestFormatFAT32Refuses: what FAT32 cannot be is said, and nothing is
// written.
func TestFormatFAT32Refuses(t *testing.T) {
	for _, tc := range []struct {
		name    string
		size    int64
		o       fatfs.FormatOptions
		is      error
		message string
	}{
		{"too few clusters", 200 << 20, fatfs.FormatOptions{ClusterSize: 4096}, fatfs.ErrFewClusters,
			"4096-byte clusters has 51", // 200 MiB of 4 KiB clusters: about 51,000
		},
		{"a cluster size that is no power of two", 1 << 30, fatfs.FormatOptions{ClusterSize: 3000}, nil,
			"clusters of 3000 bytes"},
		{"clusters over 32 KiB", 1 << 30, fatfs.FormatOptions{ClusterSize: 64 << 10}, nil,
			"clusters of 65536 bytes"},
		{"a label FAT cannot hold", 1 << 30, fatfs.FormatOptions{ClusterSize: 4096, Label: "a:b"}, fatfs.ErrBadLabel,
			`"a:b" holds ':'`},
		{"more sectors than the boot sector counts", 3 << 40, fatfs.FormatOptions{ClusterSize: 32768}, nil,
			"do not fit the boot sector's fields"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w recorder
			err := fatfs.FormatFAT32(&w, tc.size, tc.o)
			require.Error(t, err)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
			assert.Contains(t, err.Error(), tc.message)
			assert.Zero(t, w.n, "nothing is written")
		})
	}
	t.Run("a write that fails", func(t *testing.T) {
		err := fatfs.FormatFAT32(failing{}, 1<<30, fatfs.FormatOptions{ClusterSize: 4096})
		require.Error(t, err)
		assert.ErrorContains(t, err, "FAT32 format: no space left")
	})
}

type recorder struct{ n int }

func (r *recorder) WriteAt(p []byte, _ int64) (int, error) { r.n += len(p); return len(p), nil }

type failing struct{}

func (failing) WriteAt([]byte, int64) (int, error) { return 0, errors.New("no space left") }

// TestFormatFAT32ClusterEdges: with every cluster size Windows uses, the
// smallest volume it formats has exactly FAT32's fewest clusters (65525,
// as the real checker counts them from the boot sector) and a sector
// less is refused as too few; with 512-byte clusters, the largest has
// exactly the most FAT32 names (0x0ffffff5) and a sector more is
// refused.
func TestFormatFAT32ClusterEdges(t *testing.T) {
	imgtest.Need(t, "fsck.vfat")
	formats := func(size, cs int64) error {
		var w recorder
		return fatfs.FormatFAT32(&w, size, fatfs.FormatOptions{ClusterSize: cs})
	}
	for cs := int64(512); cs <= 32<<10; cs *= 2 {
		t.Run(fmt.Sprintf("the fewest %d-byte clusters", cs), func(t *testing.T) {
			// Below 65525 clusters it refuses, above it formats, up to far
			// more than the edge.
			lo, hi := int64(1), 4*65525*cs/512 // sectors: lo refused, hi formats
			require.ErrorIs(t, formats(lo*512, cs), fatfs.ErrFewClusters)
			require.NoError(t, formats(hi*512, cs))
			for hi-lo > 1 {
				if mid := (lo + hi) / 2; formats(mid*512, cs) == nil {
					hi = mid
				} else {
					lo = mid
				}
			}
			assert.ErrorIs(t, formats(lo*512, cs), fatfs.ErrFewClusters, "a sector less")
			img := goFormat(t, hi*512, cs, "")
			out := imgtest.Run(t, "fsck.vfat", "-n", "-v", img)
			assert.Contains(t, out, " 65525 data clusters", "fsck.vfat: %s", out)
			assert.Equal(t, uint32(65525), openImage(t, img).Geometry().Clusters)
		})
	}
	t.Run("the most 512-byte clusters", func(t *testing.T) {
		lo, hi := int64(1)<<24, int64(1)<<32-1 // sectors: lo formats, hi has too many clusters
		require.NoError(t, formats(lo*512, 512))
		require.ErrorContains(t, formats(hi*512, 512), "more than FAT32 names")
		for hi-lo > 1 {
			if mid := (lo + hi) / 2; formats(mid*512, 512) == nil {
				lo = mid
			} else {
				hi = mid
			}
		}
		assert.ErrorContains(t, formats(hi*512, 512), "more than FAT32 names", "a sector more")
		// The checker reads the whole 1 GiB FAT (and dosfstools' fails on
		// one this long): the volume's own reader counts its clusters.
		img := goFormat(t, lo*512, 512, "")
		assert.Equal(t, uint32(0x0ffffff5), openImage(t, img).Geometry().Clusters)
	})
}

// TestFormatFAT32Labels: a label is stored upper case in the boot sector
// and as the root folder's label entry; without one, the boot sector
// says NO NAME and the root folder holds no entry at all.
func TestFormatFAT32Labels(t *testing.T) {
	imgtest.Need(t, "fsck.vfat", "minfo")
	for _, tc := range []struct {
		label, boot, entry string // entry: the root folder's first 11 bytes
	}{
		{"", "NO NAME    ", ""},
		{"promo", "PROMO      ", "PROMO      "},
		{"abcdefghijk", "ABCDEFGHIJK", "ABCDEFGHIJK"},
		{"A-1 (c)", "A-1 (C)    ", "A-1 (C)    "},
	} {
		t.Run(fmt.Sprintf("%q", tc.label), func(t *testing.T) {
			img := goFormat(t, 64<<20, 512, tc.label)
			imgtest.Check(t, "fat32", img)
			f, err := os.Open(img)
			require.NoError(t, err)
			defer f.Close()
			b := make([]byte, 512)
			_, err = f.ReadAt(b, 0)
			require.NoError(t, err)
			assert.Equal(t, tc.boot, string(b[71:82]), "the boot sector's label")
			root := geometryOf(b).root
			e := make([]byte, 32)
			_, err = f.ReadAt(e, root)
			require.NoError(t, err)
			if tc.entry == "" {
				assert.Equal(t, make([]byte, 32), e, "no entry in the root folder")
			} else {
				assert.Equal(t, tc.entry, string(e[:11]))
				assert.Equal(t, byte(0x08), e[11], "a volume label entry")
			}
			v := openImage(t, img)
			assert.Equal(t, strings.TrimRight(tc.entry, " "), v.Label())
			info := imgtest.Run(t, "minfo", "-i", img, "::")
			assert.Contains(t, info, fmt.Sprintf("disk label=%q", tc.boot))
		})
	}
}
