package disk

import (
	"bytes"
	"encoding/binary"
)

// Identify names the file system whose signature the first bytes of a
// partition (or a whole drive) show: "NTFS", "exFAT", "ext", "FAT",
// "ISO9660", or "" for none it knows. head may be any length; a signature
// past its end is not seen (ext needs 1082 bytes, ISO9660 32774). It is
// the one place that tells file systems apart by their bytes.
func Identify(head []byte) string {
	at := func(off int, sig string) bool {
		return off+len(sig) <= len(head) && bytes.Equal(head[off:off+len(sig)], []byte(sig))
	}
	bootSector := len(head) >= 512 && head[510] == 0x55 && head[511] == 0xaa
	switch {
	case at(3, "NTFS    "):
		return "NTFS"
	case at(3, "EXFAT   "):
		return "exFAT"
	case len(head) >= 1082 && binary.LittleEndian.Uint16(head[1080:]) == 0xef53:
		return "ext"
	case bootSector && (at(82, "FAT") || at(54, "FAT")):
		return "FAT"
	case at(32769, "CD001"):
		return "ISO9660"
	}
	return ""
}
