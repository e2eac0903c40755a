package board

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The overlap of two port patterns is decided exactly: each pattern (the
// path.Match syntax) is a small automaton, and two patterns overlap when
// their product reaches the end of both, which also yields a string both
// match, for the message.

// globItem is one step of a pattern: a run of characters (star) or one
// character, from a set.
type globItem struct {
	star bool // any run of characters of set, the empty one included
	set  runeSet
}

// runeSet is a set of characters: ranges, or everything but them.
type runeSet struct {
	neg    bool
	ranges [][2]rune
}

func (s runeSet) has(r rune) bool {
	for _, rg := range s.ranges {
		if rg[0] <= r && r <= rg[1] {
			return !s.neg
		}
	}
	return s.neg
}

// common returns a character in both sets. Characters are runes a valid
// UTF-8 string can hold (path.Match reads invalid bytes as U+FFFD). Both
// sets are unions of ranges, so their intersection is too, and each of
// its ranges starts at 0 or just at or after a bound of one of them: only
// those places need a look.
func (s runeSet) common(o runeSet) (rune, bool) {
	cands := []rune{'a', '0', '-', 0, 0xE000} // a readable one first, for messages
	for _, set := range []runeSet{s, o} {
		for _, rg := range set.ranges {
			cands = append(cands, rg[0], rg[1]+1)
		}
	}
	for _, c := range cands {
		if c < 0 || c > utf8.MaxRune || !utf8.ValidRune(c) {
			continue
		}
		if s.has(c) && o.has(c) {
			return c, true
		}
	}
	return 0, false
}

var (
	anyChar     = runeSet{neg: true}                                // every character
	notSlash    = runeSet{neg: true, ranges: [][2]rune{{'/', '/'}}} // what * and ? take
	anyRun      = globItem{star: true, set: anyChar}
	notSlashRun = globItem{star: true, set: notSlash}
)

func literal(r rune) globItem { return globItem{set: runeSet{ranges: [][2]rune{{r, r}}}} }

func literals(s string) []globItem {
	var out []globItem
	for _, r := range s {
		out = append(out, literal(r))
	}
	return out
}

// parseGlob reads a pattern that path.Match accepts (Validate checks that
// first); ok is false for one it does not.
func parseGlob(p string) (items []globItem, ok bool) {
	if !utf8.ValidString(p) {
		return nil, false
	}
	for len(p) > 0 {
		switch p[0] {
		case '*':
			items = append(items, notSlashRun)
			p = p[1:]
		case '?':
			items = append(items, globItem{set: notSlash})
			p = p[1:]
		case '\\':
			r, n := utf8.DecodeRuneInString(p[1:])
			if n == 0 {
				return nil, false
			}
			items = append(items, literal(r))
			p = p[1+n:]
		case '[':
			set, rest, ok := parseClass(p[1:])
			if !ok {
				return nil, false
			}
			items = append(items, globItem{set: set})
			p = rest
		default:
			r, n := utf8.DecodeRuneInString(p)
			items = append(items, literal(r))
			p = p[n:]
		}
	}
	return items, true
}

// parseClass reads a character class after its '[': an optional '^',
// then characters and ranges a-z (a '\' escapes the next), up to ']'.
func parseClass(p string) (runeSet, string, bool) {
	var set runeSet
	if strings.HasPrefix(p, "^") {
		set.neg, p = true, p[1:]
	}
	esc := func() (rune, bool) {
		if p == "" || p[0] == '-' || p[0] == ']' {
			return 0, false
		}
		if p[0] == '\\' {
			p = p[1:]
		}
		r, n := utf8.DecodeRuneInString(p)
		if n == 0 {
			return 0, false
		}
		p = p[n:]
		return r, true
	}
	for {
		if strings.HasPrefix(p, "]") && len(set.ranges) > 0 {
			return set, p[1:], true
		}
		lo, ok := esc()
		if !ok {
			return set, p, false
		}
		hi := lo
		if strings.HasPrefix(p, "-") {
			p = p[1:]
			if hi, ok = esc(); !ok {
				return set, p, false
			}
		}
		set.ranges = append(set.ranges, [2]rune{lo, hi})
	}
}

// intersect reports whether some non-empty string matches both patterns,
// and returns the shortest such string. A state is a place in each
// pattern and whether a character was taken yet (the empty string is no
// drive's name); a breadth-first walk over them finds the end of both.
func intersect(a, b []globItem) (string, bool) {
	cols := len(b) + 1
	index := func(i, j int, some bool) int {
		n := (i*cols + j) * 2
		if some {
			n++
		}
		return n
	}
	const unseen = -2
	prev := make([]int, (len(a)+1)*cols*2) // the state before, or unseen
	took := make([]rune, len(prev))        // the character taken to get here, or -1
	for k := range prev {
		prev[k] = unseen
	}
	// The character two steps have in common, looked up once for each
	// pair of steps: -1 for none yet known, -2 for none at all.
	common := make([]rune, (len(a)+1)*cols)
	for k := range common {
		common[k] = -1
	}
	start := index(0, 0, false)
	prev[start], took[start] = -1, -1
	queue := []int{start}
	visit := func(from, i, j int, some bool, r rune) {
		if to := index(i, j, some); prev[to] == unseen {
			prev[to], took[to] = from, r
			queue = append(queue, to)
		}
	}
	for len(queue) > 0 {
		k := queue[0]
		queue = queue[1:]
		some := k%2 == 1
		i, j := (k/2)/cols, (k/2)%cols
		if i == len(a) && j == len(b) && some {
			var out []rune
			for at := k; at != start; at = prev[at] {
				if took[at] >= 0 {
					out = append(out, took[at])
				}
			}
			slices.Reverse(out)
			return string(out), true
		}
		// A star may match nothing.
		if i < len(a) && a[i].star {
			visit(k, i+1, j, some, -1)
		}
		if j < len(b) && b[j].star {
			visit(k, i, j+1, some, -1)
		}
		// Both take one character: a star stays where it is.
		if i < len(a) && j < len(b) {
			c := &common[i*cols+j]
			if *c == -1 {
				*c = -2
				if r, ok := a[i].set.common(b[j].set); ok {
					*c = r
				}
			}
			if r := *c; r >= 0 {
				ni, nj := i+1, j+1
				if a[i].star {
					ni = i
				}
				if b[j].star {
					nj = j
				}
				visit(k, ni, nj, true, r)
			}
		}
	}
	return "", false
}

// nodeNames are the device nodes a drive has: /dev/ and a name.
var nodeNames = append(literals("/dev/"), globItem{set: anyChar}, anyRun)

// pathNames are the stable paths a drive has: udev's ID_PATH or a sysfs
// path, which never start with /dev/ (every string that does not).
var pathNames = func() [][]globItem {
	not := func(r rune) globItem { return globItem{set: runeSet{neg: true, ranges: [][2]rune{{r, r}}}} }
	var out [][]globItem
	prefix := "/dev/"
	for i := range len(prefix) + 1 {
		if i > 0 {
			out = append(out, literals(prefix[:i])) // a start of /dev/, and nothing after
		}
		if i < len(prefix) {
			out = append(out, append(literals(prefix[:i]), not(rune(prefix[i])), anyRun))
		}
	}
	return out
}()

// matchesPath returns a stable path the pattern matches, if any.
func matchesPath(p []globItem) (string, bool) {
	for _, names := range pathNames {
		if s, ok := intersect(p, names); ok {
			return s, true
		}
	}
	return "", false
}

// overlap says how two port patterns can both match one drive: one
// string both match, or one matching the drive's node while the other
// matches its stable path. It returns "" when no drive can match both.
func overlap(p, q string) string {
	a, okA := parseGlob(p)
	b, okB := parseGlob(q)
	if !okA || !okB {
		return ""
	}
	if s, ok := intersect(a, b); ok {
		return "both match " + strconv.Quote(s)
	}
	if node, ok := intersect(a, nodeNames); ok {
		if path, ok := matchesPath(b); ok {
			return "a drive whose node is " + strconv.Quote(node) + " and whose path is " + strconv.Quote(path) + " matches both"
		}
	}
	if node, ok := intersect(b, nodeNames); ok {
		if path, ok := matchesPath(a); ok {
			return "a drive whose path is " + strconv.Quote(path) + " and whose node is " + strconv.Quote(node) + " matches both"
		}
	}
	return ""
}
