package fatfs

import (
	"encoding/binary"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
)

// node is a file or folder as its directory entry describes it.
type node struct {
	name   string
	dir    bool
	root   bool
	size   int64 // a file's bytes; exFAT: DataLength, of folders too
	valid  int64 // exFAT: ValidDataLength; the size on FAT
	mod    time.Time
	first  uint32
	contig bool // exFAT: NoFatChain, the clusters follow each other
	attr   uint16

	// What the checker looks at.
	hash    uint16 // exFAT: the stored name hash
	dot     uint32 // FAT subfolders: where "." and ".." point
	dotdot  uint32
	hasDots int // FAT subfolders: how many of "." and ".." were found first
}

// clusters is how many clusters the node's data takes.
func (v *Volume) clusters(n *node) int64 { return (n.size + v.cs - 1) / v.cs }

// runsOf returns a node's clusters: its FAT chain, or its contiguous run.
func (v *Volume) runsOf(n *node) ([]run, error) {
	switch {
	case n.root && v.kind != FAT32 && v.kind != ExFAT:
		return nil, nil // the fixed root folder lies outside the clusters
	case n.first == 0:
		if n.size > 0 && !n.dir {
			return nil, damaged("%q: %d bytes but no first cluster", n.name, n.size)
		}
		if n.dir && v.kind == ExFAT && !n.root {
			return nil, damaged("folder %q has no first cluster", n.name)
		}
		if n.dir && v.kind != ExFAT {
			return nil, damaged("folder %q has no first cluster", n.name)
		}
		return nil, nil
	case n.contig:
		need := v.clusters(n)
		if need == 0 {
			return nil, nil
		}
		if !v.valid(n.first) || int64(n.first-2)+need > int64(v.count) {
			return nil, damaged("%q: clusters %d+%d lie outside the %d clusters", n.name, n.first, need, v.count)
		}
		return []run{{n.first, uint32(need)}}, nil
	}
	// A chain longer than its file is reported with both lengths; a loop
	// ends at the volume's cluster count.
	limit := int64(v.count) + 1
	if n.dir && (v.kind != ExFAT || n.root) {
		limit = maxDirBytes/v.cs + 1
	}
	rs, err := v.chain(n.first, limit)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", n.name, err)
	}
	var got int64
	for _, r := range rs {
		got += int64(r.n)
	}
	if !n.dir || (v.kind == ExFAT && !n.root) {
		if need := v.clusters(n); got < need {
			return nil, damaged("%q: its cluster chain holds %d clusters, its %d bytes need %d", n.name, got, n.size, need)
		}
	}
	return rs, nil
}

// dirBytes reads a folder's entries.
func (v *Volume) dirBytes(n *node) ([]byte, error) {
	if n.root && v.kind != FAT32 && v.kind != ExFAT {
		b := make([]byte, v.rootLen)
		if err := readAt(v.r, b, v.off+v.rootOff); err != nil {
			return nil, fmt.Errorf("root folder: %w", err)
		}
		return b, nil
	}
	rs, err := v.runsOf(n)
	if err != nil {
		return nil, err
	}
	total := int64(0)
	for _, r := range rs {
		total += int64(r.n) * v.cs
	}
	if v.kind == ExFAT && !n.root {
		if n.size%v.cs != 0 || n.size == 0 {
			return nil, damaged("folder %q: a length of %d bytes is not whole clusters", n.name, n.size)
		}
		total = n.size
	}
	return v.readExtents(v.extents(rs, total))
}

// readRoot reads the root folder once.
func (v *Volume) readRoot() (*node, error) {
	v.rootMu.Lock()
	defer v.rootMu.Unlock()
	if v.root != nil {
		return v.root, nil
	}
	root := &node{name: "/", dir: true, root: true, first: v.rootClus}
	if _, _, err := v.listNode(root); err != nil {
		return nil, err
	}
	v.root = root
	return root, nil
}

// listNode lists a folder: what it holds and the defects a reader gets
// past (a long name whose checksum does not match, an entry set whose
// checksum does not), for the checker.
func (v *Volume) listNode(n *node) ([]*node, []string, error) {
	data, err := v.dirBytes(n)
	if err != nil {
		return nil, nil, err
	}
	if v.kind == ExFAT {
		return v.parseExFAT(data, n)
	}
	kids, probs := v.parseFAT(data, n)
	return kids, probs, nil
}

// parseFAT decodes FAT directory entries, joining long names to their
// short entries.
func (v *Volume) parseFAT(data []byte, dir *node) ([]*node, []string) {
	var kids []*node
	var probs []string
	var parts [][]uint16
	expect, sum := 0, byte(0)
	reset := func() { parts, expect = nil, 0 }
	for i := 0; i+32 <= len(data); i += 32 {
		e := data[i : i+32]
		if e[0] == 0x00 {
			break
		}
		if e[0] == 0xe5 {
			reset()
			continue
		}
		attr := e[11]
		if attr&0x3f == 0x0f {
			ord := int(e[0] & 0x1f)
			if e[0]&0x40 != 0 {
				if expect > 0 {
					probs = append(probs, fmt.Sprintf("%s: an unfinished long name before entry %d", dirName(dir), i/32))
				}
				if ord == 0 || ord > 20 {
					probs = append(probs, fmt.Sprintf("%s: entry %d: a long name of %d parts", dirName(dir), i/32, ord))
					reset()
					continue
				}
				parts, expect, sum = make([][]uint16, ord), ord, e[13]
			}
			if expect == 0 || ord != expect || e[13] != sum {
				probs = append(probs, fmt.Sprintf("%s: entry %d: a long-name part out of order", dirName(dir), i/32))
				reset()
				continue
			}
			u := make([]uint16, 0, 13)
			for _, o := range []int{1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30} {
				u = append(u, binary.LittleEndian.Uint16(e[o:]))
			}
			parts[ord-1] = u
			expect--
			continue
		}
		if attr&0x08 != 0 && attr&0x10 == 0 {
			if dir.root {
				v.label = strings.TrimRight(decodeOEM(e[:11]), " ")
			}
			reset()
			continue
		}
		short := e[:11]
		name := shortName(short, e[12])
		if parts != nil {
			if expect == 0 && shortSum(short) == sum {
				var u []uint16
				for _, p := range parts {
					u = append(u, p...)
				}
				for j, c := range u {
					if c == 0 {
						u = u[:j]
						break
					}
				}
				name = string(utf16.Decode(u))
			} else {
				probs = append(probs, fmt.Sprintf("%s: the long name of %q does not belong to it (checksum)", dirName(dir), name))
			}
		}
		reset()
		first := uint32(binary.LittleEndian.Uint16(e[26:]))
		if v.kind == FAT32 {
			first |= uint32(binary.LittleEndian.Uint16(e[20:])) << 16
		}
		if string(short) == ".          " || string(short) == "..         " {
			if !dir.root && len(kids) == 0 {
				if short[1] == '.' {
					dir.dotdot = first
				} else {
					dir.dot = first
				}
				dir.hasDots++
			} else {
				probs = append(probs, fmt.Sprintf("%s: a %q entry out of place", dirName(dir), strings.TrimSpace(string(short))))
			}
			continue
		}
		n := &node{
			name:  name,
			dir:   attr&0x10 != 0,
			attr:  uint16(attr),
			first: first,
			mod:   dosTime(binary.LittleEndian.Uint16(e[24:]), binary.LittleEndian.Uint16(e[22:]), 0, 0),
		}
		if !n.dir {
			n.size = int64(binary.LittleEndian.Uint32(e[28:]))
			n.valid = n.size
		}
		kids = append(kids, n)
	}
	return kids, probs
}

func dirName(n *node) string {
	if n.root {
		return "root folder"
	}
	return fmt.Sprintf("folder %q", n.name)
}

// shortName decodes an 8.3 name, lower-casing the parts that NTRes marks.
func shortName(b []byte, ntres byte) string {
	raw := make([]byte, 11)
	copy(raw, b)
	if raw[0] == 0x05 {
		raw[0] = 0xe5
	}
	base := strings.TrimRight(decodeOEM(raw[:8]), " ")
	ext := strings.TrimRight(decodeOEM(raw[8:11]), " ")
	if ntres&0x08 != 0 {
		base = strings.ToLower(base)
	}
	if ntres&0x10 != 0 {
		ext = strings.ToLower(ext)
	}
	if ext == "" {
		return base
	}
	return base + "." + ext
}

// cp437 is the upper half of code page 437, the OEM code page short names
// and labels are read in.
var cp437 = []rune("ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0")

func decodeOEM(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		if c < 0x80 {
			sb.WriteByte(c)
		} else {
			sb.WriteRune(cp437[c-0x80])
		}
	}
	return sb.String()
}

// shortSum is the checksum a long name carries of its short name.
func shortSum(short []byte) byte {
	var s byte
	for _, c := range short[:11] {
		s = (s&1)<<7 + s>>1 + c
	}
	return s
}

// dosTime decodes a FAT date and time (the exFAT timestamp is the same
// bits, date high); utc is exFAT's UTC offset byte (0: local, taken as UTC).
func dosTime(d, t uint16, tenMs byte, utc byte) time.Time {
	year, month, day := 1980+int(d>>9), int(d>>5&15), int(d&31)
	hour, minute, sec := int(t>>11), int(t>>5&63), int(t&31)*2
	if month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 59 {
		return time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	ts := time.Date(year, time.Month(month), day, hour, minute, sec, int(min(tenMs, 199))*10_000_000, time.UTC)
	if utc&0x80 != 0 {
		off := int(int8(utc<<1)) / 2 // a 7-bit signed count of 15 minutes
		ts = ts.Add(-time.Duration(off) * 15 * time.Minute)
	}
	return ts
}

// parseExFAT decodes exFAT directory entry sets; in the root it also
// finds the allocation bitmap, the up-case table and the label.
func (v *Volume) parseExFAT(data []byte, dir *node) ([]*node, []string, error) {
	var kids []*node
	var probs []string
	for i := 0; i+32 <= len(data); i += 32 {
		e := data[i : i+32]
		t := e[0]
		if t == 0x00 {
			break
		}
		if t&0x80 == 0 {
			continue // deleted or unused
		}
		switch t {
		case 0x81, 0x82:
			if !dir.root {
				probs = append(probs, fmt.Sprintf("%s: entry %d: a bitmap or up-case entry outside the root folder", dirName(dir), i/32))
				continue
			}
			n := &node{first: binary.LittleEndian.Uint32(e[20:]), size: int64(binary.LittleEndian.Uint64(e[24:]))}
			if n.size < 0 || n.size > int64(v.count)*v.cs {
				return nil, nil, damaged("exFAT root folder: a system entry of %d bytes", n.size)
			}
			n.valid = n.size
			if t == 0x81 {
				if e[1]&1 != 0 {
					continue // the second FAT's bitmap (TexFAT): not used here
				}
				n.name = "allocation bitmap"
				v.bitmap = n
			} else {
				n.name = "up-case table"
				v.upcaseSum = binary.LittleEndian.Uint32(e[4:])
				v.upcaseNode = n
			}
		case 0x83:
			if dir.root {
				cnt := min(int(e[1]), 11)
				u := make([]uint16, cnt)
				for j := range u {
					u[j] = binary.LittleEndian.Uint16(e[2+2*j:])
				}
				v.label = string(utf16.Decode(u))
			}
		case 0x85:
			sc := int(e[1])
			if sc < 2 || sc > 18 {
				probs = append(probs, fmt.Sprintf("%s: entry %d: a file entry with %d secondary entries", dirName(dir), i/32, sc))
				continue
			}
			end := i + (sc+1)*32
			if end > len(data) {
				probs = append(probs, fmt.Sprintf("%s: entry %d: an entry set runs past the end of the folder", dirName(dir), i/32))
				continue
			}
			set := data[i:end]
			if setSum(set) != binary.LittleEndian.Uint16(e[2:]) {
				probs = append(probs, fmt.Sprintf("%s: entry %d: an entry set whose checksum does not match", dirName(dir), i/32))
				i = end - 32
				continue
			}
			n, err := exfatNode(set)
			if err != nil {
				probs = append(probs, fmt.Sprintf("%s: entry %d: %v", dirName(dir), i/32, err))
			} else {
				kids = append(kids, n)
			}
			i = end - 32
		}
	}
	if dir.root && v.upcaseNode != nil && v.upcase == nil {
		if err := v.loadUpcase(); err != nil {
			return nil, nil, err
		}
	}
	return kids, probs, nil
}

// exfatNode decodes a checked entry set: File, Stream Extension, names.
func exfatNode(set []byte) (*node, error) {
	f, s := set[:32], set[32:64]
	if s[0] != 0xc0 {
		return nil, fmt.Errorf("the entry after a file entry is of type 0x%02x, not a stream extension", s[0])
	}
	nameLen := int(s[3])
	if nameLen == 0 {
		return nil, fmt.Errorf("a file name of no characters")
	}
	var u []uint16
	for j := 64; j < len(set) && len(u) < nameLen; j += 32 {
		if set[j] != 0xc1 {
			break
		}
		for k := 2; k < 32 && len(u) < nameLen; k += 2 {
			u = append(u, binary.LittleEndian.Uint16(set[j+k:]))
		}
	}
	if len(u) < nameLen {
		return nil, fmt.Errorf("a name of %d characters has %d in its entries", nameLen, len(u))
	}
	attr := binary.LittleEndian.Uint16(f[4:])
	n := &node{
		name:   string(utf16.Decode(u)),
		dir:    attr&0x10 != 0,
		attr:   attr,
		first:  binary.LittleEndian.Uint32(s[20:]),
		size:   int64(binary.LittleEndian.Uint64(s[24:])),
		valid:  int64(binary.LittleEndian.Uint64(s[8:])),
		contig: s[1]&2 != 0,
		hash:   binary.LittleEndian.Uint16(s[4:]),
		mod: dosTime(binary.LittleEndian.Uint16(f[14:]), binary.LittleEndian.Uint16(f[12:]),
			f[21], f[23]),
	}
	if n.size < 0 || n.valid < 0 || n.valid > n.size {
		return nil, fmt.Errorf("%q: valid data length %d of a data length %d", n.name, n.valid, n.size)
	}
	return n, nil
}

// setSum is an exFAT entry set's checksum (bytes 2 and 3 of the first
// entry, where it is kept, left out).
func setSum(set []byte) uint16 {
	var s uint16
	for i, c := range set {
		if i == 2 || i == 3 {
			continue
		}
		s = (s&1)<<15 + s>>1 + uint16(c)
	}
	return s
}

// tableSum is the checksum of exFAT's up-case table (and of the boot
// region, with bytes left out there).
func tableSum(sum uint32, b []byte) uint32 {
	for _, c := range b {
		sum = (sum&1)<<31 + sum>>1 + uint32(c)
	}
	return sum
}

// loadUpcase reads and expands the volume's up-case table.
func (v *Volume) loadUpcase() error {
	n := v.upcaseNode
	if n.size == 0 || n.size > 256<<10 || n.size%2 != 0 {
		return damaged("exFAT: an up-case table of %d bytes", n.size)
	}
	rs, err := v.runsOf(n)
	if err != nil {
		return fmt.Errorf("exFAT: up-case table: %w", err)
	}
	b, err := v.readExtents(v.extents(rs, n.size))
	if err != nil {
		return fmt.Errorf("exFAT: up-case table: %w", err)
	}
	if got := tableSum(0, b); got != v.upcaseSum {
		return damaged("exFAT: the up-case table's checksum is %08x, its entry says %08x", got, v.upcaseSum)
	}
	v.upcase = expandUpcase(b)
	return nil
}

// expandUpcase turns a (compressed) up-case table into a mapping of every
// UTF-16 unit: 0xFFFF followed by a count stands for that many units that
// map to themselves.
func expandUpcase(b []byte) []uint16 {
	m := make([]uint16, 1<<16)
	for i := range m {
		m[i] = uint16(i)
	}
	c := 0
	for j := 0; j+1 < len(b) && c < len(m); j += 2 {
		x := binary.LittleEndian.Uint16(b[j:])
		if x == 0xffff && j+3 < len(b) {
			c += int(binary.LittleEndian.Uint16(b[j+2:]))
			j += 2
			continue
		}
		m[c] = x
		c++
	}
	return m
}

// nameHash is exFAT's hash of a name's up-cased UTF-16 units.
func nameHash(upcase []uint16, u []uint16) uint16 {
	var h uint16
	for _, c := range u {
		c = upcase[c]
		h = (h&1)<<15 + h>>1 + c&0xff
		h = (h&1)<<15 + h>>1 + c>>8
	}
	return h
}

// fold is the key two names that a file system takes for the same name
// share: exFAT's own up-case table, or Unicode's simple upper case.
func (v *Volume) fold(name string) string {
	if v.upcase == nil {
		return FoldName(name)
	}
	u := utf16.Encode([]rune(name))
	for i, c := range u {
		u[i] = v.upcase[c]
	}
	return string(utf16.Decode(u))
}

// FoldName is the key two names that FAT and exFAT take for the same name
// share: each character in Unicode's simple upper case.
func FoldName(name string) string {
	return strings.Map(func(r rune) rune {
		if u := unicode.ToUpper(r); u <= 0xffff {
			return u
		}
		return r
	}, name)
}
