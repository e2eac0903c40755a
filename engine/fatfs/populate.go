package fatfs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf16"
)

// Node is a file or folder to lay into a volume.
type Node struct {
	Path    string // slash-separated, from the root: "docs/manual.pdf"
	Dir     bool
	Size    int64
	ModTime time.Time
}

// Placement is where a file's bytes go.
type Placement struct {
	Path string
	Off  int64 // from the volume's first byte; clusters follow each other
	Size int64
}

// Layout is what Populate laid out.
type Layout struct {
	Kind        Kind
	ClusterSize int64
	// Meta holds every structure of the file system (boot region, FATs,
	// bitmap, up-case table, folders), from the volume's first byte: all
	// of it lies before the first file's data.
	Meta Extent
	// Files are the files in the order of the nodes.
	Files []Placement
	// Used and Free are the clusters in use and left.
	Used, Free int64
}

// Errors of Populate, wrapped with the details.
var (
	ErrNoSpace  = errors.New("the files do not fit the volume")
	ErrTooLarge = errors.New("a file larger than FAT32 holds")
	ErrNotFresh = errors.New("the volume is not freshly formatted")
)

// MaxFAT32File is the largest file FAT32 holds: 4 GiB less a byte.
const MaxFAT32File = 1<<32 - 1

// ReadWriterAt is a volume image being filled.
type ReadWriterAt interface {
	io.ReaderAt
	io.WriterAt
}

// PopulateOptions tune Populate.
type PopulateOptions struct {
	// PartitionOffset is the volume's first sector on its disk, recorded
	// in an exFAT boot region (a FAT32 boot sector has it from its format).
	PartitionOffset int64
}

// wdir is a folder being laid out.
type wdir struct {
	path    string
	mod     time.Time
	items   []*witem
	parent  *wdir
	folds   map[string]string
	entries int64 // 32-byte directory entries
	runs    []run // where its entries go
	first   uint32
}

type witem struct {
	name  string
	dir   *wdir // nil for a file
	file  int   // index in Layout.Files
	size  int64
	mod   time.Time
	first uint32
	// FAT32
	short [11]byte
	ntres byte
	lfn   bool
}

// Populate lays nodes (folders before what they hold, or folders implied
// by the paths) into the volume of size bytes in img, which FormatFAT32,
// mkfs.fat -F 32 or mkfs.exfat has just formatted. It writes the
// folders, FAT chains, allocation bitmap and free counts, allocating each folder and then each
// file in one run of clusters, in the order given, and returns where each
// file's bytes go: the caller writes them (or streams them to targets).
// Names are checked first: a bad or duplicate name, a file FAT32 cannot
// hold or files that do not fit are reported before anything is written.
func Populate(img ReadWriterAt, size int64, nodes []Node, opts PopulateOptions) (*Layout, error) {
	v, err := Open(img, 0, size)
	if err != nil {
		return nil, err
	}
	if v.kind != FAT32 && v.kind != ExFAT {
		return nil, fmt.Errorf("%w: a %s volume; only FAT32 and exFAT are filled", ErrNotFresh, v.kind)
	}
	root, err := v.readRoot()
	if err != nil {
		return nil, err
	}
	kids, _, err := v.listNode(root)
	if err != nil {
		return nil, err
	}
	if len(kids) > 0 {
		return nil, fmt.Errorf("%w: the root folder holds %q", ErrNotFresh, kids[0].name)
	}
	p := &populator{v: v, img: img, lay: &Layout{Kind: v.kind, ClusterSize: v.cs}}
	if err := p.tree(nodes); err != nil {
		return nil, err
	}
	if err := p.allocate(root); err != nil {
		return nil, err
	}
	if err := p.write(opts); err != nil {
		return nil, err
	}
	return p.lay, nil
}

type populator struct {
	v     *Volume
	img   ReadWriterAt
	lay   *Layout
	root  *wdir
	dirs  []*wdir // breadth first, the root first
	files []*witem
	next  uint32 // the first cluster the volume left free
	end   uint32 // the first cluster after what was allocated
	// the root folder: the entries mkfs made (label, bitmap, up-case) and
	// its clusters before it grew
	rootHead []byte
	rootRuns []run
}

// tree builds the folders from the nodes and checks every name.
func (p *populator) tree(nodes []Node) error {
	p.root = &wdir{path: "", folds: map[string]string{}}
	dirs := map[string]*wdir{"": p.root}
	var mkdir func(path string, mod time.Time) (*wdir, error)
	mkdir = func(path string, mod time.Time) (*wdir, error) {
		if d, ok := dirs[path]; ok {
			return d, nil
		}
		parentPath, name := "", path
		if i := strings.LastIndexByte(path, '/'); i >= 0 {
			parentPath, name = path[:i], path[i+1:]
		}
		parent, err := mkdir(parentPath, mod)
		if err != nil {
			return nil, err
		}
		d := &wdir{path: path, mod: mod, parent: parent, folds: map[string]string{}}
		if err := parent.add(&witem{name: name, dir: d, mod: mod}, path); err != nil {
			return nil, err
		}
		dirs[path] = d
		return d, nil
	}
	for _, n := range nodes {
		if n.Path == "" || strings.HasPrefix(n.Path, "/") || strings.HasSuffix(n.Path, "/") || strings.Contains(n.Path, "//") {
			return fmt.Errorf("%w: %q is not a relative path", ErrBadName, n.Path)
		}
		for _, part := range strings.Split(n.Path, "/") {
			if err := ValidName(part); err != nil {
				return fmt.Errorf("%s: %w", n.Path, err)
			}
		}
		if n.Dir {
			if d, ok := dirs[n.Path]; ok {
				d.mod = n.ModTime
				continue
			}
			if _, err := mkdir(n.Path, n.ModTime); err != nil {
				return err
			}
			continue
		}
		if n.Size < 0 {
			return fmt.Errorf("%s: a size of %d bytes", n.Path, n.Size)
		}
		if p.v.kind == FAT32 && n.Size > MaxFAT32File {
			return fmt.Errorf("%s: %w: %d bytes, FAT32 holds at most %d", n.Path, ErrTooLarge, n.Size, int64(MaxFAT32File))
		}
		parentPath, name := "", n.Path
		if i := strings.LastIndexByte(n.Path, '/'); i >= 0 {
			parentPath, name = n.Path[:i], n.Path[i+1:]
		}
		parent, err := mkdir(parentPath, n.ModTime)
		if err != nil {
			return err
		}
		it := &witem{name: name, size: n.Size, mod: n.ModTime, file: len(p.files)}
		if err := parent.add(it, n.Path); err != nil {
			return err
		}
		p.files = append(p.files, it)
		p.lay.Files = append(p.lay.Files, Placement{Path: n.Path, Size: n.Size})
	}
	return nil
}

// add puts an item into a folder, refusing a name it already holds
// (names that differ only in case are the same name on FAT and exFAT).
func (d *wdir) add(it *witem, path string) error {
	key := FoldName(it.name)
	if other, ok := d.folds[key]; ok {
		if other == it.name {
			return fmt.Errorf("%s: %w: the path is given twice", path, ErrBadName)
		}
		return fmt.Errorf("%s: %w: the same name as %q in its folder once case is ignored", path, ErrBadName, other)
	}
	d.folds[key] = it.name
	d.items = append(d.items, it)
	return nil
}

// allocate sizes every folder and gives folders, then files, their
// clusters.
func (p *populator) allocate(root *node) error {
	v := p.v
	// Where mkfs left off: the root's entries and the first free cluster.
	rs, err := v.runsOf(root)
	if err != nil {
		return err
	}
	p.rootRuns = rs
	head, err := v.readExtents(v.extents(rs[:1], v.cs))
	if err != nil {
		return err
	}
	for i := 0; i+32 <= len(head); i += 32 {
		if head[i] == 0 {
			head = head[:i]
			break
		}
	}
	p.rootHead = head
	next, err := p.firstFree()
	if err != nil {
		return err
	}
	for _, r := range rs {
		if r.first+r.n > next {
			return fmt.Errorf("%w: the root folder lies at cluster %d, past the first free one %d", ErrNotFresh, r.first+r.n-1, next)
		}
	}
	p.next = next

	// Folders, breadth first, and their sizes.
	p.dirs = []*wdir{p.root}
	for i := 0; i < len(p.dirs); i++ {
		d := p.dirs[i]
		if d == p.root {
			d.entries = int64(len(p.rootHead) / 32)
		} else if v.kind == FAT32 {
			d.entries = 2 // "." and ".."
		}
		names := shortNames{}
		if v.kind == FAT32 {
			for _, e := range []string{".", ".."} {
				names[pad83(e, "")] = true
			}
			if d == p.root {
				for j := 0; j+32 <= len(p.rootHead); j += 32 {
					var sn [11]byte
					copy(sn[:], p.rootHead[j:])
					names[sn] = true
				}
			}
		}
		for _, it := range d.items {
			u := int64(len(utf16.Encode([]rune(it.name))))
			if v.kind == ExFAT {
				d.entries += 2 + (u+14)/15
			} else {
				it.short, it.ntres, it.lfn = names.make(it.name)
				d.entries++
				if it.lfn {
					d.entries += (u + 12) / 13
				}
			}
			if it.dir != nil {
				p.dirs = append(p.dirs, it.dir)
			}
		}
		if v.kind == FAT32 && d.entries > 65536 {
			return fmt.Errorf("folder %q: %d entries, FAT32 holds 65536 in a folder", d.path, d.entries)
		}
		if d.entries*32 > maxDirBytes {
			return fmt.Errorf("folder %q: %d entries are more than this firmware puts in one folder", d.path, d.entries)
		}
	}

	cur := next
	total := int64(v.count) + 2
	take := func(n int64) (uint32, error) {
		if int64(cur)+n > total {
			return 0, ErrNoSpace
		}
		first := cur
		cur += uint32(n)
		return first, nil
	}
	var need int64
	for _, d := range p.dirs {
		n := max(1, (d.entries*32+v.cs-1)/v.cs)
		need += n
		if d == p.root {
			have := int64(0)
			for _, r := range p.rootRuns {
				have += int64(r.n)
			}
			need -= min(n, have)
		}
	}
	for _, f := range p.files {
		need += (f.size + v.cs - 1) / v.cs
	}
	if free := total - int64(next); need > free {
		return fmt.Errorf("%w: the files need %d clusters of %d bytes (%d bytes), the %s volume has %d free (%d bytes)",
			ErrNoSpace, need, v.cs, need*v.cs, v.kind, free, free*v.cs)
	}
	for _, d := range p.dirs {
		n := max(1, (d.entries*32+v.cs-1)/v.cs)
		if d == p.root {
			d.runs = append([]run(nil), p.rootRuns...)
			d.first = v.rootClus
			have := int64(0)
			for _, r := range p.rootRuns {
				have += int64(r.n)
			}
			if n > have {
				first, err := take(n - have)
				if err != nil {
					return err
				}
				d.runs = append(d.runs, run{first, uint32(n - have)})
			}
			continue
		}
		first, err := take(n)
		if err != nil {
			return err
		}
		d.first, d.runs = first, []run{{first, uint32(n)}}
	}
	for _, d := range p.dirs {
		for _, it := range d.items {
			if it.dir != nil {
				it.first = it.dir.first
			}
		}
	}
	metaEnd := cur
	for _, f := range p.files {
		n := (f.size + v.cs - 1) / v.cs
		if n == 0 {
			continue
		}
		first, err := take(n)
		if err != nil {
			return err
		}
		f.first = first
		p.lay.Files[f.file].Off = v.heap + int64(first-2)*v.cs
	}
	p.end = cur
	p.lay.Meta = Extent{0, v.heap + int64(metaEnd-2)*v.cs}
	p.lay.Used = int64(cur) - 2
	p.lay.Free = total - int64(cur)
	return nil
}

// firstFree finds the first cluster a freshly formatted volume left free.
func (p *populator) firstFree() (uint32, error) {
	v := p.v
	if v.kind == ExFAT {
		rs, err := v.runsOf(v.bitmap)
		if err != nil {
			return 0, err
		}
		b, err := v.readExtents(v.extents(rs, min(v.bitmap.size, fatBlock)))
		if err != nil {
			return 0, err
		}
		for i := int64(0); i < int64(len(b))*8 && i < int64(v.count); i++ {
			if b[i/8]&(1<<(i%8)) == 0 {
				return uint32(i) + 2, nil
			}
		}
		return 0, fmt.Errorf("%w: no free cluster among the first", ErrNotFresh)
	}
	for c := uint32(2); c < v.count+2 && c < 1<<14; c++ {
		e, err := v.next(c)
		if err != nil {
			return 0, err
		}
		if e == 0 {
			return c, nil
		}
	}
	return 0, fmt.Errorf("%w: no free cluster among the first", ErrNotFresh)
}

// write writes the folders, the FATs, the bitmap and the counters.
func (p *populator) write(opts PopulateOptions) error {
	v := p.v
	for _, d := range p.dirs {
		data := p.dirData(d)
		if err := p.writeRuns(d.runs, data); err != nil {
			return fmt.Errorf("folder %q: %w", d.path, err)
		}
	}
	if err := p.writeFATs(); err != nil {
		return err
	}
	if v.kind == ExFAT {
		if err := p.writeBitmap(); err != nil {
			return err
		}
		return p.writeBoot(opts)
	}
	return p.writeFSInfo()
}

// dirData is a folder's entries.
func (p *populator) dirData(d *wdir) []byte {
	v := p.v
	out := make([]byte, 0, d.entries*32)
	if d == p.root {
		out = append(out, p.rootHead...)
	} else if v.kind == FAT32 {
		parent := d.parent.first
		if d.parent == p.root {
			parent = 0
		}
		out = append(out, fatEntry(pad83(".", ""), 0, 0x10, d.first, 0, d.mod)...)
		out = append(out, fatEntry(pad83("..", ""), 0, 0x10, parent, 0, d.mod)...)
	}
	for _, it := range d.items {
		attr, size := byte(0x20), it.size
		if it.dir != nil {
			attr, size = 0x10, 0
			if v.kind == ExFAT {
				for _, r := range it.dir.runs {
					size += int64(r.n) * v.cs
				}
			}
		}
		if v.kind == ExFAT {
			out = append(out, exfatSet(v.upcase, it.name, it.dir != nil, size, it.first, it.mod)...)
			continue
		}
		if it.lfn {
			out = append(out, lfnEntries(it.name, shortSum(it.short[:]))...)
		}
		out = append(out, fatEntry(it.short, it.ntres, attr, it.first, uint32(size), it.mod)...)
	}
	return out
}

// writeRuns writes data over runs of clusters, zeros after it.
func (p *populator) writeRuns(rs []run, data []byte) error {
	v := p.v
	for _, r := range rs {
		n := int64(r.n) * v.cs
		chunk := make([]byte, n)
		copy(chunk, data)
		data = data[min(int64(len(data)), n):]
		if _, err := p.img.WriteAt(chunk, v.clusterOff(r.first)); err != nil {
			return err
		}
	}
	return nil
}

// writeFATs writes the chains: the root's new clusters onto its old ones,
// and every folder and file one run each. All of it is one stretch of
// clusters from the first free one, written block by block to every FAT.
func (p *populator) writeFATs() error {
	v := p.v
	eoc := uint32(0x0fffffff)
	if v.kind == ExFAT {
		eoc = 0xffffffff
	}
	last := map[uint32]bool{} // the last cluster of each chain
	for _, d := range p.dirs {
		r := d.runs[len(d.runs)-1]
		last[r.first+r.n-1] = true
	}
	for _, f := range p.files {
		if f.first != 0 {
			last[f.first+uint32((f.size+v.cs-1)/v.cs)-1] = true
		}
	}
	put := func(c, val uint32) error {
		b := make([]byte, 4)
		binary.LittleEndian.PutUint32(b, val)
		return p.writeFAT(int64(c)*4, b)
	}
	// The root grew: its old last cluster leads on to the new ones.
	if rr := p.root.runs; len(rr) > len(p.rootRuns) {
		old := p.rootRuns[len(p.rootRuns)-1]
		if err := put(old.first+old.n-1, rr[len(p.rootRuns)].first); err != nil {
			return err
		}
	}
	buf := make([]byte, 0, fatBlock)
	start := p.next
	for c := p.next; c < p.end; c++ {
		val := c + 1
		if last[c] {
			val = eoc
		}
		buf = binary.LittleEndian.AppendUint32(buf, val)
		if len(buf) == cap(buf) || c+1 == p.end {
			if err := p.writeFAT(int64(start)*4, buf); err != nil {
				return err
			}
			start, buf = c+1, buf[:0]
		}
	}
	return nil
}

// writeFAT writes b at byte off of every FAT.
func (p *populator) writeFAT(off int64, b []byte) error {
	v := p.v
	for k := 0; k < v.nFATs; k++ {
		if _, err := p.img.WriteAt(b, v.fatOff+int64(k)*v.fatLen+off); err != nil {
			return fmt.Errorf("FAT %d: %w", k+1, err)
		}
	}
	return nil
}

// writeBitmap marks the allocated clusters in exFAT's bitmap.
func (p *populator) writeBitmap() error {
	v := p.v
	rs, err := v.runsOf(v.bitmap)
	if err != nil {
		return err
	}
	ex := v.extents(rs, v.bitmap.size)
	lo, hi := int64(p.next-2), int64(p.end-2) // bits [lo, hi)
	if lo >= hi {
		return nil
	}
	for byteOff := lo / 8; byteOff <= (hi-1)/8; {
		n := min(int64(fatBlock), (hi-1)/8+1-byteOff)
		b := make([]byte, n)
		if err := rwBytes(v.r, ex, b, byteOff, false); err != nil {
			return fmt.Errorf("allocation bitmap: %w", err)
		}
		for i := range b {
			for bit := int64(0); bit < 8; bit++ {
				if idx := (byteOff+int64(i))*8 + bit; idx >= lo && idx < hi {
					b[i] |= 1 << bit
				}
			}
		}
		if err := rwBytes(p.img, ex, b, byteOff, true); err != nil {
			return fmt.Errorf("allocation bitmap: %w", err)
		}
		byteOff += n
	}
	return nil
}

// rwBytes reads or writes b at byte off of data laid over extents.
func rwBytes(dev any, ex []Extent, b []byte, off int64, write bool) error {
	pos := int64(0)
	for _, e := range ex {
		if len(b) == 0 {
			return nil
		}
		if off >= pos+e.Len {
			pos += e.Len
			continue
		}
		k := min(int64(len(b)), pos+e.Len-off)
		at := e.Off + off - pos
		var err error
		if write {
			_, err = dev.(io.WriterAt).WriteAt(b[:k], at)
		} else {
			err = readAt(dev.(io.ReaderAt), b[:k], at)
		}
		if err != nil {
			return err
		}
		b, off, pos = b[k:], off+k, pos+e.Len
	}
	if len(b) > 0 {
		return fmt.Errorf("%d bytes past the end", len(b))
	}
	return nil
}

// writeBoot records the partition offset and the share of clusters in use
// in both exFAT boot regions, with their checksums.
func (p *populator) writeBoot(opts PopulateOptions) error {
	v := p.v
	for _, first := range []int64{0, 12} {
		region, err := v.bootRegion(first)
		if err != nil {
			return err
		}
		binary.LittleEndian.PutUint64(region[64:], uint64(opts.PartitionOffset))
		region[112] = byte(p.lay.Used * 100 / int64(v.count))
		sum := bootSum(region, v.bps)
		for i := 11 * v.bps; i < 12*v.bps; i += 4 {
			binary.LittleEndian.PutUint32(region[i:], sum)
		}
		if _, err := p.img.WriteAt(region, first*v.bps); err != nil {
			return fmt.Errorf("boot region: %w", err)
		}
	}
	return nil
}

// writeFSInfo records FAT32's free count and next free cluster, in the
// FSInfo sector and its backup.
func (p *populator) writeFSInfo() error {
	v := p.v
	if v.fsInfo == 0 {
		return nil
	}
	next := uint32(0xffffffff)
	if int64(p.end) < int64(v.count)+2 {
		next = p.end
	}
	for _, at := range []int64{v.fsInfo, v.backupBoot + v.fsInfo} {
		if at == v.backupBoot+v.fsInfo && v.backupBoot == 0 {
			continue
		}
		s := make([]byte, 512)
		if err := readAt(v.r, s, at); err != nil {
			return fmt.Errorf("FSInfo: %w", err)
		}
		if binary.LittleEndian.Uint32(s[0:]) != 0x41615252 {
			continue
		}
		binary.LittleEndian.PutUint32(s[488:], uint32(p.lay.Free))
		binary.LittleEndian.PutUint32(s[492:], next)
		if _, err := p.img.WriteAt(s, at); err != nil {
			return fmt.Errorf("FSInfo: %w", err)
		}
	}
	return nil
}

// dosStamp encodes a time as FAT and exFAT store it (UTC, two-second
// steps, and the hundredths within them), within the years they hold.
func dosStamp(t time.Time) (date, clock uint16, tenMs byte) {
	t = t.UTC()
	switch lo, hi := time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2107, 12, 31, 23, 59, 58, 0, time.UTC); {
	case t.Before(lo):
		t = lo
	case t.After(hi):
		t = hi
	}
	date = uint16(t.Year()-1980)<<9 | uint16(t.Month())<<5 | uint16(t.Day())
	clock = uint16(t.Hour())<<11 | uint16(t.Minute())<<5 | uint16(t.Second()/2)
	tenMs = byte(t.Second()%2*100 + t.Nanosecond()/10_000_000)
	return date, clock, tenMs
}

// fatEntry is a short directory entry.
func fatEntry(short [11]byte, ntres, attr byte, first, size uint32, mod time.Time) []byte {
	e := make([]byte, 32)
	copy(e, short[:])
	e[11], e[12] = attr, ntres
	date, clock, tenMs := dosStamp(mod)
	e[13] = tenMs
	binary.LittleEndian.PutUint16(e[14:], clock)
	binary.LittleEndian.PutUint16(e[16:], date)
	binary.LittleEndian.PutUint16(e[18:], date)
	binary.LittleEndian.PutUint16(e[20:], uint16(first>>16))
	binary.LittleEndian.PutUint16(e[22:], clock)
	binary.LittleEndian.PutUint16(e[24:], date)
	binary.LittleEndian.PutUint16(e[26:], uint16(first))
	binary.LittleEndian.PutUint32(e[28:], size)
	return e
}

// lfnEntries are the long-name entries that go before a short entry,
// the last part first.
func lfnEntries(long string, sum byte) []byte {
	u := utf16.Encode([]rune(long))
	n := (len(u) + 12) / 13
	padded := make([]uint16, n*13)
	copy(padded, u)
	for i := len(u) + 1; i < len(padded); i++ {
		padded[i] = 0xffff // after the terminating zero
	}
	out := make([]byte, n*32)
	for i := 0; i < n; i++ {
		ord := n - i
		e := out[i*32 : (i+1)*32]
		e[0] = byte(ord)
		if i == 0 {
			e[0] |= 0x40
		}
		e[11], e[13] = 0x0f, sum
		for j, o := range []int{1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30} {
			binary.LittleEndian.PutUint16(e[o:], padded[(ord-1)*13+j])
		}
	}
	return out
}

// exfatSet is a file's or folder's entry set: File, Stream Extension and
// File Name entries, with its checksum and name hash.
func exfatSet(upcase []uint16, name string, dir bool, size int64, first uint32, mod time.Time) []byte {
	u := utf16.Encode([]rune(name))
	names := (len(u) + 14) / 15
	set := make([]byte, (2+names)*32)
	f, s := set[:32], set[32:64]
	f[0], f[1] = 0x85, byte(1+names)
	attr := uint16(0x20)
	if dir {
		attr = 0x10
	}
	binary.LittleEndian.PutUint16(f[4:], attr)
	date, clock, tenMs := dosStamp(mod)
	ts := uint32(date)<<16 | uint32(clock)
	for _, o := range []int{8, 12, 16} {
		binary.LittleEndian.PutUint32(f[o:], ts)
	}
	f[20], f[21] = tenMs, tenMs
	f[22], f[23], f[24] = 0x80, 0x80, 0x80 // UTC
	s[0], s[1] = 0xc0, 0x01                // allocation possible, clusters in the FAT
	s[3] = byte(len(u))
	binary.LittleEndian.PutUint16(s[4:], nameHash(upcase, u))
	binary.LittleEndian.PutUint64(s[8:], uint64(size))
	binary.LittleEndian.PutUint32(s[20:], first)
	binary.LittleEndian.PutUint64(s[24:], uint64(size))
	for i := 0; i < names; i++ {
		e := set[64+32*i:]
		e[0] = 0xc1
		for j := 0; j < 15 && i*15+j < len(u); j++ {
			binary.LittleEndian.PutUint16(e[2+2*j:], u[i*15+j])
		}
	}
	binary.LittleEndian.PutUint16(f[2:], setSum(set))
	return set
}
