// Package lots is the bookkeeping of production orders ("lots"): the
// names operators give them, how many drives of a lot passed, failed or
// were aborted, which lots ran lately, the next default name, and whether
// a drive was already done in a lot. It works on the production record's
// entries and keeps no state of its own, so the record stays the one
// source of truth: a count after a power loss is what the record holds.
//
// lots imports hal and record only; never a backend, engine, ui or
// firmware.
package lots

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/record"
)

// MaxNameLen is the longest lot name, in characters: it fits a report's
// header, a file name and, scrolled, the LCD.
const MaxNameLen = 64

// ErrBadName is returned (wrapped) for a lot name that cannot be used.
var ErrBadName = errors.New("not a usable lot name")

// notInFileNames are characters that a FAT stick or a Windows machine
// refuses in a file name (the slashes are refused as path separators).
const notInFileNames = `:*?"<>|`

// CheckName says what is wrong with a lot name, or nil. A lot name ends up
// in file names (reports, certificates), CSV cells and on the LCD, so it
// must be printable UTF-8 without path separators, control characters or
// what a file system refuses, must not start or end with a space or a
// dot, must not start like a spreadsheet formula, and holds at most
// MaxNameLen characters.
func CheckName(name string) error {
	shown := name
	if n := utf8.RuneCountInString(name); n > 2*MaxNameLen {
		// Enough to find it by, not the whole of a pasted page.
		shown = string([]rune(name)[:MaxNameLen]) + "…"
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("lot name %q: %w: %s", shown, ErrBadName, fmt.Sprintf(format, args...))
	}
	if name == "" {
		return fmt.Errorf("lot name: %w: it is empty", ErrBadName)
	}
	if !utf8.ValidString(name) {
		for i := 0; i < len(name); {
			r, n := utf8.DecodeRuneInString(name[i:])
			if r == utf8.RuneError && n <= 1 {
				return bad("byte %d is not UTF-8 text", i+1)
			}
			i += n
		}
	}
	if n := utf8.RuneCountInString(name); n > MaxNameLen {
		return bad("it is %d characters long; at most %d fit", n, MaxNameLen)
	}
	pos := 0
	for _, r := range name {
		pos++
		switch {
		case r == '/' || r == '\\':
			return bad("character %d (%q) is a path separator", pos, r)
		case unicode.IsControl(r):
			return bad("character %d is a control character (U+%04X)", pos, r)
		case !unicode.IsPrint(r):
			return bad("character %d (U+%04X) is not a printable character", pos, r)
		case strings.ContainsRune(notInFileNames, r):
			return bad("character %d (%q) is not allowed in file names", pos, r)
		}
	}
	first, _ := utf8.DecodeRuneInString(name)
	last, _ := utf8.DecodeLastRuneInString(name)
	switch {
	case first == ' ' || last == ' ':
		return bad("it starts or ends with a space")
	case first == '.' || last == '.':
		return bad("it starts or ends with a dot")
	case strings.ContainsRune("=+-@", first):
		return bad("it starts with %q, which a spreadsheet reads as a formula", first)
	}
	return nil
}

// MaxGoal bounds a lot's target count: more drives than one appliance
// makes in years.
const MaxGoal = 1_000_000

// ErrBadGoal is returned (wrapped) for a target count that cannot be used.
var ErrBadGoal = errors.New("not a usable target count")

// CheckGoal says what is wrong with a lot's target count (how many drives
// must pass), or nil.
func CheckGoal(n int) error {
	switch {
	case n < 1:
		return fmt.Errorf("target count %d: %w: a lot needs at least 1 drive to pass", n, ErrBadGoal)
	case n > MaxGoal:
		return fmt.Errorf("target count %d: %w: at most %d", n, ErrBadGoal, MaxGoal)
	}
	return nil
}

// CheckLot says what is wrong with a lot to start: its name, and its target
// count, where 0 is a lot without a count.
func CheckLot(name string, goal int) error {
	if err := CheckName(name); err != nil {
		return err
	}
	if goal == 0 {
		return nil
	}
	if err := CheckGoal(goal); err != nil {
		return fmt.Errorf("lot %s: %w", name, err)
	}
	return nil
}

// counts reports whether an entry counts for its lot: it verifies, and its
// job made the drive (a verify-only job re-checks drives already counted).
func counts(e record.Entry) bool {
	return e.Problem == "" && e.Mode != "verify" && e.Mode != "hash"
}

// Counts returns how many drives of the lot passed, failed and were
// aborted. Entries that do not verify (Problem set by record.Read) and
// verify-only jobs are not counted.
func Counts(entries []record.Entry, lot string) (pass, fail, aborted int) {
	if lot == "" {
		return 0, 0, 0
	}
	for _, e := range entries {
		if e.Lot != lot || !counts(e) {
			continue
		}
		switch e.Result {
		case "PASS":
			pass++
		case "FAIL":
			fail++
		case "ABORTED":
			aborted++
		}
	}
	return pass, fail, aborted
}

// Progress is how far a lot is: the counter the panel shows.
type Progress struct {
	Lot                 string
	Goal                int // drives that must pass
	Pass, Fail, Aborted int
}

// NewProgress checks a lot's name and target count and counts what the
// record holds of it.
func NewProgress(entries []record.Entry, lot string, goal int) (Progress, error) {
	if err := CheckName(lot); err != nil {
		return Progress{}, err
	}
	if err := CheckGoal(goal); err != nil {
		return Progress{}, fmt.Errorf("lot %s: %w", lot, err)
	}
	p := Progress{Lot: lot, Goal: goal}
	p.Pass, p.Fail, p.Aborted = Counts(entries, lot)
	return p, nil
}

// Left is how many drives must still pass; never negative.
func (p Progress) Left() int { return max(0, p.Goal-p.Pass) }

// Done reports whether the lot reached its target count.
func (p Progress) Done() bool { return p.Pass >= p.Goal }

// Recent returns the lots of the record, the one used last first, each
// once, at most n of them.
func Recent(entries []record.Entry, n int) []string {
	var out []string
	seen := map[string]bool{}
	for i := len(entries) - 1; i >= 0 && len(out) < n; i-- {
		l := entries[i].Lot
		if l == "" || seen[l] {
			continue
		}
		seen[l] = true
		out = append(out, l)
	}
	return out
}

// NamePrefix starts the default lot names: LOT-0001, LOT-0002, ...
const NamePrefix = "LOT-"

// maxDigits bounds the numbers of default names that NextName counts on:
// a hand-typed LOT-99999999999 must not push every later default name
// out of reach.
const maxDigits = 8

// NextName returns the default name of a new lot: NamePrefix and the
// number after the highest one the record's default names used, in at
// least four digits ("LOT-0042").
func NextName(entries []record.Entry) string {
	top := 0
	for _, e := range entries {
		digits, ok := strings.CutPrefix(e.Lot, NamePrefix)
		if !ok || digits == "" || len(digits) > maxDigits || strings.Trim(digits, "0123456789") != "" {
			continue
		}
		if n, err := strconv.Atoi(digits); err == nil {
			top = max(top, n)
		}
	}
	return fmt.Sprintf("%s%04d", NamePrefix, top+1)
}

// NameFromScan takes a scanned code as a lot name: a refused scan stays
// refused, and a code the scanner passed must still be a usable name.
func NameFromScan(s hal.Scan) (string, error) {
	if s.Err != nil {
		return "", fmt.Errorf("lot name from the scanner: %w", s.Err)
	}
	if err := CheckName(s.Code); err != nil {
		return "", fmt.Errorf("lot name from the scanner: %w", err)
	}
	return s.Code, nil
}
