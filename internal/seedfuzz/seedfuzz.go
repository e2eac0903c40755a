// Package seedfuzz helps fuzz targets that start from real images (the
// output of mkfs, sfdisk and sgdisk committed as seeds) and change whole
// fields of them: a few (offset, width, value) edits reach the size and
// offset fields of a partition table or file system that byte-level
// mutation of a megabyte-sized image seldom does.
package seedfuzz

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
)

// Edit sets Width bytes (1, 2, 4 or 8), little-endian, at Off to Val.
type Edit struct {
	Off   uint32
	Width uint8
	Val   uint64
}

// Field is a field of a seed's structures (a size, a count, an offset)
// that the fuzzer sets to values where overflows and off-by-ones live.
type Field struct {
	Off   uint32
	Width uint8
}

// The encoding a fuzz target takes: a record whose first byte is below
// 0x80 is a raw edit (that byte, the offset, the width, the value); one
// whose first byte is 0x80 or more is a field edit of two bytes: the
// field's index (the low 7 bits, modulo the fields given) and a value
// selector (see Value).
const rawSize = 1 + 4 + 1 + 8

// Encode turns raw edits into the bytes a fuzz target takes.
func Encode(edits ...Edit) []byte {
	var out []byte
	for _, e := range edits {
		out = append(out, 0)
		out = binary.LittleEndian.AppendUint32(out, e.Off)
		out = append(out, e.Width)
		out = binary.LittleEndian.AppendUint64(out, e.Val)
	}
	return out
}

// SetField encodes a field edit: field index i set to Value(sel).
func SetField(i int, sel uint8) []byte { return []byte{0x80 | byte(i&0x7f), sel} }

// Value is the value a selector picks: below 128, 2^(sel/2), less one for
// an odd sel (so 1, 2^k and 2^k-1 up to 2^63-1); from 128, sel-128.
func Value(sel uint8) uint64 {
	if sel < 128 {
		v := uint64(1) << (sel / 2)
		if sel%2 == 1 {
			v--
		}
		return v
	}
	return uint64(sel - 128)
}

// Apply returns a copy of img with the edits encoded in raw applied.
// Offsets wrap around the image; widths other than 1, 2 and 4 mean 8; a
// trailing part shorter than a record is ignored.
func Apply(img, raw []byte, fields []Field) []byte {
	out := bytes.Clone(img)
	set := func(off uint32, width uint8, val uint64) {
		if len(out) == 0 {
			return
		}
		at := int(off % uint32(len(out)))
		w := 8
		switch width {
		case 1, 2, 4:
			w = int(width)
		}
		for i := 0; i < w && at+i < len(out); i++ {
			out[at+i] = byte(val >> (8 * i))
		}
	}
	for len(raw) > 0 {
		if raw[0] >= 0x80 {
			if len(raw) < 2 {
				break
			}
			if len(fields) > 0 {
				f := fields[int(raw[0]&0x7f)%len(fields)]
				set(f.Off, f.Width, Value(raw[1]))
			}
			raw = raw[2:]
			continue
		}
		if len(raw) < rawSize {
			break
		}
		set(binary.LittleEndian.Uint32(raw[1:]), raw[5], binary.LittleEndian.Uint64(raw[6:]))
		raw = raw[rawSize:]
	}
	return out
}

// FixGPTCRCs recomputes the CRCs of both GPT headers (512-byte sectors)
// and of their entry arrays, so edits of their fields get past the CRC
// checks to the code that uses the fields.
func FixGPTCRCs(img []byte) {
	sectors := uint64(len(img) / 512)
	for _, lba := range []uint64{1, sectors - 1} {
		if lba >= sectors {
			continue
		}
		h := img[lba*512 : (lba+1)*512]
		if !bytes.Equal(h[:8], []byte("EFI PART")) {
			continue
		}
		entries := binary.LittleEndian.Uint64(h[72:])
		n := uint64(binary.LittleEndian.Uint32(h[80:])) * uint64(binary.LittleEndian.Uint32(h[84:]))
		if entries < sectors && n <= uint64(len(img))-entries*512 {
			binary.LittleEndian.PutUint32(h[88:], crc32.ChecksumIEEE(img[entries*512:entries*512+n]))
		}
		if hs := binary.LittleEndian.Uint32(h[12:]); hs >= 92 && hs <= 512 {
			clear(h[16:20])
			binary.LittleEndian.PutUint32(h[16:], crc32.ChecksumIEEE(h[:hs]))
		}
	}
}

// Load reads the gzipped seed name.gz from dir.
func Load(dir, name string) ([]byte, error) {
	raw, err := os.ReadFile(filepath.Join(dir, name+".gz"))
	if err != nil {
		return nil, fmt.Errorf("seed %s: %w (made by scripts/make-seeds.sh)", name, err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("seed %s: %w", name, err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("seed %s: %w", name, err)
	}
	return data, nil
}

// GPTDiskSize is the size of the disk GPTDisk puts together.
const GPTDiskSize = 4 << 20

// GPTDisk is sgdisk's 4 MiB disk of the committed seeds in dir, put
// together from its head ("gpt": the protective MBR, primary header and
// entries) and its tail ("gpt-backup": the backup entries and header).
func GPTDisk(dir string) ([]byte, error) {
	head, err := Load(dir, "gpt")
	if err != nil {
		return nil, err
	}
	tail, err := Load(dir, "gpt-backup")
	if err != nil {
		return nil, err
	}
	img := make([]byte, GPTDiskSize)
	copy(img, head)
	copy(img[GPTDiskSize-len(tail):], tail)
	return img, nil
}

// fat, ext and the others are the fields of each committed seed (named
// as in scripts/make-seeds.sh) whose values the readers compute sizes
// and offsets from.
var (
	fat = []Field{{11, 2}, {13, 1}, {14, 2}, {16, 1}, {17, 2}, {19, 2}, {22, 2}, {32, 4}, {36, 4}}
	// The superblock at 1024 and the first group descriptor at block 2 (1
	// KiB blocks), the 64-bit halves too.
	ext = []Field{{1024 + 0x04, 4}, {1024 + 0x14, 4}, {1024 + 0x18, 4}, {1024 + 0x20, 4}, {1024 + 0x28, 4},
		{1024 + 0x4c, 4}, {1024 + 0x58, 2}, {1024 + 0x5c, 4}, {1024 + 0x60, 4}, {1024 + 0x64, 4},
		{1024 + 0xce, 2}, {1024 + 0xfe, 2}, {1024 + 0x150, 4},
		{2048 + 0x00, 4}, {2048 + 0x04, 4}, {2048 + 0x08, 4}, {2048 + 0x12, 2}, {2048 + 0x20, 4}, {2048 + 0x28, 4}}
	// The boot sector, and the $Bitmap record (MFT record 6 at 22528):
	// its $DATA attribute's length, run list offset, size and first run.
	ntfs = []Field{{11, 2}, {13, 1}, {40, 8}, {48, 8}, {64, 1},
		{22528 + 256 + 4, 4}, {22528 + 256 + 32, 2}, {22528 + 256 + 48, 8}, {22848, 1}, {22849, 8}, {22850, 2}}
	exfat = []Field{{80, 4}, {84, 4}, {88, 4}, {92, 4}, {96, 4}, {108, 1}, {109, 1}}
	// The four primary entries' type, start and length.
	mbr = []Field{{446 + 4, 1}, {446 + 8, 4}, {446 + 12, 4}, {462 + 4, 1}, {462 + 8, 4}, {462 + 12, 4},
		{478 + 4, 1}, {478 + 8, 4}, {478 + 12, 4}, {494 + 4, 1}, {494 + 8, 4}, {494 + 12, 4}}
	// mbr-extended's first extended boot record, at sector 200: its
	// logical partition and its link to the next.
	ebr = []Field{{200*512 + 446 + 8, 4}, {200*512 + 446 + 12, 4}, {200*512 + 462 + 4, 1}, {200*512 + 462 + 8, 4}, {200*512 + 462 + 12, 4}}
	// A GPT header's sizes and LBAs, from its start.
	gptHeader = []Field{{12, 4}, {24, 8}, {32, 8}, {40, 8}, {48, 8}, {72, 8}, {80, 4}, {84, 4}}
)

// Fields returns the fields of the seed name, for field edits.
func Fields(name string) []Field {
	switch name {
	case "fat12", "fat16", "fat32":
		return fat
	case "exfat":
		return exfat
	case "ext4", "ext4-64bit":
		return ext
	case "ntfs":
		return ntfs
	case "mbr-extended":
		return append(append([]Field(nil), mbr...), ebr...)
	case "gpt-hybrid":
		return mbr
	case "gpt":
		// The disk GPTDisk puts together: both headers, the first two
		// entries' LBAs and the protective MBR's entry.
		var out []Field
		for _, base := range []uint32{512, GPTDiskSize - 512} {
			for _, f := range gptHeader {
				out = append(out, Field{base + f.Off, f.Width})
			}
		}
		return append(out, Field{1024 + 32, 8}, Field{1024 + 40, 8}, Field{1152 + 32, 8}, Field{1152 + 40, 8}, mbr[0], mbr[1], mbr[2])
	}
	return nil
}
