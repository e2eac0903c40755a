package evdev

import (
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/clonebay/clonebay/hal"
)

// Event types and key values of struct input_event.
const (
	evSyn = 0
	evKey = 1

	keyUp     = 0
	keyDown   = 1
	keyRepeat = 2
)

// Event is one struct input_event.
type Event struct {
	Time  time.Duration // since the epoch, as the kernel stamped it
	Type  uint16
	Code  uint16
	Value int32
}

// EventSize is the size of struct input_event for a process of this
// word size: two longs of time (seconds, microseconds), then type, code
// and value. 24 bytes on 64-bit, 16 on 32-bit.
func EventSize(wordBytes int) int { return 2*wordBytes + 8 }

// ParseEvent reads one input_event record of a process with the given
// word size (4 or 8 bytes), in the machine's byte order.
func ParseEvent(b []byte, wordBytes int) Event {
	word := func(b []byte) int64 {
		if wordBytes == 4 {
			return int64(int32(binary.NativeEndian.Uint32(b)))
		}
		return int64(binary.NativeEndian.Uint64(b))
	}
	t := 2 * wordBytes
	return Event{
		Time:  time.Duration(word(b))*time.Second + time.Duration(word(b[wordBytes:]))*time.Microsecond,
		Type:  binary.NativeEndian.Uint16(b[t:]),
		Code:  binary.NativeEndian.Uint16(b[t+2:]),
		Value: int32(binary.NativeEndian.Uint32(b[t+4:])),
	}
}

// AppendEvent appends one input_event record, as the kernel writes it,
// for a process with the given word size.
func AppendEvent(b []byte, ev Event, wordBytes int) []byte {
	sec, usec := int64(ev.Time/time.Second), int64(ev.Time%time.Second/time.Microsecond)
	for _, w := range []int64{sec, usec} {
		if wordBytes == 4 {
			b = binary.NativeEndian.AppendUint32(b, uint32(int32(w)))
		} else {
			b = binary.NativeEndian.AppendUint64(b, uint64(w))
		}
	}
	b = binary.NativeEndian.AppendUint16(b, ev.Type)
	b = binary.NativeEndian.AppendUint16(b, ev.Code)
	return binary.NativeEndian.AppendUint32(b, uint32(ev.Value))
}

// MaxPause is the longest pause between two keys of one code: a scanner
// types a code in one burst. Keys typed after a longer pause start a new
// code, and what came before (a code without Enter) is refused.
const MaxPause = time.Second

// Decoder turns key events into scanned codes.
type Decoder struct {
	layout Layout
	code   strings.Builder
	n      int    // characters typed into the code, kept or not
	bad    string // why the code is refused; "" while it is fine
	last   time.Duration
	shift  [2]bool // left, right
	altGr  bool
	ctrl   [2]bool
	alt    bool
	meta   bool
	caps   bool
}

// NewDecoder decodes keys typed with the layout.
func NewDecoder(l Layout) *Decoder { return &Decoder{layout: l} }

// Event feeds one input event. When it ends a code (Enter, or a pause
// of more than MaxPause after a code without Enter), ok is true and scan
// is the code or why it was refused.
func (d *Decoder) Event(ev Event) (scan hal.Scan, ok bool) {
	if ev.Type != evKey {
		return hal.Scan{}, false // sync and scan-code reports carry no key
	}
	down := ev.Value == keyDown || ev.Value == keyRepeat
	switch ev.Code {
	case keyLeftShift:
		d.shift[0] = down
		return hal.Scan{}, false
	case keyRightShift:
		d.shift[1] = down
		return hal.Scan{}, false
	case keyRightAlt:
		d.altGr = down
		return hal.Scan{}, false
	case keyLeftCtrl:
		d.ctrl[0] = down
		return hal.Scan{}, false
	case keyRightCtrl:
		d.ctrl[1] = down
		return hal.Scan{}, false
	case keyLeftAlt:
		d.alt = down
		return hal.Scan{}, false
	case keyLeftMeta, keyRightMeta:
		d.meta = down
		return hal.Scan{}, false
	case keyCapsLock:
		if ev.Value == keyDown {
			d.caps = !d.caps
		}
		return hal.Scan{}, false
	case keyNumLock:
		return hal.Scan{}, false // the keypad always types digits here
	}
	if !down {
		return hal.Scan{}, false
	}
	// A code left without Enter is refused once the next one starts.
	if d.n > 0 && ev.Time-d.last > MaxPause {
		scan, ok = d.end("no Enter after it (the scanner must send Enter after each code)"), true
	}
	d.last = ev.Time
	if ev.Code == keyEnter || ev.Code == keyKPEnter {
		if d.n == 0 {
			return scan, ok // an empty line is no code
		}
		return d.end(""), true
	}
	d.key(ev.Code)
	return scan, ok
}

// key types one key into the code.
func (d *Decoder) key(code uint16) {
	d.n++
	if d.bad != "" {
		return
	}
	if d.ctrl[0] || d.ctrl[1] || d.alt || d.meta {
		d.bad = fmt.Sprintf("character %d was typed with Ctrl, Alt or Meta held (key %d)", d.n, code)
		return
	}
	shift := d.shift[0] || d.shift[1]
	r, ok := rune(0), false
	switch {
	case d.altGr:
		r, ok = d.layout.altGr[code]
	case keypad[code] != 0:
		r, ok = keypad[code], true
	case shift:
		r, ok = d.layout.shift[code]
	default:
		r, ok = d.layout.plain[code]
	}
	if !ok {
		d.bad = fmt.Sprintf("character %d is key %d, which types nothing in the %s layout", d.n, code, d.layout.name)
		return
	}
	if d.caps && d.layout.plain[code] != d.layout.shift[code] && isLetter(d.layout.plain[code]) {
		// Caps Lock turns a letter's case, as Shift does.
		r = d.layout.plain[code]
		if !shift {
			r = d.layout.shift[code]
		}
	}
	if d.n <= hal.MaxCodeLen+1 {
		d.code.WriteRune(r) // the rest is only counted
	}
}

func isLetter(r rune) bool { return r >= 'a' && r <= 'z' || r == 'ä' || r == 'ö' || r == 'ü' }

// end finishes the code: refused with why, or checked.
func (d *Decoder) end(why string) hal.Scan {
	code, n, bad := d.code.String(), d.n, d.bad
	d.code.Reset()
	d.n, d.bad = 0, ""
	if why == "" {
		why = bad
	}
	if why == "" && n > hal.MaxCodeLen {
		why = fmt.Sprintf("the code is %d characters long; at most %d", n, hal.MaxCodeLen)
	}
	if why != "" {
		return hal.Scan{Err: fmt.Errorf("%w: %s", hal.ErrBadCode, why)}
	}
	if err := hal.CheckCode(code); err != nil {
		return hal.Scan{Err: err}
	}
	return hal.Scan{Code: code}
}
