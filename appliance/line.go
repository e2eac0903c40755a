package appliance

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/images"
	"github.com/clonebay/clonebay/ui"
)

// lineRun is production-line mode: one master, opened once, and every
// target port running its own one-target job.
type lineRun struct {
	mode     engine.Mode
	master   hal.DriveInfo
	image    *images.Image // the master is this image; nil for a drive
	src      engine.Source
	area     engine.Area
	closer   io.Closer
	ports    map[int]context.CancelFunc // the running ports' jobs
	stopping bool
	seq      int
}

// startLine opens the master for production-line mode.
func (a *Appliance) startLine(ctx context.Context, c ui.StartLine) ui.Event {
	if a.job != nil || a.line != nil {
		return ui.JobRefused{Reason: "a job is running"}
	}
	l := &lineRun{ports: map[int]context.CancelFunc{}, area: areaFor(c.Area)}
	l.mode = map[ui.Mode]engine.Mode{ui.CopyVerify: engine.CopyVerify, ui.CopyOnly: engine.Copy}[c.Mode]
	if c.Image != "" {
		if a.lib == nil {
			return ui.JobRefused{Reason: "no image library"}
		}
		if !a.lib.CheckedToday(c.Image) {
			a.checkImageThen(ctx, c.Image, c)
			return nil
		}
		im, err := a.lib.Open(c.Image)
		if err != nil {
			return ui.JobRefused{Reason: err.Error()}
		}
		l.image, l.src, l.area, l.closer = im, im, im.Area(), im
	} else {
		src, d, err := a.openMaster(c.Master)
		if err != nil {
			return ui.JobRefused{Reason: err.Error()}
		}
		l.master, l.src, l.closer = d, src, src
	}
	plan, err := l.area.Plan(l.src)
	if err != nil {
		l.closer.Close()
		return ui.JobRefused{Reason: "master: " + err.Error()}
	}
	a.line = l
	a.log.Info("line started", "mode", l.mode, "image", c.Image, "master", l.master.Node, "area", plan.Area, "bytes", plan.Bytes())
	return ui.LineStarted{Bytes: plan.Bytes(), Area: plan.Area}
}

// lineTarget starts a one-target job on a port in production-line mode.
func (a *Appliance) lineTarget(ctx context.Context, port int) ui.Event {
	l := a.line
	fail := func(cause, reason string, abort bool) ui.Event {
		a.log.Warn("line: port not started", "port", port, "reason", reason)
		return ui.LineDone{Result: ui.PortResult{Port: port, Cause: cause, Reason: reason, Abort: abort}}
	}
	switch {
	case l == nil || l.stopping:
		return fail("aborted", "line mode is not running", true)
	case l.ports[port] != nil:
		return nil
	case port == a.b.MasterPort && l.image == nil:
		return fail("master", "the master port is never a target", true)
	}
	d, ok := a.drives[port]
	if !ok {
		return fail("removed", "the drive left before it was started", true)
	}
	dev, err := a.hw.Opener.OpenWrite(d.Node)
	if err != nil {
		return fail("cannot open", err.Error(), false)
	}
	l.seq++
	meta := jobMeta{id: fmt.Sprintf("line-%s-%d", newJobID(), l.seq), master: l.master,
		targets: map[int]hal.DriveInfo{port: d}}
	if l.image != nil {
		meta.image = l.image.Manifest()
	}
	job := engine.Job{Source: l.src, Mode: l.mode, Area: l.area, Options: a.jobOpts,
		Targets: []engine.PortTarget{{Port: port, Label: d.Label, Dev: dev}}}
	job.Options.Clean = a.settings.Clean
	job.Options.BadSectors = engine.BadSectorPolicy{ZeroFill: a.settings.ZeroFill, Retries: 3}
	if a.settings.Qualify {
		job.Options.Qualify = &engine.QualifyOptions{MinWriteMBps: a.settings.MinWriteMBps}
	}
	job.Options.OnProgress = a.onProgress
	run, err := engine.Start(ctx, job)
	if err != nil {
		dev.Close()
		return fail("refused", strings.TrimPrefix(err.Error(), "job refused: "), false)
	}
	l.ports[port] = run.Cancel
	a.log.Info("line: target started", "port", d.Label, "node", d.Node, "model", d.Model, "serial", d.Serial)
	a.spawn(ctx, func(ctx context.Context) {
		res := run.Wait()
		_ = dev.Sync()
		dev.Close()
		a.send(ctx, linePortDone{port: port, meta: meta, res: res})
	})
	return nil
}

// linePortEnded records a port's result and tells the panel.
func (a *Appliance) linePortEnded(e linePortDone) []ui.Event {
	l := a.line
	if l != nil {
		delete(l.ports, e.port)
	}
	notices := a.writeRecord(e.meta, e.res)
	r := ui.PortResult{Port: e.port, Abort: true, Cause: "aborted"}
	if e.res.Err != nil {
		r = ui.PortResult{Port: e.port, Cause: masterCause(e.res.Err), Reason: e.res.Err.Error()}
	}
	for _, p := range e.res.Ports {
		r = portResult(p)
		a.log.Info("line: target done", "port", p.Label, "result", p.Status.String(), "reason", p.Reason,
			"written", p.Written, "verified", p.Verified, "mbps", fmt.Sprintf("%.1f", p.MBps), "sha256", p.SHA256)
	}
	a.tellFinished(finishedOf(e.res))
	out := []ui.Event{ui.LineDone{Result: r}}
	if l != nil && l.stopping && len(l.ports) == 0 {
		out = append(out, a.endLine())
	}
	return append(out, notices...)
}

// stopLine aborts every running port; the line ends when the last one
// has reported.
func (a *Appliance) stopLine() ui.Event {
	l := a.line
	if l == nil {
		if a.stopCheck != nil {
			a.stopCheck() // the line was still waiting for its image's check
		}
		return ui.LineStopped{}
	}
	l.stopping = true
	a.log.Info("line: stopping", "running", len(l.ports))
	for _, cancel := range l.ports {
		cancel()
	}
	if len(l.ports) == 0 {
		return a.endLine()
	}
	return nil
}

func (a *Appliance) endLine() ui.Event {
	if a.line != nil {
		a.line.closer.Close()
		a.line = nil
		a.log.Info("line ended")
	}
	return ui.LineStopped{}
}

// stopLineAndWait ends production-line mode on shutdown: every port is
// aborted and recorded.
func (a *Appliance) stopLineAndWait(ctx context.Context) {
	if a.line == nil {
		return
	}
	a.shuttingDown = true
	a.dispatch(ctx, a.stopLine())
	for a.line != nil {
		if e, ok := (<-a.events).(linePortDone); ok {
			a.dispatch(ctx, a.linePortEnded(e)...)
		}
	}
}
