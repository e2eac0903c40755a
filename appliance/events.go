package appliance

import (
	"context"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/ui"
)

// event is what reaches the loop from its tasks and from front ends: a
// sealed set, so the loop's switch is the whole list.
type event interface{ loopEvent() }

type (
	// panelEvent is an answer for the panel from a task: a notice, a
	// busy bar, a plan, the import files found.
	panelEvent struct{ ev ui.Event }
	// progressEvent is a port's progress in the panel's job or the line.
	progressEvent struct{ p engine.Progress }
	// jobFinished is the panel's job's result.
	jobFinished struct{ res *engine.Result }
	// linePortDone is one line port's result.
	linePortDone struct {
		port int
		meta jobMeta
		res  *engine.Result
	}
	// imagesChanged asks the loop to list the library again.
	imagesChanged struct{}
	// imageChecked ends the check of an image before its first deploy of
	// the day; then is the command that waited for it.
	imageChecked struct {
		name string
		err  error
		then ui.Command
	}
	// checkpoint is a port's progress for the journal: chunks [0, n) are
	// on its media.
	checkpoint struct{ port, n int }
	// frontEndEvent is an operator's request from a front end other than
	// the panel's buttons; answer, when set, hears what became of it.
	frontEndEvent struct {
		ev     ui.Event
		answer chan<- ui.Answer
	}
)

func (panelEvent) loopEvent()    {}
func (progressEvent) loopEvent() {}
func (jobFinished) loopEvent()   {}
func (linePortDone) loopEvent()  {}
func (imagesChanged) loopEvent() {}
func (imageChecked) loopEvent()  {}
func (checkpoint) loopEvent()    {}
func (frontEndEvent) loopEvent() {}

// loopEvent turns one of the loop's events into what the panel must hear.
func (a *Appliance) loopEvent(ctx context.Context, e event) []ui.Event {
	switch e := e.(type) {
	case panelEvent:
		if p, ok := e.ev.(ui.PlanInfo); ok && p.Area != a.settings.Area {
			return nil // the setting changed since; a newer plan is on its way
		}
		return one(e.ev)
	case frontEndEvent:
		return one(e.ev)
	case progressEvent:
		return one(progressFor(e.p))
	case jobFinished:
		return a.jobDone(e.res)
	case linePortDone:
		return a.linePortEnded(e)
	case imagesChanged:
		return one(a.imageList())
	case imageChecked:
		return a.imageChecked(ctx, e)
	case checkpoint:
		a.checkpoint(e)
	case filesFinished:
		return a.filesDone(e)
	case setsChanged:
		return one(a.setList())
	case lineFilesReady:
		return one(a.lineFilesStarted(e))
	case boxInfo:
		a.box = e.info
		return one(e.info)
	}
	return nil
}

// spawn runs a task of the loop's on its own goroutine: a job, a drive
// check, a capture. Run waits for every task before it returns.
func (a *Appliance) spawn(ctx context.Context, task func(ctx context.Context)) {
	a.tasks.Go(func() error {
		task(ctx)
		return nil
	})
}

// send hands an event to the loop, unless the appliance is stopping.
func (a *Appliance) send(ctx context.Context, ev event) {
	select {
	case a.events <- ev:
	case <-ctx.Done():
	}
}

// offer hands the loop an event it can do without (a progress report, a
// busy bar: the next one comes soon) without waiting.
func (a *Appliance) offer(ev event) {
	select {
	case a.events <- ev:
	default:
	}
}
