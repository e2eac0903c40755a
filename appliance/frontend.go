package appliance

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/clonebay/clonebay/images"
	"github.com/clonebay/clonebay/record"
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
	case a.events <- frontEndEvent{ev: ev}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Request gives the panel's model a front end's request and returns what
// became of it once the loop has handled it and every answer its
// commands gave at once: carried out (a job started: the next view shows
// it), or refused and why. It fails with ErrStopped when the appliance
// is not running.
func (a *Appliance) Request(ctx context.Context, req ui.Request) (ui.Answer, error) {
	answer := make(chan ui.Answer, 1)
	select {
	case a.events <- frontEndEvent{ev: req, answer: answer}:
	case <-a.stopped:
		return ui.Answer{}, ErrStopped
	case <-ctx.Done():
		return ui.Answer{}, ctx.Err()
	}
	select {
	case ans := <-answer:
		return ans, nil
	case <-a.stopped:
		return ui.Answer{}, ErrStopped
	case <-ctx.Done():
		return ui.Answer{}, ctx.Err()
	}
}

// frontEnd handles a front end's event on the loop and answers it.
func (a *Appliance) frontEnd(ctx context.Context, e frontEndEvent) {
	a.dispatch(ctx, e.ev)
	ans, ok := a.model.TakeAnswer()
	if e.answer == nil {
		return
	}
	if !ok {
		ans = ui.Answer{Refused: "the panel did not take the request", Code: ui.RefusedInvalid}
	}
	if ans.OK() {
		a.log.Info("front end: request done", "request", fmt.Sprintf("%T", e.ev), "text", ans.Text)
	} else {
		a.log.Info("front end: request refused", "request", fmt.Sprintf("%T", e.ev), "reason", ans.Refused)
	}
	e.answer <- ans
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
	last := a.lastView
	a.subsMu.Unlock()
	if last != nil {
		ch <- *last // a new subscriber sees the panel at once
	}
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

// publishEvery is how often, at most, a view is published for progress
// and ticks alone: a job's progress comes many times a second per port,
// and a front end shows a few frames a second. Any other event is
// published at once; progress still shows within two ticks.
const publishEvery = 100 * time.Millisecond

// publish gives every subscriber the current view; the loop calls it.
func (a *Appliance) publish() {
	a.subsMu.Lock()
	defer a.subsMu.Unlock()
	if len(a.subs) == 0 {
		a.lastView = nil
		return
	}
	if !a.changed && time.Since(a.lastPub) < publishEvery {
		return
	}
	a.changed, a.lastPub = false, time.Now()
	v := a.model.View()
	a.lastView = &v
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

// Finished is a job's outcome, or a line port's, as metrics count it.
type Finished struct {
	Mode     string // "copy+verify", "copy", "verify", "erase"
	Duration time.Duration
	Ports    []FinishedPort
}

// FinishedPort is one port's outcome.
type FinishedPort struct {
	Port              int
	Label             string
	Result            string // PASS, FAIL or ABORTED
	Cause             string // short: "write error", "mismatch", ...; "" on a pass
	Written, Verified int64
	MBps              float64
}

// OnFinished calls fn on the loop's goroutine after every job and every
// line port has been recorded. fn must not block.
func (a *Appliance) OnFinished(fn func(Finished)) {
	a.subsMu.Lock()
	defer a.subsMu.Unlock()
	a.finished = append(a.finished, fn)
}

// tellFinished hands a result to every OnFinished function.
func (a *Appliance) tellFinished(f Finished) {
	a.subsMu.Lock()
	fns := slices.Clone(a.finished)
	a.subsMu.Unlock()
	for _, fn := range fns {
		fn(f)
	}
}

// Library is the image library, once the loop has opened it; nil when
// the appliance has none (yet).
func (a *Appliance) Library() *images.Library { return a.shared.lib.Load() }

// Record is the production record, once the loop has opened it; nil
// when the appliance keeps none.
func (a *Appliance) Record() *record.Log { return a.shared.record.Load() }

// RecordPath is the production record's file; "" when none is kept.
func (a *Appliance) RecordPath() string { return a.paths.Record }

// ImportImage imports an image file a front end received (an upload)
// into the library, with the checks of an import from a stick: a name
// that is taken is refused, a .sha256 given must match, and nothing is
// kept of an import that fails. It runs on the caller's goroutine; the
// panel's image list follows once it is done.
func (a *Appliance) ImportImage(ctx context.Context, src images.ImportSource, name string, progress images.Progress) (*images.Manifest, error) {
	lib := a.Library()
	if lib == nil {
		return nil, errors.New("this appliance has no image library")
	}
	if err := images.CheckName(name); err != nil {
		return nil, err
	}
	if slices.Contains(lib.Names(), name) {
		return nil, fmt.Errorf("an image named %s is already in the library: delete it first", name)
	}
	m, err := lib.Import(ctx, src, name, progress)
	if err != nil {
		a.log.Error("upload import", "name", name, "file", src.Name, "err", err)
		return nil, err
	}
	a.log.Info("image imported from an upload", "name", m.Name, "file", src.Name, "bytes", m.Bytes, "sha256", m.SHA256)
	select {
	case a.events <- imagesChanged{}:
	case <-a.stopped:
	case <-ctx.Done():
	}
	return m, nil
}
