package disk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrUnknownFS is returned when a partition holds no file system this
// package can read the allocation of: the caller copies it whole.
var ErrUnknownFS = errors.New("no file system whose allocation is known")

// maxMap bounds the allocation maps read into memory (FATs, bitmaps):
// 64 MiB is a FAT32 of 16 million clusters or a 2 TB ext4.
const maxMap = 64 << 20

// Used returns the byte ranges (absolute on the disk) that the file
// system in the partition at [off, off+size) uses: its metadata and
// every allocated cluster or block. name says which file system it found.
// Every range lies inside the partition: one that would not is reported
// as damage, never returned.
func Used(r io.ReaderAt, off, size int64) (name string, used []Extent, err error) {
	end, ok := add(off, size)
	if !ok || size < 4096 {
		return "", nil, ErrUnknownFS
	}
	name, used, err = usedBy(r, off, size)
	if err != nil {
		return name, nil, err
	}
	for _, e := range used {
		if e.Len < 0 || e.Off < off || e.Off > end-e.Len {
			return name, nil, damaged("%s: a used range at %d+%d lies outside the partition at %d+%d", name, e.Off, e.Len, off, size)
		}
	}
	return name, used, nil
}

func usedBy(r io.ReaderAt, off, size int64) (name string, used []Extent, err error) {
	head := make([]byte, 2048)
	if err := readAt(r, head, off); err != nil {
		return "", nil, err
	}
	switch Identify(head) {
	case "NTFS":
		used, err = ntfsUsed(r, off, size, head)
		return "NTFS", used, err
	case "exFAT":
		used, err = exfatUsed(r, off, size, head)
		return "exFAT", used, err
	case "ext":
		used, err = extUsed(r, off, size, head[1024:2048])
		return "ext", used, err
	case "FAT":
		name, used, err = fatUsed(r, off, size, head)
		return name, used, err
	}
	return "", nil, ErrUnknownFS
}

func fatUsed(r io.ReaderAt, off, size int64, bs []byte) (string, []Extent, error) {
	bps := int64(binary.LittleEndian.Uint16(bs[11:]))
	spc := int64(bs[13])
	reserved := int64(binary.LittleEndian.Uint16(bs[14:]))
	nFATs := int64(bs[16])
	rootEntries := int64(binary.LittleEndian.Uint16(bs[17:]))
	total := int64(binary.LittleEndian.Uint16(bs[19:]))
	if total == 0 {
		total = int64(binary.LittleEndian.Uint32(bs[32:]))
	}
	fatSz := int64(binary.LittleEndian.Uint16(bs[22:]))
	if fatSz == 0 {
		fatSz = int64(binary.LittleEndian.Uint32(bs[36:]))
	}
	switch {
	case bps != 512 && bps != 1024 && bps != 2048 && bps != 4096:
		return "", nil, damaged("FAT boot sector: %d bytes per sector", bps)
	case spc == 0 || spc&(spc-1) != 0:
		return "", nil, damaged("FAT boot sector: %d sectors per cluster", spc)
	case reserved == 0 || nFATs == 0 || fatSz == 0:
		return "", nil, damaged("FAT boot sector: %d reserved sectors, %d FATs of %d sectors", reserved, nFATs, fatSz)
	case total*bps > size:
		return "", nil, damaged("FAT boot sector: %d sectors on a %d-byte partition", total, size)
	}
	rootSecs := (rootEntries*32 + bps - 1) / bps
	firstData := reserved + nFATs*fatSz + rootSecs
	if firstData >= total {
		return "", nil, damaged("FAT boot sector: the data area starts at sector %d of %d", firstData, total)
	}
	clusters := (total - firstData) / spc
	name, bits := "FAT32", int64(32)
	switch {
	case clusters < 4085:
		name, bits = "FAT12", 12
	case clusters < 65525:
		name, bits = "FAT16", 16
	}
	fatBytes := (clusters + 2) * bits / 8
	if fatBytes > fatSz*bps {
		return "", nil, damaged("%s: %d clusters do not fit a FAT of %d sectors", name, clusters, fatSz)
	}
	if fatBytes > maxMap {
		return "", nil, damaged("%s: a FAT of %d bytes is too large", name, fatBytes)
	}
	fat := make([]byte, fatBytes+2)
	if err := readAt(r, fat[:fatBytes], off+reserved*bps); err != nil {
		return "", nil, fmt.Errorf("%s: FAT: %w", name, err)
	}
	used := []Extent{{off, firstData * bps}}
	clusterBytes := spc * bps
	dataOff := off + firstData*bps
	var runStart int64 = -1
	for c := int64(2); c <= clusters+2; c++ {
		inUse := false
		if c < clusters+2 {
			var v uint32
			switch bits {
			case 12:
				x := binary.LittleEndian.Uint16(fat[c*3/2:])
				if c%2 == 1 {
					x >>= 4
				}
				v = uint32(x & 0xfff)
			case 16:
				v = uint32(binary.LittleEndian.Uint16(fat[c*2:]))
			default:
				v = binary.LittleEndian.Uint32(fat[c*4:]) & 0x0fffffff
			}
			inUse = v != 0
		}
		switch {
		case inUse && runStart < 0:
			runStart = c
		case !inUse && runStart >= 0:
			used = append(used, Extent{dataOff + (runStart-2)*clusterBytes, (c - runStart) * clusterBytes})
			runStart = -1
		}
	}
	return name, used, nil
}

func exfatUsed(r io.ReaderAt, off, size int64, bs []byte) ([]Extent, error) {
	fatOff := int64(binary.LittleEndian.Uint32(bs[80:]))
	heapOff := int64(binary.LittleEndian.Uint32(bs[88:]))
	count := int64(binary.LittleEndian.Uint32(bs[92:]))
	rootClus := int64(binary.LittleEndian.Uint32(bs[96:]))
	bpsShift, spcShift := bs[108], bs[109]
	if bpsShift < 9 || bpsShift > 12 || int(bpsShift)+int(spcShift) > 25 {
		return nil, damaged("exFAT boot sector: sector shift %d, cluster shift %d", bpsShift, spcShift)
	}
	bps := int64(1) << bpsShift
	cs := bps << spcShift
	if heapOff*bps+count*cs > size || fatOff >= heapOff || count == 0 {
		return nil, damaged("exFAT boot sector: %d clusters from sector %d do not fit a %d-byte partition", count, heapOff, size)
	}
	if (count+2)*4 > maxMap {
		return nil, damaged("exFAT: %d clusters are too many", count)
	}
	if fatOff*bps+(count+2)*4 > heapOff*bps {
		return nil, damaged("exFAT boot sector: a FAT of %d clusters from sector %d runs into the cluster heap at sector %d", count, fatOff, heapOff)
	}
	fat := make([]byte, (count+2)*4)
	if err := readAt(r, fat, off+fatOff*bps); err != nil {
		return nil, fmt.Errorf("exFAT: FAT: %w", err)
	}
	clusterAt := func(c int64) int64 { return off + heapOff*bps + (c-2)*cs }
	// Find the allocation bitmap's entry in the root folder.
	var bmpClus, bmpLen int64 = -1, 0
	dir := make([]byte, cs)
	c := rootClus
	for n := int64(0); c >= 2 && c < count+2 && bmpClus < 0; n++ {
		if n > count {
			return nil, damaged("exFAT: the root folder's cluster chain loops")
		}
		if err := readAt(r, dir, clusterAt(c)); err != nil {
			return nil, fmt.Errorf("exFAT: root folder: %w", err)
		}
		for i := int64(0); i+32 <= cs; i += 32 {
			e := dir[i:]
			if e[0] == 0x00 {
				c = -1
				break
			}
			if e[0] == 0x81 && e[1]&1 == 0 {
				bmpClus = int64(binary.LittleEndian.Uint32(e[20:]))
				bmpLen = int64(binary.LittleEndian.Uint64(e[24:]))
				break
			}
		}
		if c >= 2 && bmpClus < 0 {
			c = int64(binary.LittleEndian.Uint32(fat[c*4:]))
		}
	}
	if bmpClus < 2 || bmpClus >= count+2 || bmpLen < (count+7)/8 || bmpLen > maxMap {
		return nil, damaged("exFAT: no sound allocation bitmap in the root folder")
	}
	bmp := make([]byte, bmpLen)
	if int64(bmpClus-2)*cs+bmpLen > count*cs {
		return nil, damaged("exFAT: the allocation bitmap runs past the cluster heap")
	}
	if err := readAt(r, bmp, clusterAt(bmpClus)); err != nil {
		return nil, fmt.Errorf("exFAT: allocation bitmap: %w", err)
	}
	used := []Extent{{off, heapOff * bps}}
	return append(used, bitmapRuns(bmp, count, off+heapOff*bps, cs)...), nil
}

func extUsed(r io.ReaderAt, off, size int64, sb []byte) ([]Extent, error) {
	le32 := func(o int) int64 { return int64(binary.LittleEndian.Uint32(sb[o:])) }
	le16 := func(o int) int64 { return int64(binary.LittleEndian.Uint16(sb[o:])) }
	logBlock := le32(24)
	if logBlock > 6 {
		return nil, damaged("ext superblock: block size 2^%d KiB", logBlock)
	}
	bs := int64(1024) << logBlock
	incompat, roCompat, compat := le32(96), le32(100), le32(92)
	blocks := le32(4)
	if incompat&0x80 != 0 {
		blocks |= le32(0x150) << 32
	}
	firstData := le32(20)
	bpg := le32(32)
	ipg := le32(40)
	inodeSize := int64(128)
	if le32(76) >= 1 {
		inodeSize = le16(88)
	}
	descSize := int64(32)
	if incompat&0x80 != 0 {
		descSize = le16(254)
	}
	switch {
	case incompat&0x10 != 0:
		return nil, fmt.Errorf("ext: meta_bg layout: %w", ErrUnknownFS)
	case compat&0x200 != 0:
		return nil, fmt.Errorf("ext: sparse_super2 layout: %w", ErrUnknownFS)
	case roCompat&0x200 != 0:
		// A bitmap bit is a cluster of blocks, not a block.
		return nil, fmt.Errorf("ext: bigalloc clusters: %w", ErrUnknownFS)
	case bpg == 0 || bpg > 8*bs || ipg == 0 || inodeSize < 128 || inodeSize > bs:
		return nil, damaged("ext superblock: %d blocks and %d inodes of %d bytes per group", bpg, ipg, inodeSize)
	case descSize < 32 || descSize > 1024 || descSize&(descSize-1) != 0:
		return nil, damaged("ext superblock: group descriptors of %d bytes", descSize)
	case blocks > size/bs || blocks <= firstData: // blocks*bs could wrap: divide
		return nil, damaged("ext superblock: %d blocks of %d bytes on a %d-byte partition", blocks, bs, size)
	}
	groups := (blocks - firstData + bpg - 1) / bpg
	gdtBytes, ok := mul(groups, descSize)
	if !ok || gdtBytes > maxMap {
		return nil, damaged("ext: %d groups are too many", groups)
	}
	gdtBlocks := (gdtBytes + bs - 1) / bs
	if firstData+1+gdtBlocks > blocks {
		return nil, damaged("ext: %d group descriptors from block %d run past the %d blocks", groups, firstData+1, blocks)
	}
	gdt := make([]byte, gdtBytes)
	if err := readAt(r, gdt, off+(firstData+1)*bs); err != nil {
		return nil, fmt.Errorf("ext: group descriptors: %w", err)
	}
	reservedGDT := le16(206)
	sparse := roCompat&0x1 != 0
	hasSuper := func(g int64) bool {
		if !sparse || g <= 1 {
			return true
		}
		for _, base := range []int64{3, 5, 7} {
			p := base
			for p < g {
				p *= base
			}
			if p == g {
				return true
			}
		}
		return false
	}
	itableBlocks := (ipg*inodeSize + bs - 1) / bs
	// The superblock, the descriptors and the blocks reserved for their
	// growth, at the start and in each backup group, cut at the end of
	// the file system.
	meta := func(start int64) Extent {
		return Extent{off + start*bs, min(1+gdtBlocks+reservedGDT, blocks-start) * bs}
	}
	used := []Extent{{off, firstData * bs}, meta(firstData)}
	bitmap := make([]byte, bs)
	for g := int64(0); g < groups; g++ {
		d := gdt[g*descSize : (g+1)*descSize]
		loc := func(o int) int64 {
			v := int64(binary.LittleEndian.Uint32(d[o:]))
			if descSize >= 64 {
				v |= int64(binary.LittleEndian.Uint32(d[o+32:])) << 32
			}
			return v
		}
		bbm, ibm, itab := loc(0), loc(4), loc(8)
		for _, b := range []Extent{{bbm, 1}, {ibm, 1}, {itab, itableBlocks}} {
			if b.Off < firstData || b.Off > blocks-b.Len {
				return nil, damaged("ext group %d: metadata at block %d+%d lies outside the %d blocks", g, b.Off, b.Len, blocks)
			}
			used = append(used, Extent{off + b.Off*bs, b.Len * bs})
		}
		start := firstData + g*bpg
		n := min(bpg, blocks-start)
		if hasSuper(g) {
			used = append(used, meta(start))
		}
		// BLOCK_UNINIT: nothing but the metadata above. The kernel heeds
		// the flag only where group descriptors carry a checksum
		// (uninit_bg, metadata_csum); elsewhere the bitmap holds.
		flags := binary.LittleEndian.Uint16(d[18:])
		if flags&0x2 != 0 && roCompat&(0x10|0x400) != 0 {
			continue
		}
		if err := readAt(r, bitmap, off+bbm*bs); err != nil {
			return nil, fmt.Errorf("ext group %d: block bitmap: %w", g, err)
		}
		used = append(used, bitmapRuns(bitmap, n, off+start*bs, bs)...)
	}
	return used, nil
}

func ntfsUsed(r io.ReaderAt, off, size int64, bs []byte) ([]Extent, error) {
	bps := int64(binary.LittleEndian.Uint16(bs[11:]))
	spcRaw := int64(bs[13])
	spc := spcRaw
	if spcRaw > 0x80 {
		spc = 1 << (256 - spcRaw)
	}
	total := int64(binary.LittleEndian.Uint64(bs[40:]))
	mftLCN := int64(binary.LittleEndian.Uint64(bs[48:]))
	cpr := int64(int8(bs[64]))
	switch {
	case bps < 256 || bps > 4096 || bps&(bps-1) != 0:
		return nil, damaged("NTFS boot sector: %d bytes per sector", bps)
	case spc == 0 || spc > 1<<12 || spc&(spc-1) != 0:
		return nil, damaged("NTFS boot sector: %d sectors per cluster", spc)
	case total <= 0 || total > size/bps: // total*bps could wrap: divide
		return nil, damaged("NTFS boot sector: %d sectors on a %d-byte partition", total, size)
	}
	cs := bps * spc
	recSize := cpr * cs
	if cpr < 0 {
		if -cpr > 20 {
			return nil, damaged("NTFS boot sector: file record size 2^%d", -cpr)
		}
		recSize = 1 << -cpr
	}
	if recSize < 256 || recSize > 64<<10 {
		return nil, damaged("NTFS boot sector: file records of %d bytes", recSize)
	}
	clusters := total / spc
	if mftLCN <= 0 || mftLCN >= clusters {
		return nil, damaged("NTFS boot sector: the MFT at cluster %d of %d", mftLCN, clusters)
	}
	if mftLCN*cs+7*recSize > total*bps {
		return nil, damaged("NTFS boot sector: the MFT at cluster %d runs past the %d-byte volume", mftLCN, total*bps)
	}
	rec := make([]byte, recSize)
	if err := readAt(r, rec, off+mftLCN*cs+6*recSize); err != nil {
		return nil, fmt.Errorf("NTFS: $Bitmap record: %w", err)
	}
	if err := fixup(rec, bps); err != nil {
		return nil, fmt.Errorf("NTFS: $Bitmap record: %w", err)
	}
	data, err := unnamedData(r, off, cs, clusters, rec)
	if err != nil {
		return nil, fmt.Errorf("NTFS: $Bitmap: %w", err)
	}
	if int64(len(data)) < (clusters+7)/8 {
		return nil, damaged("NTFS: $Bitmap has %d bytes for %d clusters", len(data), clusters)
	}
	used := []Extent{{off, cs}} // the boot sector's cluster
	used = append(used, bitmapRuns(data, clusters, off, cs)...)
	if backup := total * bps; backup+bps <= size {
		used = append(used, Extent{off + backup, bps}) // the backup boot sector
	}
	return used, nil
}

// fixup applies an NTFS record's update sequence array.
func fixup(rec []byte, bps int64) error {
	if !bytes.Equal(rec[:4], []byte("FILE")) {
		return damaged("not a FILE record")
	}
	usaOff := int(binary.LittleEndian.Uint16(rec[4:]))
	usaCount := int(binary.LittleEndian.Uint16(rec[6:]))
	const stride = 512
	if usaCount < 1 || usaOff+2*usaCount > len(rec) || (usaCount-1)*stride > len(rec) {
		return damaged("update sequence array at %d with %d entries", usaOff, usaCount)
	}
	usn := rec[usaOff : usaOff+2]
	for i := 1; i < usaCount; i++ {
		end := i*stride - 2
		if !bytes.Equal(rec[end:end+2], usn) {
			return damaged("torn record: sector %d's update sequence number does not match", i)
		}
		copy(rec[end:end+2], rec[usaOff+2*i:usaOff+2*i+2])
	}
	return nil
}

// unnamedData returns the contents of a record's unnamed $DATA attribute.
func unnamedData(r io.ReaderAt, off, cs, clusters int64, rec []byte) ([]byte, error) {
	pos := int(binary.LittleEndian.Uint16(rec[20:]))
	for n := 0; n < 64; n++ {
		if pos+16 > len(rec) {
			return nil, damaged("attributes run past the record")
		}
		typ := binary.LittleEndian.Uint32(rec[pos:])
		if typ == 0xffffffff {
			break
		}
		length := int64(binary.LittleEndian.Uint32(rec[pos+4:])) // int64: an int is 32 bits on ARM
		if length < 16 || int64(pos)+length > int64(len(rec)) {
			return nil, damaged("attribute at %d has length %d", pos, length)
		}
		a := rec[pos : pos+int(length)]
		if typ == 0x80 && a[9] == 0 { // unnamed $DATA
			if a[8] == 0 {
				vlen := int64(binary.LittleEndian.Uint32(a[16:]))
				voff := int64(binary.LittleEndian.Uint16(a[20:]))
				if voff+vlen > int64(len(a)) {
					return nil, damaged("resident data runs past its attribute")
				}
				return bytes.Clone(a[voff : voff+vlen]), nil
			}
			if len(a) < 64 {
				return nil, damaged("non-resident attribute too short")
			}
			runOff := int(binary.LittleEndian.Uint16(a[32:]))
			realSize := int64(binary.LittleEndian.Uint64(a[48:]))
			if runOff >= len(a) || realSize < 0 || realSize > maxMap {
				return nil, damaged("data of %d bytes, runs at %d", realSize, runOff)
			}
			out := make([]byte, 0, realSize)
			var lcn int64
			rl := a[runOff:]
			for len(rl) > 0 && rl[0] != 0 && int64(len(out)) < realSize {
				lenBytes, offBytes := int(rl[0]&0xf), int(rl[0]>>4)
				if lenBytes == 0 || lenBytes > 8 || offBytes > 8 || 1+lenBytes+offBytes > len(rl) {
					return nil, damaged("bad run list header 0x%02x", rl[0])
				}
				var runLen int64
				for i := lenBytes - 1; i >= 0; i-- {
					runLen = runLen<<8 | int64(rl[1+i])
				}
				var delta int64
				for i := offBytes - 1; i >= 0; i-- {
					delta = delta<<8 | int64(rl[1+lenBytes+i])
				}
				if offBytes > 0 && rl[lenBytes+offBytes]&0x80 != 0 {
					delta -= 1 << (8 * offBytes)
				}
				rl = rl[1+lenBytes+offBytes:]
				runBytes, ok := mul(runLen, cs)
				if runLen <= 0 || !ok || int64(len(out))+runBytes > maxMap+cs {
					return nil, damaged("a run of %d clusters", runLen)
				}
				chunk := make([]byte, min(runBytes, realSize-int64(len(out))))
				if offBytes > 0 {
					lcn += delta
					if lcn < 0 || lcn+runLen > clusters {
						return nil, damaged("a run at cluster %d+%d lies outside the volume", lcn, runLen)
					}
					if err := readAt(r, chunk, off+lcn*cs); err != nil {
						return nil, err
					}
				} // a sparse run reads as zeros
				out = append(out, chunk...)
			}
			if int64(len(out)) < realSize {
				return nil, damaged("the run list covers %d of %d bytes", len(out), realSize)
			}
			return out, nil
		}
		pos += int(length)
	}
	return nil, damaged("no unnamed $DATA attribute")
}
