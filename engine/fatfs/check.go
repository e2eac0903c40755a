package fatfs

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"path"
	"strings"
	"sync"
	"unicode/utf16"
)

// maxProblems is how many problems Check names before it only counts.
const maxProblems = 8

// checker is one run of Check.
type checker struct {
	v       *Volume
	claimed []uint64 // one bit per cluster: reached from the root
	probs   []string
	more    int
}

func (c *checker) add(format string, args ...any) {
	if len(c.probs) < maxProblems {
		c.probs = append(c.probs, fmt.Sprintf(format, args...))
		return
	}
	c.more++
}

func (c *checker) isClaimed(cl uint32) bool { return c.claimed[cl/64]&(1<<(cl%64)) != 0 }

// claim marks a node's clusters as used; a cluster already used by
// another is a cross-link.
func (c *checker) claim(p string, rs []run) bool {
	for _, r := range rs {
		for cl := r.first; cl < r.first+r.n; cl++ {
			if c.isClaimed(cl) {
				c.add("%s: cluster %d is used by another file as well (cross-linked)", p, cl)
				return false
			}
			c.claimed[cl/64] |= 1 << (cl % 64)
		}
	}
	return true
}

// Check reads the whole volume's structure and reports what is wrong with
// it: the boot sector and its backup (exFAT: their checksums), every
// folder's entries (long-name and entry-set checksums, name hashes,
// invalid or duplicate names, "." and ".."), every cluster chain (in
// range, not free, not shared, as long as its file), the FATs (copies
// equal, no allocated cluster that no file uses), exFAT's allocation
// bitmap and up-case table, and FAT32's free-cluster count. The error
// wraps ErrDamaged and names the first problems.
func (v *Volume) Check() error {
	c := &checker{v: v, claimed: make([]uint64, (int64(v.count)+2+63)/64)}
	c.boot()
	root, err := v.readRoot()
	if err != nil {
		return err
	}
	if rs, err := v.runsOf(root); err != nil {
		c.add("root folder: %v", err)
	} else {
		c.claim("root folder", rs)
	}
	if v.kind == ExFAT {
		for _, n := range []*node{v.bitmap, v.upcaseNode} {
			if rs, err := v.runsOf(n); err != nil {
				c.add("%s: %v", n.name, err)
			} else {
				c.claim(n.name, rs)
			}
		}
		if v.bitmap.size < (int64(v.count)+7)/8 {
			c.add("the allocation bitmap's %d bytes cannot hold %d clusters", v.bitmap.size, v.count)
		}
	}
	c.walk(root)
	c.fats()
	if len(c.probs) == 0 {
		return nil
	}
	msg := strings.Join(c.probs, "; ")
	if c.more > 0 {
		msg += fmt.Sprintf("; and %d more", c.more)
	}
	return damaged("%s: %s", v.kind, msg)
}

// boot checks the boot sector's backup, and exFAT's boot checksums.
func (v *Volume) bootRegion(first int64) ([]byte, error) {
	b := make([]byte, 12*v.bps)
	if err := readAt(v.r, b, v.off+first*v.bps); err != nil {
		return nil, err
	}
	return b, nil
}

func bootSum(region []byte, bps int64) uint32 {
	var s uint32
	for i, b := range region[:11*bps] {
		if i == 106 || i == 107 || i == 112 {
			continue
		}
		s = (s&1)<<31 + s>>1 + uint32(b)
	}
	return s
}

func (c *checker) boot() {
	v := c.v
	if v.kind == ExFAT {
		main, err := v.bootRegion(0)
		if err != nil {
			c.add("boot region: %v", err)
			return
		}
		backup, err := v.bootRegion(12)
		if err != nil {
			c.add("backup boot region: %v", err)
			return
		}
		for _, r := range []struct {
			name string
			b    []byte
		}{{"boot region", main}, {"backup boot region", backup}} {
			sum := bootSum(r.b, v.bps)
			for i := 11 * v.bps; i < 12*v.bps; i += 4 {
				if binary.LittleEndian.Uint32(r.b[i:]) != sum {
					c.add("the %s's checksum sector does not match its content (%08x)", r.name, sum)
					break
				}
			}
		}
		m, b := bytes.Clone(main), bytes.Clone(backup)
		for _, i := range []int{106, 107, 112} {
			m[i], b[i] = 0, 0
		}
		if !bytes.Equal(m, b) {
			c.add("the backup boot region differs from the boot region")
		}
		return
	}
	if v.kind == FAT32 && v.backupBoot > 0 {
		main, backup := make([]byte, 90), make([]byte, 90)
		if readAt(v.r, main, v.off) != nil || readAt(v.r, backup, v.off+v.backupBoot) != nil {
			c.add("the backup boot sector cannot be read")
		} else if !bytes.Equal(main, backup) {
			c.add("the backup boot sector differs from the boot sector")
		}
	}
}

// walk checks every folder below n and what it holds.
func (c *checker) walk(root *node) {
	v := c.v
	type item struct {
		n      *node
		p      string
		parent uint32
		depth  int
	}
	stack := []item{{root, "/", 0, 0}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if it.depth > 64 {
			c.add("%s: folders nest more than 64 deep", it.p)
			continue
		}
		kids, probs, err := v.listNode(it.n)
		if err != nil {
			c.add("%s: %v", it.p, err)
			continue
		}
		for _, p := range probs {
			c.add("%s", p)
		}
		if !it.n.root && v.kind != ExFAT {
			switch {
			case it.n.hasDots != 2:
				c.add("%s: the folder does not start with its \".\" and \"..\" entries", it.p)
			case it.n.dot != it.n.first:
				c.add("%s: \".\" points at cluster %d, not the folder's own %d", it.p, it.n.dot, it.n.first)
			case it.n.dotdot != it.parent:
				c.add("%s: \"..\" points at cluster %d, not the parent's %d", it.p, it.n.dotdot, it.parent)
			}
		}
		seen := map[string]string{}
		for _, k := range kids {
			p := path.Join(it.p, k.name)
			if err := ValidName(k.name); err != nil {
				c.add("%s: %v", p, err)
			}
			key := v.fold(k.name)
			if other, ok := seen[key]; ok {
				c.add("%s: the same name as %q in one folder", p, other)
			}
			seen[key] = k.name
			if v.kind == ExFAT && v.upcase != nil {
				if h := nameHash(v.upcase, utf16.Encode([]rune(k.name))); h != k.hash {
					c.add("%s: the name's hash is %04x, its entry says %04x", p, h, k.hash)
				}
			}
			rs, err := v.runsOf(k)
			if err != nil {
				c.add("%s: %v", p, err)
				continue
			}
			if !k.dir || v.kind == ExFAT {
				var got int64
				for _, r := range rs {
					got += int64(r.n)
				}
				if need := v.clusters(k); got != need {
					c.add("%s: %d clusters hold %d bytes, which need %d", p, got, k.size, need)
				}
			}
			if !c.claim(p, rs) || !k.dir {
				continue
			}
			parent := it.n.first
			if it.n.root {
				parent = 0
			}
			stack = append(stack, item{k, p, parent, it.depth + 1})
		}
	}
}

// fats compares the FAT copies, finds allocated clusters no file uses,
// and checks exFAT's bitmap and FAT32's free count.
func (c *checker) fats() {
	v := c.v
	var free, lost int64
	firstLost := uint32(0)
	note := func(cl uint32) {
		if lost == 0 {
			firstLost = cl
		}
		lost++
	}
	pair := scanBufs.Get().(*[2][]byte)
	defer scanBufs.Put(pair)
	buf, other := pair[0], pair[1]
	end := v.entryOff(v.count+2) + 4
	for at := int64(0); at < min(end, v.fatLen); at += scanBlock {
		n := min(scanBlock, v.fatLen-at)
		b := buf[:n]
		if err := readAt(v.r, b, v.off+v.fatOff+at); err != nil {
			c.add("FAT: %v", err)
			return
		}
		for k := 1; k < v.nFATs && v.kind != ExFAT; k++ {
			o := other[:n]
			if err := readAt(v.r, o, v.off+v.fatOff+int64(k)*v.fatLen+at); err != nil {
				c.add("FAT %d: %v", k+1, err)
				return
			}
			if !bytes.Equal(b, o) {
				c.add("FAT %d differs from FAT 1 at byte %d", k+1, at+int64(firstDiff(b, o)))
			}
		}
		if at == 0 && v.kind != ExFAT && b[0] != v.media {
			c.add("FAT: the first entry does not hold the media byte %02x", v.media)
		}
		if v.kind == ExFAT {
			continue
		}
		if v.kind == FAT12 {
			continue
		}
		// FAT16 and FAT32 entries never straddle a block.
		es := entryBits(v.kind) / 8
		lo, hi := max(2, (at+es-1)/es), min(int64(v.count)+2, (at+n)/es)
		if lo < hi && allZero(b) {
			free += hi - lo // a free stretch, as most of a fresh volume's FAT is
			continue
		}
		for cl := lo; cl < hi; cl++ {
			e := v.decode(b[cl*es-at:], uint32(cl))
			switch {
			case e == 0:
				free++
			case v.bad(e):
			case !c.isClaimed(uint32(cl)):
				note(uint32(cl))
			}
		}
	}
	if v.kind == FAT12 {
		// FAT12 entries straddle blocks: count them through the cache.
		free, lost = 0, 0
		for cl := uint32(2); cl < v.count+2; cl++ {
			e, err := v.next(cl)
			if err != nil {
				c.add("FAT: %v", err)
				return
			}
			switch {
			case e == 0:
				free++
			case v.bad(e):
			case !c.isClaimed(cl):
				note(cl)
			}
		}
	}
	if v.kind == ExFAT {
		c.bitmap()
		return
	}
	if lost > 0 {
		c.add("%d clusters are allocated in the FAT but no file uses them, the first at %d", lost, firstLost)
	}
	if v.kind == FAT32 && v.fsInfo > 0 {
		s := make([]byte, 512)
		if err := readAt(v.r, s, v.off+v.fsInfo); err != nil {
			c.add("FSInfo: %v", err)
			return
		}
		if binary.LittleEndian.Uint32(s[0:]) != 0x41615252 || binary.LittleEndian.Uint32(s[484:]) != 0x61417272 {
			c.add("FSInfo: the sector has no FSInfo signature")
			return
		}
		if n := binary.LittleEndian.Uint32(s[488:]); n != 0xffffffff && int64(n) != free {
			c.add("FSInfo: %d free clusters, the FAT has %d", n, free)
		}
	}
}

// scanBlock is how much of each FAT copy fats reads at a time: a whole
// FAT is read, and fewer, larger reads cost less than the 64 KiB blocks
// a walk caches. FAT16 and FAT32 entries never straddle it.
const scanBlock = 256 << 10

// scanBufs keeps fats' two buffers for the next check: a job checks its
// targets one after another, and fresh memory costs a page fault a page.
var scanBufs = sync.Pool{New: func() any { return &[2][]byte{make([]byte, scanBlock), make([]byte, scanBlock)} }}

// allZero reports whether b holds only zeros.
func allZero(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b) != 0 {
			return false
		}
		b = b[8:]
	}
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

func entryBits(k Kind) int64 {
	switch k {
	case FAT12:
		return 12
	case FAT16:
		return 16
	}
	return 32
}

// bitmap compares exFAT's allocation bitmap with the clusters in use.
func (c *checker) bitmap() {
	v := c.v
	rs, err := v.runsOf(v.bitmap)
	if err != nil {
		return // already reported
	}
	var lost, unmarked int64
	var firstLost, firstUnmarked uint32
	buf := make([]byte, fatBlock)
	var done int64
	for _, e := range v.extents(rs, (int64(v.count)+7)/8) {
		for at := int64(0); at < e.Len; at += fatBlock {
			b := buf[:min(fatBlock, e.Len-at)]
			if err := readAt(v.r, b, e.Off+at); err != nil {
				c.add("allocation bitmap: %v", err)
				return
			}
			for i, x := range b {
				for bit := 0; bit < 8; bit++ {
					idx := (done+int64(i))*8 + int64(bit)
					if idx >= int64(v.count) {
						break
					}
					cl := uint32(idx) + 2
					set, used := x&(1<<bit) != 0, c.isClaimed(cl)
					switch {
					case set && !used:
						if lost == 0 {
							firstLost = cl
						}
						lost++
					case !set && used:
						if unmarked == 0 {
							firstUnmarked = cl
						}
						unmarked++
					}
				}
			}
			done += int64(len(b))
		}
	}
	if lost > 0 {
		c.add("%d clusters are marked in use in the allocation bitmap but no file uses them, the first at %d", lost, firstLost)
	}
	if unmarked > 0 {
		c.add("%d clusters in use are marked free in the allocation bitmap, the first at %d", unmarked, firstUnmarked)
	}
}

func firstDiff(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}
