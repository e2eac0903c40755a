package evdev

import (
	"fmt"
	"slices"
	"strings"
)

// Linux key codes (linux/input-event-codes.h) the layouts use.
const (
	keyEsc        = 1
	keyMinus      = 12
	keyEqual      = 13
	keyBackspace  = 14
	keyTab        = 15
	keyLeftBrace  = 26
	keyRightBrace = 27
	keyEnter      = 28
	keyLeftCtrl   = 29
	keySemicolon  = 39
	keyApostrophe = 40
	keyGrave      = 41
	keyLeftShift  = 42
	keyBackslash  = 43
	keyComma      = 51
	keyDot        = 52
	keySlash      = 53
	keyRightShift = 54
	keyKPAsterisk = 55
	keyLeftAlt    = 56
	keySpace      = 57
	keyCapsLock   = 58
	keyNumLock    = 69
	keyKPMinus    = 74
	keyKPPlus     = 78
	keyKPDot      = 83
	key102nd      = 86 // the extra key beside left Shift on ISO keyboards
	keyKPEnter    = 96
	keyRightCtrl  = 97
	keyKPSlash    = 98
	keyRightAlt   = 100 // AltGr on European layouts
	keyLeftMeta   = 125
	keyRightMeta  = 126
)

// The letter keys in code order, rows of a US keyboard.
var (
	letterRows = []struct {
		first uint16
		keys  string
	}{{16, "qwertyuiop"}, {30, "asdfghjkl"}, {44, "zxcvbnm"}}
	// The digit row: KEY_1 is 2 ... KEY_0 is 11.
	digitKeys = "1234567890"
	// The keypad's digits by key code.
	keypad = map[uint16]rune{71: '7', 72: '8', 73: '9', 75: '4', 76: '5', 77: '6', 79: '1', 80: '2', 81: '3', 82: '0',
		keyKPAsterisk: '*', keyKPMinus: '-', keyKPPlus: '+', keyKPDot: '.', keyKPSlash: '/'}
)

// Layout maps key codes to characters: plain, with Shift, and with AltGr.
// Keys it lacks (dead keys, function keys) end the code they are typed
// in as refused.
type Layout struct {
	name  string
	plain map[uint16]rune
	shift map[uint16]rune
	altGr map[uint16]rune
}

// Name is the layout's name as a board gives it ("us", "de").
func (l Layout) Name() string { return l.name }

// newLayout builds a layout from the US letter and digit positions, the
// given punctuation keys, and swaps (a key code whose letter another
// layout moved, such as Y and Z on a German keyboard).
func newLayout(name, shiftedDigits string, punct map[uint16][2]rune, swap map[uint16]rune, altGr map[uint16]rune) Layout {
	l := Layout{name: name, plain: map[uint16]rune{}, shift: map[uint16]rune{}, altGr: altGr}
	for _, row := range letterRows {
		for i, r := range row.keys {
			code := row.first + uint16(i)
			if s, ok := swap[code]; ok {
				r = s
			}
			l.plain[code] = r
			l.shift[code] = []rune(strings.ToUpper(string(r)))[0]
		}
	}
	shifted := []rune(shiftedDigits)
	for i, r := range digitKeys {
		l.plain[uint16(2+i)] = r
		l.shift[uint16(2+i)] = shifted[i]
	}
	for code, pair := range punct {
		l.plain[code], l.shift[code] = pair[0], pair[1]
	}
	l.plain[keySpace], l.shift[keySpace] = ' ', ' '
	// Control keys type control characters, which refuse the code.
	for code, r := range map[uint16]rune{keyTab: '\t', keyEsc: '\x1b', keyBackspace: '\b'} {
		l.plain[code], l.shift[code] = r, r
	}
	return l
}

// US is the US keyboard layout, most scanners' factory setting.
var US = newLayout("us", "!@#$%^&*()", map[uint16][2]rune{
	keyMinus: {'-', '_'}, keyEqual: {'=', '+'}, keyLeftBrace: {'[', '{'}, keyRightBrace: {']', '}'},
	keySemicolon: {';', ':'}, keyApostrophe: {'\'', '"'}, keyGrave: {'`', '~'}, keyBackslash: {'\\', '|'},
	keyComma: {',', '<'}, keyDot: {'.', '>'}, keySlash: {'/', '?'}, key102nd: {'\\', '|'},
}, nil, nil)

// DE is the German keyboard layout (QWERTZ). Its dead keys (^ and the
// accents) are left out: they type nothing on their own.
var DE = newLayout("de", "!\"§$%&/()=", map[uint16][2]rune{
	keyMinus: {'ß', '?'}, keyLeftBrace: {'ü', 'Ü'}, keyRightBrace: {'+', '*'},
	keySemicolon: {'ö', 'Ö'}, keyApostrophe: {'ä', 'Ä'}, keyBackslash: {'#', '\''},
	keyComma: {',', ';'}, keyDot: {'.', ':'}, keySlash: {'-', '_'}, key102nd: {'<', '>'},
}, map[uint16]rune{21: 'z', 44: 'y'}, map[uint16]rune{
	16: '@', 18: '€', 3: '²', 4: '³', 8: '{', 9: '[', 10: ']', 11: '}', keyMinus: '\\',
	keyRightBrace: '~', key102nd: '|', 50: 'µ',
})

// Layouts lists the layouts a board may name.
var Layouts = []Layout{US, DE}

// LayoutNames lists the names a board may give.
func LayoutNames() []string {
	var names []string
	for _, l := range Layouts {
		names = append(names, l.name)
	}
	return names
}

// LayoutByName finds a layout; "" is US.
func LayoutByName(name string) (Layout, error) {
	if name == "" {
		return US, nil
	}
	if i := slices.IndexFunc(Layouts, func(l Layout) bool { return l.name == name }); i >= 0 {
		return Layouts[i], nil
	}
	return Layout{}, fmt.Errorf("scanner layout %q: give one of %s", name, strings.Join(LayoutNames(), ", "))
}
