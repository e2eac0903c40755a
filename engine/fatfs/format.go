package fatfs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// FormatOptions are a FAT32 volume's choices.
type FormatOptions struct {
	// ClusterSize in bytes: a power of two from 512 to 32 KiB.
	ClusterSize int64
	// HiddenSectors is the volume's first sector on its disk.
	HiddenSectors int64
	// Label is the volume label (Label checks it); empty for none.
	Label string
	// VolumeID is the serial number; Time stamps the label's entry.
	VolumeID uint32
	Time     time.Time
}

// ErrFewClusters: a volume too small for FAT32 with its cluster size.
var ErrFewClusters = errors.New("too few clusters for FAT32")

// FAT32 layout constants, as Microsoft's format and mkfs.fat use them.
const (
	formatSector   = 512
	formatReserved = 32 // sectors before the first FAT, at least
	formatFSInfo   = 1  // FSInfo's sector
	formatBackup   = 6  // the boot sector's backup, FSInfo's after it
	formatMedia    = 0xf8
	maxFAT32       = 0x0ffffff5 // more clusters than FAT32 entries can name
)

// FormatFAT32 formats size bytes of img, which must read as zeros (a
// sparse file just made), as a FAT32 volume: the boot sector, FSInfo and
// their backups, the two FATs' first entries, and the root folder's
// cluster with the label. The FATs are as short as the clusters need;
// the reserved sectors grow from 32 so that the cluster heap starts on a
// whole cluster from the volume's start (on a partition aligned to 4 MiB,
// every cluster is aligned on the drive). Writing only what is not zero
// keeps it to a few sectors, where mkfs.fat writes every FAT sector.
func FormatFAT32(img io.WriterAt, size int64, o FormatOptions) error {
	label, err := Label(FAT32, o.Label)
	if err != nil {
		return err
	}
	cs := o.ClusterSize
	if cs < formatSector || cs > 32<<10 || cs&(cs-1) != 0 {
		return fmt.Errorf("FAT32 format: clusters of %d bytes; they are a power of two from 512 bytes to 32 KiB", cs)
	}
	spc := cs / formatSector
	total := size / formatSector
	if total > 0xffffffff || o.HiddenSectors < 0 || o.HiddenSectors > 0xffffffff {
		return fmt.Errorf("FAT32 format: %d sectors from sector %d do not fit the boot sector's fields", total, o.HiddenSectors)
	}
	reserved, fatSecs, count := fat32Geometry(total, spc)
	switch {
	case count < minFAT32Clusters:
		return fmt.Errorf("%w: a %d-byte volume with %d-byte clusters has %d, FAT32 needs %d", ErrFewClusters, size, cs, count, minFAT32Clusters)
	case count > maxFAT32:
		return fmt.Errorf("FAT32 format: a %d-byte volume with %d-byte clusters has %d clusters, more than FAT32 names; larger clusters are needed", size, cs, count)
	}

	boot := make([]byte, formatSector)
	copy(boot[0:], []byte{0xeb, 0x58, 0x90}) // a jump over the fields to the boot code
	copy(boot[3:11], "CLONEBAY")
	le16 := binary.LittleEndian.PutUint16
	le32 := binary.LittleEndian.PutUint32
	le16(boot[11:], formatSector)
	boot[13] = byte(spc)
	le16(boot[14:], uint16(reserved))
	boot[16] = 2 // FATs
	boot[21] = formatMedia
	le16(boot[24:], 63)  // sectors a track, for BIOSes that still ask
	le16(boot[26:], 255) // heads
	le32(boot[28:], uint32(o.HiddenSectors))
	le32(boot[32:], uint32(total))
	le32(boot[36:], uint32(fatSecs))
	le32(boot[44:], 2) // the root folder's first cluster
	le16(boot[48:], formatFSInfo)
	le16(boot[50:], formatBackup)
	boot[64] = 0x80 // a fixed disk
	boot[66] = 0x29 // the volume ID, label and type follow
	le32(boot[67:], o.VolumeID)
	copy(boot[71:82], fmt.Sprintf("%-11s", labelOr(label)))
	copy(boot[82:90], "FAT32   ")
	// Not bootable: the code asks the BIOS for the next boot device
	// (INT 18h) and halts if it returns.
	copy(boot[90:], []byte{0xcd, 0x18, 0xf4, 0xeb, 0xfd})
	boot[510], boot[511] = 0x55, 0xaa

	info := make([]byte, formatSector)
	le32(info[0:], 0x41615252)
	le32(info[484:], 0x61417272)
	le32(info[488:], uint32(count-1)) // all but the root folder's cluster
	le32(info[492:], 3)               // the first free cluster
	info[510], info[511] = 0x55, 0xaa

	fat := make([]byte, 12)
	le32(fat[0:], 0x0fffff00|formatMedia)
	le32(fat[4:], 0x0fffffff)
	le32(fat[8:], 0x0ffffff8) // the root folder: one cluster, the chain's end

	writes := []struct {
		off int64
		b   []byte
	}{
		{0, boot}, {formatFSInfo * formatSector, info},
		{formatBackup * formatSector, boot}, {(formatBackup + formatFSInfo) * formatSector, info},
		{reserved * formatSector, fat}, {(reserved + fatSecs) * formatSector, fat},
	}
	if label != "" {
		e := make([]byte, 32)
		copy(e[0:11], fmt.Sprintf("%-11s", label))
		e[11] = 0x08 // the volume label
		date, clock, _ := dosStamp(o.Time)
		le16(e[22:], clock)
		le16(e[24:], date)
		writes = append(writes, struct {
			off int64
			b   []byte
		}{(reserved + 2*fatSecs) * formatSector, e})
	}
	for _, w := range writes {
		if _, err := img.WriteAt(w.b, w.off); err != nil {
			return fmt.Errorf("FAT32 format: %w", err)
		}
	}
	return nil
}

// fat32Geometry lays out a FAT32 volume of total sectors with clusters
// of spc sectors and two FATs: the reserved sectors (32, or more to start
// the heap on a whole cluster), each FAT's sectors (the fewest that hold
// an entry for every cluster and the two reserved ones), and the
// clusters.
func fat32Geometry(total, spc int64) (reserved, fatSecs, count int64) {
	const perSector = formatSector / 4
	heapAt := func(fs int64) int64 { // the reserved sectors and where the heap starts
		r := int64(formatReserved)
		if over := (r + 2*fs) % spc; over != 0 {
			r += spc - over
		}
		return r
	}
	clusters := func(fs int64) int64 {
		data := total - heapAt(fs) - 2*fs
		if data < 0 {
			return 0
		}
		return data / spc
	}
	// Start from FATs long enough for every sector to be a cluster, and
	// shorten them while the clusters they leave still fit.
	fatSecs = (total/spc + 2 + perSector - 1) / perSector
	for fatSecs > 1 && (clusters(fatSecs-1)+2) <= (fatSecs-1)*perSector {
		fatSecs--
	}
	return heapAt(fatSecs), fatSecs, clusters(fatSecs)
}

func labelOr(label string) string {
	if label == "" {
		return "NO NAME"
	}
	return label
}
