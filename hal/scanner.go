package hal

import (
	"context"
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Scan is one code a barcode scanner read, or why a read was refused.
type Scan struct {
	Code string
	// Err, when set, wraps ErrBadCode and says what was wrong; Code is
	// then empty, so a refused read can never become a lot name.
	Err error
}

// CodeReader reads codes from a barcode scanner. A USB scanner is a
// keyboard: it types a code and presses Enter. Run sends one Scan per
// code (refused reads included, so the panel can say why) until ctx ends,
// then returns ctx.Err(); a reader whose device fails (the scanner was
// unplugged) returns that error. Every send selects on ctx.Done().
type CodeReader interface {
	Run(ctx context.Context, scans chan<- Scan) error
}

// MaxCodeLen is the longest code a reader passes on, in characters: a lot
// name or a work-order number, with room to spare.
const MaxCodeLen = 128

// ErrBadCode is returned (wrapped) for a scanned code that is refused.
var ErrBadCode = errors.New("scanned code refused")

// CheckCode says what is wrong with a scanned code, or nil: it must be
// printable UTF-8 text of 1..MaxCodeLen characters. Readers call it so
// they all refuse the same codes.
func CheckCode(code string) error {
	if code == "" {
		return fmt.Errorf("%w: the code is empty", ErrBadCode)
	}
	if !utf8.ValidString(code) {
		return fmt.Errorf("%w: the code is not UTF-8 text", ErrBadCode)
	}
	if n := utf8.RuneCountInString(code); n > MaxCodeLen {
		return fmt.Errorf("%w: the code is %d characters long; at most %d", ErrBadCode, n, MaxCodeLen)
	}
	pos := 0
	for _, r := range code {
		pos++
		switch {
		case unicode.IsControl(r):
			return fmt.Errorf("%w: character %d of the code is a control character (U+%04X)", ErrBadCode, pos, r)
		case !unicode.IsPrint(r):
			return fmt.Errorf("%w: character %d of the code (U+%04X) is not printable", ErrBadCode, pos, r)
		}
	}
	return nil
}

// Lamps is what a stack light (a signal tower) shows: green while the
// line runs, red when any port failed, amber when a lot is done or the
// line waits for the operator. The appliance decides; the light shows.
type Lamps struct {
	Green, Amber, Red bool
}

func (l Lamps) String() string {
	on := func(b bool, c string) string {
		if b {
			return c
		}
		return "-"
	}
	return on(l.Green, "G") + on(l.Amber, "A") + on(l.Red, "R")
}

// StackLight drives a stack light. Set shows exactly the given lamps.
type StackLight interface {
	Set(l Lamps) error
}
