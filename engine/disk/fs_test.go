//go:build linux

package disk_test

import (
	"io"
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
