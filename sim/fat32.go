package sim

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strings"
)

// File is a file to put on a simulated master's file system.
type File struct {
	Name string // 8.3, upper case: "README.TXT"
	Data []byte
}

const sector = 512

// FAT32Disk builds a disk image of size bytes holding an MBR with one FAT32
// (LBA) partition from sector 2048 spanning partSize bytes, with files in
// its root folder. It is a real file system: fsck.vfat and mtools read it.
// The clusters are one sector, the smallest FAT32 allows, so small test
// disks still have the 65525 clusters FAT32 needs.
func FAT32Disk(size, partSize int64, label string, files []File) ([]byte, error) {
	const start = 2048
	total := partSize / sector
	switch {
	case size%sector != 0 || partSize%sector != 0:
		return nil, fmt.Errorf("fat32: sizes must be whole sectors")
	case start*sector+partSize > size:
		return nil, fmt.Errorf("fat32: a %d-byte partition does not fit a %d-byte disk", partSize, size)
	case len(label) > 11:
		return nil, fmt.Errorf("fat32: label %q is longer than 11 characters", label)
	}
	const reserved = 32
	fatSz := int64(1)
	var clusters int64
	for {
		clusters = total - reserved - 2*fatSz
		need := ((clusters+2)*4 + sector - 1) / sector
		if need <= fatSz {
			break
		}
		fatSz = need
	}
	if clusters < 65525 {
		return nil, fmt.Errorf("fat32: %d clusters are too few for FAT32 (a %d-byte partition; give at least 33 MB)", clusters, partSize)
	}
	img := make([]byte, size)
	// The MBR: one bootable-flag-free FAT32 LBA partition.
	binary.LittleEndian.PutUint32(img[440:], 0x434c4e42) // disk signature "BNLC"
	e := img[446:462]
	e[0] = 0x00
	copy(e[1:4], []byte{0xfe, 0xff, 0xff}) // CHS beyond 8 GB style: LBA is what counts
	e[4] = 0x0c
	copy(e[5:8], []byte{0xfe, 0xff, 0xff})
	binary.LittleEndian.PutUint32(e[8:], start)
	binary.LittleEndian.PutUint32(e[12:], uint32(total))
	img[510], img[511] = 0x55, 0xaa

	part := img[start*sector : start*sector+partSize]
	bs := part[:sector]
	copy(bs, []byte{0xeb, 0x58, 0x90})
	copy(bs[3:], "CLONEBAY")
	binary.LittleEndian.PutUint16(bs[11:], sector)
	bs[13] = 1 // sectors per cluster
	binary.LittleEndian.PutUint16(bs[14:], reserved)
	bs[16] = 2 // FATs
	bs[21] = 0xf8
	binary.LittleEndian.PutUint16(bs[24:], 63)
	binary.LittleEndian.PutUint16(bs[26:], 255)
	binary.LittleEndian.PutUint32(bs[28:], start)
	binary.LittleEndian.PutUint32(bs[32:], uint32(total))
	binary.LittleEndian.PutUint32(bs[36:], uint32(fatSz))
	binary.LittleEndian.PutUint32(bs[44:], 2) // root folder cluster
	binary.LittleEndian.PutUint16(bs[48:], 1) // FSInfo sector
	binary.LittleEndian.PutUint16(bs[50:], 6) // backup boot sector
	bs[64] = 0x80
	bs[66] = 0x29
	binary.LittleEndian.PutUint32(bs[67:], 0x20261122)
	copy(bs[71:82], fmt.Sprintf("%-11s", strings.ToUpper(label)))
	copy(bs[82:], "FAT32   ")
	bs[510], bs[511] = 0x55, 0xaa

	fat := make([]uint32, clusters+2)
	fat[0], fat[1] = 0x0ffffff8, 0x0fffffff
	fat[2] = 0x0fffffff // the root folder: one cluster
	next := uint32(3)
	data := func(c uint32) []byte {
		off := (reserved + 2*fatSz + int64(c) - 2) * sector
		return part[off : off+sector]
	}

	sorted := append([]File(nil), files...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	root := data(2)
	if len(sorted)+1 > sector/32 {
		return nil, fmt.Errorf("fat32: %d files do not fit one root folder cluster", len(sorted))
	}
	dirent := func(i int, name string, attr byte, cluster uint32, n int) {
		d := root[32*i : 32*(i+1)]
		copy(d[:11], name)
		d[11] = attr
		binary.LittleEndian.PutUint16(d[20:], uint16(cluster>>16))
		binary.LittleEndian.PutUint16(d[22:], 0x6000) // 12:00:00
		binary.LittleEndian.PutUint16(d[24:], 0x5b76) // 2025-11-22
		binary.LittleEndian.PutUint16(d[16:], 0x5b76)
		binary.LittleEndian.PutUint16(d[18:], 0x5b76)
		binary.LittleEndian.PutUint16(d[26:], uint16(cluster))
		binary.LittleEndian.PutUint32(d[28:], uint32(n))
	}
	dirent(0, fmt.Sprintf("%-11s", strings.ToUpper(label)), 0x08, 0, 0)
	for i, f := range sorted {
		name, err := shortName(f.Name)
		if err != nil {
			return nil, err
		}
		first := uint32(0)
		nClusters := (len(f.Data) + sector - 1) / sector
		if int64(next)+int64(nClusters) > clusters+2 {
			return nil, fmt.Errorf("fat32: %s does not fit", f.Name)
		}
		for k := 0; k < nClusters; k++ {
			c := next
			next++
			if k == 0 {
				first = c
			}
			copy(data(c), f.Data[k*sector:min(len(f.Data), (k+1)*sector)])
			fat[c] = 0x0fffffff
			if k > 0 {
				fat[c-1] = c
			}
		}
		dirent(i+1, name, 0x20, first, len(f.Data))
	}
	for copyN := int64(0); copyN < 2; copyN++ {
		off := (reserved + copyN*fatSz) * sector
		for i, v := range fat {
			binary.LittleEndian.PutUint32(part[off+int64(i)*4:], v)
		}
	}
	fsinfo := part[sector : 2*sector]
	binary.LittleEndian.PutUint32(fsinfo[0:], 0x41615252)
	binary.LittleEndian.PutUint32(fsinfo[484:], 0x61417272)
	binary.LittleEndian.PutUint32(fsinfo[488:], uint32(clusters+2-int64(next)))
	binary.LittleEndian.PutUint32(fsinfo[492:], next)
	binary.LittleEndian.PutUint32(fsinfo[508:], 0xaa550000)
	copy(part[6*sector:8*sector], part[0:2*sector]) // backup boot sector and FSInfo
	return img, nil
}

// shortName turns "README.TXT" into the 11-byte 8.3 form.
func shortName(name string) (string, error) {
	base, ext, _ := strings.Cut(strings.ToUpper(name), ".")
	if base == "" || len(base) > 8 || len(ext) > 3 || strings.ContainsAny(base+ext, " ./\\*?") {
		return "", fmt.Errorf("fat32: %q is not an 8.3 name", name)
	}
	return fmt.Sprintf("%-8s%-3s", base, ext), nil
}
