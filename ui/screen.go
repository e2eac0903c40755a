package ui

import (
	"fmt"
	"time"

	"github.com/clonebay/clonebay/hal"
)

// screen is one screen of the panel. It owns what only it needs (a
// cursor, the choices made on it) and reads what the panel shares from
// the Model; what it owns is born with it and dies when another screen
// takes its place.
type screen interface {
	// name says which screen this is, for a second front end.
	name() string
	// update handles an event while the screen is shown and returns the
	// screen to show next: itself to stay.
	update(m *Model, ev Event) (screen, []Command)
	// lines renders the screen for a c x r display.
	lines(m *Model, c, r int) []string
}

// pressed returns the button of a key event: a press, or the auto-repeat
// of a held key. Releases and other events report false.
func pressed(ev Event) (hal.ButtonEvent, bool) {
	b, ok := ev.(Button)
	if !ok || (b.Action != hal.Press && b.Action != hal.Repeat) {
		return hal.ButtonEvent{}, false
	}
	return b.ButtonEvent, true
}

// list is the cursor of every menu-like screen: Up and Down move it over
// n items (auto-repeat moves it on), OK chooses the item under it, Back
// leaves.
type list struct {
	at    int
	clamp bool // stop at the first and the last item; else wrap round
}

// listKey is what a key did to a list.
type listKey int

const (
	listStay  listKey = iota // the cursor moved, or the key means nothing here
	listChose                // OK on the item under the cursor
	listBack                 // Back
)

// key moves the cursor over n items for Up and Down and says what the
// key was. An empty list has one place, so the cursor stays at 0.
func (l *list) key(b hal.Button, n int) listKey {
	n = max(n, 1)
	switch b {
	case hal.Up:
		if l.clamp {
			l.at = max(0, l.at-1)
		} else {
			l.at = (l.at + n - 1) % n
		}
	case hal.Down:
		if l.clamp {
			l.at = min(n-1, l.at+1)
		} else {
			l.at = (l.at + 1) % n
		}
	case hal.OK:
		return listChose
	case hal.Back:
		return listBack
	}
	return listStay
}

// render shows the page of items that holds the cursor, r rows a page,
// the cursor's item marked with '>'.
func (l list) render(c, r int, items []string, numbered bool) []string {
	top := l.at - l.at%r
	var out []string
	for i := top; i < top+r && i < len(items); i++ {
		mark := " "
		if i == l.at {
			mark = ">"
		}
		text := items[i]
		if numbered {
			text = fmt.Sprintf("%d %s", i+1, text)
		}
		out = append(out, mark+fit(text, c-1))
	}
	return out
}

// HoldToOverwrite is how long OK must be held to overwrite targets that
// hold data, or to erase drives.
const HoldToOverwrite = 2 * time.Second

// hold is a hold-to-confirm: once started by a press of OK, it confirms
// when OK has been held for HoldToOverwrite; a release before then
// cancels it.
type hold struct {
	from    time.Duration
	holding bool
}

// start starts the hold at now (OK was pressed).
func (h *hold) start(now time.Duration) { h.holding, h.from = true, now }

// confirmed follows ticks and OK's release, and reports true once, on the
// tick that completes the hold.
func (h *hold) confirmed(now time.Duration, ev Event) bool {
	switch ev := ev.(type) {
	case Button:
		if ev.Button == hal.OK && ev.Action == hal.Release {
			h.holding = false
		}
	case Tick:
		if h.holding && now-h.from >= HoldToOverwrite {
			h.holding = false
			return true
		}
	}
	return false
}

// prompt is the hold's line on the LCD: what to do, then a bar that
// fills while OK is held.
func (h hold) prompt(now time.Duration, c int) string {
	if h.holding {
		return "Hold " + bar(c-5, int64(now-h.from), int64(HoldToOverwrite))
	}
	return fmt.Sprintf("Hold OK %ds", HoldToOverwrite/time.Second)
}

// pick chooses the 4-row or the 2-row text.
func pick(rows int, four, two []string) []string {
	if rows >= 4 {
		return four
	}
	return two
}
