package appliance

import (
	"context"
	"errors"

	"github.com/clonebay/clonebay/ui"
)

// ErrStopped says the appliance is not running (any more).
var ErrStopped = errors.New("the appliance is not running")

// Send gives the panel's model an operator's request from a front end
// other than the buttons (a web panel): it goes the one way every event
// goes, so a front end can do only what the panel allows, and the LCD
// shows what it did. Send waits until the loop has taken the event, or
// until ctx ends.
func (a *Appliance) Send(ctx context.Context, ev ui.Event) error {
	select {
	case a.events <- frontEndEvent{ev}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Subscribe returns a channel that receives the panel's view after every
// change the loop shows, and a function that ends the subscription. A
// subscriber that falls behind misses views, never the latest one: the
// channel holds one view, replaced by a newer one. The channel is closed
// when the subscription or the appliance ends.
func (a *Appliance) Subscribe() (<-chan ui.View, func()) {
	ch := make(chan ui.View, 1)
	a.subsMu.Lock()
	a.subs[ch] = struct{}{}
	a.subsMu.Unlock()
	var once bool
	return ch, func() {
		a.subsMu.Lock()
		defer a.subsMu.Unlock()
		if _, ok := a.subs[ch]; ok && !once {
			once = true
			delete(a.subs, ch)
			close(ch)
		}
	}
}

// publish gives every subscriber the current view; the loop calls it.
func (a *Appliance) publish() {
	a.subsMu.Lock()
	defer a.subsMu.Unlock()
	if len(a.subs) == 0 {
		return
	}
	v := a.model.View()
	for ch := range a.subs {
		select {
		case <-ch: // drop the view the subscriber has not taken
		default:
		}
		ch <- v
	}
}

// closeSubscribers ends every subscription when the appliance stops.
func (a *Appliance) closeSubscribers() {
	a.subsMu.Lock()
	defer a.subsMu.Unlock()
	for ch := range a.subs {
		delete(a.subs, ch)
		close(ch)
	}
}
