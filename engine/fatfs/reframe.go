package fatfs

import (
	"encoding/binary"
	"fmt"
	"io"
)

// minFAT32Clusters is the fewest clusters a FAT32 volume may have: with
// fewer, every reader takes it for FAT16.
const minFAT32Clusters = 65525

// Reframe returns the first sectors of a FAT32 volume built for a
// partition of size bytes as a smaller partition of newSize bytes must
// hold them, with FATs of fatLen bytes each (0 keeps the built volume's
// length): the boot sector and its backup with the smaller sector count
// and FAT length, FSInfo and its backup with the free clusters the
// smaller volume has. The bytes start at the volume's first byte and end
// after the last of those sectors. Everything after them is the built
// volume's with each FAT cut to its first fatLen bytes, and the cluster
// heap moved down by what the FATs lost: one build serves targets of
// several sizes. It fails with ErrNoSpace when a cluster in use lies
// beyond the smaller volume's last, or when the smaller volume would
// have too few clusters for FAT32 or too many for its FATs.
func Reframe(img io.ReaderAt, size, newSize, fatLen int64) ([]byte, error) {
	v, err := Open(img, 0, size)
	if err != nil {
		return nil, err
	}
	if fatLen == 0 {
		fatLen = v.fatLen
	}
	switch {
	case v.kind != FAT32:
		return nil, fmt.Errorf("%w: only FAT32 is reframed, not %s", ErrNotFresh, v.kind)
	case v.fsInfo == 0 || v.backupBoot == 0:
		return nil, damaged("FAT32 boot sector: no FSInfo or backup boot sector")
	case newSize > size || newSize/v.bps > 0xffffffff:
		return nil, fmt.Errorf("a %d-byte volume cannot be reframed as %d bytes", size, newSize)
	case fatLen > v.fatLen || fatLen <= 0 || fatLen%v.bps != 0:
		return nil, fmt.Errorf("FATs of %d bytes cannot be cut to %d bytes", v.fatLen, fatLen)
	}
	g := v.Geometry()
	total := newSize / v.bps
	if heap := g.heapWith(fatLen); total*v.bps <= heap {
		return nil, fmt.Errorf("%w: a %d-byte volume ends before its data area at %d", ErrNoSpace, newSize, heap)
	}
	count := g.clusters(newSize, fatLen)
	switch {
	case count < minFAT32Clusters:
		return nil, fmt.Errorf("%w: a %d-byte volume with FATs of %d bytes has %d clusters, FAT32 needs %d", ErrNoSpace, newSize, fatLen, count, minFAT32Clusters)
	case !fits(count, fatLen):
		return nil, fmt.Errorf("%w: a %d-byte volume has %d clusters, more than FATs of %d bytes hold", ErrNoSpace, newSize, count, fatLen)
	}
	// Every cluster in use must lie inside the smaller volume; its free
	// count is then the larger one's less the clusters it does not have.
	if c, ok, err := v.usedFrom(uint32(count) + 2); err != nil {
		return nil, err
	} else if ok {
		return nil, fmt.Errorf("%w: cluster %d is in use, a %d-byte volume ends at cluster %d", ErrNoSpace, c, newSize, count+1)
	}
	head := make([]byte, max(v.fsInfo, v.backupBoot+v.fsInfo)+v.bps)
	if err := readAt(img, head, 0); err != nil {
		return nil, fmt.Errorf("FAT32 boot sectors: %w", err)
	}
	for _, at := range []int64{0, v.backupBoot} {
		binary.LittleEndian.PutUint32(head[at+32:], uint32(total))
		binary.LittleEndian.PutUint32(head[at+36:], uint32(fatLen/v.bps))
	}
	for _, at := range []int64{v.fsInfo, v.backupBoot + v.fsInfo} {
		s := head[at : at+v.bps]
		if binary.LittleEndian.Uint32(s) != 0x41615252 || binary.LittleEndian.Uint32(s[484:]) != 0x61417272 {
			return nil, damaged("FSInfo sector at %d: no signature", at)
		}
		if next := binary.LittleEndian.Uint32(s[492:]); next != 0xffffffff && int64(next) > count+1 {
			binary.LittleEndian.PutUint32(s[492:], 0xffffffff) // a hint past the end: none
		}
		free := binary.LittleEndian.Uint32(s[488:])
		if free == 0xffffffff {
			continue // unknown stays unknown
		}
		if free < v.count-uint32(count) {
			return nil, damaged("FSInfo: %d free clusters of %d, yet none in use lies from cluster %d on", free, v.count, count+2)
		}
		binary.LittleEndian.PutUint32(s[488:], free-(v.count-uint32(count)))
	}
	return head, nil
}

// heapWith is where cluster 2 lies, from the volume's first byte, when
// each FAT is fatLen bytes long.
func (g Geometry) heapWith(fatLen int64) int64 {
	return g.Heap - int64(g.FATs)*(g.FATLength-fatLen)
}

// clusters is how many clusters a volume of size bytes holds with FATs
// of fatLen bytes.
func (g Geometry) clusters(size, fatLen int64) int64 {
	return (size/g.SectorSize*g.SectorSize - g.heapWith(fatLen)) / g.ClusterSize
}

// fits reports whether FAT32 FATs of fatLen bytes hold count clusters'
// entries (and the two reserved ones).
func fits(count, fatLen int64) bool { return (count+2)*4 <= fatLen }

// ShortestFATs is the length of the shortest FATs a smaller FAT32 volume
// of size bytes can have, cut from this volume's by multiples of step
// bytes (a multiple of a cluster keeps the heap's alignment).
func (g Geometry) ShortestFATs(size, step int64) int64 {
	best := g.FATLength
	for fl := g.FATLength - step; fl > 0 && fits(g.clusters(size, fl), fl); fl -= step {
		best = fl
	}
	return best
}

// usedFrom returns the first cluster from c on that the first FAT marks
// in use, if any: the FAT is read in large pieces, most of them free.
func (v *Volume) usedFrom(c uint32) (uint32, bool, error) {
	pair := scanBufs.Get().(*[2][]byte)
	defer scanBufs.Put(pair)
	end := v.entryOff(v.count + 2)
	for at := v.entryOff(c); at < end; at += scanBlock {
		b := pair[0][:min(scanBlock, end-at)]
		if err := readAt(v.r, b, v.off+v.fatOff+at); err != nil {
			return 0, false, fmt.Errorf("%s: FAT: %w", v.kind, err)
		}
		if allZero(b) {
			continue
		}
		for i := 0; i+4 <= len(b); i += 4 {
			if binary.LittleEndian.Uint32(b[i:])&0x0fffffff != 0 {
				return uint32((at + int64(i)) / 4), true, nil
			}
		}
	}
	return 0, false, nil
}
