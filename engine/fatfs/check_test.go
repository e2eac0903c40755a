//go:build linux

package fatfs_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"flag"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/engine/fatfs"
	"github.com/clonebay/clonebay/internal/imgtest"
)

// small is a populated volume small enough to corrupt in memory.
func small(t *testing.T, kind string) (string, *fatfs.Layout) {
	t.Helper()
	mod := time.Date(2022, 2, 2, 2, 2, 2, 0, time.UTC)
	nodes := []fatfs.Node{
		{Path: "First file with a long name.txt", Size: 3000, ModTime: mod},
		{Path: "second.bin", Size: 9000, ModTime: mod},
		{Path: "dir", Dir: true, ModTime: mod},
		{Path: "dir/inner.txt", Size: 10, ModTime: mod},
	}
	files := map[string][]byte{
		"First file with a long name.txt": bytes.Repeat([]byte("1"), 3000),
		"second.bin":                      bytes.Repeat([]byte("2"), 9000),
		"dir/inner.txt":                   []byte("0123456789"),
	}
	img := format(t, kind, 34<<20)
	return img, fill(t, img, nodes, files)
}

// image is a volume image file damaged in place: the tests never hold a
// whole volume in memory.
type image struct {
	t *testing.T
	f *os.File
}

func (m image) get(off int64, n int) []byte {
	b := make([]byte, n)
	_, err := m.f.ReadAt(b, off)
	require.NoError(m.t, err)
	return b
}

func (m image) put(off int64, b []byte) {
	_, err := m.f.WriteAt(b, off)
	require.NoError(m.t, err)
}

func (m image) xor(off int64, x byte) { m.put(off, []byte{m.get(off, 1)[0] ^ x}) }

func (m image) put32(off int64, v uint32) {
	m.put(off, binary.LittleEndian.AppendUint32(nil, v))
}

// geometry reads where a volume's structures are, from its boot sector.
type geometry struct {
	fat1, fat2, heap, cs int64
	root                 int64 // the root folder's first byte
}

func geometryOf(b []byte) geometry {
	le16 := func(o int) int64 { return int64(binary.LittleEndian.Uint16(b[o:])) }
	le32 := func(o int) int64 { return int64(binary.LittleEndian.Uint32(b[o:])) }
	if string(b[3:11]) == "EXFAT   " {
		bps := int64(1) << b[108]
		g := geometry{fat1: le32(80) * bps, heap: le32(88) * bps, cs: bps << b[109]}
		g.root = g.heap + (le32(96)-2)*g.cs
		return g
	}
	bps := le16(11)
	g := geometry{fat1: le16(14) * bps, cs: bps * int64(b[13])}
	g.fat2 = g.fat1 + le32(36)*bps
	g.heap = g.fat1 + 2*le32(36)*bps
	g.root = g.heap + (le32(44)-2)*g.cs
	return g
}

func TestCheckFindsDamage(t *testing.T) {
	for _, tc := range []struct {
		kind, name string
		damage     func(m image, g geometry, lay *fatfs.Layout)
		want       string
	}{
		{"fat32", "the FAT copies differ", func(m image, g geometry, _ *fatfs.Layout) {
			m.xor(g.fat2+4*5, 0x01)
		}, "FAT 2 differs from FAT 1"},
		{"fat32", "a lost cluster", func(m image, g geometry, _ *fatfs.Layout) {
			for _, f := range []int64{g.fat1, g.fat2} {
				m.put32(f+4*60000, 0x0fffffff)
			}
		}, "no file uses them, the first at 60000"},
		// The FATs are read a block at a time: the damage lies past the
		// first block too.
		{"fat32", "the FAT copies differ past the first block", func(m image, g geometry, _ *fatfs.Layout) {
			m.xor(g.fat2+4*66000, 0x01)
		}, "FAT 2 differs from FAT 1 at byte 264000"},
		{"fat32", "a lost cluster past the first block", func(m image, g geometry, _ *fatfs.Layout) {
			for _, f := range []int64{g.fat1, g.fat2} {
				m.put32(f+4*67000, 0x0fffffff)
			}
		}, "no file uses them, the first at 67000"},
		{"fat32", "a chain longer than its file", func(m image, g geometry, lay *fatfs.Layout) {
			last := (lay.Files[2].Off-g.heap)/g.cs + 2 // dir/inner.txt: one cluster
			for _, f := range []int64{g.fat1, g.fat2} {
				m.put32(f+4*last, uint32(last+1))
				m.put32(f+4*(last+1), 0x0fffffff)
			}
		}, "2 clusters hold 10 bytes, which need 1"},
		{"fat32", "a long name that is not its short entry's", func(m image, g geometry, _ *fatfs.Layout) {
			m.xor(g.root+4*32+2, 0x01) // the short entry after the label and three long-name parts
		}, "does not belong to it"},
		{"fat32", "a wrong free count", func(m image, _ geometry, _ *fatfs.Layout) {
			m.put32(512+488, 12)
		}, "FSInfo: 12 free clusters"},
		{"exfat", "an entry set whose checksum does not match", func(m image, g geometry, _ *fatfs.Layout) {
			for i := g.root; ; i += 32 {
				if m.get(i, 1)[0] == 0xc1 {
					m.xor(i+2, 0x20)
					return
				}
			}
		}, "checksum does not match"},
		{"exfat", "a cluster in use marked free", func(m image, g geometry, lay *fatfs.Layout) {
			bit := (lay.Files[1].Off - g.heap) / g.cs
			bitmap := g.heap // mkfs.exfat puts the bitmap in the first cluster
			m.put(bitmap+bit/8, []byte{m.get(bitmap+bit/8, 1)[0] &^ (1 << (bit % 8))})
		}, "in use are marked free"},
		{"exfat", "a boot sector that does not match its checksum", func(m image, _ geometry, _ *fatfs.Layout) {
			m.xor(100, 0xff)
		}, "checksum sector does not match"},
	} {
		t.Run(tc.kind+"/"+tc.name, func(t *testing.T) {
			path, lay := small(t, tc.kind)
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			require.NoError(t, err)
			defer f.Close()
			size := int64(34 << 20)
			v, err := fatfs.Open(f, 0, size)
			require.NoError(t, err)
			require.NoError(t, v.Check(), "the volume is sound before it is damaged")
			m := image{t, f}
			tc.damage(m, geometryOf(m.get(0, 512)), lay)
			v, err = fatfs.Open(f, 0, size)
			if err != nil {
				assert.ErrorIs(t, err, fatfs.ErrDamaged)
				return
			}
			err = v.Check()
			require.Error(t, err)
			assert.ErrorIs(t, err, fatfs.ErrDamaged)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestPopulateRefusesBeforeWriting(t *testing.T) {
	mod := time.Now()
	for _, tc := range []struct {
		kind  string
		nodes []fatfs.Node
		want  error
		msg   string
	}{
		{"fat32", []fatfs.Node{{Path: "a:b.txt", Size: 1, ModTime: mod}}, fatfs.ErrBadName, `a:b.txt: a name FAT32 and exFAT cannot hold: the name holds ':'`},
		{"fat32", []fatfs.Node{{Path: "Readme.txt", ModTime: mod}, {Path: "README.TXT", ModTime: mod}}, fatfs.ErrBadName, `README.TXT: a name FAT32 and exFAT cannot hold: the same name as "Readme.txt"`},
		{"exfat", []fatfs.Node{{Path: "dir/trailing. ", ModTime: mod}}, fatfs.ErrBadName, "ends with a space"},
		{"fat32", []fatfs.Node{{Path: "big.iso", Size: 5 << 30, ModTime: mod}}, fatfs.ErrTooLarge, "big.iso: a file larger than FAT32 holds"},
		{"exfat", []fatfs.Node{{Path: "big.iso", Size: 50 << 20, ModTime: mod}}, fatfs.ErrNoSpace, "bytes), the exFAT volume has"},
	} {
		t.Run(tc.msg, func(t *testing.T) {
			img := format(t, tc.kind, 34<<20)
			before := img + ".before"
			imgtest.Run(t, "cp", "--sparse=always", img, before)
			f, err := os.OpenFile(img, os.O_RDWR, 0)
			require.NoError(t, err)
			defer f.Close()
			_, err = fatfs.Populate(f, 34<<20, tc.nodes, fatfs.PopulateOptions{})
			require.ErrorIs(t, err, tc.want)
			assert.Contains(t, err.Error(), tc.msg)
			assert.NoError(t, exec.Command("cmp", "-s", before, img).Run(), "nothing was written")
		})
	}
}

var updateSeeds = flag.Bool("update-seeds", false, "write the fuzz seeds under testdata/ from the real tools")

// TestSeeds writes the fuzz seeds with -update-seeds (mkfs and mtools for
// FAT12/16, Populate for FAT32 and exFAT), and checks that every seed
// opens, walks and checks clean.
func TestSeeds(t *testing.T) {
	if *updateSeeds {
		mod := time.Date(2021, 3, 4, 5, 6, 8, 0, time.UTC)
		nodes := []fatfs.Node{
			{Path: "Read me first.txt", Size: 700, ModTime: mod},
			{Path: "sub", Dir: true, ModTime: mod},
			{Path: "sub/Ünïcödé.bin", Size: 2000, ModTime: mod},
			{Path: "sub/EMPTY", ModTime: mod},
		}
		files := map[string][]byte{"Read me first.txt": bytes.Repeat([]byte("r"), 700), "sub/Ünïcödé.bin": bytes.Repeat([]byte("u"), 2000)}
		// Small seeds fuzz fast: one FAT, the exFAT heap right after its FAT.
		for _, s := range []struct {
			name  string
			size  int64
			keep  int
			extra []string
		}{{"fat32", 33 << 20, 320 << 10, []string{"-f", "1"}}, {"exfat", 2 << 20, 64 << 10, []string{"-b", "4K"}}} {
			img := format(t, s.name, s.size, s.extra...)
			fill(t, img, nodes, files)
			writeSeed(t, s.name, img, s.keep)
		}
		for _, s := range []struct {
			name, bits string
			size       int64
		}{{"fat12", "12", 1 << 20}, {"fat16", "16", 20 << 20}} {
			img := filepath.Join(t.TempDir(), s.name)
			imgtest.Sparse(t, img, s.size)
			imgtest.Run(t, "mkfs.fat", "-F", s.bits, "-n", "SEED", img)
			src := t.TempDir()
			require.NoError(t, os.MkdirAll(filepath.Join(src, "Long folder name"), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(src, "Long folder name", "a long file name.txt"), bytes.Repeat([]byte("l"), 3000), 0o644))
			require.NoError(t, os.WriteFile(filepath.Join(src, "SHORT.TXT"), []byte("short"), 0o644))
			imgtest.Run(t, "mcopy", "-s", "-i", img, filepath.Join(src, "Long folder name"), filepath.Join(src, "SHORT.TXT"), "::/")
			writeSeed(t, s.name, img, 128<<10)
		}
	}
	for _, s := range seeds(t) {
		v, err := fatfs.Open(zeroTail{s, virtualSize}, 0, virtualSize)
		require.NoError(t, err)
		var n int
		require.NoError(t, fs.WalkDir(v, ".", func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				_, err = fs.ReadFile(v, p)
				n++
			}
			return err
		}))
		assert.GreaterOrEqual(t, n, 2, "%s: the seed's files", v.Kind())
	}
}

func writeSeed(t *testing.T, name, img string, keep int) {
	t.Helper()
	b, err := os.ReadFile(img)
	require.NoError(t, err)
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, err = zw.Write(b[:keep])
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	require.NoError(t, os.MkdirAll("testdata", 0o755))
	require.NoError(t, os.WriteFile(filepath.Join("testdata", name+".gz"), buf.Bytes(), 0o644))
}

// virtualSize is the partition the fuzz inputs stand at the start of; the
// rest reads as zeros.
const virtualSize = 64 << 20

type zeroTail struct {
	data []byte
	size int64
}

func (z zeroTail) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= z.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), z.size-off))
	clear(p[:n])
	if off < int64(len(z.data)) {
		copy(p[:n], z.data[off:])
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func seeds(tb testing.TB) [][]byte {
	files, err := filepath.Glob(filepath.Join("testdata", "*.gz"))
	require.NoError(tb, err)
	require.NotEmpty(tb, files, "no seeds: run go test -run TestSeeds -update-seeds as root")
	var out [][]byte
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(tb, err)
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		require.NoError(tb, err)
		b, err := io.ReadAll(zr)
		require.NoError(tb, err)
		out = append(out, b)
	}
	return out
}

// FuzzVolume opens, checks and walks damaged volumes, reading every file:
// nothing may panic or run away with memory.
func FuzzVolume(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := fatfs.Open(zeroTail{data, virtualSize}, 0, virtualSize)
		if err != nil {
			return
		}
		_ = v.Check()
		_ = v.Label()
		files := 0
		_ = fs.WalkDir(v, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if files++; files > 200 {
				return fs.SkipAll
			}
			if !d.IsDir() {
				if fl, err := v.Open(p); err == nil {
					buf := make([]byte, 4096)
					for range 16 {
						if _, err := fl.Read(buf); err != nil {
							break
						}
					}
					fl.Close()
				}
				if ex, err := v.FileExtents(p); err == nil {
					for _, e := range ex {
						if e.Off < 0 || e.Len < 0 || e.End() > virtualSize {
							t.Fatalf("%s: extent %+v outside the partition", p, e)
						}
					}
				}
			}
			return nil
		})
	})
}
