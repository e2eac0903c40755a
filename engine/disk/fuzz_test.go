package disk_test

import (
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/engine/disk"
	"github.com/clonebay/clonebay/internal/seedfuzz"
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

// seeds loads the committed corpus made by scripts/make-seeds.sh: every
// seed whose name starts with prefix.
func seeds(tb testing.TB, prefix string) [][]byte {
	files, err := filepath.Glob(filepath.Join("testdata", "seeds", prefix+"*.gz"))
	require.NoError(tb, err)
	require.NotEmpty(tb, files, "no seeds for %s: run scripts/make-seeds.sh", prefix)
	var out [][]byte
	for _, f := range files {
		out = append(out, seed(tb, strings.TrimSuffix(filepath.Base(f), ".gz")))
	}
	return out
}

// seed loads one seed of the committed corpus.
func seed(tb testing.TB, name string) []byte {
	data, err := seedfuzz.Load(filepath.Join("testdata", "seeds"), name)
	require.NoError(tb, err)
	return data
}

// edit sets one field of a seed image: width bytes, little-endian, at off.
type edit struct {
	off   uint32
	width uint8
	val   uint64
}

func editBytes(edits ...edit) []byte {
	var out []byte
	for _, e := range edits {
		out = append(out, seedfuzz.Encode(seedfuzz.Edit{Off: e.off, Width: e.width, Val: e.val})...)
	}
	return out
}

// seedSet is the committed real images a fuzz target edits, in a fixed
// order: the fuzzer picks one by its index.
type seedSet []struct {
	name   string
	data   []byte
	fields []seedfuzz.Field
}

func loadSeeds(tb testing.TB, names ...string) seedSet {
	var set seedSet
	for _, n := range names {
		set = append(set, struct {
			name   string
			data   []byte
			fields []seedfuzz.Field
		}{n, seed(tb, n), seedfuzz.Fields(n)})
	}
	return set
}

// index is the position of the seed named name.
func (s seedSet) index(tb testing.TB, name string) uint8 {
	for i, x := range s {
		if x.name == name {
			return uint8(i)
		}
	}
	tb.Fatalf("no seed %s", name)
	return 0
}

// edited is seed which with the edits applied.
func (s seedSet) edited(which uint8, edits []byte) []byte {
	x := s[int(which)%len(s)]
	return seedfuzz.Apply(x.data, edits, x.fields)
}

// fsSeeds are the file-system seeds, each once.
var fsSeeds = []string{"fat12", "fat16", "fat32", "exfat", "ext4", "ext4-64bit", "ntfs"}

// crashingExt64 is the superblock that made extUsed slice past its group
// descriptors: 2^54 blocks of 1 KiB and 1024-byte descriptors, whose
// product wraps to 0 and so passed every size check.
var crashingExt64 = []edit{
	{1024 + 0x04, 4, 0},        // s_blocks_count_lo
	{1024 + 0x150, 4, 1 << 22}, // s_blocks_count_hi
	{1024 + 0x14, 4, 0},        // s_first_data_block
	{1024 + 0x18, 4, 0},        // s_log_block_size: 1 KiB
	{1024 + 0x20, 4, 1},        // s_blocks_per_group
	{1024 + 0xfe, 2, 1024},     // s_desc_size
	{1024 + 0x60, 4, 0x2c2},    // s_feature_incompat: 64bit, extents, flex_bg, filetype
}

// crashingNTFSTotal made ntfsUsed index past its $Bitmap: 2^63-1 sectors
// of 512 bytes wrapped past the size check, and the cluster count past
// the bitmap's length check.
var crashingNTFSTotal = []edit{{13, 1, 1}, {48, 8, 4 * 8}, {40, 8, 1<<63 - 1}}

// crashingNTFSRun made a slice of negative length: a $Bitmap run of
// 2^64-1 clusters is -1 as an int64.
var crashingNTFSRun = []edit{{22788, 4, 96}, {22848, 1, 0x08}, {22849, 8, 1<<64 - 1}}

// FuzzUsed edits fields of real file systems (mkfs output) and reads
// their allocation: every answer is an error or ranges inside the
// partition, never a panic.
func FuzzUsed(f *testing.F) {
	set := loadSeeds(f, fsSeeds...)
	for i := range set {
		f.Add(uint8(i), []byte(nil))
	}
	ext64, ntfs, fat32, exfat := set.index(f, "ext4-64bit"), set.index(f, "ntfs"), set.index(f, "fat32"), set.index(f, "exfat")
	f.Add(ext64, editBytes(crashingExt64...))
	f.Add(ntfs, editBytes(crashingNTFSTotal...))
	f.Add(ntfs, editBytes(crashingNTFSRun...))
	f.Add(set.index(f, "ext4"), editBytes(edit{1024 + 0x04, 4, 0xffffffff}, edit{1024 + 0x20, 4, 8}))
	f.Add(ntfs, editBytes(edit{48, 8, 1 << 62}, edit{64, 1, 0xf6})) // MFT cluster, record size
	f.Add(fat32, editBytes(edit{32, 4, 0xffffffff}, edit{36, 4, 0xffffffff}))
	f.Add(exfat, editBytes(edit{92, 4, 0xffffffff}, edit{109, 1, 16}))
	f.Add(ext64, append(seedfuzz.SetField(12, 44), seedfuzz.SetField(3, 0)...)) // 2^22 blocks high, 1 block a group
	f.Fuzz(func(t *testing.T, which uint8, edits []byte) {
		img := set.edited(which, edits)
		_, used, err := disk.Used(zeroTail{img, virtualSize}, 0, virtualSize)
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

// FuzzMBR edits fields of real MBR tables (sfdisk and sgdisk output).
func FuzzMBR(f *testing.F) {
	set := loadSeeds(f, "mbr-extended", "gpt-hybrid")
	for i := range set {
		f.Add(uint8(i), []byte(nil))
	}
	f.Add(uint8(0), editBytes(edit{446 + 16 + 8, 4, 0xffffffff}, edit{446 + 16 + 12, 4, 0xffffffff}))
	f.Fuzz(func(t *testing.T, which uint8, edits []byte) {
		img := set.edited(which, edits)
		m, err := disk.ReadMBR(zeroTail{img, virtualSize}, virtualSize, 512)
		if err != nil {
			return
		}
		for _, p := range m.Partitions {
			if p.Start < 0 || p.Size < 0 || p.Type != 0xee && p.Start+p.Size > virtualSize {
				t.Fatalf("partition %d outside the disk: %+v", p.Number, p)
			}
		}
		for _, e := range m.EBRs {
			if e.Off < 0 || e.End() > virtualSize {
				t.Fatalf("extended boot record %+v outside the disk", e)
			}
		}
	})
}

// FuzzGPT edits fields of sgdisk's table (the CRCs fixed after the edit,
// or not) and reads it: a table that reads lies inside the disk, and its
// relocation for any target size never names an offset outside that
// target.
func FuzzGPT(f *testing.F) {
	base, err := seedfuzz.GPTDisk(filepath.Join("testdata", "seeds"))
	require.NoError(f, err)
	const gptDiskSize = seedfuzz.GPTDiskSize
	f.Add(editBytes(), false)
	f.Add(editBytes(edit{512 + 40, 1, 0xff}), false)                 // damaged primary: the backup is read
	f.Add(editBytes(edit{512 + 32, 8, 1}), true)                     // primary's backup at LBA 1
	f.Add(editBytes(edit{gptDiskSize - 512 + 72, 8, 1 << 62}), true) // backup entries far away
	f.Add(editBytes(edit{512, 1, 0}, edit{446 + 4, 1, 0x83}), false) // no primary, no protective MBR
	f.Fuzz(func(t *testing.T, edits []byte, fix bool) {
		img := seedfuzz.Apply(base, edits, seedfuzz.Fields("gpt"))
		if fix {
			seedfuzz.FixGPTCRCs(img)
		}
		g, err := disk.ReadGPT(zeroTail{img, gptDiskSize}, gptDiskSize, 512)
		if err != nil {
			return
		}
		if g.Primary.MyLBA != 1 {
			t.Fatalf("primary header at LBA %d", g.Primary.MyLBA)
		}
		for _, p := range g.Partitions {
			if p.FirstLBA > p.LastLBA || p.LastLBA > g.Primary.LastUsableLBA {
				t.Fatalf("partition %d outside the usable LBAs: %+v", p.Number, p)
			}
		}
		if e := g.PrimaryExtent(); e.Off < 0 || e.Len < 0 || e.End() > gptDiskSize {
			t.Fatalf("primary extent %+v", e)
		}
		if e := g.BackupExtent(); e.Off < 0 || e.Len < 0 {
			t.Fatalf("backup extent %+v", e)
		}
		for _, size := range []int64{gptDiskSize / 2, gptDiskSize, 3 * gptDiskSize} {
			_, lba, backup, err := g.Relocated(size)
			if err != nil {
				continue
			}
			if lba <= int64(g.Primary.FirstUsableLBA) || lba*512+int64(len(g.Entries)) > size-512 || len(backup) != 512 {
				t.Fatalf("relocated for %d bytes: backup entries at LBA %d", size, lba)
			}
		}
	})
}

// TestCraftedFieldsAreRefused: fields whose sizes wrap around int64, or
// that point outside the partition, are reported as damage with what is
// wrong, and nothing panics. Each case once crashed the reader.
func TestCraftedFieldsAreRefused(t *testing.T) {
	for _, tc := range []struct {
		name  string
		seed  string
		edits []edit
		want  string
	}{
		{"ext4 64bit: 2^54 blocks times 1 KiB wraps to 0", "ext4-64bit", crashingExt64,
			"ext superblock: 18014398509481984 blocks of 1024 bytes on a 67108864-byte partition"},
		{"ext4 64bit: a block count with the sign bit set", "ext4-64bit", []edit{{1024 + 0x150, 4, 0x80000000}},
			"ext superblock: -9223372036854710272 blocks"},
		{"NTFS: 2^63-1 sectors times 512 bytes wraps", "ntfs", crashingNTFSTotal,
			"NTFS boot sector: 9223372036854775807 sectors on a 67108864-byte partition"},
		{"NTFS: a $Bitmap run of -1 clusters", "ntfs", crashingNTFSRun,
			"NTFS: $Bitmap: damaged: a run of -1 clusters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img := seedfuzz.Apply(seed(t, tc.seed), editBytes(tc.edits...), nil)
			_, used, err := disk.Used(zeroTail{img, virtualSize}, 0, virtualSize)
			require.ErrorIs(t, err, disk.ErrDamaged)
			assert.ErrorContains(t, err, tc.want)
			assert.Nil(t, used)
		})
	}
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
