package appliance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/fileset"
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

	// Files mode: the set (or, when "", the files on the master drive),
	// its source once it is ready, and how to stop getting it ready.
	files    bool
	set      string
	filesSrc *fileset.Source
	prep     context.CancelFunc
}

// fromLibrary reports whether the line copies from the library (an image
// or a file set): then the master port takes targets too.
func (l *lineRun) fromLibrary() bool { return l.image != nil || l.files && l.set != "" }

// lineFilesReady is a files line's source, ready (or not).
type lineFilesReady struct {
	src fileset.Source
	err error
}

func (lineFilesReady) loopEvent() {}

// startLine opens the master for production-line mode.
func (a *Appliance) startLine(ctx context.Context, c ui.StartLine) ui.Event {
	if a.job != nil || a.line != nil {
		return ui.JobRefused{Reason: "a job is running"}
	}
	if c.Mode == ui.CopyFiles {
		return a.startFilesLine(ctx, c)
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
		a.imagesInUse.hold(c.Image)
		l.image, l.src, l.area, l.closer = im, im, im.Area(), multiCloser{im, releaser{&a.imagesInUse, c.Image}}
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
	case port == a.b.MasterPort && !l.fromLibrary():
		return fail("master", "the master port is never a target", true)
	}
	d, ok := a.drives[port]
	if !ok {
		return fail("removed", "the drive left before it was started", true)
	}
	if l.files {
		return a.lineFilesTarget(ctx, port, d)
	}
	dev, err := a.hw.Opener.OpenWrite(d.Node)
	if err != nil {
		return fail("cannot open", err.Error(), false)
	}
	l.seq++
	meta := jobMeta{lot: a.lot.Name, started: time.Now(), id: fmt.Sprintf("line-%s-%d", newJobID(), l.seq), master: l.master,
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
		if a.line.prep != nil {
			a.line.prep()
		}
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
		switch e := (<-a.events).(type) {
		case linePortDone:
			a.dispatch(ctx, a.linePortEnded(e)...)
		case filesFinished:
			a.dispatch(ctx, a.filesDone(e)...)
		case lineFilesReady:
			a.dispatch(ctx, a.lineFilesStarted(e))
		}
	}
}

// startFilesLine starts production-line mode in Files mode: the source
// (a set, checked first when not checked today, or the files on the
// master drive, opened write-blocked and hashed) is made ready as a task;
// the panel hears LineStarted when it is.
func (a *Appliance) startFilesLine(ctx context.Context, c ui.StartLine) ui.Event {
	if a.sets == nil {
		return ui.JobRefused{Reason: "no file set library"}
	}
	l := &lineRun{ports: map[int]context.CancelFunc{}, files: true, set: c.Set, closer: io.NopCloser(nil)}
	var master hal.Master
	if c.Set == "" {
		m, d, err := a.openMaster(c.Master)
		if err != nil {
			return ui.JobRefused{Reason: err.Error()}
		}
		master, l.master, l.closer = m, d, m
	}
	pctx, cancel := context.WithCancel(ctx)
	l.prep = cancel
	a.line = l
	a.log.Info("line: getting the files ready", "set", c.Set)
	a.spawn(ctx, func(ctx context.Context) {
		defer cancel()
		src, err := a.filesSource(pctx, c.Set, master)
		a.send(ctx, lineFilesReady{src: src, err: err})
	})
	return nil
}

// lineFilesStarted starts the line once its files are ready, or ends it.
func (a *Appliance) lineFilesStarted(e lineFilesReady) ui.Event {
	l := a.line
	if l == nil || !l.files || l.filesSrc != nil {
		return nil // ended meanwhile
	}
	l.prep = nil
	if e.err != nil {
		a.log.Error("line: the files are not ready", "err", e.err)
		a.endLine()
		return ui.JobRefused{Reason: e.err.Error()}
	}
	l.filesSrc = &e.src
	m := e.src.Manifest
	a.log.Info("line started", "mode", "files", "set", l.set, "files", m.Files, "bytes", m.Bytes)
	return ui.LineStarted{Bytes: m.Bytes, Area: "files"}
}

// lineFilesTarget runs a files job on one port of the line.
func (a *Appliance) lineFilesTarget(ctx context.Context, port int, d hal.DriveInfo) ui.Event {
	l := a.line
	if l.filesSrc == nil {
		return nil // not ready yet: the port is started when it is
	}
	dev, err := a.hw.Opener.OpenWrite(d.Node)
	if err != nil {
		a.log.Warn("line: port not started", "port", port, "reason", err)
		return ui.LineDone{Result: ui.PortResult{Port: port, Cause: "cannot open", Reason: err.Error()}}
	}
	l.seq++
	meta := jobMeta{lot: a.lot.Name, started: time.Now(), id: fmt.Sprintf("line-%s-%d", newJobID(), l.seq), master: l.master, files: &filesMeta{set: l.set},
		targets: map[int]hal.DriveInfo{port: d}}
	pctx, cancel := context.WithCancel(ctx)
	l.ports[port] = cancel
	src, opts := *l.filesSrc, a.filesOptions()
	a.log.Info("line: target started", "port", d.Label, "node", d.Node, "model", d.Model, "serial", d.Serial)
	a.spawn(ctx, func(ctx context.Context) {
		defer cancel()
		res, err := fileset.Run(pctx, src, []engine.PortTarget{{Port: port, Label: d.Label, Dev: dev}}, opts)
		_ = dev.Sync()
		dev.Close()
		a.send(ctx, filesFinished{res: res, err: err, meta: meta, line: true, port: port})
	})
	return nil
}

// lineFilesEnded records one line port's files job and tells the panel.
func (a *Appliance) lineFilesEnded(e filesFinished) []ui.Event {
	l := a.line
	if l != nil {
		delete(l.ports, e.port)
	}
	out := a.writeEntries(filesEntries(e, []int{e.port}, time.Now()))
	r := filesResult(e, []int{e.port})
	res := ui.PortResult{Port: e.port, Abort: true, Cause: "aborted"}
	if len(r.Ports) > 0 {
		res = r.Ports[0]
	}
	a.log.Info("line: target done", "port", e.port, "pass", res.Pass, "reason", res.Reason)
	events := []ui.Event{ui.LineDone{Result: res}}
	if l != nil && l.stopping && len(l.ports) == 0 {
		events = append(events, a.endLine())
	}
	return append(events, out...)
}

// multiCloser closes each in turn.
type multiCloser []io.Closer

func (m multiCloser) Close() error {
	var errs []error
	for _, c := range m {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}
