package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/clonebay/clonebay/board"
	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/images"
	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/record"
	"github.com/clonebay/clonebay/ui"
)

// hardware is everything the appliance drives. Any part of the panel may
// be missing (a headless box still duplicates).
type hardware struct {
	watcher hal.DriveWatcher
	opener  hal.DriveOpener
	buttons hal.Buttons                   // nil: no buttons
	display hal.Display                   // nil: no LCD
	leds    hal.LEDs                      // nil: no LEDs
	buzzer  hal.Buzzer                    // nil: no buzzer
	runners []func(context.Context) error // goroutines the backends need (LCD writer, LED blinker)
	// portMap filters and places drives; nil places them by the board.
	isSystem func(node string) bool
}

// appliance is the firmware's main loop: hardware events in, ui model in
// the middle, frames and jobs out.
type appliance struct {
	b        *board.Board
	hw       hardware
	files    fsys.FS // where the settings, record and journal live
	log      *slog.Logger
	model    *ui.Model
	ports    *portMap
	settings ui.Settings
	start    time.Time
	jobOpts  engine.Options

	// drives on the panel, by port
	drives map[int]hal.DriveInfo

	// settingsPath is where Setup choices are saved; empty keeps them in
	// memory only (the simulator's default).
	settingsPath string
	// notice is shown once the panel is up (a damaged settings file).
	notice *ui.Notice
	// logPath is the production record; empty keeps none (the simulator's
	// default).
	logPath string
	jobLog  *record.Log
	// journalPath keeps the running job's checkpoints for resuming after a
	// power loss; empty keeps none.
	journalPath   string
	journal       *journal
	pendingResume *journal
	shuttingDown  bool

	// libraryDir is the image library's folder; empty keeps none.
	libraryDir string
	lib        *images.Library
	line       *lineRun // production-line mode, while it runs
	ctx        context.Context
	stopCheck  context.CancelFunc // the check of an image a job or line waits for

	events   chan any // from helpers (job progress, job results) to the loop
	job      *runningJob
	lastShow []string
	lastLEDs []hal.LEDState
	lastBL   *bool
	beeps    chan []hal.Beep

	// observe, when set, is called after each frame is shown (tests and
	// the latency measurement).
	observe func(ev any, f ui.Frame)
}

// runningJob is the job the panel started.
type runningJob struct {
	meta    jobMeta
	cancel  context.CancelFunc
	drives  []hal.DriveReader
	closers []io.Closer     // an image master
	prefail []ui.PortResult // targets that could not even be opened
	done    chan struct{}
}

func newAppliance(b *board.Board, hw hardware, set ui.Settings, log *slog.Logger) *appliance {
	cols, rows := b.Geometry()
	if hw.display != nil {
		g := hw.display.Geometry()
		cols, rows = g.Cols, g.Rows
	}
	cfg := ui.Config{Geometry: hal.Geometry{Cols: cols, Rows: rows}, MasterPort: b.MasterPort, Version: version}
	for _, p := range b.Ports {
		cfg.Ports = append(cfg.Ports, ui.Port{Number: p.Number, Label: p.Label})
	}
	return &appliance{
		b: b, hw: hw, log: log, settings: set, files: fsys.OS,
		model:  ui.New(cfg, set),
		ports:  newPortMap(b, hw.isSystem, log),
		drives: map[int]hal.DriveInfo{},
		events: make(chan any, 256),
		beeps:  make(chan []hal.Beep, 8),
	}
}

// tickEvery is how often the panel's clock ticks.
const tickEvery = 100 * time.Millisecond

// Run runs the appliance until ctx ends, then shuts down cleanly: a job
// is aborted and reported, LEDs go off and the LCD says so.
func (a *appliance) Run(ctx context.Context) error {
	a.start = time.Now()
	if a.hw.display != nil {
		for i, g := range ui.Glyphs {
			if err := a.hw.display.DefineGlyph(i, g); err != nil {
				return fmt.Errorf("lcd: %w", err)
			}
		}
	}
	// The backends' own goroutines (LCD writer, LED blinker) outlive the
	// main loop, so the shutdown frame still reaches the panel.
	runCtx, stopRunners := context.WithCancel(context.Background())
	var runners errgroup.Group
	for _, r := range a.hw.runners {
		runners.Go(func() error { return quiet(r(runCtx)) })
	}
	g, gctx := errgroup.WithContext(ctx)
	driveEvents := make(chan hal.DriveEvent, 64)
	buttonEvents := make(chan hal.ButtonEvent, 64)
	g.Go(func() error { return quiet(a.hw.watcher.Watch(gctx, driveEvents)) })
	if a.hw.buttons != nil {
		g.Go(func() error { return quiet(a.hw.buttons.Run(gctx, buttonEvents)) })
	}
	g.Go(func() error { a.buzz(gctx); return nil })
	g.Go(func() error { return a.loop(gctx, driveEvents, buttonEvents) })
	err := g.Wait()
	a.shutdown()
	if f, ok := a.hw.display.(interface{ Flush(context.Context) error }); ok {
		fctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = f.Flush(fctx)
		cancel()
	}
	stopRunners()
	return errors.Join(err, runners.Wait())
}

// quiet turns the context's own end into a clean return.
func quiet(err error) error {
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

func (a *appliance) loop(ctx context.Context, drives <-chan hal.DriveEvent, buttons <-chan hal.ButtonEvent) error {
	tick := time.NewTicker(tickEvery)
	defer tick.Stop()
	a.ctx = ctx
	a.openJobLog()
	a.openImageLibrary()
	a.loadJournal()
	if a.notice != nil {
		a.model.Update(*a.notice)
	}
	a.show(nil)
	for {
		var ev any
		select {
		case <-ctx.Done():
			a.abortAndWait()
			a.stopLineAndWait()
			return nil
		case <-tick.C:
			ev = ui.Tick{Now: time.Since(a.start)}
		case b := <-buttons:
			ev = ui.Button{ButtonEvent: b}
		case d := <-drives:
			ev = a.driveEvent(d)
		case e := <-a.events:
			if lp, ok := e.(linePortDone); ok {
				for _, out := range a.linePortEnded(lp) {
					a.handle(ctx, out)
				}
				continue
			}
			ev = a.jobEvent(e)
		}
		if ev == nil {
			continue
		}
		a.handle(ctx, ev)
	}
}

// handle feeds one event to the panel, carries out its commands and shows
// the new frame.
func (a *appliance) handle(ctx context.Context, ev any) {
	for _, cmd := range a.model.Update(ev) {
		a.command(ctx, cmd)
	}
	a.show(ev)
}

// command carries out one of the panel's commands.
func (a *appliance) command(ctx context.Context, cmd ui.Command) {
	follow := func(ev any) {
		if ev != nil {
			for _, c := range a.model.Update(ev) {
				a.command(ctx, c)
			}
		}
	}
	switch c := cmd.(type) {
	case ui.StartJob:
		if c.Image != "" && a.lib != nil && !a.lib.CheckedToday(c.Image) {
			a.checkImageThen(ctx, c.Image, c)
			break
		}
		follow(a.startJob(ctx, c, nil))
	case ui.StartLine:
		follow(a.startLine(ctx, c))
	case ui.LineTarget:
		follow(a.lineTarget(ctx, c.Port))
	case ui.StopLine:
		follow(a.stopLine())
	case ui.CaptureImage:
		a.captureImage(ctx, c)
	case ui.FindImports:
		a.findImports(ctx)
	case ui.ImportImage:
		a.importImage(ctx, c)
	case ui.DeleteImage:
		a.deleteImage(c)
	case ui.ResumeJob:
		switch r := a.resumeJob().(type) {
		case startRequest:
			a.model.Update(a.startJob(ctx, r.cmd, r.resume))
		default:
			a.model.Update(r)
		}
	case ui.DiscardResume:
		a.pendingResume = nil
		a.dropJournal()
	case ui.CheckDrive:
		a.checkDrive(ctx, c)
	case ui.StartErase:
		if follow := a.startErase(ctx, c); follow != nil {
			a.model.Update(follow)
		}
	case ui.ExportLog:
		a.model.Update(a.exportLog(ctx))
	case ui.AbortJob:
		if a.stopCheck != nil {
			a.stopCheck()
		}
		if a.job != nil {
			a.log.Info("job: abort asked on the panel")
			a.job.cancel()
		}
	case ui.Beep:
		select {
		case a.beeps <- c.Pattern:
		default: // the buzzer is busy; a missed click is no loss
		}
	case ui.SaveSettings:
		replan := c.Settings.Area != a.settings.Area
		a.settings = c.Settings
		if a.settingsPath != "" {
			if err := fsys.WriteFileAtomic(a.files, a.settingsPath, marshalSettings(c.Settings), 0o600); err != nil {
				a.log.Error("settings not saved", "file", a.settingsPath, "err", err)
				a.model.Update(ui.Notice{Title: "Not saved", Text: "The settings could not be saved: " + err.Error()})
			} else {
				a.log.Info("settings saved", "file", a.settingsPath)
			}
		}
		if replan {
			a.planMaster()
		}
		a.log.Info("settings changed", "settings", fmt.Sprintf("%+v", c.Settings))
	}
}

// show writes the model's frame to the panel, only what changed.
func (a *appliance) show(ev any) {
	f := a.model.Frame()
	if a.hw.display != nil {
		if !slices.Equal(f.Lines, a.lastShow) {
			if err := a.hw.display.Show(f.Lines); err != nil {
				a.log.Error("lcd", "err", err)
			}
			a.lastShow = f.Lines
		}
		if a.lastBL == nil || *a.lastBL != f.Backlight {
			if err := a.hw.display.SetBacklight(f.Backlight); err != nil {
				a.log.Error("lcd backlight", "err", err)
			}
			bl := f.Backlight
			a.lastBL = &bl
		}
	}
	if a.hw.leds != nil {
		for i, s := range f.LEDs {
			if i < len(a.lastLEDs) && a.lastLEDs[i] == s || i >= a.hw.leds.Ports() {
				continue
			}
			if err := a.hw.leds.SetLED(i+1, s); err != nil {
				a.log.Error("led", "port", i+1, "err", err)
			}
		}
		a.lastLEDs = f.LEDs
	}
	if a.observe != nil {
		a.observe(ev, f)
	}
}

// buzz plays beeps one after the other, off the main loop.
func (a *appliance) buzz(ctx context.Context) {
	for {
		select {
		case p := <-a.beeps:
			if a.hw.buzzer == nil {
				continue
			}
			if err := a.hw.buzzer.Play(ctx, p); err != nil && ctx.Err() == nil {
				a.log.Warn("buzzer", "err", err)
			}
		case <-ctx.Done():
			return
		}
	}
}

// driveEvent turns a watcher's event into a panel event.
func (a *appliance) driveEvent(ev hal.DriveEvent) any {
	ev, ok := a.ports.Map(ev)
	if !ok || ev.Kind == hal.ScanDone {
		if ev.Kind == hal.ScanDone {
			a.log.Info("drive scan done", "drives", len(a.drives))
			return a.offerResume()
		}
		return nil
	}
	d := ev.Drive
	if ev.Kind == hal.DriveRemoved || (ev.Kind == hal.MediaChanged && d.Size == 0 && !d.Removable) {
		delete(a.drives, d.Port)
		a.log.Info("drive removed", "port", d.Label, "node", d.Node)
		if a.job != nil {
			// The engine sees the removal as I/O errors on that drive; the
			// port fails with them and the others go on.
			a.log.Warn("job: a drive in the job was removed", "port", d.Label)
		}
		return ui.DriveOut{Port: d.Port}
	}
	a.drives[d.Port] = d
	// Probe before planning: both open the drive, and a block device
	// opens exclusively, so the plan's open must not overlap the probe's.
	in := ui.DriveIn{Drive: a.probe(d)}
	if d.Port == a.b.MasterPort {
		a.planMaster()
	}
	return in
}

// probe reads a new drive's identity and whether it holds data.
func (a *appliance) probe(d hal.DriveInfo) ui.Drive {
	out := ui.Drive{Port: d.Port, Model: strings.TrimSpace(d.Vendor + " " + d.Model), Serial: d.Serial, Size: d.Size}
	switch {
	case d.Size == 0:
		out.Problem = "no media"
		return out
	case d.ReadOnly && d.Port != a.b.MasterPort:
		out.Problem = "read-only"
	}
	r, err := a.hw.opener.OpenRead(d.Node)
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

// checkDrive runs a drive check on a goroutine; its result comes back as
// a notice on the panel.
func (a *appliance) checkDrive(ctx context.Context, c ui.CheckDrive) {
	d, ok := a.drives[c.Port]
	if !ok || a.job != nil {
		a.model.Update(ui.Notice{Title: "Check", Text: "The drive is gone, or a job is running."})
		return
	}
	opener, log := a.hw.opener, a.log
	go func() {
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
			probe := a.probe(d)
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
		select {
		case a.events <- n:
		case <-ctx.Done():
		}
	}()
}

// startErase opens the targets and wipes them on a goroutine.
func (a *appliance) startErase(ctx context.Context, c ui.StartErase) any {
	if a.job != nil {
		return ui.JobRefused{Reason: "a job is running"}
	}
	mode, err := engine.ParseEraseMode(c.Mode)
	if err != nil {
		return ui.JobRefused{Reason: err.Error()}
	}
	j := &runningJob{done: make(chan struct{}),
		meta: jobMeta{id: time.Now().UTC().Format("20060102-150405.000"), targets: map[int]hal.DriveInfo{}}}
	job := engine.EraseJob{Mode: mode, Verify: c.Verify, Options: a.jobOpts}
	job.Options.OnProgress = func(p engine.Progress) {
		select {
		case a.events <- p:
		default:
		}
	}
	for _, port := range c.Targets {
		d, ok := a.drives[port]
		if !ok || port == a.b.MasterPort {
			continue // the master is never erased
		}
		dev, err := a.hw.opener.OpenWrite(d.Node)
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
	go func() {
		defer cancel()
		res, err := job.Run(jctx)
		if err != nil {
			res = &engine.Result{Mode: engine.Erase, Err: err}
		}
		j.close()
		close(j.done)
		a.events <- res
	}()
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
// off the main loop, and tells the panel.
func (a *appliance) planMaster() {
	d, ok := a.drives[a.b.MasterPort]
	if !ok || d.Size == 0 {
		return
	}
	area := a.settings.Area
	opener := a.hw.opener
	go func() {
		info := ui.PlanInfo{Area: area, Of: d.Size}
		r, err := opener.OpenRead(d.Node)
		if err == nil {
			var plan engine.Plan
			plan, err = areaFor(area).Plan(r)
			r.Close()
			info.Bytes = plan.Bytes()
			for _, n := range plan.Notes {
				a.log.Info("copy area", "area", area, "note", n)
			}
		}
		if err != nil {
			info.Error = err.Error()
			a.log.Warn("copy area", "area", area, "err", err)
		}
		select {
		case a.events <- info:
		default:
		}
	}()
}

// writeBlocker is a master that can be made read-only in the kernel.
type writeBlocker interface{ WriteBlock() error }

// startJob opens the drives and starts the engine. It returns the event
// that tells the panel how it went.
func (a *appliance) startJob(ctx context.Context, c ui.StartJob, resume map[int]int) any {
	if a.job != nil {
		return ui.JobRefused{Reason: "a job is running"}
	}
	if a.line != nil {
		return ui.JobRefused{Reason: "line mode is running"}
	}
	j := &runningJob{done: make(chan struct{}),
		meta: jobMeta{id: time.Now().UTC().Format("20060102-150405.000"), targets: map[int]hal.DriveInfo{}}}
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
		src, area, j.meta.image, j.closers = im, im.Area(), im.Manifest(), []io.Closer{im}
	} else {
		master, ok := a.drives[c.Master]
		if !ok {
			return ui.JobRefused{Reason: "no master"}
		}
		d, err := a.hw.opener.OpenRead(master.Node)
		if err != nil {
			a.log.Error("job: master", "err", err)
			return ui.JobRefused{Reason: "master: " + err.Error()}
		}
		if wb, ok := d.(writeBlocker); ok {
			if err := wb.WriteBlock(); err != nil {
				d.Close()
				a.log.Error("job: write-block master", "err", err)
				return ui.JobRefused{Reason: "cannot write-block the master"}
			}
		}
		src, j.meta.master, j.drives = d, master, []hal.DriveReader{d}
	}
	master := j.meta.master
	mode := map[ui.Mode]engine.Mode{ui.CopyVerify: engine.CopyVerify, ui.CopyOnly: engine.Copy, ui.VerifyOnly: engine.VerifyOnly}[c.Mode]
	job := engine.Job{Source: src, Mode: mode, Area: area, Options: a.jobOpts}
	job.Options.ResumeFrom = resume
	if a.journalPath != "" && mode != engine.VerifyOnly && c.Image == "" {
		job.Options.OnCheckpoint = func(port, n int) {
			select {
			case a.events <- checkpoint{port, n}:
			default: // the next checkpoint will carry it
			}
		}
	}
	job.Options.Clean = a.settings.Clean
	job.Options.BadSectors = engine.BadSectorPolicy{ZeroFill: a.settings.ZeroFill, Retries: 3}
	if a.settings.Qualify && mode != engine.VerifyOnly {
		job.Options.Qualify = &engine.QualifyOptions{MinWriteMBps: a.settings.MinWriteMBps}
	}
	job.Options.OnProgress = func(p engine.Progress) {
		select {
		case a.events <- p:
		default: // progress is rate-limited and the next one comes soon
		}
	}
	for _, port := range c.Targets {
		d, ok := a.drives[port]
		if !ok {
			j.prefail = append(j.prefail, ui.PortResult{Port: port, Cause: "removed", Reason: "the drive left before the job"})
			continue
		}
		var dev hal.DriveReader
		var err error
		if mode == engine.VerifyOnly {
			dev, err = a.hw.opener.OpenRead(d.Node)
		} else {
			dev, err = a.hw.opener.OpenWrite(d.Node)
		}
		if err != nil {
			a.log.Error("job: target", "port", d.Label, "err", err)
			j.prefail = append(j.prefail, ui.PortResult{Port: port, Cause: "cannot open", Reason: err.Error()})
			continue
		}
		j.drives = append(j.drives, dev)
		j.meta.targets[port] = d
		chk, ok := dev.(engine.Checked)
		if !ok {
			j.prefail = append(j.prefail, ui.PortResult{Port: port, Cause: "cannot verify", Reason: "the drive cannot drop its caches"})
			continue
		}
		job.Targets = append(job.Targets, engine.PortTarget{Port: port, Label: d.Label, Dev: chk})
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
	j.cancel = run.Cancel
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
	go func() {
		res := run.Wait()
		j.close()
		close(j.done)
		a.events <- res
	}()
	return ui.JobStarted{Bytes: plan.Bytes(), Area: plan.Area, Targets: c.Targets}
}

// checkpoint is a port's progress for the journal.
type checkpoint struct{ port, n int }

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

// jobEvent turns engine output into panel events.
func (a *appliance) jobEvent(e any) any {
	switch e := e.(type) {
	case ui.Notice, ui.Busy, ui.BusyDone, ui.ImportFiles:
		return e
	case imagesChanged:
		return a.imageList()
	case imageChecked:
		a.stopCheck = nil
		switch {
		case !a.model.Running():
			return nil // the panel no longer waits for the job or the line
		case errors.Is(e.err, context.Canceled):
			return ui.JobRefused{Reason: "stopped while image " + e.name + " was being checked"}
		case e.err != nil:
			a.log.Error("image refused", "name", e.name, "err", e.err)
			return ui.JobRefused{Reason: e.err.Error() + "; it will not be deployed"}
		}
		a.log.Info("image matches its manifest", "name", e.name)
		a.command(a.ctx, e.then)
		return nil
	case checkpoint:
		if a.journal != nil {
			for i := range a.journal.Targets {
				if a.journal.Targets[i].Port == e.port {
					a.journal.Targets[i].Synced = e.n
				}
			}
			a.saveJournal()
		}
		return nil
	case ui.PlanInfo:
		if e.Area != a.settings.Area {
			return nil // the setting changed since; a newer plan is on its way
		}
		return e
	case engine.Progress:
		return ui.Progress{Port: e.Port, Phase: e.Phase.String(), Done: e.Done, Total: e.Total, Rate: e.Rate, ETA: e.ETA}
	case *engine.Result:
		j := a.job
		a.job = nil
		r := ui.JobResult{Mode: uiMode(e.Mode), Bytes: e.Bytes, Duration: e.Duration, MasterBadSectors: e.BadSectors()}
		if e.Err != nil {
			r.MasterError = e.Err.Error()
			r.MasterCause = masterCause(e.Err)
		}
		for _, p := range e.Ports {
			r.Ports = append(r.Ports, ui.PortResult{Port: p.Port, Pass: p.Status == engine.Pass,
				Abort: p.Status == engine.Aborted, Cause: string(p.Cause), Reason: p.Reason})
			a.log.Info("job port result", "port", p.Label, "result", p.Status.String(), "reason", p.Reason,
				"written", p.Written, "verified", p.Verified, "mbps", fmt.Sprintf("%.1f", p.MBps), "sha256", p.SHA256)
		}
		if j != nil {
			r.Ports = append(r.Ports, j.prefail...)
			a.writeRecord(j.meta, e)
		}
		if !a.shuttingDown {
			// Finished, or aborted by the operator: nothing to resume. A
			// job cut short by a shutdown keeps its journal.
			a.dropJournal()
		}
		slices.SortFunc(r.Ports, func(x, y ui.PortResult) int { return x.Port - y.Port })
		a.log.Info("job done", "passed", r.Passed(), "ports", len(r.Ports), "sha256", e.SHA256,
			"duration", e.Duration.Round(time.Millisecond), "master_error", r.MasterError)
		return ui.JobDone{Result: r}
	}
	return nil
}

func uiMode(m engine.Mode) ui.Mode {
	switch m {
	case engine.Copy:
		return ui.CopyOnly
	case engine.VerifyOnly:
		return ui.VerifyOnly
	case engine.Erase:
		return ui.EraseDrives
	}
	return ui.CopyVerify
}

// masterCause is a short word for the LCD on why the master failed.
func masterCause(err error) string {
	s := err.Error()
	switch {
	case errors.Is(err, hal.ErrRemoved):
		return "removed"
	case strings.Contains(s, "changed during the job"):
		return "changed"
	}
	return "read error"
}

// abortAndWait ends a running job and reports it, on shutdown.
func (a *appliance) abortAndWait() {
	if a.job == nil {
		return
	}
	a.log.Warn("shutting down: aborting the job")
	a.shuttingDown = true
	a.job.cancel()
	<-a.job.done
	res := <-a.events
	for res != nil {
		if r, ok := res.(*engine.Result); ok {
			a.handle(context.Background(), a.jobEvent(r))
			return
		}
		res = <-a.events
	}
}

// shutdown leaves the panel dark and saying so.
func (a *appliance) shutdown() {
	if a.hw.leds != nil {
		for p := 1; p <= a.hw.leds.Ports(); p++ {
			_ = a.hw.leds.SetLED(p, hal.LEDOff)
		}
	}
	if a.hw.display != nil {
		_ = a.hw.display.Show([]string{"Clonebay", "Shut down"})
	}
	a.log.Info("shut down")
}
