//go:build linux

package disk_test

import (
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/engine/disk"
	"github.com/clonebay/clonebay/internal/imgtest"
)

// TestUsedRangesAreEnough builds each file system with the real tools,
// copies only the ranges Used reports onto an image full of garbage, and
// checks the copy with the real checker and by reading the files back:
// what Used leaves out is truly unused.
func TestUsedRangesAreEnough(t *testing.T) {
	for _, tc := range []struct {
		kind string
		size int64
		name string
	}{
		{"fat16", 64 << 20, "FAT16"},
		{"fat32", 96 << 20, "FAT32"},
		{"exfat", 64 << 20, "exFAT"},
		{"ext4", 64 << 20, "ext"},
		{"ntfs", 64 << 20, "NTFS"},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			dir := t.TempDir()
			master := filepath.Join(dir, "master.img")
			files := imgtest.SomeFiles(12, 7)
			imgtest.Filesystem(t, tc.kind, master, tc.size, files)

			f, err := os.Open(master)
			require.NoError(t, err)
			defer f.Close()
			name, used, err := disk.Used(f, 0, tc.size)
			require.NoError(t, err)
			assert.Equal(t, tc.name, name)
			used = disk.Normalize(used)
			var usedBytes int64
			for _, e := range used {
				usedBytes += e.Len
			}
			t.Logf("%s: %d of %d bytes used in %d ranges", name, usedBytes, tc.size, len(used))
			assert.Less(t, usedBytes, tc.size*3/4, "the empty part is left out")

			clone := filepath.Join(dir, "clone.img")
			imgtest.Garbage(t, clone, tc.size)
			out, err := os.OpenFile(clone, os.O_WRONLY, 0)
			require.NoError(t, err)
			for _, e := range used {
				_, err := io.Copy(io.NewOffsetWriter(out, e.Off), io.NewSectionReader(f, e.Off, e.Len))
				require.NoError(t, err)
			}
			require.NoError(t, out.Close())

			imgtest.Check(t, tc.kind, clone)
			names := slices.Sorted(func(yield func(string) bool) {
				for n := range files {
					if !yield(n) {
						return
					}
				}
			})
			got := imgtest.ReadFiles(t, tc.kind, clone, names)
			assert.Equal(t, files.Sums(), got.Sums(), "the files on the clone equal the master's")
		})
	}
}

// TestUsedOfExtLayoutsItMustNotMisread: ext layouts whose bitmaps mean
// something else than one bit a block, or whose flags the kernel itself
// ignores, are never read as fewer blocks than the files hold. A
// bigalloc file system (a bit is a cluster of blocks) is not read at all
// (the caller copies it whole); groups flagged BLOCK_UNINIT without the
// group checksums that make the flag count are read by their bitmaps.
func TestUsedOfExtLayoutsItMustNotMisread(t *testing.T) {
	imgtest.Need(t, "mkfs.ext4", "mkfs.ext2", "debugfs")
	// Four files of 3 MiB: on 1 KiB blocks they fill groups 1 and 2 too.
	files := imgtest.Files{}
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 4 {
		data := make([]byte, 3<<20)
		for j := range data {
			data[j] = byte(r.Uint32())
		}
		files[fmt.Sprintf("f%d", i+1)] = data
	}
	for _, tc := range []struct {
		name  string
		size  int64
		make  []string // the mkfs command, before its folder and image
		after []string // debugfs -w requests made then
		want  error    // from Used; nil: the ranges hold every file
	}{
		{"ext4 with bigalloc", 64 << 20, []string{"mkfs.ext4", "-q", "-F", "-O", "bigalloc", "-C", "16384", "-b", "4096", "-g", "8192"}, nil, disk.ErrUnknownFS},
		{"ext2 groups flagged BLOCK_UNINIT", 24 << 20, []string{"mkfs.ext2", "-q", "-F", "-b", "1024"}, []string{"set_bg 1 flags 2", "set_bg 2 flags 2"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			src := filepath.Join(dir, "files")
			require.NoError(t, os.Mkdir(src, 0o755))
			for n, d := range files {
				require.NoError(t, os.WriteFile(filepath.Join(src, n), d, 0o644))
			}
			master := filepath.Join(dir, "master.img")
			imgtest.Sparse(t, master, tc.size)
			imgtest.Run(t, tc.make[0], append(tc.make[1:], "-d", src, master)...)
			for _, req := range tc.after {
				imgtest.Run(t, "debugfs", "-w", "-R", req, master)
			}
			f, err := os.Open(master)
			require.NoError(t, err)
			defer f.Close()
			_, used, err := disk.Used(f, 0, tc.size)
			if tc.want != nil {
				assert.ErrorIs(t, err, tc.want)
				return
			}
			require.NoError(t, err)
			clone := filepath.Join(dir, "clone.img")
			imgtest.Garbage(t, clone, tc.size)
			out, err := os.OpenFile(clone, os.O_WRONLY, 0)
			require.NoError(t, err)
			for _, e := range disk.Normalize(used) {
				_, err := io.Copy(io.NewOffsetWriter(out, e.Off), io.NewSectionReader(f, e.Off, e.Len))
				require.NoError(t, err)
			}
			require.NoError(t, out.Close())
			got := imgtest.ReadFiles(t, "ext4", clone, slices.Sorted(maps.Keys(files)))
			assert.Equal(t, files.Sums(), got.Sums(), "the files on the clone equal the master's")
		})
	}
}
