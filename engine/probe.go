package engine

import (
	"bytes"
	"encoding/binary"
	"io"

	"github.com/clonebay/clonebay/engine/disk"
)

// Content says what a drive's first bytes show it holds.
type Content struct {
	PartitionTable string // "MBR", "GPT" or ""
	FileSystem     string // "FAT", "exFAT", "NTFS", "ext", "ISO9660" or "" (on the whole drive)
}

// HasData reports whether the drive holds a partition table or a file
// system: overwriting it needs the operator's explicit confirmation.
func (c Content) HasData() bool { return c.PartitionTable != "" || c.FileSystem != "" }

// Probe looks at the start of a drive for partition tables and file
// system signatures. It reads at most 36 KiB; a drive too short or
// unreadable there is reported as holding nothing it could see, with the
// read error.
func Probe(r io.ReaderAt, size int64) (Content, error) {
	n := min(size, 36<<10)
	head := make([]byte, n)
	if _, err := r.ReadAt(head, 0); err != nil && err != io.EOF {
		return Content{}, err
	}
	var c Content
	at := func(off int, sig string) bool {
		return off+len(sig) <= len(head) && bytes.Equal(head[off:off+len(sig)], []byte(sig))
	}
	switch {
	case at(512, "EFI PART") || at(4096, "EFI PART"):
		c.PartitionTable = "GPT"
	case len(head) >= 512 && head[510] == 0x55 && head[511] == 0xaa && mbrHasPartition(head):
		c.PartitionTable = "MBR"
	}
	c.FileSystem = disk.Identify(head)
	return c, nil
}

// mbrHasPartition reports whether any of the four MBR entries is in use
// with a sane boot flag, which tells a partition table from a FAT boot
// sector that also ends in 55 AA.
func mbrHasPartition(sector []byte) bool {
	used := false
	for i := 0; i < 4; i++ {
		e := sector[446+16*i : 446+16*(i+1)]
		if e[0] != 0 && e[0] != 0x80 {
			return false
		}
		if e[4] != 0 && binary.LittleEndian.Uint32(e[12:]) != 0 {
			used = true
		}
	}
	return used
}
