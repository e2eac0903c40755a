package disk_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/engine/disk"
)

// virtualSize is the disk the fuzz inputs stand at the start of; the rest
// reads as zeros.
const virtualSize = 64 << 20

// zeroTail reads data and then zeros up to size.
type zeroTail struct {
	data []byte
	size int64
}

func (z zeroTail) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, io.ErrUnexpectedEOF
	}
	if off >= z.size {
		return 0, io.EOF
	}
	n := len(p)
	if rest := z.size - off; int64(n) > rest {
		n = int(rest)
	}
	for i := 0; i < n; i++ {
		if o := off + int64(i); o < int64(len(z.data)) {
			p[i] = z.data[o]
		} else {
			p[i] = 0
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// seeds loads the committed corpus made by scripts/make-seeds.sh.
func seeds(tb testing.TB, prefix string) [][]byte {
	files, err := filepath.Glob(filepath.Join("testdata", "seeds", prefix+"*.gz"))
	require.NoError(tb, err)
	require.NotEmpty(tb, files, "no seeds for %s: run scripts/make-seeds.sh", prefix)
	var out [][]byte
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(tb, err)
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		require.NoError(tb, err)
		data, err := io.ReadAll(zr)
		require.NoError(tb, err)
		out = append(out, data)
	}
	return out
}

func FuzzMBR(f *testing.F) {
	for _, s := range seeds(f, "mbr") {
		f.Add(s[:512<<10])
	}
	for _, s := range seeds(f, "gpt-hybrid") {
		f.Add(s[:4096])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := disk.ReadMBR(zeroTail{data, virtualSize}, virtualSize, 512)
		if err != nil {
			return
		}
		for _, p := range m.Partitions {
			if p.Type != 0xee && (p.Start < 0 || p.Start+p.Size > virtualSize) {
				t.Fatalf("partition %d outside the disk: %+v", p.Number, p)
			}
		}
	})
}

func FuzzGPT(f *testing.F) {
	for _, s := range seeds(f, "gpt") {
		f.Add(s[:min(len(s), 20<<10)])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := disk.ReadGPT(zeroTail{data, 4 << 20}, 4<<20, 512)
		if err != nil {
			return
		}
		for _, p := range g.Partitions {
			if p.FirstLBA > p.LastLBA || p.LastLBA > g.Primary.LastUsableLBA {
				t.Fatalf("partition %d outside the usable LBAs: %+v", p.Number, p)
			}
		}
		_, _, _, _ = g.Relocated(8 << 20)
	})
}

func FuzzUsed(f *testing.F) {
	for _, prefix := range []string{"fat", "exfat", "ext4", "ntfs"} {
		for _, s := range seeds(f, prefix) {
			f.Add(s)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, used, err := disk.Used(zeroTail{data, virtualSize}, 0, virtualSize)
		if err != nil {
			return
		}
		for _, e := range used {
			if e.Off < 0 || e.Len < 0 || e.End() > virtualSize {
				t.Fatalf("used range %+v outside the partition", e)
			}
		}
	})
}

func TestSeedsParse(t *testing.T) {
	for _, tc := range []struct{ prefix, fs string }{
		{"fat12", "FAT12"}, {"fat16", "FAT16"}, {"fat32", "FAT32"}, {"exfat", "exFAT"}, {"ext4", "ext"}, {"ntfs", "NTFS"},
	} {
		for _, s := range seeds(t, tc.prefix) {
			name, used, err := disk.Used(zeroTail{s, virtualSize}, 0, virtualSize)
			require.NoError(t, err, tc.prefix)
			require.Equal(t, tc.fs, name)
			require.NotEmpty(t, used)
		}
	}
	for _, s := range seeds(t, "mbr-extended") {
		m, err := disk.ReadMBR(zeroTail{s, 1 << 20}, 1<<20, 512)
		require.NoError(t, err)
		require.Len(t, m.EBRs, 2)
		require.Len(t, m.Partitions, 4, "a primary, the extended container, 2 logicals")
	}
}
