package fatfs

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrBadName is returned (wrapped) for a name FAT32 or exFAT cannot hold.
var ErrBadName = errors.New("a name FAT32 and exFAT cannot hold")

// MaxName is the longest name, in UTF-16 units, a long FAT name or an
// exFAT name holds.
const MaxName = 255

// ValidName checks that FAT32 (as a long name) and exFAT can both hold a
// file or folder name, the way Windows writes them: no control characters,
// none of " * / : < > ? \ |, no trailing dot or space (Windows drops them,
// so the name would not be what was asked), at most 255 UTF-16 units.
func ValidName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: an empty name", ErrBadName)
	case name == "." || name == "..":
		return fmt.Errorf("%w: %q", ErrBadName, name)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: %q is not valid UTF-8", ErrBadName, name)
	case len(utf16.Encode([]rune(name))) > MaxName:
		return fmt.Errorf("%w: the name is longer than %d characters", ErrBadName, MaxName)
	case strings.HasSuffix(name, "."):
		return fmt.Errorf("%w: the name ends with a dot", ErrBadName)
	case strings.HasSuffix(name, " "):
		return fmt.Errorf("%w: the name ends with a space", ErrBadName)
	}
	for _, r := range name {
		switch {
		case r < 0x20 || r == 0x7f:
			return fmt.Errorf("%w: the name holds the control character %U", ErrBadName, r)
		case strings.ContainsRune(`"*/:<>?\|`, r):
			return fmt.Errorf("%w: the name holds %q", ErrBadName, r)
		}
	}
	return nil
}

// ErrBadLabel is returned (wrapped) for a volume label a file system
// cannot hold.
var ErrBadLabel = errors.New("a volume label the file system cannot hold")

// Label returns the label as kind stores it: FAT labels are at most 11
// characters of upper-case ASCII (lower case is raised, as Windows does),
// without " * + , . / : ; < = > ? [ \ ] |; exFAT labels are at most 11
// UTF-16 units without control characters or " * / : < > ? \ |.
func Label(kind Kind, label string) (string, error) {
	if label == "" {
		return "", nil
	}
	if !utf8.ValidString(label) {
		return "", fmt.Errorf("%w: %q is not valid UTF-8", ErrBadLabel, label)
	}
	if kind == ExFAT {
		if n := len(utf16.Encode([]rune(label))); n > 11 {
			return "", fmt.Errorf("%w: %q is %d characters, exFAT holds 11", ErrBadLabel, label, n)
		}
		for _, r := range label {
			if r < 0x20 || r == 0x7f || strings.ContainsRune(`"*/:<>?\|`, r) {
				return "", fmt.Errorf("%w: %q holds %q", ErrBadLabel, label, r)
			}
		}
		return label, nil
	}
	up := strings.ToUpper(label)
	if len(up) > 11 {
		return "", fmt.Errorf("%w: %q is %d characters, FAT holds 11", ErrBadLabel, label, len(up))
	}
	if up[0] == ' ' {
		return "", fmt.Errorf("%w: %q starts with a space", ErrBadLabel, label)
	}
	for _, r := range up {
		if r < 0x20 || r >= 0x7f || strings.ContainsRune(`"*+,./:;<=>?[\]|`, r) {
			return "", fmt.Errorf("%w: %q holds %q, which a FAT label cannot", ErrBadLabel, label, r)
		}
	}
	return up, nil
}

// shortChars are the characters an 8.3 name may hold besides A-Z and 0-9.
const shortChars = "!#$%&'()-@^_`{}~"

func shortOK(r rune) bool {
	return r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(shortChars, r)
}

// shortNames makes the 8.3 names of one folder, each unique in it.
type shortNames map[[11]byte]bool

// make returns long's 8.3 name, the NTRes case bits, and whether a long
// name must go with it. A name that is already 8.3 (all upper case, or an
// all-lower-case base or extension, which NTRes records) needs none.
func (t shortNames) make(long string) (sn [11]byte, ntres byte, lfn bool) {
	if sn, ntres, ok := exact83(long); ok && !t[sn] {
		t[sn] = true
		return sn, ntres, false
	}
	// The basis name: upper case, no spaces or dots but the last one's
	// extension, other characters as '_'.
	base, ext := long, ""
	if i := strings.LastIndexByte(long, '.'); i > 0 {
		base, ext = long[:i], long[i+1:]
	}
	clean := func(s string, n int) string {
		var b []byte
		for _, r := range strings.ToUpper(s) {
			if len(b) == n {
				break
			}
			switch {
			case r == ' ' || r == '.':
			case shortOK(r):
				b = append(b, byte(r))
			default:
				b = append(b, '_')
			}
		}
		return string(b)
	}
	b, e := clean(strings.TrimLeft(base, ". "), 8), clean(ext, 3)
	if b == "" {
		b = "_"
	}
	for i := 1; ; i++ {
		tail := "~" + strconv.Itoa(i)
		stem := b
		if len(stem)+len(tail) > 8 {
			stem = stem[:8-len(tail)]
		}
		sn = pad83(stem+tail, e)
		if !t[sn] {
			t[sn] = true
			return sn, 0, true
		}
	}
}

// exact83 reports whether name is a valid 8.3 name as it stands, and its
// encoding with the case bits.
func exact83(name string) (sn [11]byte, ntres byte, ok bool) {
	base, ext := name, ""
	if i := strings.IndexByte(name, '.'); i >= 0 {
		base, ext = name[:i], name[i+1:]
		if strings.Contains(ext, ".") || ext == "" {
			return sn, 0, false
		}
	}
	if len(base) == 0 || len(base) > 8 || len(ext) > 3 {
		return sn, 0, false
	}
	caseOf := func(s string) (byte, bool) { // 0 upper, 1 lower, or not 8.3
		lower, upper := false, false
		for _, r := range s {
			switch {
			case r >= 'a' && r <= 'z':
				lower = true
			case r >= 'A' && r <= 'Z':
				upper = true
			case !shortOK(r):
				return 0, false
			}
		}
		switch {
		case lower && upper:
			return 0, false
		case lower:
			return 1, true
		}
		return 0, true
	}
	bc, ok1 := caseOf(base)
	ec, ok2 := caseOf(ext)
	if !ok1 || !ok2 {
		return sn, 0, false
	}
	if bc == 1 {
		ntres |= 0x08
	}
	if ec == 1 {
		ntres |= 0x10
	}
	return pad83(strings.ToUpper(base), strings.ToUpper(ext)), ntres, true
}

func pad83(base, ext string) [11]byte {
	var sn [11]byte
	for i := range sn {
		sn[i] = ' '
	}
	copy(sn[:8], base)
	copy(sn[8:], ext)
	return sn
}
