package ui

import (
	"fmt"
	"slices"
	"time"

	"github.com/clonebay/clonebay/hal"
)

// logSize is how many job results the Job log screen keeps.
const logSize = 20

// Model is the front panel's state: what every screen shares (the
// drives in the ports, the running job or line, results, the library)
// and the screen on show, which owns the rest.
type Model struct {
	cfg Config
	set Settings

	now       time.Duration
	lastKey   time.Duration
	backlight bool
	unlocked  bool // the PIN was entered since the panel last went idle

	screen screen

	drives  map[int]Drive
	outcome map[int]outcome // per port, after a job, until the drive leaves
	lastJob map[int]bool    // ports of the last job: auto-start waits for new drives
	plan    *PlanInfo       // the copy area on the current master
	job     *jobState
	line    *lineState // production-line mode, while it runs
	log     []JobResult

	images []ImageInfo // the image library
	free   int64       // its free space
	image  string      // the image jobs copy from; "" is the master drive
	busy   *Busy       // a capture, import or image check under way

	sets    []SetInfo // the file sets beside the images
	fileSet string    // the set Files mode copies; "" is the files on the master drive
	box     BoxInfo   // the appliance's own: its ID, its record's replication

	lot    LotState     // the running lot, as the appliance counts it
	redo   map[int]bool // ports whose already-done drive the operator confirmed
	answer *Answer      // what became of a front end's latest request, until taken
}

// jobState is the running job.
type jobState struct {
	mode     Mode
	targets  []int
	started  bool
	bytes    int64
	area     string
	progress map[int]Progress
	// gone are the targets whose drive left during the job: a drive put
	// into such a port is not the one the job's result is for, and must
	// not wear its PASS.
	gone map[int]bool
}

// outcome is a port's last result and the LED that shows it.
type outcome struct {
	result PortResult
	led    hal.LEDState
}

func portOutcome(p PortResult) outcome {
	switch {
	case p.Pass:
		return outcome{p, hal.LEDGreen}
	case p.Abort:
		return outcome{p, hal.LEDOff}
	}
	return outcome{p, hal.LEDRed}
}

// New makes the panel model, on the idle screen.
func New(cfg Config, set Settings) *Model {
	return &Model{cfg: cfg, set: set, screen: &idleScreen{}, drives: map[int]Drive{}, outcome: map[int]outcome{},
		lastJob: map[int]bool{}, redo: map[int]bool{}, backlight: true}
}

// Settings returns the current settings.
func (m *Model) Settings() Settings { return m.set }

// Running reports whether a job or production-line mode is running.
func (m *Model) Running() bool { return m.job != nil || m.line != nil }

// Update feeds one event to the panel and returns the commands it gives.
// What the screens share is updated here; keys, ticks and the events a
// screen must follow go on to the screen on show.
func (m *Model) Update(ev Event) []Command {
	switch ev := ev.(type) {
	case Request:
		return m.request(ev)
	case Tick:
		m.now = ev.Now
		cmds := m.route(ev)
		if m.set.Backlight > 0 && m.job == nil && m.line == nil && m.now-m.lastKey >= m.set.Backlight {
			m.backlight = false
		}
		return cmds
	case Button:
		return m.button(ev)
	case DriveIn:
		m.drives[ev.Drive.Port] = ev.Drive
		delete(m.outcome, ev.Drive.Port)
		delete(m.redo, ev.Drive.Port)
		m.askRedo(ev.Drive)
		if m.line != nil {
			return m.lineFill()
		}
		return m.autoStart()
	case DriveOut:
		return m.driveOut(ev)
	case LotState:
		return m.lotChanged(ev)
	case Scanned:
		return m.scanned(ev)
	case PlanInfo:
		m.plan = &ev
	case ResumeOffer:
		if m.job == nil {
			m.screen = &resumeScreen{offer: ev}
		}
	case LogLoaded:
		m.log = append(m.log, ev.Results...)
		m.trimLog()
	case Notice:
		if m.job == nil && m.line == nil {
			m.screen = message(ev.Title, ev.Text)
		}
	case JobStarted:
		if m.job != nil {
			m.job.started, m.job.bytes, m.job.area = true, ev.Bytes, ev.Area
			if len(ev.Targets) > 0 {
				m.job.targets = ev.Targets
			}
		}
	case JobRefused:
		if m.answer != nil && m.answer.OK() {
			m.answer = refused(RefusedFailed, "%s", ev.Reason) // the appliance could not start it after all
		}
		m.job = nil
		m.line = nil
		m.screen = message("Not started", ev.Reason)
	case Progress:
		if m.job != nil {
			m.job.progress[ev.Port] = ev
		}
		if m.line != nil && m.line.running[ev.Port] {
			m.line.progress[ev.Port] = ev
		}
	case JobDone:
		return m.jobDone(ev.Result)
	case ImagesLoaded:
		m.images, m.free = ev.Images, ev.Free
		if m.image != "" && !slices.ContainsFunc(m.images, func(i ImageInfo) bool { return i.Name == m.image && i.Err == "" }) {
			m.image = "" // deleted or damaged: back to the master drive
		}
		return m.route(ev) // the image screens follow the library
	case BoxInfo:
		m.box = ev
	case SetsLoaded:
		m.sets = ev.Sets
		if m.fileSet != "" && !slices.ContainsFunc(m.sets, func(s SetInfo) bool { return s.Name == m.fileSet && s.Err == "" }) {
			m.fileSet = "" // deleted or damaged: back to the master's files
		}
		return m.route(ev)
	case ImportFiles:
		if len(ev.Files) == 0 {
			m.screen = message("Import", "No image file (.img .iso .gz .xz .zst) on a FAT stick in a port.")
		} else {
			m.screen = &importsScreen{files: ev.Files}
		}
	case Busy:
		m.busy = &ev
		if _, shown := m.screen.(*busyScreen); !shown && m.job == nil {
			m.screen = &busyScreen{}
		}
	case BusyDone:
		if ev.Failed && m.answer != nil && m.answer.OK() {
			m.answer = refused(RefusedFailed, "%s", ev.Text)
		}
		m.busy = nil
		m.screen = message(ev.Title, ev.Text)
	case LineStarted:
		if m.line != nil {
			m.line.started, m.line.bytes = true, ev.Bytes
			return m.lineFill()
		}
	case LineDone:
		return m.lineDone(ev.Result)
	case LineStopped:
		if l := m.line; l != nil {
			m.line = nil
			title := "Line ended"
			if m.lotDone() {
				title = "Lot done"
			}
			m.screen = message(title, fmt.Sprintf("%s%d passed, %d failed this session.", l.why, l.passed, l.failed))
		}
	}
	return nil
}

// route hands an event to the screen on show and shows the screen it
// gives back.
func (m *Model) route(ev Event) []Command {
	next, cmds := m.screen.update(m, ev)
	m.screen = next
	return cmds
}

// button wakes the panel, clicks, and hands the key to the screen. Only
// Up and Down auto-repeat: a held OK or Back acts once.
func (m *Model) button(b Button) []Command {
	switch b.Action {
	case hal.Release:
		return m.route(b) // ends a hold-to-confirm
	case hal.Press, hal.Repeat:
	default:
		return nil
	}
	m.lastKey = m.now
	if !m.backlight {
		m.backlight = true // the first key only wakes the panel
		return nil
	}
	var cmds []Command
	if m.set.KeyClick && b.Action == hal.Press {
		cmds = append(cmds, Beep{Pattern: hal.BeepKey})
	}
	if b.Action == hal.Repeat && b.Button != hal.Up && b.Button != hal.Down {
		return cmds
	}
	return append(cmds, m.route(b)...)
}

func (m *Model) driveOut(ev DriveOut) []Command {
	if ev.Port == m.cfg.MasterPort {
		m.plan = nil
	}
	delete(m.drives, ev.Port)
	delete(m.outcome, ev.Port)
	delete(m.redo, ev.Port)
	delete(m.lastJob, ev.Port)
	if m.job != nil && slices.Contains(m.job.targets, ev.Port) {
		markGone(&m.job.gone, ev.Port)
	}
	if m.line != nil && m.line.running[ev.Port] {
		markGone(&m.line.gone, ev.Port)
	}
	if m.line != nil && ev.Port == m.cfg.MasterPort {
		m.line.keep = false
		if !m.fromLibrary() && !m.line.stopping {
			// The master drive left: nothing more can be copied from it.
			m.line.stopping, m.line.why = true, "The master was removed. "
			return []Command{StopLine{}}
		}
	}
	return m.route(ev) // Drive info follows the ports
}

// markGone notes in gone (made when nil) that port's drive left.
func markGone(gone *map[int]bool, port int) {
	if *gone == nil {
		*gone = map[int]bool{}
	}
	(*gone)[port] = true
}

// logJob puts a result at the head of the Job log.
func (m *Model) logJob(r JobResult) {
	m.log = append([]JobResult{r}, m.log...)
	m.trimLog()
}

func (m *Model) trimLog() {
	if len(m.log) > logSize {
		m.log = m.log[:logSize]
	}
}

func (m *Model) defaultMode() Mode {
	if m.set.Files {
		return CopyFiles // always verified, file by file
	}
	if m.set.Verify {
		return CopyVerify
	}
	return CopyOnly
}

// start asks for a job on every ready target and shows its progress; it
// stays on from when there is no master or no target.
func (m *Model) start(from screen, mode Mode) (screen, []Command) {
	if m.lotDone() && mode != VerifyOnly {
		return message("Lot done", fmt.Sprintf("Lot %s has its %d. Start a new lot from the menu.", m.lot.Name, m.lot.Goal)), nil
	}
	return m.startOn(from, mode, m.jobTargets(mode))
}

// jobTargets are the ports a job of mode started now writes: the ready
// targets, less the drives already done in the lot, and no more than the
// lot's count still needs (the others are left as they are).
func (m *Model) jobTargets(mode Mode) []int {
	targets := m.readyTargets()
	if mode == VerifyOnly {
		return targets
	}
	if m.lotDone() {
		return nil
	}
	targets = m.notHeld(targets)
	if left := m.lotLeft(); left > 0 && len(targets) > left {
		targets = targets[:left]
	}
	return targets
}

// startOn asks for a job onto targets and shows its progress.
func (m *Model) startOn(from screen, mode Mode, targets []int) (screen, []Command) {
	if !m.masterPresent() || len(targets) == 0 {
		return from, nil
	}
	m.job = &jobState{mode: mode, targets: targets, progress: map[int]Progress{}}
	for _, p := range targets {
		delete(m.outcome, p)
	}
	delete(m.outcome, m.cfg.MasterPort)
	return &jobScreen{}, []Command{m.startJob(mode, targets)}
}

// startJob is the command that starts a job of mode on targets, from
// what the panel copies from.
func (m *Model) startJob(mode Mode, targets []int) StartJob {
	if mode == CopyFiles {
		return StartJob{Mode: mode, Master: m.cfg.MasterPort, Set: m.fileSet, Targets: targets}
	}
	return StartJob{Mode: mode, Master: m.cfg.MasterPort, Image: m.image, Targets: targets, Area: m.set.Area}
}

// startErase asks for an erase of every drive but the master's.
func (m *Model) startErase(from screen, mode string, verify bool) (screen, []Command) {
	targets := m.readyTargets()
	if len(targets) == 0 {
		return from, nil
	}
	m.job = &jobState{mode: EraseDrives, targets: targets, progress: map[int]Progress{}}
	for _, p := range targets {
		delete(m.outcome, p)
	}
	return &jobScreen{}, []Command{StartErase{Mode: mode, Verify: verify, Targets: targets}}
}

// autoStart starts a copy once enough new targets are ready.
func (m *Model) autoStart() []Command {
	if _, idle := m.screen.(*idleScreen); !idle || m.set.AutoStart == 0 || m.job != nil || !m.masterPresent() {
		return nil
	}
	mode := m.defaultMode()
	targets := m.jobTargets(mode)
	if len(targets) < m.set.AutoStart || m.targetsHoldData(mode) || m.lotDone() {
		return nil
	}
	for _, p := range targets {
		if m.lastJob[p] {
			return nil
		}
	}
	next, cmds := m.start(m.screen, mode)
	m.screen = next
	return cmds
}

func (m *Model) jobDone(r JobResult) []Command {
	var gone map[int]bool
	if m.job != nil {
		gone = m.job.gone
	}
	m.job = nil
	m.screen = &resultScreen{result: r, failed: list{clamp: true}}
	m.backlight = true
	m.lastKey = m.now
	m.lastJob = map[int]bool{}
	for _, p := range r.Ports {
		if gone[p.Port] {
			continue // the drive it is for left; the port holds another, or none
		}
		m.lastJob[p.Port] = true
		m.outcome[p.Port] = portOutcome(p)
	}
	if r.MasterError != "" {
		m.outcome[m.cfg.MasterPort] = outcome{PortResult{Port: m.cfg.MasterPort, Cause: r.MasterCause, Reason: r.MasterError}, hal.LEDRedBlink}
	}
	m.logJob(r)
	if !m.set.Buzzer {
		return nil
	}
	if r.Passed() < len(r.Ports) || r.MasterError != "" {
		return []Command{Beep{Pattern: hal.BeepFailure}}
	}
	return []Command{Beep{Pattern: hal.BeepJobDone}}
}

// fromLibrary reports whether jobs copy from the library (an image, or a
// file set in Files mode) rather than from the drive in the master port.
func (m *Model) fromLibrary() bool {
	if m.set.Files {
		return m.fileSet != ""
	}
	return m.image != ""
}

// masterPresent reports whether a job has what it copies from: an image,
// a file set, or a drive in the master port.
func (m *Model) masterPresent() bool {
	if m.fromLibrary() {
		return true
	}
	d, ok := m.drives[m.cfg.MasterPort]
	return ok && d.Size > 0
}

// readyTargets lists the ports whose drives can be targets: every drive
// but the master's, with media and no problem.
func (m *Model) readyTargets() []int {
	var ports []int
	for _, p := range m.cfg.Ports {
		d, ok := m.drives[p.Number]
		if ok && p.Number != m.cfg.MasterPort && d.Size > 0 && d.Problem == "" {
			ports = append(ports, p.Number)
		}
	}
	return ports
}

// targetsHoldData reports whether a job of this mode would overwrite data
// on one of its targets.
func (m *Model) targetsHoldData(mode Mode) bool {
	if mode == VerifyOnly {
		return false
	}
	for _, p := range m.jobTargets(mode) {
		if m.drives[p].HasData {
			return true
		}
	}
	return false
}

// occupied lists the ports that hold a drive.
func (m *Model) occupied() []int {
	var ports []int
	for _, p := range m.cfg.Ports {
		if _, ok := m.drives[p.Number]; ok {
			ports = append(ports, p.Number)
		}
	}
	return ports
}

func (m *Model) label(port int) string {
	for _, p := range m.cfg.Ports {
		if p.Number == port {
			return p.Label
		}
	}
	return fmt.Sprint(port)
}

// LEDs returns every port's LED state, port 1 first.
func (m *Model) LEDs() []hal.LEDState {
	maxPort := 0
	for _, p := range m.cfg.Ports {
		maxPort = max(maxPort, p.Number)
	}
	leds := make([]hal.LEDState, maxPort)
	for _, p := range m.cfg.Ports {
		leds[p.Number-1] = m.led(p.Number)
	}
	return leds
}

func (m *Model) led(port int) hal.LEDState {
	d, present := m.drives[port]
	if !present {
		return hal.LEDOff
	}
	if m.working(port) {
		return hal.LEDGreenBlink
	}
	if m.lotDone() && !m.Running() {
		return hal.LEDOff // the lot is done: nothing more to insert
	}
	if m.held(port) {
		return hal.LEDRedBlink // already done: see the panel
	}
	if o, ok := m.outcome[port]; ok {
		return o.led
	}
	if d.Problem != "" {
		return hal.LEDRedBlink
	}
	return hal.LEDGreen
}

// working reports whether the port's drive is in the running job or
// line: a target, or the master it copies from.
func (m *Model) working(port int) bool {
	if m.job != nil && (port == m.cfg.MasterPort || slices.Contains(m.job.targets, port) && !m.job.gone[port]) {
		return true
	}
	return m.line != nil && (m.line.running[port] || port == m.cfg.MasterPort && !m.fromLibrary())
}

// Frame renders the panel.
func (m *Model) Frame() Frame {
	return Frame{Lines: m.lines(), LEDs: m.LEDs(), Backlight: m.backlight}
}

// lines renders the screen on show, cut to the display.
func (m *Model) lines() []string {
	c, r := m.cfg.Geometry.Cols, m.cfg.Geometry.Rows
	l := m.screen.lines(m, c, r)
	for i := range l {
		if len(l[i]) > c {
			l[i] = l[i][:c]
		}
	}
	if len(l) > r {
		l = l[:r]
	}
	return l
}
