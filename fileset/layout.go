package fileset

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"unicode/utf16"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/engine/fatfs"
)

// Geometry constants of every target.
const (
	// PartitionAlign is where the partition starts and what its start is
	// a multiple of: flash erase blocks are at most this large.
	PartitionAlign = 4 << 20
	sector         = 512
	gptSectors     = 33 // 128 entries of 128 bytes and the header
	// minFAT32Clusters is the fewest clusters a FAT32 volume has (65525),
	// with room for its FATs.
	minFAT32Clusters = 65525 + 1024
	// DefaultExFATAbove is the capacity above which auto picks exFAT: the
	// SD Association's split between SDHC (FAT32) and SDXC (exFAT).
	DefaultExFATAbove = 32 << 30
	// maxFAT32Volume is the largest FAT32 volume: its boot sector counts
	// its 512-byte sectors in 32 bits.
	maxFAT32Volume = 0xffffffff * sector
)

// File systems and partition tables a job can be asked for.
const (
	FSAuto  = "auto"
	FSFAT32 = "fat32"
	FSExFAT = "exfat"
	MBR     = "mbr"
	GPT     = "gpt"
)

// Errors of planning a target, wrapped with the sizes and names.
var (
	ErrTooSmall    = errors.New("the target is too small for the set")
	ErrTooLarge    = errors.New("a file is larger than FAT32 holds")
	ErrUnsupported = errors.New("not supported for file duplication")
)

// Layout is how one target is partitioned and formatted.
type Layout struct {
	// DiskSize is the target's whole sectors: an image file's last bytes
	// short of a sector are no part of its disk, and its backup GPT ends
	// in the last whole sector, where its header says it lies.
	DiskSize    int64
	Table       string     // MBR or GPT
	FS          fatfs.Kind // FAT32 or ExFAT
	ClusterSize int64
	PartStart   int64 // bytes from the start of the disk
	PartSize    int64
	Label       string
	// Why says why the file system was chosen ("auto: 29.8 GB is at most 32 GiB").
	Why string
}

// PartEnd is the first byte after the partition.
func (l Layout) PartEnd() int64 { return l.PartStart + l.PartSize }

// FSName is the file system as the record names it: "FAT32" or "exFAT".
func (l Layout) FSName() string { return l.FS.String() }

// Plan decides a target's layout for a set: the partition from 4 MiB to
// the last whole MiB before the room a GPT backup needs (kept free with
// an MBR too, so an old backup GPT there is overwritten), FAT32 for
// capacities up to exfatAbove and exFAT above (or the file system asked
// for), Microsoft's default cluster size for the volume's size, and the
// label. A file over 4 GiB, or a volume too small for FAT32's 65525
// clusters, makes auto pick exFAT; FAT32 asked for by name fails then. The rough fit (every file's clusters) is checked here; the
// exact one when the volume is built.
func Plan(m *Manifest, size int64, sectorSize int, fsName, table, label string, exfatAbove int64) (Layout, error) {
	l := Layout{DiskSize: size / sector * sector, Table: table, PartStart: PartitionAlign}
	if sectorSize != 0 && sectorSize != sector {
		return l, fmt.Errorf("%w: a drive of %d-byte logical sectors", ErrUnsupported, sectorSize)
	}
	switch l.Table {
	case "":
		l.Table = MBR
	case MBR, GPT:
	default:
		return l, fmt.Errorf("%w: partition table %q (give mbr or gpt)", ErrUnsupported, table)
	}
	if exfatAbove <= 0 {
		exfatAbove = DefaultExFATAbove
	}
	end := (size - gptSectors*sector) / (1 << 20) * (1 << 20)
	l.PartSize = end - l.PartStart
	if l.PartSize < 8<<20 {
		return l, fmt.Errorf("%w: a %s target leaves no room for a partition after the first %d MiB", ErrTooSmall, engine.FormatSize(size), PartitionAlign>>20)
	}
	switch fsName {
	case "", FSAuto:
		switch {
		case size > exfatAbove:
			l.FS, l.Why = fatfs.ExFAT, fmt.Sprintf("auto: %s is above %s", engine.FormatSize(size), engine.FormatSize(exfatAbove))
		case m.Largest.Size > fatfs.MaxFAT32File:
			l.FS, l.Why = fatfs.ExFAT, fmt.Sprintf("auto: %s (%s) is larger than FAT32 holds", m.Largest.Path, engine.FormatSize(m.Largest.Size))
		default:
			l.FS, l.Why = fatfs.FAT32, fmt.Sprintf("auto: %s is at most %s", engine.FormatSize(size), engine.FormatSize(exfatAbove))
		}
	case FSFAT32:
		l.FS, l.Why = fatfs.FAT32, "asked for"
		if m.Largest.Size > fatfs.MaxFAT32File {
			return l, fmt.Errorf("%w: %s is %s, FAT32 holds files up to 4 GiB less a byte; use exFAT", ErrTooLarge, m.Largest.Path, engine.FormatSize(m.Largest.Size))
		}
	case FSExFAT:
		l.FS, l.Why = fatfs.ExFAT, "asked for"
	default:
		return l, fmt.Errorf("%w: file system %q (give auto, fat32 or exfat)", ErrUnsupported, fsName)
	}
	l.ClusterSize = clusterSize(l.FS, l.PartSize)
	if l.FS == fatfs.FAT32 && l.PartSize/l.ClusterSize < minFAT32Clusters && (fsName == "" || fsName == FSAuto) {
		l.FS, l.Why = fatfs.ExFAT, fmt.Sprintf("auto: %s is too small for FAT32", engine.FormatSize(size))
		l.ClusterSize = clusterSize(l.FS, l.PartSize)
	}
	if l.FS == fatfs.FAT32 && l.PartSize/l.ClusterSize < minFAT32Clusters {
		return l, fmt.Errorf("%w: a FAT32 volume needs at least 33 MB; the %s target leaves %s", ErrTooSmall, engine.FormatSize(size), engine.FormatSize(l.PartSize))
	}
	// A FAT32 boot sector counts at most 2^32-1 sectors: a larger
	// partition would hold a smaller volume.
	if l.FS == fatfs.FAT32 && l.PartSize > maxFAT32Volume {
		if fsName != "" && fsName != FSAuto {
			return l, fmt.Errorf("%w: FAT32 on a %s partition: a FAT32 volume holds at most %s; use exFAT", ErrUnsupported,
				engine.FormatSize(l.PartSize), engine.FormatSize(maxFAT32Volume))
		}
		l.FS, l.Why = fatfs.ExFAT, fmt.Sprintf("auto: %s is larger than a FAT32 volume can be", engine.FormatSize(size))
		l.ClusterSize = clusterSize(l.FS, l.PartSize)
	}
	var lbl string
	var err error
	if label == "" {
		lbl = defaultLabel(l.FS, m.Name)
	} else if lbl, err = fatfs.Label(l.FS, label); err != nil {
		return l, err
	}
	l.Label = lbl
	var need int64
	for _, e := range m.Entries {
		need += (e.Size + l.ClusterSize - 1) / l.ClusterSize * l.ClusterSize
	}
	if need > l.PartSize {
		return l, fmt.Errorf("%w: the set needs %s in %s clusters, the %s target holds a %s volume", ErrTooSmall,
			engine.FormatSize(need), engine.FormatSize(l.ClusterSize), engine.FormatSize(size), engine.FormatSize(l.PartSize))
	}
	return l, nil
}

// clusterSize is Windows' default cluster size for a volume of n bytes.
func clusterSize(k fatfs.Kind, n int64) int64 {
	const mib, gib = 1 << 20, 1 << 30
	if k == fatfs.ExFAT {
		switch {
		case n <= 256*mib:
			return 4 << 10
		case n <= 32*gib:
			return 32 << 10
		}
		return 128 << 10
	}
	switch {
	case n <= 64*mib:
		return 512
	case n <= 128*mib:
		return 1 << 10
	case n <= 256*mib:
		return 2 << 10
	case n <= 8*gib:
		return 4 << 10
	case n <= 16*gib:
		return 8 << 10
	case n <= 32*gib:
		return 16 << 10
	}
	return 32 << 10
}

// defaultLabel makes a label from the set's name.
func defaultLabel(k fatfs.Kind, name string) string {
	var b []rune
	for _, r := range strings.ToUpper(name) {
		if len(b) == 11 {
			break
		}
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			b = append(b, r)
		} else {
			b = append(b, '_')
		}
	}
	l, err := fatfs.Label(k, string(b))
	if err != nil || l == "" {
		return "CLONEBAY"
	}
	return l
}

// tables returns what goes before the partition (an MBR, or a protective
// MBR and the primary GPT) and what goes at the disk's end (the backup
// GPT; nothing for an MBR).
func (l Layout) tables() (head, tail []byte, err error) {
	var rnd [36]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, nil, err
	}
	mbr := make([]byte, sector)
	entry := func(typ byte, start, n int64) {
		e := mbr[446:462]
		copy(e[1:4], []byte{0xfe, 0xff, 0xff}) // CHS past its range: LBA is what counts
		e[4] = typ
		copy(e[5:8], []byte{0xfe, 0xff, 0xff})
		binary.LittleEndian.PutUint32(e[8:], uint32(start))
		binary.LittleEndian.PutUint32(e[12:], uint32(min(n, 0xffffffff)))
	}
	mbr[510], mbr[511] = 0x55, 0xaa
	lbas := l.DiskSize / sector
	if l.Table == MBR {
		if l.PartEnd()/sector > 0xffffffff {
			return nil, nil, fmt.Errorf("%w: an MBR cannot address a %s disk; use gpt", ErrUnsupported, engine.FormatSize(l.DiskSize))
		}
		binary.LittleEndian.PutUint32(mbr[440:], binary.LittleEndian.Uint32(rnd[:4]))
		typ := byte(0x0c) // FAT32 with LBA
		if l.FS == fatfs.ExFAT {
			typ = 0x07
		}
		entry(typ, l.PartStart/sector, l.PartSize/sector)
		return mbr, nil, nil
	}
	entry(0xee, 1, lbas-1)
	entries := make([]byte, 128*128)
	// Microsoft basic data, EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, mixed-endian.
	copy(entries[0:16], []byte{0xa2, 0xa0, 0xd0, 0xeb, 0xe5, 0xb9, 0x33, 0x44, 0x87, 0xc0, 0x68, 0xb6, 0xb7, 0x26, 0x99, 0xc7})
	copy(entries[16:32], guid(rnd[4:20]))
	binary.LittleEndian.PutUint64(entries[32:], uint64(l.PartStart/sector))
	binary.LittleEndian.PutUint64(entries[40:], uint64(l.PartEnd()/sector-1))
	for i, u := range utf16.Encode([]rune(l.Label)) {
		binary.LittleEndian.PutUint16(entries[56+2*i:], u)
	}
	header := func(self, alt, entriesLBA int64) []byte {
		h := make([]byte, sector)
		copy(h, "EFI PART")
		binary.LittleEndian.PutUint32(h[8:], 0x00010000)
		binary.LittleEndian.PutUint32(h[12:], 92)
		binary.LittleEndian.PutUint64(h[24:], uint64(self))
		binary.LittleEndian.PutUint64(h[32:], uint64(alt))
		binary.LittleEndian.PutUint64(h[40:], 34)
		binary.LittleEndian.PutUint64(h[48:], uint64(lbas-34))
		copy(h[56:72], guid(rnd[20:36]))
		binary.LittleEndian.PutUint64(h[72:], uint64(entriesLBA))
		binary.LittleEndian.PutUint32(h[80:], 128)
		binary.LittleEndian.PutUint32(h[84:], 128)
		binary.LittleEndian.PutUint32(h[88:], crc32.ChecksumIEEE(entries))
		binary.LittleEndian.PutUint32(h[16:], crc32.ChecksumIEEE(h[:92]))
		return h
	}
	head = append(append(mbr, header(1, lbas-1, 2)...), entries...)
	tail = append(append([]byte(nil), entries...), header(lbas-1, 1, lbas-33)...)
	return head, tail, nil
}

// guid makes a random (version 4) GUID in GPT's byte order.
func guid(b []byte) []byte {
	g := append([]byte(nil), b[:16]...)
	g[7] = g[7]&0x0f | 0x40
	g[8] = g[8]&0x3f | 0x80
	return g
}
