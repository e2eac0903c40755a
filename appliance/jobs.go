package appliance

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/ui"
)

// runningJob is the job the panel started.
type runningJob struct {
	meta       jobMeta
	cancel     context.CancelFunc
	cancelPort func(port int) bool // nil: the job stops only as a whole (an erase)
	drives     []hal.DriveReader
	closers    []io.Closer     // an image master
	prefail    []ui.PortResult // targets that could not even be opened
	done       chan struct{}   // closed once the job's drives are closed
}

// close syncs every target (an aborted copy still leaves what it wrote
// on the media, not in a cache) and closes every drive.
func (j *runningJob) close() {
	for _, d := range j.drives {
		if w, ok := d.(hal.Drive); ok {
			_ = w.Sync()
		}
		d.Close()
	}
	for _, c := range j.closers {
		c.Close()
	}
}

// newJobID names a job by when it started.
func newJobID() string { return time.Now().UTC().Format("20060102-150405.000") }

// driveEvent turns a watcher's event into what the panel must hear.
func (a *Appliance) driveEvent(ctx context.Context, ev hal.DriveEvent) []ui.Event {
	ev, ok := a.ports.Map(ev)
	switch {
	case ok && ev.Kind == hal.ScanDone:
		a.log.Info("drive scan done", "drives", len(a.drives))
		return one(a.offerResume())
	case !ok:
		return nil
	}
	d := ev.Drive
	if ev.Kind == hal.DriveRemoved || (ev.Kind == hal.MediaChanged && d.Size == 0 && !d.Removable) {
		delete(a.drives, d.Port)
		delete(a.shown, d.Port)
		a.log.Info("drive removed", "port", d.Label, "node", d.Node)
		if a.job != nil {
			// The engine sees the removal as I/O errors on that drive; the
			// port fails with them and the others go on.
			a.log.Warn("job: a drive in the job was removed", "port", d.Label)
		}
		return one(ui.DriveOut{Port: d.Port})
	}
	a.drives[d.Port] = d
	// Probe before planning: both open the drive, and a block device
	// opens exclusively, so the plan's open must not overlap the probe's.
	in := ui.DriveIn{Drive: a.markDone(d, a.probe(d))}
	a.shown[d.Port] = in.Drive
	if d.Port == a.b.MasterPort {
		a.planMaster(ctx)
	}
	return one(in)
}

// probe reads a new drive's identity and whether it holds data.
func (a *Appliance) probe(d hal.DriveInfo) ui.Drive {
	out := ui.Drive{Port: d.Port, Model: strings.TrimSpace(d.Vendor + " " + d.Model), Serial: d.Serial, Size: d.Size}
	switch {
	case d.Size == 0:
		out.Problem = "no media"
		return out
	case d.ReadOnly && d.Port != a.b.MasterPort:
		out.Problem = "read-only"
	}
	r, err := a.hw.Opener.OpenRead(d.Node)
	if err != nil {
		if d.Port != a.b.MasterPort {
			out.Problem = "busy"
		}
		a.log.Warn("drive cannot be opened", "port", d.Label, "node", d.Node, "err", err)
		return out
	}
	defer r.Close()
	c, err := engine.Probe(r, d.Size)
	if err != nil {
		out.Problem = "unreadable"
		a.log.Warn("drive cannot be read", "port", d.Label, "node", d.Node, "err", err)
		return out
	}
	out.HasData = c.HasData()
	a.log.Info("drive", "port", d.Label, "node", d.Node, "model", out.Model, "serial", d.Serial,
		"size", d.Size, "table", c.PartitionTable, "fs", c.FileSystem)
	return out
}

// checkDrive runs a drive check as a task; its result comes back as a
// notice on the panel.
func (a *Appliance) checkDrive(ctx context.Context, c ui.CheckDrive) ui.Event {
	d, ok := a.drives[c.Port]
	if !ok || a.job != nil {
		return ui.Notice{Title: "Check", Text: "The drive is gone, or a job is running."}
	}
	probe := a.probe(d) // on the loop: probe logs, and reads only
	opener, log := a.hw.Opener, a.log
	a.spawn(ctx, func(ctx context.Context) {
		n := ui.Notice{Title: "Port " + d.Label}
		switch c.Kind {
		case "scan":
			r, err := opener.OpenRead(d.Node)
			if err != nil {
				n.Text = "Cannot open it: " + err.Error()
				break
			}
			bad, err := engine.ReadScan(ctx, r, nil)
			r.Close()
			switch {
			case err != nil:
				n.Text = "Scan stopped: " + err.Error()
			case len(bad) == 0:
				n.Text = "Read scan: every sector reads."
			default:
				var sectors int64
				for _, b := range bad {
					sectors += b.Len / 512
				}
				n.Text = fmt.Sprintf("Read scan: %d bad sectors, the first at %d.", sectors, bad[0].Off)
			}
			log.Info("read scan", "port", d.Label, "bad", fmt.Sprint(bad))
		case "speed":
			if probe.HasData {
				n.Text = "Speed test is for empty drives: this one holds data."
				break
			}
			w, err := opener.OpenWrite(d.Node)
			if err != nil {
				n.Text = "Cannot open it: " + err.Error()
				break
			}
			rd, wr, err := engine.SpeedTest(ctx, w, 32<<20)
			w.Close()
			if err != nil {
				n.Text = err.Error()
				break
			}
			n.Text = fmt.Sprintf("Read %.1f MB/s, write %.1f MB/s.", rd, wr)
			log.Info("speed test", "port", d.Label, "read_mbps", rd, "write_mbps", wr)
		}
		a.send(ctx, panelEvent{n})
	})
	return nil
}

// onProgress hands an engine's progress reports to the loop.
func (a *Appliance) onProgress(p engine.Progress) { a.offer(progressEvent{p}) }

// startErase opens the targets and wipes them as a task.
func (a *Appliance) startErase(ctx context.Context, c ui.StartErase) ui.Event {
	if a.job != nil || a.line != nil {
		return ui.JobRefused{Reason: "a job is running"}
	}
	mode, err := engine.ParseEraseMode(c.Mode)
	if err != nil {
		return ui.JobRefused{Reason: err.Error()}
	}
	j := &runningJob{done: make(chan struct{}), meta: jobMeta{lot: a.lot.Name, started: time.Now(), id: newJobID(), targets: map[int]hal.DriveInfo{}}}
	job := engine.EraseJob{Mode: mode, Verify: c.Verify, Options: a.jobOpts}
	job.Options.OnProgress = a.onProgress
	for _, port := range c.Targets {
		d, ok := a.drives[port]
		if !ok || port == a.b.MasterPort {
			continue // the master is never erased
		}
		dev, err := a.hw.Opener.OpenWrite(d.Node)
		if err != nil {
			j.prefail = append(j.prefail, ui.PortResult{Port: port, Cause: "cannot open", Reason: err.Error()})
			continue
		}
		j.drives = append(j.drives, dev)
		j.meta.targets[port] = d
		job.Targets = append(job.Targets, engine.PortTarget{Port: port, Label: d.Label, Dev: dev})
	}
	if len(job.Targets) == 0 {
		j.close()
		return ui.JobRefused{Reason: "no drive could be opened"}
	}
	jctx, cancel := context.WithCancel(ctx)
	j.cancel = cancel
	a.job = j
	a.log.Info("erase started", "mode", mode, "verify", c.Verify, "targets", len(job.Targets))
	a.spawn(ctx, func(ctx context.Context) {
		defer cancel()
		res, err := job.Run(jctx)
		if err != nil {
			res = &engine.Result{Mode: engine.Erase, Err: err}
		}
		j.close()
		close(j.done)
		a.send(ctx, jobFinished{res})
	})
	return ui.JobStarted{Area: "erase " + mode.String()}
}

// areaFor maps the panel's copy-area setting to the engine's.
func areaFor(name string) engine.Area {
	switch name {
	case "used":
		return engine.UsedArea{}
	case "smart":
		return engine.Smart{}
	}
	return engine.WholeMedia{}
}

// planMaster works out the copy area on the master in the master port,
// as a task, and tells the panel.
func (a *Appliance) planMaster(ctx context.Context) {
	d, ok := a.drives[a.b.MasterPort]
	if !ok || d.Size == 0 {
		return
	}
	area, opener, log := a.settings.Area, a.hw.Opener, a.log
	a.spawn(ctx, func(ctx context.Context) {
		info := ui.PlanInfo{Area: area, Of: d.Size}
		r, err := opener.OpenRead(d.Node)
		if err == nil {
			var plan engine.Plan
			plan, err = areaFor(area).Plan(r)
			r.Close()
			info.Bytes = plan.Bytes()
			for _, n := range plan.Notes {
				log.Info("copy area", "area", area, "note", n)
			}
		}
		if err != nil {
			info.Error = err.Error()
			log.Warn("copy area", "area", area, "err", err)
		}
		a.send(ctx, panelEvent{info})
	})
}

// openMaster opens the drive in a port as a job's master: read-only and
// write-blocked for as long as it is open (the opener refuses otherwise).
func (a *Appliance) openMaster(port int) (hal.Master, hal.DriveInfo, error) {
	d, ok := a.drives[port]
	if !ok {
		return nil, d, fmt.Errorf("no master in port %d", port)
	}
	m, err := a.hw.Opener.OpenMaster(d.Node)
	if err != nil {
		a.log.Error("master", "port", d.Label, "node", d.Node, "err", err)
		return nil, d, fmt.Errorf("master: %w", err)
	}
	return m, d, nil
}

// startJob opens the drives and starts the engine. It returns the event
// that tells the panel how it went.
func (a *Appliance) startJob(ctx context.Context, c ui.StartJob, resume map[int]int) ui.Event {
	if a.job != nil {
		return ui.JobRefused{Reason: "a job is running"}
	}
	if a.line != nil {
		return ui.JobRefused{Reason: "line mode is running"}
	}
	j := &runningJob{done: make(chan struct{}), meta: jobMeta{lot: a.lot.Name, started: time.Now(), id: newJobID(), targets: map[int]hal.DriveInfo{}}}
	var src engine.Source
	area := areaFor(c.Area)
	if c.Image != "" {
		if a.lib == nil {
			return ui.JobRefused{Reason: "no image library"}
		}
		im, err := a.lib.Open(c.Image)
		if err != nil {
			a.log.Error("job: image", "name", c.Image, "err", err)
			return ui.JobRefused{Reason: err.Error()}
		}
		a.imagesInUse.hold(c.Image)
		src, area, j.meta.image, j.closers = im, im.Area(), im.Manifest(), []io.Closer{im, releaser{&a.imagesInUse, c.Image}}
	} else {
		m, d, err := a.openMaster(c.Master)
		if err != nil {
			return ui.JobRefused{Reason: err.Error()}
		}
		src, j.meta.master, j.drives = m, d, []hal.DriveReader{m}
	}
	master := j.meta.master
	mode := map[ui.Mode]engine.Mode{ui.CopyVerify: engine.CopyVerify, ui.CopyOnly: engine.Copy, ui.VerifyOnly: engine.VerifyOnly}[c.Mode]
	job := engine.Job{Source: src, Mode: mode, Area: area, Options: a.jobOpts}
	job.Options.ResumeFrom = resume
	if a.paths.Journal != "" && mode != engine.VerifyOnly && c.Image == "" {
		job.Options.OnCheckpoint = func(port, n int) {
			a.offer(checkpoint{port, n}) // the next checkpoint carries a missed one
		}
	}
	job.Options.Clean = a.settings.Clean
	job.Options.BadSectors = engine.BadSectorPolicy{ZeroFill: a.settings.ZeroFill, Retries: 3}
	if a.settings.Qualify && mode != engine.VerifyOnly {
		job.Options.Qualify = &engine.QualifyOptions{MinWriteMBps: a.settings.MinWriteMBps}
	}
	job.Options.OnProgress = a.onProgress
	for _, port := range c.Targets {
		d, ok := a.drives[port]
		if !ok {
			j.prefail = append(j.prefail, ui.PortResult{Port: port, Cause: "removed", Reason: "the drive left before the job"})
			continue
		}
		var dev engine.Checked
		var err error
		if mode == engine.VerifyOnly {
			var r hal.DriveReader
			r, err = a.hw.Opener.OpenRead(d.Node)
			if err == nil {
				dev = r
				j.drives = append(j.drives, r)
			}
		} else {
			var w hal.Drive
			w, err = a.hw.Opener.OpenWrite(d.Node)
			if err == nil {
				dev = w
				j.drives = append(j.drives, w)
			}
		}
		if err != nil {
			a.log.Error("job: target", "port", d.Label, "err", err)
			j.prefail = append(j.prefail, ui.PortResult{Port: port, Cause: "cannot open", Reason: err.Error()})
			continue
		}
		j.meta.targets[port] = d
		job.Targets = append(job.Targets, engine.PortTarget{Port: port, Label: d.Label, Dev: dev})
	}
	if len(job.Targets) == 0 {
		j.close()
		return ui.JobRefused{Reason: "no target could be opened"}
	}
	run, err := engine.Start(ctx, job)
	if err != nil {
		j.close()
		a.log.Error("job refused", "err", err)
		return ui.JobRefused{Reason: strings.TrimPrefix(err.Error(), "job refused: ")}
	}
	j.cancel, j.cancelPort = run.Cancel, run.CancelPort
	a.job = j
	if job.Options.OnCheckpoint != nil {
		a.journal = &journal{Job: j.meta.id, Mode: mode.String(), Area: c.Area, Chunks: run.Chunks(),
			Master: driveFor(c.Master, master)}
		for _, t := range job.Targets {
			jd := driveFor(t.Port, j.meta.targets[t.Port])
			jd.Synced = resume[t.Port]
			a.journal.Targets = append(a.journal.Targets, jd)
		}
		a.saveJournal()
	}
	plan := run.Plan()
	a.log.Info("job started", "mode", mode, "master", master.Node, "image", c.Image, "targets", len(job.Targets),
		"area", plan.Area, "bytes", plan.Bytes())
	a.spawn(ctx, func(ctx context.Context) {
		res := run.Wait()
		j.close()
		close(j.done)
		a.send(ctx, jobFinished{res})
	})
	return ui.JobStarted{Bytes: plan.Bytes(), Area: plan.Area, Targets: c.Targets}
}

// jobDone records the panel's job and tells the panel its result (and
// that it was not recorded, when it could not be).
func (a *Appliance) jobDone(e *engine.Result) []ui.Event {
	var out []ui.Event
	j := a.job
	a.job = nil
	r := jobResult(e)
	for _, p := range e.Ports {
		a.log.Info("job port result", "port", p.Label, "result", p.Status.String(), "reason", p.Reason,
			"written", p.Written, "verified", p.Verified, "mbps", fmt.Sprintf("%.1f", p.MBps), "sha256", p.SHA256)
	}
	if j != nil {
		r.Ports = append(r.Ports, j.prefail...)
		out = append(out, a.writeRecord(j.meta, e)...)
	}
	if !a.shuttingDown {
		// Finished, or aborted by the operator: nothing to resume. A job
		// cut short by a shutdown keeps its journal.
		a.dropJournal()
	}
	slices.SortFunc(r.Ports, func(x, y ui.PortResult) int { return x.Port - y.Port })
	a.tellFinished(finishedOf(e))
	a.log.Info("job done", "passed", r.Passed(), "ports", len(r.Ports), "sha256", e.SHA256,
		"duration", e.Duration.Round(time.Millisecond), "master_error", r.MasterError)
	return append([]ui.Event{ui.JobDone{Result: r}}, out...)
}

// abortPort aborts one port of the running job or line.
func (a *Appliance) abortPort(port int) {
	switch {
	case a.job != nil && a.job.cancelPort != nil:
		if a.job.cancelPort(port) {
			a.log.Info("job: abort of one port asked", "port", port)
		} else {
			a.log.Info("job: abort of a port that is not running", "port", port)
		}
	case a.line != nil && a.line.ports[port] != nil:
		a.log.Info("line: abort of one port asked", "port", port)
		a.line.ports[port]()
	default:
		a.log.Info("abort of a port that is not working", "port", port)
	}
}

// finishedOf is a result as OnFinished's functions get it.
func finishedOf(e *engine.Result) Finished {
	f := Finished{Mode: e.Mode.String(), Duration: e.Duration}
	for _, p := range e.Ports {
		f.Ports = append(f.Ports, FinishedPort{Port: p.Port, Label: p.Label, Result: p.Status.String(), Cause: string(p.Cause),
			Written: p.Written, Verified: p.Verified, MBps: p.MBps})
	}
	return f
}

// abortAndWait ends a running job and records it, on shutdown.
func (a *Appliance) abortAndWait(ctx context.Context) {
	if a.job == nil {
		return
	}
	a.log.Warn("shutting down: aborting the job")
	a.shuttingDown = true
	a.job.cancel()
	for a.job != nil {
		switch e := (<-a.events).(type) {
		case jobFinished:
			a.dispatch(ctx, a.jobDone(e.res)...)
		case filesFinished:
			a.dispatch(ctx, a.filesDone(e)...)
		}
	}
}

// releaser lets a catalog sync have an image again once a job is done
// with it.
type releaser struct {
	use  *imageUse
	name string
}

func (r releaser) Close() error {
	r.use.release(r.name)
	return nil
}
