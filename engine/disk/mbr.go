package disk

import (
	"encoding/binary"
	"errors"
	"io"
)

// MBRPartition is one partition of an MBR table.
type MBRPartition struct {
	Number   int // 1..4 primary, 5.. logical
	Bootable bool
	Type     byte
	Start    int64 // bytes from the start of the disk
	Size     int64 // bytes
}

// IsExtended reports whether the entry is an extended-partition container.
func (p MBRPartition) IsExtended() bool {
	return p.Type == 0x05 || p.Type == 0x0f || p.Type == 0x85
}

// MBR is a decoded MBR partition table.
type MBR struct {
	DiskSignature uint32
	Partitions    []MBRPartition // primaries (extended containers too) then logicals
	// EBRs are the sectors of the extended boot records: structures that
	// every copy needs.
	EBRs []Extent
}

// Protective reports whether the MBR only protects a GPT (one 0xEE entry);
// Hybrid, whether it has a 0xEE entry and others as well.
func (m *MBR) Protective() bool { return m.hasGPTEntry() && len(m.Partitions) == 1 }
func (m *MBR) Hybrid() bool     { return m.hasGPTEntry() && len(m.Partitions) > 1 }

func (m *MBR) hasGPTEntry() bool {
	for _, p := range m.Partitions {
		if p.Type == 0xee {
			return true
		}
	}
	return false
}

// ErrNoMBR is returned when sector 0 holds no MBR signature.
var ErrNoMBR = errors.New("no MBR partition table")

// maxLogical bounds the logical partitions followed in an extended chain,
// so a looping chain is reported, not followed forever.
const maxLogical = 128

// ReadMBR decodes the MBR of a disk of size bytes with 512-byte sectors
// (MBR addresses are in 512-byte units on 512e drives; 4Kn drives use
// their sector size).
func ReadMBR(r io.ReaderAt, size int64, sectorSize int) (*MBR, error) {
	ss := int64(sectorSize)
	sec := make([]byte, 512)
	if err := readAt(r, sec, 0); err != nil {
		return nil, err
	}
	if sec[510] != 0x55 || sec[511] != 0xaa {
		return nil, ErrNoMBR
	}
	m := &MBR{DiskSignature: binary.LittleEndian.Uint32(sec[440:])}
	for i := 0; i < 4; i++ {
		e := sec[446+16*i : 446+16*(i+1)]
		if e[0] != 0 && e[0] != 0x80 {
			return nil, ErrNoMBR // a boot sector with 55 AA, not a partition table
		}
		typ := e[4]
		start := int64(binary.LittleEndian.Uint32(e[8:])) * ss
		n := int64(binary.LittleEndian.Uint32(e[12:])) * ss
		if typ == 0 || n == 0 {
			continue
		}
		p := MBRPartition{Number: i + 1, Bootable: e[0] == 0x80, Type: typ, Start: start, Size: n}
		if typ != 0xee && p.Start+p.Size > size {
			return nil, damaged("MBR partition %d (sectors %d+%d) ends beyond the disk's %d sectors", i+1, start/ss, n/ss, size/ss)
		}
		if typ != 0xee && start == 0 {
			return nil, damaged("MBR partition %d starts at sector 0, on the partition table itself", i+1)
		}
		m.Partitions = append(m.Partitions, p)
	}
	for _, p := range m.Partitions {
		if p.IsExtended() {
			if err := m.readExtended(r, size, ss, p); err != nil {
				return nil, err
			}
			break
		}
	}
	if err := checkOverlap(m.Partitions); err != nil {
		return nil, err
	}
	return m, nil
}

// readExtended follows the chain of extended boot records.
func (m *MBR) readExtended(r io.ReaderAt, size, ss int64, ext MBRPartition) error {
	sec := make([]byte, 512)
	ebr := ext.Start
	seen := map[int64]bool{}
	for n := 0; ; n++ {
		if n >= maxLogical {
			return damaged("extended partition: more than %d logical partitions (a looping chain?)", maxLogical)
		}
		if seen[ebr] {
			return damaged("extended partition: the chain of boot records loops at sector %d", ebr/ss)
		}
		seen[ebr] = true
		if ebr < ext.Start || ebr+ss > ext.Start+ext.Size {
			return damaged("extended boot record at sector %d lies outside its extended partition", ebr/ss)
		}
		if err := readAt(r, sec, ebr); err != nil {
			return err
		}
		if sec[510] != 0x55 || sec[511] != 0xaa {
			return damaged("extended boot record at sector %d has no 55 AA signature", ebr/ss)
		}
		m.EBRs = append(m.EBRs, Extent{ebr, ss})
		e := sec[446:462]
		if typ := e[4]; typ != 0 {
			start := ebr + int64(binary.LittleEndian.Uint32(e[8:]))*ss
			n := int64(binary.LittleEndian.Uint32(e[12:])) * ss
			if start+n > ext.Start+ext.Size || start+n > size || n == 0 {
				return damaged("logical partition %d (sectors %d+%d) does not fit its extended partition", 5+len(m.EBRs)-1, start/ss, n/ss)
			}
			m.Partitions = append(m.Partitions, MBRPartition{Number: 4 + len(m.EBRs), Bootable: e[0] == 0x80, Type: typ, Start: start, Size: n})
		}
		next := sec[462:478]
		if next[4] == 0 || binary.LittleEndian.Uint32(next[12:]) == 0 {
			return nil
		}
		ebr = ext.Start + int64(binary.LittleEndian.Uint32(next[8:]))*ss
	}
}

// checkOverlap refuses tables whose partitions overlap (the extended
// container holds its logicals and is left out).
func checkOverlap(ps []MBRPartition) error {
	for i, a := range ps {
		for _, b := range ps[i+1:] {
			if a.IsExtended() || b.IsExtended() || a.Type == 0xee || b.Type == 0xee {
				continue
			}
			if a.Start < b.Start+b.Size && b.Start < a.Start+a.Size {
				return damaged("MBR partitions %d and %d overlap", a.Number, b.Number)
			}
		}
	}
	return nil
}
