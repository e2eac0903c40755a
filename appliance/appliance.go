package appliance

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/clonebay/clonebay/board"
	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/fileset"
	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/images"
	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/internal/passwords"
	"github.com/clonebay/clonebay/record"
	"github.com/clonebay/clonebay/record/fleet"
	"github.com/clonebay/clonebay/ui"
)

// Hardware is everything the appliance drives. Any part of the panel may
// be missing (a headless box still duplicates); the drive side may not.
type Hardware struct {
	Watcher hal.DriveWatcher
	Opener  hal.DriveOpener
	Buttons hal.Buttons    // nil: no buttons
	Display hal.Display    // nil: no LCD
	LEDs    hal.LEDs       // nil: no LEDs
	Buzzer  hal.Buzzer     // nil: no buzzer
	Scanner hal.CodeReader // nil: no barcode scanner
	Light   hal.StackLight // nil: no stack light
	// Runners are goroutines the backends need (the LCD writer, the LED
	// blinker); they outlive the loop, so the shutdown frame still
	// reaches the panel.
	Runners []func(context.Context) error
	// IsSystem tells the appliance's own system disk, which is never
	// offered whatever the board says; nil: nothing is.
	IsSystem func(node string) bool
}

// Paths are where the appliance keeps its state. An empty path keeps that
// part in memory only, or leaves it out (the simulator's defaults).
type Paths struct {
	Settings string // the operator's Setup choices
	Record   string // the production record
	Journal  string // the running job's checkpoints, to resume after a power loss
	Library  string // the image library's folder
	State    string // the appliance's ID and the replication's cursor
}

// Config is how the appliance starts.
type Config struct {
	Board    *board.Board
	Settings ui.Settings // the factory settings over the operator's (see LoadSettings)
	Version  string      // the firmware version the panel shows
	// Fleet is where the record is replicated and which catalog the
	// image library follows (both need Paths.State).
	Fleet Fleet
	// Notice is shown once the panel is up (a damaged settings file).
	Notice *ui.Notice
	// Lot, when set, is the lot the appliance starts (with LotGoal drives
	// to pass; 0 is no count) in place of the one it ran before.
	Lot     string
	LotGoal int
	// Files holds the state files; nil is the machine's own file system.
	Files fsys.FS
	// JobOptions are the engine's options for every job (chunk sizes);
	// the appliance fills in the rest.
	JobOptions engine.Options
	// Passwords keeps the Setup PIN's hash (and the web panel's
	// passwords); nil keeps the PIN in memory only.
	Passwords *passwords.Store
	// Observe, when set, is called on the loop's goroutine after every
	// event the panel took, with the frame shown after it (tests, the
	// latency benchmark). It must not block.
	Observe func(ev ui.Event, f ui.Frame)
}

// Appliance is the duplicator's main loop: hardware events in, the
// panel's model in the middle, frames and jobs out.
type Appliance struct {
	b        *board.Board
	hw       Hardware
	paths    Paths
	files    fsys.FS
	log      *slog.Logger
	model    *ui.Model
	ports    *portMap
	settings ui.Settings
	jobOpts  engine.Options
	observe  func(ev ui.Event, f ui.Frame)
	start    time.Time

	drives map[int]hal.DriveInfo // the drives on the panel, by port
	shown  map[int]ui.Drive      // what the panel was told of them

	version   string  // the firmware's, for reports
	lot       lotRun  // the running lot
	givenLot  *lotRun // the lot the configuration starts
	lastLamps *hal.Lamps

	notice        *ui.Notice
	jobLog        *record.Log
	recordLock    *os.File // held on the record's file while the appliance runs
	journal       *journal
	pendingResume *journal
	shuttingDown  bool
	lib           *images.Library
	sets          *fileset.Library
	job           *runningJob
	line          *lineRun
	stopCheck     context.CancelFunc // the check of an image a job or line waits for
	// checkStopped says the job that waits for an image's check was
	// aborted: the check's end may already be on its way to the loop,
	// a success that cancelling no longer changes.
	checkStopped bool

	fleet       Fleet
	id          string            // the appliance's ID; set before the loop starts, never changed
	box         ui.BoxInfo        // the loop's copy of the ID and the replication's status
	repl        *fleet.Replicator // nil when the record is not replicated
	imagesInUse imageUse          // the images jobs read, which a catalog sync leaves alone

	events chan event // from the loop's tasks, and from front ends
	tasks  *errgroup.Group
	beeps  chan []hal.Beep

	changed  bool      // an event other than progress or a tick since the last view published
	lastPub  time.Time // when the last view was published
	lastShow []string
	lastLEDs []hal.LEDState
	lastBL   *bool

	pins *passwords.Store // the Setup PIN's hash; the web password set on the panel

	stopped chan struct{} // closed when the loop has ended

	subsMu   sync.Mutex
	subs     map[chan ui.View]struct{}
	lastView *ui.View         // the view last published, for a new subscriber
	finished []func(Finished) // OnFinished's functions

	// shared is what front ends read from their own goroutines.
	shared struct {
		lib    atomic.Pointer[images.Library]
		record atomic.Pointer[record.Log]
	}
}

// New makes an appliance. It fails on a configuration it cannot run.
func New(cfg Config, hw Hardware, paths Paths, log *slog.Logger) (*Appliance, error) {
	switch {
	case cfg.Board == nil:
		return nil, errors.New("appliance: no board")
	case hw.Watcher == nil || hw.Opener == nil:
		return nil, errors.New("appliance: a drive watcher and a drive opener are needed")
	}
	if err := cfg.Board.Validate(); err != nil {
		return nil, fmt.Errorf("appliance: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := cfg.Board
	pins := cfg.Passwords
	if pins == nil {
		pins = passwords.Memory(passwords.DefaultCost)
	}
	lock := passwords.Lock{Cost: pins.Cost}
	set := cfg.Settings
	if set.PIN != "" && !passwords.IsHash(set.PIN) {
		// A PIN given as it was typed (the simulator, tests): the panel
		// keeps only its hash.
		h, err := lock.Hash(set.PIN)
		if err != nil {
			return nil, fmt.Errorf("appliance: %w", err)
		}
		set.PIN = h
	}
	cols, rows := b.Geometry()
	if hw.Display != nil {
		g := hw.Display.Geometry()
		cols, rows = g.Cols, g.Rows
	}
	uc := ui.Config{Geometry: hal.Geometry{Cols: cols, Rows: rows}, MasterPort: b.MasterPort, Version: cfg.Version, PINLock: lock}
	for _, p := range b.Ports {
		uc.Ports = append(uc.Ports, ui.Port{Number: p.Number, Label: p.Label})
	}
	return &Appliance{
		b: b, hw: hw, paths: paths, log: log, settings: set,
		files:   cmp.Or[fsys.FS](cfg.Files, fsys.OS),
		model:   ui.New(uc, set),
		pins:    pins,
		stopped: make(chan struct{}),
		ports:   newPortMap(b, hw.IsSystem, log),
		jobOpts: cfg.JobOptions,
		fleet:   cfg.Fleet,
		observe: cfg.Observe,
		notice:  cfg.Notice,
		drives:  map[int]hal.DriveInfo{},
		shown:   map[int]ui.Drive{},
		version: cfg.Version,
		givenLot: func() *lotRun {
			if cfg.Lot == "" {
				return nil
			}
			return &lotRun{Name: cfg.Lot, Goal: cfg.LotGoal}
		}(),
		events: make(chan event, 256),
		beeps:  make(chan []hal.Beep, 8),
		subs:   map[chan ui.View]struct{}{},
	}, nil
}

// tickEvery is how often the panel's clock ticks.
const tickEvery = 100 * time.Millisecond

// Run runs the appliance until ctx ends, then shuts down cleanly: a job
// is aborted and recorded, LEDs go off and the LCD says so. Every
// goroutine it started has ended when it returns.
func (a *Appliance) Run(ctx context.Context) error {
	a.start = time.Now()
	if a.hw.Display != nil {
		for i, g := range ui.Glyphs {
			if err := a.hw.Display.DefineGlyph(i, g); err != nil {
				return fmt.Errorf("lcd: %w", err)
			}
		}
	}
	runCtx, stopRunners := context.WithCancel(context.Background())
	var runners errgroup.Group
	for _, r := range a.hw.Runners {
		runners.Go(func() error { return quiet(r(runCtx)) })
	}

	// The tasks (jobs, checks, captures) outlive the loop's last event:
	// their context ends only once the loop has shut the job and the
	// line down, and Run waits for them.
	taskCtx, stopTasks := context.WithCancel(context.Background())
	var tasks errgroup.Group
	a.tasks = &tasks

	g, gctx := errgroup.WithContext(ctx)
	driveEvents := make(chan hal.DriveEvent, 64)
	buttonEvents := make(chan hal.ButtonEvent, 64)
	g.Go(func() error { return quiet(a.hw.Watcher.Watch(gctx, driveEvents)) })
	if a.hw.Buttons != nil {
		g.Go(func() error { return quiet(a.hw.Buttons.Run(gctx, buttonEvents)) })
	}
	g.Go(func() error { a.buzz(gctx); return nil })
	if a.hw.Scanner != nil {
		g.Go(func() error { return a.readScanner(gctx) })
	}
	a.startFleet(gctx, g)
	g.Go(func() error {
		defer close(a.stopped)
		return a.loop(gctx, taskCtx, driveEvents, buttonEvents)
	})
	err := g.Wait()
	stopTasks()
	err = errors.Join(err, tasks.Wait())
	a.shutdown()
	if a.hw.Display != nil {
		fctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = a.hw.Display.Flush(fctx)
		cancel()
	}
	stopRunners()
	a.closeSubscribers()
	return errors.Join(err, runners.Wait())
}

// quiet turns the context's own end into a clean return.
func quiet(err error) error {
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// loop is the appliance's one goroutine that touches its state.
func (a *Appliance) loop(ctx, taskCtx context.Context, drives <-chan hal.DriveEvent, buttons <-chan hal.ButtonEvent) error {
	tick := time.NewTicker(tickEvery)
	defer tick.Stop()
	var first []ui.Event
	first = append(first, a.openJobLog()...)
	first = append(first, a.openLot(a.givenLot)...)
	first = append(first, a.openImageLibrary()...)
	a.loadJournal()
	if a.box != (ui.BoxInfo{}) {
		first = append(first, a.box)
	}
	if a.notice != nil {
		first = append(first, *a.notice)
	}
	for _, ev := range first {
		a.dispatch(taskCtx, ev)
	}
	a.show()
	for {
		select {
		case <-ctx.Done():
			a.abortAndWait(taskCtx)
			a.stopLineAndWait(taskCtx)
			if a.jobLog != nil {
				_ = a.jobLog.Close()
			}
			if a.recordLock != nil {
				_ = a.recordLock.Close()
			}
			return nil
		case <-tick.C:
			a.dispatch(taskCtx, ui.Tick{Now: time.Since(a.start)})
		case b := <-buttons:
			a.dispatch(taskCtx, ui.Button{ButtonEvent: b})
		case d := <-drives:
			a.dispatch(taskCtx, a.driveEvent(taskCtx, d)...)
		case e := <-a.events:
			if fe, ok := e.(frontEndEvent); ok {
				a.frontEnd(taskCtx, fe)
				continue
			}
			a.dispatch(taskCtx, a.loopEvent(taskCtx, e)...)
		}
	}
}

// dispatch is the one path of every event: the panel's model takes it,
// every command it gives is carried out, the events those commands answer
// with go the same way, and then the frame is shown once.
func (a *Appliance) dispatch(ctx context.Context, evs ...ui.Event) {
	if len(evs) == 0 {
		return
	}
	for len(evs) > 0 {
		ev := evs[0]
		evs = evs[1:]
		if ev == nil {
			continue
		}
		switch ev.(type) {
		case ui.Progress, ui.Tick:
		default:
			a.changed = true // front ends hear of it at once
		}
		for _, cmd := range a.model.Update(ev) {
			evs = append(evs, a.command(ctx, cmd)...)
		}
		if a.observe != nil {
			a.observe(ev, a.model.Frame())
		}
	}
	a.show()
}

// command carries out one of the panel's commands and returns what the
// panel must hear of it now (a refusal, a start); what comes later comes
// through the loop's events.
func (a *Appliance) command(ctx context.Context, cmd ui.Command) []ui.Event {
	switch c := cmd.(type) {
	case ui.StartJob:
		if a.job != nil || a.line != nil {
			return one(ui.JobRefused{Reason: "a job is running"})
		}
		if c.Mode == ui.CopyFiles {
			return one(a.startFiles(ctx, c))
		}
		if c.Image != "" && a.lib != nil && !a.lib.CheckedToday(c.Image) {
			a.checkImageThen(ctx, c.Image, c)
			return nil
		}
		return one(a.startJob(ctx, c, nil))
	case ui.StartLine:
		return one(a.startLine(ctx, c))
	case ui.LineTarget:
		return one(a.lineTarget(ctx, c.Port))
	case ui.StopLine:
		return one(a.stopLine())
	case ui.CaptureImage:
		return one(a.captureImage(ctx, c))
	case ui.FindImports:
		return one(a.findImports(ctx))
	case ui.ImportImage:
		return one(a.importImage(ctx, c))
	case ui.DeleteImage:
		return a.deleteImage(c)
	case ui.ImportSet:
		return one(a.importSet(ctx, c))
	case ui.ResumeJob:
		return one(a.resumeJob(ctx))
	case ui.DiscardResume:
		a.pendingResume = nil
		a.dropJournal()
	case ui.CheckDrive:
		return one(a.checkDrive(ctx, c))
	case ui.StartErase:
		return one(a.startErase(ctx, c))
	case ui.ExportLog:
		return one(a.exportLog(ctx))
	case ui.NewWebPassword:
		return one(a.newWebPassword())
	case ui.AbortJob:
		if a.stopCheck != nil {
			a.stopCheck()
			a.checkStopped = true
		}
		if a.job != nil {
			a.log.Info("job: abort asked on the panel")
			a.job.cancel()
		}
	case ui.AbortPort:
		a.abortPort(c.Port)
	case ui.Beep:
		select {
		case a.beeps <- c.Pattern:
		default: // the buzzer is busy; a missed click is no loss
		}
	case ui.SaveSettings:
		return a.saveSettings(ctx, c.Settings)
	case ui.StartLot:
		return a.startLot(c)
	case ui.EndLot:
		return a.endLot()
	default:
		a.log.Error("the panel gave a command the appliance does not know", "command", fmt.Sprintf("%T", cmd))
	}
	return nil
}

// one is a single answer, or none.
func one(ev ui.Event) []ui.Event {
	if ev == nil {
		return nil
	}
	return []ui.Event{ev}
}

// saveSettings keeps the operator's Setup choices.
func (a *Appliance) saveSettings(ctx context.Context, s ui.Settings) []ui.Event {
	replan := s.Area != a.settings.Area
	var out []ui.Event
	if s.PIN != a.settings.PIN {
		// The PIN's hash goes to the passwords file, never to the settings.
		if err := a.pins.SetPIN(s.PIN); err != nil {
			a.log.Error("PIN not saved", "err", err)
			out = append(out, ui.Notice{Title: "Not saved", Text: "The PIN could not be saved: " + err.Error()})
		} else {
			a.log.Info("PIN changed", "lock", s.PIN != "")
		}
	}
	a.settings = s
	logged := s
	logged.PIN = map[bool]string{true: "set", false: ""}[s.PIN != ""]
	if a.paths.Settings != "" {
		data := MarshalSettings(Settings{Panel: s, Fleet: stateFleet(a.files, a.paths.Settings)})
		if err := fsys.WriteFileAtomic(a.files, a.paths.Settings, data, 0o600); err != nil {
			a.log.Error("settings not saved", "file", a.paths.Settings, "err", err)
			out = append(out, ui.Notice{Title: "Not saved", Text: "The settings could not be saved: " + err.Error()})
		} else {
			a.log.Info("settings saved", "file", a.paths.Settings)
		}
	}
	if replan {
		a.planMaster(ctx)
	}
	a.log.Info("settings changed", "settings", fmt.Sprintf("%+v", logged))
	return out
}

// show writes the model's frame to the panel, only what changed, and
// gives front ends the new view.
func (a *Appliance) show() {
	f := a.model.Frame()
	if a.hw.Display != nil {
		if !slices.Equal(f.Lines, a.lastShow) {
			if err := a.hw.Display.Show(f.Lines); err != nil {
				a.log.Error("lcd", "err", err)
			}
			a.lastShow = f.Lines
		}
		if a.lastBL == nil || *a.lastBL != f.Backlight {
			if err := a.hw.Display.SetBacklight(f.Backlight); err != nil {
				a.log.Error("lcd backlight", "err", err)
			}
			bl := f.Backlight
			a.lastBL = &bl
		}
	}
	if a.hw.LEDs != nil {
		for i, s := range f.LEDs {
			if i < len(a.lastLEDs) && a.lastLEDs[i] == s || i >= a.hw.LEDs.Ports() {
				continue
			}
			if err := a.hw.LEDs.SetLED(i+1, s); err != nil {
				a.log.Error("led", "port", i+1, "err", err)
			}
		}
		a.lastLEDs = f.LEDs
	}
	a.showLamps(a.model.Lamps())
	a.publish()
}

// buzz plays beeps one after the other, off the main loop.
func (a *Appliance) buzz(ctx context.Context) {
	for {
		select {
		case p := <-a.beeps:
			if a.hw.Buzzer == nil {
				continue
			}
			if err := a.hw.Buzzer.Play(ctx, p); err != nil && ctx.Err() == nil {
				a.log.Warn("buzzer", "err", err)
			}
		case <-ctx.Done():
			return
		}
	}
}

// shutdown leaves the panel dark and saying so.
func (a *Appliance) shutdown() {
	if a.hw.LEDs != nil {
		for p := 1; p <= a.hw.LEDs.Ports(); p++ {
			_ = a.hw.LEDs.SetLED(p, hal.LEDOff)
		}
	}
	if a.hw.Light != nil {
		_ = a.hw.Light.Set(hal.Lamps{})
	}
	if a.hw.Display != nil {
		_ = a.hw.Display.Show([]string{"Clonebay", "Shut down"})
	}
	a.log.Info("shut down")
}

// passwordAlphabet leaves out letters and digits that read alike on an
// LCD.
const passwordAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"

// newWebPassword makes a new operator password for the web panel, keeps
// its hash and shows it on the panel once (Setup > Web password).
func (a *Appliance) newWebPassword() ui.Event {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return ui.Notice{Title: "Web password", Text: "Not changed: " + err.Error()}
	}
	for i := range b {
		b[i] = passwordAlphabet[int(b[i])%len(passwordAlphabet)]
	}
	if err := a.pins.Set(passwords.Operator, string(b)); err != nil {
		a.log.Error("web password not changed", "err", err)
		return ui.Notice{Title: "Web password", Text: "Not changed: " + err.Error()}
	}
	a.log.Info("web panel: a new operator password was made on the panel") // never the password itself
	return ui.Notice{Title: "Web password", Text: string(b)}
}
