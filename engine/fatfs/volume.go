package fatfs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Kind is a FAT file system's variant.
type Kind int

// The variants.
const (
	FAT12 Kind = iota + 1
	FAT16
	FAT32
	ExFAT
)

func (k Kind) String() string {
	switch k {
	case FAT12:
		return "FAT12"
	case FAT16:
		return "FAT16"
	case FAT32:
		return "FAT32"
	case ExFAT:
		return "exFAT"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// ErrNotFAT is returned when a partition holds no FAT or exFAT file system.
var ErrNotFAT = errors.New("no FAT or exFAT file system")

// ErrDamaged is returned (wrapped) for a structure that is there but
// broken: the message says what and where.
var ErrDamaged = errors.New("damaged file system")

func damaged(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrDamaged, fmt.Sprintf(format, args...))
}

// Extent is a byte range of the device a volume is read from.
type Extent struct {
	Off, Len int64
}

// End is the first byte after the extent.
func (e Extent) End() int64 { return e.Off + e.Len }

// Limits that keep a hostile volume from taking the memory of the box.
const (
	maxClusters = 1 << 28  // FAT32's own limit; exFAT volumes beyond it are refused
	maxDirBytes = 32 << 20 // a folder read into memory (exFAT allows 256 MiB)
	fatBlock    = 64 << 10 // FAT bytes read and cached at a time
	cacheBlocks = 64       // 4 MiB of cached FAT
)

// Volume is an open FAT or exFAT file system. It is safe for concurrent
// use.
type Volume struct {
	r    io.ReaderAt
	off  int64 // the volume's first byte on r
	size int64 // bytes of the partition

	kind   Kind
	bps    int64 // bytes per sector
	cs     int64 // bytes per cluster
	nFATs  int
	fatOff int64 // the first FAT, from off
	fatLen int64 // bytes of one FAT
	heap   int64 // cluster 2, from off
	count  uint32
	media  byte

	rootClus         uint32 // FAT32 and exFAT
	rootOff, rootLen int64  // FAT12/16: the fixed root folder, from off
	fsInfo           int64  // FAT32: the FSInfo sector, from off; 0 when none
	backupBoot       int64  // FAT32: the backup boot sector, from off; 0 when none

	mu     sync.Mutex
	cache  map[int64][]byte   // FAT blocks of the first FAT
	lists  map[*node][]*node  // folders listed lately
	chains map[chainKey][]run // chains followed: Check's walk, then Walk's
	kept   int                // runs the chains hold, up to maxKeptRuns
	root   *node              // the root folder with what it holds, once read
	rootMu sync.Mutex

	// exFAT
	label      string
	bitmap     *node
	upcaseNode *node
	upcaseSum  uint32
	upcase     []uint16 // the volume's up-case table, expanded
	serial     uint32
}

// Open reads the boot sector of the volume at [off, off+size) of r.
func Open(r io.ReaderAt, off, size int64) (*Volume, error) {
	if size < 64<<10 {
		return nil, fmt.Errorf("%w: a %d-byte partition is too small", ErrNotFAT, size)
	}
	bs := make([]byte, 512)
	if err := readAt(r, bs, off); err != nil {
		return nil, fmt.Errorf("boot sector: %w", err)
	}
	v := &Volume{r: r, off: off, size: size, cache: map[int64][]byte{}, lists: map[*node][]*node{}, chains: map[chainKey][]run{}}
	var err error
	switch {
	case bytes.Equal(bs[3:11], []byte("EXFAT   ")):
		err = v.openExFAT(bs)
	case bs[510] == 0x55 && bs[511] == 0xaa && (bytes.HasPrefix(bs[82:], []byte("FAT")) || bytes.HasPrefix(bs[54:], []byte("FAT")) || bs[0] == 0xeb || bs[0] == 0xe9):
		err = v.openFAT(bs)
	default:
		return nil, ErrNotFAT
	}
	if err != nil {
		return nil, err
	}
	return v, nil
}

func (v *Volume) openFAT(bs []byte) error {
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
		return damaged("FAT boot sector: %d bytes per sector", bps)
	case spc == 0 || spc&(spc-1) != 0:
		return damaged("FAT boot sector: %d sectors per cluster", spc)
	case reserved == 0 || nFATs == 0 || nFATs > 4 || fatSz == 0:
		return damaged("FAT boot sector: %d reserved sectors, %d FATs of %d sectors", reserved, nFATs, fatSz)
	case total*bps > v.size:
		return damaged("FAT boot sector: %d sectors of %d bytes on a %d-byte partition", total, bps, v.size)
	}
	rootSecs := (rootEntries*32 + bps - 1) / bps
	firstData := reserved + nFATs*fatSz + rootSecs
	if firstData >= total {
		return damaged("FAT boot sector: the data area starts at sector %d of %d", firstData, total)
	}
	clusters := (total - firstData) / spc
	v.bps, v.cs, v.nFATs = bps, bps*spc, int(nFATs)
	v.fatOff, v.fatLen = reserved*bps, fatSz*bps
	v.heap = firstData * bps
	v.media = bs[21]
	switch {
	case clusters < 4085:
		v.kind = FAT12
	case clusters < 65525:
		v.kind = FAT16
	default:
		v.kind = FAT32
	}
	if clusters > maxClusters {
		return damaged("FAT boot sector: %d clusters", clusters)
	}
	v.count = uint32(clusters)
	if need := v.entryOff(v.count + 2); need > v.fatLen {
		return damaged("%s: %d clusters do not fit a FAT of %d bytes", v.kind, clusters, v.fatLen)
	}
	if v.kind == FAT32 {
		if rootEntries != 0 {
			return damaged("FAT32 boot sector: a fixed root folder of %d entries", rootEntries)
		}
		v.rootClus = binary.LittleEndian.Uint32(bs[44:])
		if !v.valid(v.rootClus) {
			return damaged("FAT32 boot sector: the root folder at cluster %d of %d", v.rootClus, v.count+1)
		}
		if s := int64(binary.LittleEndian.Uint16(bs[48:])); s > 0 && s < reserved {
			v.fsInfo = s * bps
		}
		if s := int64(binary.LittleEndian.Uint16(bs[50:])); s > 0 && s < reserved && s != 0xffff {
			v.backupBoot = s * bps
		}
	} else {
		if rootEntries == 0 {
			return damaged("%s boot sector: no root folder entries", v.kind)
		}
		v.rootOff, v.rootLen = (reserved+nFATs*fatSz)*bps, rootEntries*32
	}
	return nil
}

func (v *Volume) openExFAT(bs []byte) error {
	le32 := func(o int) int64 { return int64(binary.LittleEndian.Uint32(bs[o:])) }
	fatOff, fatLen := le32(80), le32(84)
	heapOff, count := le32(88), le32(92)
	bpsShift, spcShift := bs[108], bs[109]
	nFATs := int64(bs[110])
	if bpsShift < 9 || bpsShift > 12 || int(bpsShift)+int(spcShift) > 25 {
		return damaged("exFAT boot sector: sector shift %d, cluster shift %d", bpsShift, spcShift)
	}
	bps := int64(1) << bpsShift
	cs := bps << spcShift
	switch {
	case nFATs != 1 && nFATs != 2:
		return damaged("exFAT boot sector: %d FATs", nFATs)
	case count == 0 || count > maxClusters:
		return damaged("exFAT boot sector: %d clusters", count)
	case fatOff < 24 || fatLen*bps < (count+2)*4 || fatOff+nFATs*fatLen > heapOff:
		return damaged("exFAT boot sector: FAT at sector %d, %d sectors long, %d of them, before the cluster heap at sector %d", fatOff, fatLen, nFATs, heapOff)
	case heapOff*bps+count*cs > v.size:
		return damaged("exFAT boot sector: %d clusters from sector %d do not fit a %d-byte partition", count, heapOff, v.size)
	}
	v.kind = ExFAT
	v.bps, v.cs, v.nFATs = bps, cs, int(nFATs)
	v.fatOff, v.fatLen = fatOff*bps, fatLen*bps
	v.heap = heapOff * bps
	v.count = uint32(count)
	v.media = 0xf8
	v.serial = binary.LittleEndian.Uint32(bs[100:])
	v.rootClus = uint32(le32(96))
	if !v.valid(v.rootClus) {
		return damaged("exFAT boot sector: the root folder at cluster %d of %d", v.rootClus, v.count+1)
	}
	// The root folder names the allocation bitmap, the up-case table and
	// the label: read them now, so names can be compared and hashed.
	root, err := v.readRoot()
	if err != nil {
		return err
	}
	if v.bitmap == nil {
		return damaged("exFAT: the root folder has no allocation bitmap")
	}
	if v.upcaseNode == nil {
		return damaged("exFAT: the root folder has no up-case table")
	}
	v.root = root
	return nil
}

// Kind is the variant.
func (v *Volume) Kind() Kind { return v.kind }

// Geometry is where a volume's areas lie, in bytes from its first.
type Geometry struct {
	SectorSize, ClusterSize int64
	FATOffset               int64 // the first FAT
	FATLength               int64 // each FAT
	FATs                    int
	Heap                    int64 // cluster 2
	Clusters                uint32
}

// Geometry returns where the volume's areas lie.
func (v *Volume) Geometry() Geometry {
	return Geometry{SectorSize: v.bps, ClusterSize: v.cs, FATOffset: v.fatOff, FATLength: v.fatLen,
		FATs: v.nFATs, Heap: v.heap, Clusters: v.count}
}

// Label is the volume label, without trailing spaces; empty when none.
func (v *Volume) Label() string {
	if v.kind != ExFAT {
		v.readRoot()
	}
	return v.label
}

// ClusterSize is the allocation unit in bytes.
func (v *Volume) ClusterSize() int64 { return v.cs }

// Clusters is how many data clusters the volume has.
func (v *Volume) Clusters() int64 { return int64(v.count) }

// valid reports whether c is a data cluster of the volume.
func (v *Volume) valid(c uint32) bool { return c >= 2 && c-2 < v.count }

// clusterOff is cluster c's first byte on r.
func (v *Volume) clusterOff(c uint32) int64 { return v.off + v.heap + int64(c-2)*v.cs }

// entryOff is the byte offset of cluster c's entry in a FAT.
func (v *Volume) entryOff(c uint32) int64 {
	switch v.kind {
	case FAT12:
		return int64(c) * 3 / 2
	case FAT16:
		return int64(c) * 2
	}
	return int64(c) * 4
}

// readAt reads exactly len(p) bytes at off.
func readAt(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return fmt.Errorf("read %d bytes at %d: %w", len(p), off, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("read %d bytes at %d: %w", len(p), off, err)
}

// fatBytes returns n bytes of the first FAT at byte off, through the
// cache.
func (v *Volume) fatBytes(off int64, n int) ([]byte, error) {
	out := make([]byte, 0, n)
	for len(out) < n {
		at := off + int64(len(out))
		blk := at / fatBlock
		b, err := v.fatBlock(blk)
		if err != nil {
			return nil, err
		}
		i := int(at - blk*fatBlock)
		if i >= len(b) {
			return nil, damaged("FAT entry at byte %d lies beyond the FAT's %d bytes", at, v.fatLen)
		}
		out = append(out, b[i:min(len(b), i+n-len(out))]...)
	}
	return out, nil
}

func (v *Volume) fatBlock(blk int64) ([]byte, error) {
	v.mu.Lock()
	b, ok := v.cache[blk]
	v.mu.Unlock()
	if ok {
		return b, nil
	}
	n := min(fatBlock, v.fatLen-blk*fatBlock)
	if n <= 0 {
		return nil, damaged("FAT block %d lies beyond the FAT's %d bytes", blk, v.fatLen)
	}
	b = make([]byte, n)
	if err := readAt(v.r, b, v.off+v.fatOff+blk*fatBlock); err != nil {
		return nil, fmt.Errorf("%s: FAT: %w", v.kind, err)
	}
	v.mu.Lock()
	if len(v.cache) >= cacheBlocks {
		for k := range v.cache {
			delete(v.cache, k)
			break
		}
	}
	v.cache[blk] = b
	v.mu.Unlock()
	return b, nil
}

// decode returns cluster c's FAT entry from FAT bytes p that start at the
// entry's offset.
func (v *Volume) decode(p []byte, c uint32) uint32 {
	switch v.kind {
	case FAT12:
		x := binary.LittleEndian.Uint16(p)
		if c%2 == 1 {
			x >>= 4
		}
		return uint32(x & 0xfff)
	case FAT16:
		return uint32(binary.LittleEndian.Uint16(p))
	case FAT32:
		return binary.LittleEndian.Uint32(p) & 0x0fffffff
	}
	return binary.LittleEndian.Uint32(p)
}

// next returns cluster c's FAT entry.
func (v *Volume) next(c uint32) (uint32, error) {
	cur := fatCursor{v: v, blk: -1}
	return cur.next(c)
}

// fatCursor reads FAT entries one after another, as a chain is followed:
// the block the last entry lay in is kept at hand, so most entries are
// read in place, without a look into the volume's shared cache.
type fatCursor struct {
	v   *Volume
	blk int64
	b   []byte
}

func (cur *fatCursor) next(c uint32) (uint32, error) {
	v := cur.v
	n := 4
	if v.kind != FAT32 && v.kind != ExFAT {
		n = 2
	}
	at := v.entryOff(c)
	if v.kind != FAT12 {
		// The entry lies whole in one block.
		if blk := at / fatBlock; blk != cur.blk {
			b, err := v.fatBlock(blk)
			if err != nil {
				return 0, err
			}
			cur.blk, cur.b = blk, b
		}
		if i := int(at - cur.blk*fatBlock); i+n <= len(cur.b) {
			return v.decode(cur.b[i:], c), nil
		}
	}
	p, err := v.fatBytes(at, n)
	if err != nil {
		return 0, err
	}
	return v.decode(p, c), nil
}

// eoc reports whether a FAT entry ends a chain; bad, whether it marks a
// bad cluster.
func (v *Volume) eoc(e uint32) bool {
	switch v.kind {
	case FAT12:
		return e >= 0xff8
	case FAT16:
		return e >= 0xfff8
	case FAT32:
		return e >= 0x0ffffff8
	}
	return e == 0xffffffff
}

func (v *Volume) bad(e uint32) bool {
	switch v.kind {
	case FAT12:
		return e == 0xff7
	case FAT16:
		return e == 0xfff7
	case FAT32:
		return e == 0x0ffffff7
	}
	return e == 0xfffffff7
}

// run is a series of consecutive clusters.
type run struct {
	first uint32
	n     uint32
}

// chain follows a FAT chain from first and returns it as runs of
// consecutive clusters. limit bounds its length in clusters (a chain
// longer than the data it holds is damage, and a loop never ends).
func (v *Volume) chain(first uint32, limit int64) ([]run, error) {
	k := chainKey{first, limit}
	v.mu.Lock()
	rs, ok := v.chains[k]
	v.mu.Unlock()
	if ok {
		return rs, nil
	}
	rs, err := v.follow(first, limit)
	if err == nil {
		v.mu.Lock()
		if _, ok := v.chains[k]; !ok && len(v.chains) < maxChains && v.kept+cap(rs) <= maxKeptRuns {
			v.kept += cap(rs)
			rs = rs[:len(rs):len(rs)] // shared from now on: an append copies
			v.chains[k] = rs
		}
		v.mu.Unlock()
	}
	return rs, err
}

// chainKey names a chain followed: from its first cluster, up to a
// limit.
type chainKey struct {
	first uint32
	limit int64
}

// maxChains is how many chains a volume remembers: enough for a check
// and a walk of a set's thousands of files. maxKeptRuns bounds the runs
// they hold in all (a MiB): a damaged stick's files may all lead into
// one long, scattered chain, which would otherwise be kept once a file.
const (
	maxChains   = 1 << 14
	maxKeptRuns = 1 << 17
)

// follow reads a chain from the FAT.
func (v *Volume) follow(first uint32, limit int64) ([]run, error) {
	var out []run
	cur := fatCursor{v: v, blk: -1}
	c := first
	for n := int64(0); ; n++ {
		if !v.valid(c) {
			return nil, damaged("cluster chain from %d: cluster %d lies outside the %d clusters", first, c, v.count)
		}
		if n >= limit || n > int64(v.count) {
			return nil, damaged("cluster chain from %d is longer than %d clusters (a loop?)", first, limit)
		}
		if k := len(out); k > 0 && out[k-1].first+out[k-1].n == c {
			out[k-1].n++
		} else {
			out = append(out, run{c, 1})
		}
		e, err := cur.next(c)
		if err != nil {
			return nil, err
		}
		switch {
		case v.eoc(e):
			return out, nil
		case e == 0:
			return nil, damaged("cluster chain from %d: cluster %d is marked free", first, c)
		case v.bad(e):
			return nil, damaged("cluster chain from %d: cluster %d is followed by a bad cluster", first, c)
		}
		c = e
	}
}

// extents turns runs into byte ranges of r, cut to n bytes.
func (v *Volume) extents(rs []run, n int64) []Extent {
	var out []Extent
	for _, r := range rs {
		if n <= 0 {
			break
		}
		l := min(int64(r.n)*v.cs, n)
		out = append(out, Extent{v.clusterOff(r.first), l})
		n -= l
	}
	return out
}

// readExtents reads byte ranges into one buffer.
func (v *Volume) readExtents(ex []Extent) ([]byte, error) {
	var total int64
	for _, e := range ex {
		total += e.Len
	}
	if total > maxDirBytes {
		return nil, damaged("a folder of %d bytes is larger than %d", total, maxDirBytes)
	}
	out := make([]byte, total)
	at := int64(0)
	for _, e := range ex {
		if err := readAt(v.r, out[at:at+e.Len], e.Off); err != nil {
			return nil, err
		}
		at += e.Len
	}
	return out, nil
}
