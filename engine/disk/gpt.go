package disk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"unicode/utf16"
)

// GPTHeader is a decoded GPT header.
type GPTHeader struct {
	Revision       uint32
	HeaderSize     uint32
	MyLBA          uint64
	AlternateLBA   uint64
	FirstUsableLBA uint64
	LastUsableLBA  uint64
	DiskGUID       [16]byte
	EntriesLBA     uint64
	NumEntries     uint32
	EntrySize      uint32
	EntriesCRC     uint32
}

// GPTPartition is one used GPT entry.
type GPTPartition struct {
	Number     int // 1-based entry index
	Type       [16]byte
	GUID       [16]byte
	FirstLBA   uint64
	LastLBA    uint64
	Attributes uint64
	Name       string
}

// GPT is a decoded GUID partition table.
type GPT struct {
	SectorSize int
	// Primary is the primary header: as read from LBA 1, or, when that one
	// is damaged, rebuilt from the backup (see PrimaryErr).
	Primary GPTHeader
	// BackupOK reports whether the backup header at the end agrees.
	BackupOK   bool
	Partitions []GPTPartition
	Entries    []byte // the raw entry array
	// RawHeader is the primary header sector: as read, or as rebuilt.
	RawHeader []byte
	// PrimaryErr says what is wrong with the disk's own primary header or
	// entries when the table was read from the backup at the end of the
	// disk (as sgdisk does). A copy must then get a good primary: its
	// header and entries are written from Primary and Entries.
	PrimaryErr error
}

// ErrNoGPT is returned when neither header carries the GPT signature.
var ErrNoGPT = errors.New("no GPT")

const gptSignature = "EFI PART"

// maxEntryBytes bounds the entry array a header may claim (1 MiB; real
// tables are 16 KiB).
const maxEntryBytes = 1 << 20

// ReadGPT decodes the GPT of a disk of size bytes. A damaged primary
// header (or entry array) falls back to the backup at the end, as sgdisk
// does, and the primary is rebuilt from it (PrimaryErr says why); both
// damaged is an error naming what is wrong with each. A backup GPT with no
// primary signature and no protective MBR is a leftover of an earlier
// table, not this disk's: ErrNoGPT.
func ReadGPT(r io.ReaderAt, size int64, sectorSize int) (*GPT, error) {
	ss := int64(sectorSize)
	if ss < 512 || size < 3*ss {
		return nil, ErrNoGPT
	}
	g, perr := readGPTAt(r, size, ss, 1)
	if perr == nil {
		if g.Primary.AlternateLBA < uint64(size/ss) {
			if b, err := readGPTAt(r, size, ss, int64(g.Primary.AlternateLBA)); err == nil && b.Primary.DiskGUID == g.Primary.DiskGUID {
				g.BackupOK = true
			}
		}
		return g, nil
	}
	b, berr := readGPTAt(r, size, ss, size/ss-1)
	if berr == nil {
		if errors.Is(perr, ErrNoGPT) && !protectiveMBR(r) {
			return nil, ErrNoGPT
		}
		if err := b.rebuildPrimary(); err != nil {
			return nil, fmt.Errorf("GPT: primary header: %w; backup header: %w", perr, err)
		}
		b.PrimaryErr = perr
		return b, nil
	}
	if errors.Is(perr, ErrNoGPT) && errors.Is(berr, ErrNoGPT) {
		return nil, ErrNoGPT
	}
	return nil, fmt.Errorf("GPT: primary header: %w; backup header: %v", perr, berr)
}

// protectiveMBR reports whether LBA 0 holds an MBR with a GPT-protective
// (0xEE) entry, as every GPT disk has.
func protectiveMBR(r io.ReaderAt) bool {
	sec := make([]byte, 512)
	if readAt(r, sec, 0) != nil || sec[510] != 0x55 || sec[511] != 0xaa {
		return false
	}
	for i := 0; i < 4; i++ {
		if sec[446+16*i+4] == 0xee {
			return true
		}
	}
	return false
}

// rebuildPrimary turns a table read from the backup header into the
// primary it stands for: the header for LBA 1, with the entries at LBA 2
// and the backup as its alternate, its CRC recomputed.
func (g *GPT) rebuildPrimary() error {
	backup := g.Primary
	const entriesLBA = 2
	if entriesLBA+uint64(g.EntrySectors()) > backup.FirstUsableLBA {
		return damaged("GPT header at LBA %d: no room for the primary entry array before the first usable LBA %d", backup.MyLBA, backup.FirstUsableLBA)
	}
	h := bytes.Clone(g.RawHeader)
	binary.LittleEndian.PutUint64(h[24:], 1)
	binary.LittleEndian.PutUint64(h[32:], backup.MyLBA)
	binary.LittleEndian.PutUint64(h[72:], entriesLBA)
	clear(h[16:20])
	binary.LittleEndian.PutUint32(h[16:], crc32.ChecksumIEEE(h[:backup.HeaderSize]))
	g.RawHeader = h
	g.Primary.MyLBA, g.Primary.AlternateLBA, g.Primary.EntriesLBA = 1, backup.MyLBA, entriesLBA
	g.BackupOK = true
	return nil
}

// readGPTAt reads the header at lba (1 for the primary, the disk's last
// sector for the backup) and its entries, and checks that they fit the
// disk and each other: every offset later computed from them is inside
// the disk.
func readGPTAt(r io.ReaderAt, size, ss, lba int64) (*GPT, error) {
	sectors := size / ss
	if lba < 1 || lba > sectors-1 {
		return nil, damaged("GPT header at LBA %d lies beyond the disk", lba)
	}
	sec := make([]byte, ss)
	if err := readAt(r, sec, lba*ss); err != nil {
		return nil, err
	}
	if !bytes.Equal(sec[:8], []byte(gptSignature)) {
		return nil, ErrNoGPT
	}
	h := GPTHeader{
		Revision:       binary.LittleEndian.Uint32(sec[8:]),
		HeaderSize:     binary.LittleEndian.Uint32(sec[12:]),
		MyLBA:          binary.LittleEndian.Uint64(sec[24:]),
		AlternateLBA:   binary.LittleEndian.Uint64(sec[32:]),
		FirstUsableLBA: binary.LittleEndian.Uint64(sec[40:]),
		LastUsableLBA:  binary.LittleEndian.Uint64(sec[48:]),
		EntriesLBA:     binary.LittleEndian.Uint64(sec[72:]),
		NumEntries:     binary.LittleEndian.Uint32(sec[80:]),
		EntrySize:      binary.LittleEndian.Uint32(sec[84:]),
		EntriesCRC:     binary.LittleEndian.Uint32(sec[88:]),
	}
	copy(h.DiskGUID[:], sec[56:72])
	n := uint64(sectors)
	switch {
	case h.HeaderSize < 92 || int64(h.HeaderSize) > ss:
		return nil, damaged("GPT header at LBA %d: header size %d", lba, h.HeaderSize)
	case crc32.ChecksumIEEE(zeroCRC(sec[:h.HeaderSize])) != binary.LittleEndian.Uint32(sec[16:]):
		return nil, damaged("GPT header at LBA %d: CRC mismatch", lba)
	case h.MyLBA != uint64(lba):
		return nil, damaged("GPT header at LBA %d says it is at LBA %d", lba, h.MyLBA)
	case h.EntrySize < 128 || h.EntrySize%8 != 0:
		return nil, damaged("GPT header at LBA %d: entry size %d", lba, h.EntrySize)
	case uint64(h.NumEntries)*uint64(h.EntrySize) > maxEntryBytes:
		return nil, damaged("GPT header at LBA %d: %d entries of %d bytes is more than a table holds", lba, h.NumEntries, h.EntrySize)
	case h.FirstUsableLBA < 2 || h.FirstUsableLBA > h.LastUsableLBA || h.LastUsableLBA >= n:
		return nil, damaged("GPT header at LBA %d: usable LBAs %d..%d on a disk of %d sectors", lba, h.FirstUsableLBA, h.LastUsableLBA, sectors)
	}
	entryBytes := int64(h.NumEntries) * int64(h.EntrySize)
	entrySecs := uint64((entryBytes + ss - 1) / ss)
	// The primary's entries lie between it and the first usable LBA and
	// its backup after the last usable one; the backup's entries lie
	// between the last usable LBA and it, its alternate before the first.
	if lba == 1 {
		switch {
		case h.EntriesLBA < 2 || h.EntriesLBA > h.FirstUsableLBA || h.FirstUsableLBA-h.EntriesLBA < entrySecs:
			return nil, damaged("GPT header at LBA 1: entry array at LBA %d (%d sectors) does not end before the first usable LBA %d", h.EntriesLBA, entrySecs, h.FirstUsableLBA)
		case h.AlternateLBA <= h.LastUsableLBA:
			return nil, damaged("GPT header at LBA 1: its backup at LBA %d lies inside the usable LBAs %d..%d", h.AlternateLBA, h.FirstUsableLBA, h.LastUsableLBA)
		case h.AlternateLBA-h.LastUsableLBA <= entrySecs:
			// The backup's entries lie just before it: here they would
			// overlap the partitions, whose bytes a copy would then leave
			// out for the table's.
			return nil, damaged("GPT header at LBA 1: its backup at LBA %d leaves no room for its %d-sector entry array after the last usable LBA %d", h.AlternateLBA, entrySecs, h.LastUsableLBA)
		case h.AlternateLBA > uint64(math.MaxInt64/ss)-1:
			// Beyond the disk is allowed (a copy of a larger disk), but not
			// beyond any offset a disk can have.
			return nil, damaged("GPT header at LBA 1: its backup at LBA %d lies beyond any disk", h.AlternateLBA)
		}
	} else {
		switch {
		case h.EntriesLBA <= h.LastUsableLBA || h.EntriesLBA > h.MyLBA || h.MyLBA-h.EntriesLBA < entrySecs:
			return nil, damaged("GPT header at LBA %d: entry array at LBA %d (%d sectors) does not lie between the last usable LBA %d and the header", lba, h.EntriesLBA, entrySecs, h.LastUsableLBA)
		case h.AlternateLBA >= h.FirstUsableLBA:
			return nil, damaged("GPT header at LBA %d: its primary at LBA %d lies inside the usable LBAs %d..%d", lba, h.AlternateLBA, h.FirstUsableLBA, h.LastUsableLBA)
		}
	}
	entries := make([]byte, entryBytes)
	if err := readAt(r, entries, int64(h.EntriesLBA)*ss); err != nil {
		return nil, err
	}
	if crc32.ChecksumIEEE(entries) != h.EntriesCRC {
		return nil, damaged("GPT entry array at LBA %d: CRC mismatch", h.EntriesLBA)
	}
	g := &GPT{SectorSize: int(ss), Primary: h, Entries: entries, RawHeader: sec}
	for i := 0; i < int(h.NumEntries); i++ {
		e := entries[i*int(h.EntrySize) : (i+1)*int(h.EntrySize)]
		var p GPTPartition
		copy(p.Type[:], e[0:16])
		if p.Type == ([16]byte{}) {
			continue
		}
		copy(p.GUID[:], e[16:32])
		p.Number = i + 1
		p.FirstLBA = binary.LittleEndian.Uint64(e[32:])
		p.LastLBA = binary.LittleEndian.Uint64(e[40:])
		p.Attributes = binary.LittleEndian.Uint64(e[48:])
		p.Name = decodeName(e[56:128])
		if p.FirstLBA > p.LastLBA || p.FirstLBA < h.FirstUsableLBA || p.LastLBA > h.LastUsableLBA {
			return nil, damaged("GPT partition %d (LBAs %d..%d) lies outside the usable LBAs %d..%d", p.Number, p.FirstLBA, p.LastLBA, h.FirstUsableLBA, h.LastUsableLBA)
		}
		g.Partitions = append(g.Partitions, p)
	}
	for i, a := range g.Partitions {
		for _, b := range g.Partitions[i+1:] {
			if a.FirstLBA <= b.LastLBA && b.FirstLBA <= a.LastLBA {
				return nil, damaged("GPT partitions %d and %d overlap", a.Number, b.Number)
			}
		}
	}
	return g, nil
}

func zeroCRC(h []byte) []byte {
	c := bytes.Clone(h)
	clear(c[16:20])
	return c
}

func decodeName(b []byte) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return string(utf16.Decode(u))
}

// EntrySectors is how many sectors the entry array takes.
func (g *GPT) EntrySectors() int64 {
	ss := int64(g.SectorSize)
	return (int64(len(g.Entries)) + ss - 1) / ss
}

// Relocated returns the GPT structures for a copy of this disk on a
// target of targetSize bytes: the primary header (for LBA 1) with its
// alternate and last usable LBAs moved to the target's end, and the
// backup entry array and header for the target's last sectors, every CRC
// recomputed. It fails when a partition would not fit.
func (g *GPT) Relocated(targetSize int64) (primary []byte, backupEntriesLBA int64, backup []byte, err error) {
	ss := int64(g.SectorSize)
	sectors := targetSize / ss
	entrySecs := g.EntrySectors()
	// The backup entries and header take the last entrySecs+1 sectors;
	// the usable LBAs end before them.
	lastUsableLBA := sectors - 2 - entrySecs
	if g.Primary.FirstUsableLBA > uint64(math.MaxInt64) || lastUsableLBA < int64(g.Primary.FirstUsableLBA) {
		return nil, 0, nil, fmt.Errorf("the target of %d sectors is too small for a GPT", sectors)
	}
	last := uint64(sectors - 1)
	lastUsable := uint64(lastUsableLBA)
	for _, p := range g.Partitions {
		if p.LastLBA > lastUsable {
			return nil, 0, nil, fmt.Errorf("GPT partition %d ends at LBA %d, beyond the target's last usable LBA %d", p.Number, p.LastLBA, lastUsable)
		}
	}
	entriesCRC := crc32.ChecksumIEEE(g.Entries)
	build := func(my, alt, entriesLBA uint64) []byte {
		h := bytes.Clone(g.RawHeader[:ss])
		clear(h[g.Primary.HeaderSize:])
		binary.LittleEndian.PutUint64(h[24:], my)
		binary.LittleEndian.PutUint64(h[32:], alt)
		binary.LittleEndian.PutUint64(h[48:], lastUsable)
		binary.LittleEndian.PutUint64(h[72:], entriesLBA)
		binary.LittleEndian.PutUint32(h[88:], entriesCRC)
		clear(h[16:20])
		binary.LittleEndian.PutUint32(h[16:], crc32.ChecksumIEEE(h[:g.Primary.HeaderSize]))
		return h
	}
	backupEntriesLBA = int64(last) - entrySecs
	primary = build(1, last, g.Primary.EntriesLBA)
	backup = build(last, 1, uint64(backupEntriesLBA))
	return primary, backupEntriesLBA, backup, nil
}

// BackupExtent is where this disk's backup entries and header lie (per
// the primary header), to zero them on a larger copy.
func (g *GPT) BackupExtent() Extent {
	ss := int64(g.SectorSize)
	alt := int64(g.Primary.AlternateLBA)
	start := alt - g.EntrySectors()
	return Extent{start * ss, (alt - start + 1) * ss}
}

// PrimaryExtent is LBA 1 through the end of the primary entry array.
func (g *GPT) PrimaryExtent() Extent {
	ss := int64(g.SectorSize)
	end := (int64(g.Primary.EntriesLBA) + g.EntrySectors()) * ss
	return Extent{ss, end - ss}
}
