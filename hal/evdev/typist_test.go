package evdev

import (
	"time"
)

// HID scanners report each key's usage (EV_MSC/MSC_SCAN) before the key
// and a SYN_REPORT after it, as the kernel's usbhid driver writes them.
const (
	evMsc   = 4
	mscScan = 4
)

// typist makes the event stream a scanner sends when it types text with
// a layout: Shift or AltGr held around the keys that need them, "\n" as
// Enter, 8 ms a key.
type typist struct {
	layout Layout
	at     time.Duration
}

func (ty *typist) events(text string) []Event {
	var evs []Event
	step := func(typ, code uint16, value int32) {
		evs = append(evs, Event{Time: ty.at, Type: typ, Code: code, Value: value})
	}
	press := func(code uint16, value int32) {
		if usage, ok := hidUsage(code); ok {
			step(evMsc, mscScan, 0x70000|usage)
		}
		step(evKey, code, value)
		step(evSyn, 0, 0)
		ty.at += 4 * time.Millisecond
	}
	for _, r := range text {
		code, mod := ty.find(r)
		if mod != 0 {
			press(mod, keyDown)
		}
		press(code, keyDown)
		press(code, keyUp)
		if mod != 0 {
			press(mod, keyUp)
		}
	}
	return evs
}

// find returns the key that types r and the modifier it needs.
func (ty *typist) find(r rune) (code, mod uint16) {
	if r == '\n' {
		return keyEnter, 0
	}
	for c, x := range ty.layout.plain {
		if x == r {
			return c, 0
		}
	}
	for c, x := range ty.layout.shift {
		if x == r {
			return c, keyLeftShift
		}
	}
	for c, x := range ty.layout.altGr {
		if x == r {
			return c, keyRightAlt
		}
	}
	panic("no key types " + string(r) + " in layout " + ty.layout.name)
}

// bytes encodes events as records of the given word size.
func encode(evs []Event, wordBytes int) []byte {
	var b []byte
	for _, ev := range evs {
		b = AppendEvent(b, ev, wordBytes)
	}
	return b
}

// hidUsage is the USB HID keyboard usage (page 7) of a key: what the
// kernel reports as its scan code.
func hidUsage(code uint16) (int32, bool) {
	for _, row := range letterRows {
		if i := int(code) - int(row.first); i >= 0 && i < len(row.keys) {
			return 0x04 + int32(row.keys[i]-'a'), true
		}
	}
	if code >= 2 && code <= 11 {
		return 0x1e + int32(code-2), true // 1..9, then 0
	}
	u, ok := map[uint16]int32{
		keyEnter: 0x28, keyEsc: 0x29, keyBackspace: 0x2a, keyTab: 0x2b, keySpace: 0x2c, keyMinus: 0x2d, keyEqual: 0x2e,
		keyLeftBrace: 0x2f, keyRightBrace: 0x30, keyBackslash: 0x31, keySemicolon: 0x33, keyApostrophe: 0x34,
		keyGrave: 0x35, keyComma: 0x36, keyDot: 0x37, keySlash: 0x38, keyCapsLock: 0x39, key102nd: 0x64,
		keyLeftCtrl: 0xe0, keyLeftShift: 0xe1, keyLeftAlt: 0xe2, keyRightAlt: 0xe6,
	}[code]
	return u, ok
}
