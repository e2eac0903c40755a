package ui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/clonebay/clonebay/hal"
)

type screen int

const (
	scrIdle screen = iota
	scrMenu
	scrConfirm
	scrJob
	scrAbort
	scrResult
	scrInfo
	scrLog
	scrSetup
	scrRestore
	scrMessage
	scrErase
	scrEraseConfirm
	scrPIN
	scrCheck
	scrResume
	scrImage
	scrImagePick
	scrImageInfo
	scrImageDelete
	scrImports
	scrBusy
	scrLineConfirm
	scrLine
	scrLineStop
)

// The main menu, in the order operators of duplicators know it.
var menuItems = []string{"Copy", "Verify only", "Copy no verify", "Erase", "Image", "Drive info", "Job log", "Line mode", "Setup"}

const (
	menuCopy = iota
	menuVerify
	menuCopyNoVerify
	menuErase
	menuImage
	menuInfo
	menuLog
	menuLine
	menuSetup
)

// areaNames are the copy areas as the panel names them.
var areaNames = map[string]string{"whole": "Whole", "used": "Used", "smart": "Smart", "": "Whole"}

// HoldToOverwrite is how long OK must be held to overwrite targets that
// hold data.
const HoldToOverwrite = 2 * time.Second

// logSize is how many job results the Job log screen keeps.
const logSize = 20

// Model is the front panel's state.
type Model struct {
	cfg Config
	set Settings
	now time.Duration

	drives map[int]Drive
	screen screen

	menuIdx, setupIdx, infoIdx, logIdx, resultIdx int

	confirmMode Mode
	holdFrom    time.Duration
	holding     bool

	job      *jobState
	result   *JobResult
	outcome  map[int]hal.LEDState // per port, after a job, until the drive leaves
	lastJob  map[int]bool         // ports of the last job: auto-start waits for new drives
	log      []JobResult
	msgTitle string
	msgText  string

	lastKey   time.Duration
	backlight bool
	plan      *PlanInfo // the copy area on the current master

	resume      *ResumeOffer
	checkIdx    int
	checkPort   int
	eraseIdx    int
	eraseMode   int // index into eraseModes
	eraseVerify bool

	pin      []int  // digits entered so far
	pinDigit int    // the digit being chosen
	pinFor   screen // where a right PIN leads (scrSetup, scrErase), or scrPIN to set a new one
	unlocked bool   // the PIN was entered since the panel last went idle

	images   []ImageInfo // the image library
	free     int64       // its free space
	image    string      // the image jobs copy from; "" is the master drive
	imgIdx   int         // Image menu cursor
	imgPick  int         // cursor in the image or import-file list
	infoPage int         // the page of an image's Info on a 2-row panel
	imports  []ImportFile
	busy     *Busy
	line     *lineState // production-line mode, while it runs
}

// eraseModes are the erase modes the panel offers, with their names.
var eraseModes = []struct{ id, name string }{
	{"quick", "Quick"}, {"zeros", "Zeros"}, {"random", "Random"}, {"dod", "DoD 3-pass"},
	{"discard", "Discard"}, {"secure-discard", "Secure disc."},
}

type jobState struct {
	mode     Mode
	targets  []int
	started  bool
	bytes    int64
	area     string
	progress map[int]Progress
	page     int // 0 is the overview, i is targets[i-1]
}

// New makes the panel model, on the idle screen.
func New(cfg Config, set Settings) *Model {
	return &Model{cfg: cfg, set: set, drives: map[int]Drive{}, outcome: map[int]hal.LEDState{},
		lastJob: map[int]bool{}, backlight: true}
}

// Settings returns the current settings.
func (m *Model) Settings() Settings { return m.set }

// Running reports whether a job or production-line mode is running.
func (m *Model) Running() bool { return m.job != nil || m.line != nil }

// Image is the image jobs copy from; "" when it is the master drive.
func (m *Model) Image() string { return m.image }

// Update feeds one event to the panel and returns the commands it gives.
func (m *Model) Update(ev any) []Command {
	if cmds, ok := m.imageUpdate(ev); ok {
		return cmds
	}
	switch ev := ev.(type) {
	case Tick:
		return m.tick(ev.Now)
	case Button:
		return m.button(ev.ButtonEvent)
	case DriveIn:
		m.drives[ev.Drive.Port] = ev.Drive
		delete(m.outcome, ev.Drive.Port)
		if m.line != nil {
			return m.lineFill()
		}
		return m.autoStart()
	case PlanInfo:
		m.plan = &ev
	case ResumeOffer:
		if m.job == nil {
			m.resume = &ev
			m.screen = scrResume
		}
	case LogLoaded:
		m.log = append(m.log, ev.Results...)
		if len(m.log) > logSize {
			m.log = m.log[:logSize]
		}
	case Notice:
		if m.job == nil && m.line == nil {
			m.message(ev.Title, ev.Text)
		}
	case DriveOut:
		if ev.Port == m.cfg.MasterPort {
			m.plan = nil
		}
		delete(m.drives, ev.Port)
		delete(m.outcome, ev.Port)
		delete(m.lastJob, ev.Port)
		if m.line != nil && ev.Port == m.cfg.MasterPort {
			m.line.keep = false
			if m.image == "" && !m.line.stopping {
				// The master drive left: nothing more can be copied from it.
				m.line.stopping, m.line.why = true, "The master was removed. "
				return []Command{StopLine{}}
			}
		}
		if m.screen == scrInfo {
			m.infoIdx = 0
		}
	case JobStarted:
		if m.job != nil {
			m.job.started, m.job.bytes, m.job.area = true, ev.Bytes, ev.Area
			if len(ev.Targets) > 0 {
				m.job.targets = ev.Targets
			}
		}
	case JobRefused:
		m.job = nil
		m.line = nil
		m.message("Not started", ev.Reason)
	case Progress:
		if m.job != nil {
			m.job.progress[ev.Port] = ev
		}
		if m.line != nil && m.line.running[ev.Port] {
			m.line.progress[ev.Port] = ev
		}
	case JobDone:
		return m.jobDone(ev.Result)
	}
	return nil
}

func (m *Model) tick(now time.Duration) []Command {
	m.now = now
	var cmds []Command
	if m.screen == scrConfirm && m.holding && now-m.holdFrom >= HoldToOverwrite {
		m.holding = false
		cmds = append(cmds, m.start(m.confirmMode)...)
	}
	if m.screen == scrEraseConfirm && m.holding && now-m.holdFrom >= HoldToOverwrite {
		m.holding = false
		cmds = append(cmds, m.startErase()...)
	}
	if m.set.Backlight > 0 && m.job == nil && m.line == nil && now-m.lastKey >= m.set.Backlight {
		m.backlight = false
	}
	return cmds
}

func (m *Model) button(b hal.ButtonEvent) []Command {
	if b.Action == hal.Release {
		if b.Button == hal.OK {
			m.holding = false
		}
		return nil
	}
	if b.Action != hal.Press && b.Action != hal.Repeat {
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
	if more, ok := m.imageKey(b); ok {
		return append(cmds, more...)
	}
	switch m.screen {
	case scrIdle:
		switch b.Button {
		case hal.OK:
			m.confirm(m.defaultMode())
		case hal.Down, hal.Up:
			m.screen, m.menuIdx = scrMenu, 0
		}
	case scrMenu:
		cmds = append(cmds, m.menuKey(b.Button)...)
		if m.screen == scrIdle {
			m.unlocked = false
		}
	case scrConfirm:
		switch b.Button {
		case hal.OK:
			if b.Action != hal.Press {
				break
			}
			if m.targetsHoldData() {
				m.holding, m.holdFrom = true, m.now
			} else if len(m.readyTargets()) > 0 && m.masterPresent() {
				cmds = append(cmds, m.start(m.confirmMode)...)
			}
		case hal.Back:
			m.holding = false
			m.screen = scrIdle
		}
	case scrJob:
		switch b.Button {
		case hal.Up:
			m.job.page = (m.job.page + len(m.job.targets)) % (len(m.job.targets) + 1)
		case hal.Down:
			m.job.page = (m.job.page + 1) % (len(m.job.targets) + 1)
		case hal.Back:
			m.screen = scrAbort
		}
	case scrAbort:
		switch b.Button {
		case hal.OK:
			cmds = append(cmds, AbortJob{})
			m.screen = scrJob
		case hal.Back:
			m.screen = scrJob
		}
	case scrResult:
		failed := m.failedResults()
		switch b.Button {
		case hal.Up:
			m.resultIdx = max(0, m.resultIdx-1)
		case hal.Down:
			m.resultIdx = min(max(0, len(failed)-1), m.resultIdx+1)
		case hal.Back, hal.OK:
			m.result = nil
			m.screen = scrIdle
		}
	case scrInfo:
		ports := m.occupied()
		n := len(ports)
		switch b.Button {
		case hal.Up:
			m.infoIdx = (m.infoIdx + max(n, 1) - 1) % max(n, 1)
		case hal.Down:
			m.infoIdx = (m.infoIdx + 1) % max(n, 1)
		case hal.OK:
			if n > 0 && m.job == nil && b.Action == hal.Press {
				m.checkPort, m.checkIdx = ports[m.infoIdx%n], 0
				m.screen = scrCheck
			}
		case hal.Back:
			m.screen = scrMenu
		}
	case scrResume:
		switch b.Button {
		case hal.OK:
			m.job = &jobState{mode: m.resume.Mode, progress: map[int]Progress{}}
			m.screen = scrJob
			cmds = append(cmds, ResumeJob{})
		case hal.Back:
			m.screen = scrIdle
			cmds = append(cmds, DiscardResume{})
		}
	case scrCheck:
		switch b.Button {
		case hal.Up, hal.Down:
			m.checkIdx = 1 - m.checkIdx
		case hal.Back:
			m.screen = scrInfo
		case hal.OK:
			kind := []string{"scan", "speed"}[m.checkIdx]
			cmds = append(cmds, CheckDrive{Port: m.checkPort, Kind: kind})
			m.message("Port "+m.label(m.checkPort), map[string]string{"scan": "Reading every sector...", "speed": "Testing the speed..."}[kind])
		}
	case scrLog:
		switch b.Button {
		case hal.Up:
			m.logIdx = max(0, m.logIdx-1)
		case hal.Down:
			m.logIdx = min(max(0, len(m.log)-1), m.logIdx+1)
		case hal.OK:
			if b.Action == hal.Press {
				cmds = append(cmds, ExportLog{})
				m.message("Export", "Looking for a USB stick...")
			}
		case hal.Back:
			m.screen = scrMenu
		}
	case scrSetup:
		cmds = append(cmds, m.setupKey(b.Button)...)
	case scrRestore:
		switch b.Button {
		case hal.OK:
			m.set = DefaultSettings()
			cmds = append(cmds, SaveSettings{Settings: m.set})
			m.screen = scrSetup
		case hal.Back:
			m.screen = scrSetup
		}
	case scrPIN:
		cmds = append(cmds, m.pinKey(b.Button)...)
	case scrErase:
		cmds = append(cmds, m.eraseKey(b.Button)...)
	case scrEraseConfirm:
		switch b.Button {
		case hal.OK:
			if b.Action == hal.Press && len(m.readyTargets()) > 0 {
				m.holding, m.holdFrom = true, m.now
			}
		case hal.Back:
			m.holding = false
			m.screen = scrErase
		}
	case scrMessage:
		if b.Action == hal.Press {
			m.screen = scrIdle
			if m.job != nil {
				m.screen = scrJob
			}
		}
	}
	return cmds
}

func (m *Model) defaultMode() Mode {
	if m.set.Verify {
		return CopyVerify
	}
	return CopyOnly
}

func (m *Model) menuKey(b hal.Button) []Command {
	if moveCursor(&m.menuIdx, len(menuItems), b) {
		return nil
	}
	switch b {
	case hal.Back:
		m.screen = scrIdle
	case hal.OK:
		switch m.menuIdx {
		case menuCopy:
			m.confirm(CopyVerify)
		case menuVerify:
			m.confirm(VerifyOnly)
		case menuCopyNoVerify:
			m.confirm(CopyOnly)
		case menuErase:
			m.guard(scrErase)
		case menuImage:
			m.screen, m.imgIdx = scrImage, 0
		case menuLine:
			m.screen = scrLineConfirm
		case menuInfo:
			m.screen, m.infoIdx = scrInfo, 0
		case menuLog:
			m.screen, m.logIdx = scrLog, 0
		case menuSetup:
			m.guard(scrSetup)
		}
	}
	return nil
}

// The Setup items.
const (
	setArea = iota
	setClean
	setVerify
	setQualify
	setBadSectors
	setAuto
	setBuzzer
	setKeyClick
	setBacklight
	setPIN
	setRestore
	setVersion
	setCount
)

var backlightSteps = []time.Duration{0, 30 * time.Second, time.Minute, 5 * time.Minute, 30 * time.Minute}

// moveCursor moves a list cursor for Up and Down, wrapping round n items,
// and reports whether the button was one of them.
func moveCursor(idx *int, n int, b hal.Button) bool {
	switch b {
	case hal.Up:
		*idx = (*idx + n - 1) % n
	case hal.Down:
		*idx = (*idx + 1) % n
	default:
		return false
	}
	return true
}

func (m *Model) setupKey(b hal.Button) []Command {
	if moveCursor(&m.setupIdx, setCount, b) {
		return nil
	}
	switch b {
	case hal.Back:
		m.screen = scrMenu
	case hal.OK:
		switch m.setupIdx {
		case setArea:
			areas := []string{"whole", "used", "smart"}
			m.set.Area = areas[(slices.Index(areas, m.set.Area)+1)%len(areas)]
			m.plan = nil // the firmware works it out again
		case setClean:
			m.set.Clean = !m.set.Clean
		case setBadSectors:
			m.set.ZeroFill = !m.set.ZeroFill
		case setQualify:
			m.set.Qualify = !m.set.Qualify
		case setVerify:
			m.set.Verify = !m.set.Verify
		case setAuto:
			m.set.AutoStart = (m.set.AutoStart + 1) % len(m.cfg.Ports)
		case setBuzzer:
			m.set.Buzzer = !m.set.Buzzer
		case setKeyClick:
			m.set.KeyClick = !m.set.KeyClick
		case setBacklight:
			i := slices.Index(backlightSteps, m.set.Backlight)
			m.set.Backlight = backlightSteps[(i+1)%len(backlightSteps)]
		case setPIN:
			if m.set.PIN != "" {
				m.set.PIN = "" // Setup is open, so the PIN was given
				break
			}
			m.pin, m.pinDigit, m.pinFor = nil, 0, scrPIN
			m.screen = scrPIN
			return nil
		case setRestore:
			m.screen = scrRestore
			return nil
		case setVersion:
			return nil
		}
		return []Command{SaveSettings{Settings: m.set}}
	}
	return nil
}

// guard opens a screen the PIN locks, asking for the PIN first when one
// is set.
func (m *Model) guard(to screen) {
	if m.set.PIN == "" || m.unlocked {
		m.open(to)
		return
	}
	m.pin, m.pinDigit, m.pinFor = nil, 0, to
	m.screen = scrPIN
}

func (m *Model) open(to screen) {
	switch to {
	case scrSetup:
		m.screen, m.setupIdx = scrSetup, 0
	case scrErase:
		m.screen, m.eraseIdx = scrErase, 0
	}
}

func (m *Model) pinKey(b hal.Button) []Command {
	switch b {
	case hal.Up:
		m.pinDigit = (m.pinDigit + 1) % 10
	case hal.Down:
		m.pinDigit = (m.pinDigit + 9) % 10
	case hal.Back:
		m.screen = scrMenu
		if m.pinFor == scrPIN {
			m.screen = scrSetup
		}
	case hal.OK:
		m.pin = append(m.pin, m.pinDigit)
		m.pinDigit = 0
		if len(m.pin) < 4 {
			return nil
		}
		entered := fmt.Sprintf("%d%d%d%d", m.pin[0], m.pin[1], m.pin[2], m.pin[3])
		m.pin = nil
		if m.pinFor == scrPIN { // setting a new PIN
			m.set.PIN = entered
			m.screen = scrSetup
			return []Command{SaveSettings{Settings: m.set}}
		}
		if entered != m.set.PIN {
			m.message("Wrong PIN", "Setup and Erase stay locked.")
			return nil
		}
		m.unlocked = true
		m.open(m.pinFor)
	}
	return nil
}

func (m *Model) eraseKey(b hal.Button) []Command {
	if moveCursor(&m.eraseIdx, 3, b) {
		return nil
	}
	switch b {
	case hal.Back:
		m.screen = scrMenu
	case hal.OK:
		switch m.eraseIdx {
		case 0:
			m.eraseMode = (m.eraseMode + 1) % len(eraseModes)
		case 1:
			m.eraseVerify = !m.eraseVerify
		case 2:
			m.holding = false
			m.screen = scrEraseConfirm
		}
	}
	return nil
}

func (m *Model) confirm(mode Mode) {
	m.confirmMode = mode
	m.holding = false
	m.screen = scrConfirm
}

func (m *Model) message(title, text string) {
	m.msgTitle, m.msgText = title, text
	m.screen = scrMessage
}

// start asks for a job on every ready target.
func (m *Model) start(mode Mode) []Command {
	targets := m.readyTargets()
	if !m.masterPresent() || len(targets) == 0 {
		return nil
	}
	m.job = &jobState{mode: mode, targets: targets, progress: map[int]Progress{}}
	m.screen = scrJob
	for _, p := range targets {
		delete(m.outcome, p)
	}
	delete(m.outcome, m.cfg.MasterPort)
	return []Command{StartJob{Mode: mode, Master: m.cfg.MasterPort, Image: m.image, Targets: targets, Area: m.set.Area}}
}

// startErase asks for an erase of every drive but the master's.
func (m *Model) startErase() []Command {
	targets := m.readyTargets()
	if len(targets) == 0 {
		return nil
	}
	m.job = &jobState{mode: EraseDrives, targets: targets, progress: map[int]Progress{}}
	m.screen = scrJob
	for _, p := range targets {
		delete(m.outcome, p)
	}
	return []Command{StartErase{Mode: eraseModes[m.eraseMode].id, Verify: m.eraseVerify, Targets: targets}}
}

// autoStart starts a copy once enough new targets are ready.
func (m *Model) autoStart() []Command {
	if m.set.AutoStart == 0 || m.job != nil || m.screen != scrIdle || !m.masterPresent() {
		return nil
	}
	targets := m.readyTargets()
	if len(targets) < m.set.AutoStart || m.targetsHoldData() {
		return nil
	}
	for _, p := range targets {
		if m.lastJob[p] {
			return nil
		}
	}
	return m.start(m.defaultMode())
}

func (m *Model) jobDone(r JobResult) []Command {
	m.job = nil
	m.result = &r
	m.resultIdx = 0
	m.screen = scrResult
	m.backlight = true
	m.lastKey = m.now
	m.lastJob = map[int]bool{}
	for _, p := range r.Ports {
		m.lastJob[p.Port] = true
		switch {
		case p.Pass:
			m.outcome[p.Port] = hal.LEDGreen
		case p.Abort:
			m.outcome[p.Port] = hal.LEDOff
		default:
			m.outcome[p.Port] = hal.LEDRed
		}
	}
	if r.MasterError != "" {
		m.outcome[m.cfg.MasterPort] = hal.LEDRedBlink
	}
	m.log = append([]JobResult{r}, m.log...)
	if len(m.log) > logSize {
		m.log = m.log[:logSize]
	}
	if !m.set.Buzzer {
		return nil
	}
	if r.Passed() < len(r.Ports) || r.MasterError != "" {
		return []Command{Beep{Pattern: hal.BeepFailure}}
	}
	return []Command{Beep{Pattern: hal.BeepJobDone}}
}

func (m *Model) masterPresent() bool {
	if m.image != "" {
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

func (m *Model) targetsHoldData() bool {
	for _, p := range m.readyTargets() {
		if m.drives[p].HasData && m.confirmMode != VerifyOnly {
			return true
		}
	}
	return false
}

func (m *Model) occupied() []int {
	var ports []int
	for _, p := range m.cfg.Ports {
		if _, ok := m.drives[p.Number]; ok {
			ports = append(ports, p.Number)
		}
	}
	return ports
}

func (m *Model) failedResults() []PortResult {
	if m.result == nil {
		return nil
	}
	var out []PortResult
	for _, p := range m.result.Ports {
		if !p.Pass {
			out = append(out, p)
		}
	}
	return out
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
	if m.job != nil && (port == m.cfg.MasterPort || slices.Contains(m.job.targets, port)) {
		return hal.LEDGreenBlink
	}
	if m.line != nil && (m.line.running[port] || port == m.cfg.MasterPort && m.image == "") {
		return hal.LEDGreenBlink
	}
	if s, ok := m.outcome[port]; ok {
		return s
	}
	if d.Problem != "" {
		return hal.LEDRedBlink
	}
	return hal.LEDGreen
}

// Frame renders the panel.
func (m *Model) Frame() Frame {
	return Frame{Lines: m.lines(), LEDs: m.LEDs(), Backlight: m.backlight}
}

func (m *Model) lines() []string {
	c, r := m.cfg.Geometry.Cols, m.cfg.Geometry.Rows
	var l []string
	switch m.screen {
	case scrIdle:
		l = m.idleLines(c, r)
	case scrMenu:
		l = m.listLines(c, r, menuItems, m.menuIdx, true)
	case scrConfirm:
		l = m.confirmLines(c, r)
	case scrJob:
		l = m.jobLines(c, r)
	case scrAbort:
		l = pick(r, []string{"Abort the job?", "OK: abort", "Back: go on"}, []string{"Abort the job?", "OK:yes Back:no"})
	case scrResult:
		l = m.resultLines(c, r)
	case scrInfo:
		l = m.infoLines(c, r)
	case scrLog:
		l = m.logLines(c, r)
	case scrSetup:
		l = m.listLines(c, r, m.setupItems(c), m.setupIdx, false)
	case scrRestore:
		l = pick(r, []string{"Restore defaults?", "OK: restore", "Back: keep"}, []string{"Restore defaults", "OK:yes Back:no"})
	case scrMessage:
		l = append([]string{fit(m.msgTitle, c)}, wrap(m.msgText, c, r-1)...)
	case scrPIN:
		l = m.pinLines(c, r)
	case scrResume:
		what := fmt.Sprintf("%s x%d", m.resume.Mode, m.resume.Targets)
		l = pick(r, []string{"Resume last job?", fit(what, c), "OK: resume", "Back: discard"},
			[]string{"Resume last job?", "OK:yes Back:no"})
	case scrCheck:
		l = m.listLines(c, r, []string{"Read scan", "Speed test"}, m.checkIdx, false)
		if r >= 4 {
			l = append([]string{"Check port " + m.label(m.checkPort)}, l...)
		}
	case scrErase:
		l = m.listLines(c, r, []string{"Mode: " + eraseModes[m.eraseMode].name,
			"Verify: " + map[bool]string{true: "On", false: "Off"}[m.eraseVerify], "Start erase"}, m.eraseIdx, false)
	case scrEraseConfirm:
		l = m.eraseConfirmLines(c, r)
	default:
		l = m.imageLines(c, r)
	}
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

// pick chooses the 4-row or the 2-row text.
func pick(rows int, four, two []string) []string {
	if rows >= 4 {
		return four
	}
	return two
}

func (m *Model) idleLines(c, r int) []string {
	targets := m.readyTargets()
	var total int64
	for _, p := range targets {
		total += m.drives[p].Size
	}
	master := "none"
	if m.image != "" {
		if r >= 4 {
			return []string{both("Clonebay", map[bool]string{true: "Copy+Verify", false: "Copy"}[m.set.Verify], c),
				fit("Image: "+m.image, c), fit(fmt.Sprintf("Targets: %d (%s)", len(targets), size(total)), c), "OK:start Down:menu"}
		}
		return []string{fit(fmt.Sprintf("T:%d %s", len(targets), m.image), c), "OK:start v:menu"}
	} else if d, ok := m.drives[m.cfg.MasterPort]; ok && d.Size > 0 {
		master = size(d.Size)
		if r >= 4 && d.Model != "" {
			master += " " + d.Model
		}
	} else if ok {
		master = "no media"
	}
	mode := map[bool]string{true: "Copy+Verify", false: "Copy"}[m.set.Verify]
	if r >= 4 {
		return []string{
			both("Clonebay", mode, c),
			fit("Master: "+master, c),
			fit(fmt.Sprintf("Targets: %d (%s)", len(targets), size(total)), c),
			"OK:start Down:menu",
		}
	}
	return []string{
		fit(fmt.Sprintf("M:%s T:%d", master, len(targets)), c),
		"OK:start v:menu",
	}
}

// listLines shows a scrolling list with a cursor.
func (m *Model) listLines(c, r int, items []string, idx int, numbered bool) []string {
	top := idx - idx%r
	var l []string
	for i := top; i < top+r && i < len(items); i++ {
		mark := " "
		if i == idx {
			mark = ">"
		}
		text := items[i]
		if numbered {
			text = fmt.Sprintf("%d %s", i+1, text)
		}
		l = append(l, mark+fit(text, c-1))
	}
	return l
}

func (m *Model) setupItems(c int) []string {
	onOff := map[bool]string{true: "On", false: "Off"}
	auto := "Off"
	if m.set.AutoStart > 0 {
		auto = fmt.Sprintf("%d", m.set.AutoStart)
	}
	bl := "Never"
	if d := m.set.Backlight; d >= time.Minute {
		bl = fmt.Sprintf("%dm", int(d/time.Minute))
	} else if d > 0 {
		bl = fmt.Sprintf("%ds", int(d/time.Second))
	}
	skipped := "keep old"
	if m.set.Clean {
		skipped = "discard"
	}
	// "Gaps" are what a used-area or smart copy skips: their old contents
	// stay on the target unless they are discarded.
	return []string{
		"Area: " + areaNames[m.set.Area],
		"Gaps: " + skipped,
		"Verify: " + onOff[m.set.Verify],
		"Check size: " + onOff[m.set.Qualify],
		"Bad sect: " + map[bool]string{false: "abort", true: "zero"}[m.set.ZeroFill],
		"Auto-start: " + auto,
		"Buzzer: " + onOff[m.set.Buzzer],
		"Key click: " + onOff[m.set.KeyClick],
		"Light off: " + bl,
		"PIN lock: " + map[bool]string{false: "Off", true: "On"}[m.set.PIN != ""],
		"Reset defaults",
		fit("Version "+m.cfg.Version, c-1),
	}
}

// areaLine says what the copy area comes to: "Smart: 2.1 of 64GB", or
// "Smart 2.1/64GB" on a narrow display.
func (m *Model) areaLine(c int) string {
	name := areaNames[m.set.Area]
	if m.image != "" {
		for _, im := range m.images {
			if im.Name == m.image {
				if long := fmt.Sprintf("Image %s of %s", size(im.Bytes), size(im.Size)); len(long) <= c {
					return long
				}
				return fit(fmt.Sprintf("Img %s/%s", size(im.Bytes), size(im.Size)), c)
			}
		}
		return "Image"
	}
	switch {
	case m.plan == nil && (m.set.Area == "whole" || m.set.Area == ""):
		return "Whole: " + size(m.drives[m.cfg.MasterPort].Size)
	case m.plan == nil:
		return name + ": reading"
	case m.plan.Error != "":
		return name + ": unreadable"
	case m.set.Area == "whole" || m.set.Area == "":
		return "Whole: " + size(m.plan.Of)
	}
	part, whole := size(m.plan.Bytes), size(m.plan.Of)
	if len(part) > 2 && len(whole) > 2 && part[len(part)-2:] == whole[len(whole)-2:] {
		part = part[:len(part)-2] // same unit: "2.1 of 64GB"
	}
	if long := fmt.Sprintf("%s: %s of %s", name, part, whole); len(long) <= c {
		return long
	}
	return fmt.Sprintf("%s %s/%s", name, part, whole)
}

func (m *Model) confirmLines(c, r int) []string {
	targets := m.readyTargets()
	switch {
	case !m.masterPresent():
		return pick(r, []string{"No master", fit("Insert it in port "+m.label(m.cfg.MasterPort), c), "", "Back: return"},
			[]string{"No master", "Back: return"})
	case len(targets) == 0:
		return pick(r, []string{"No targets", "Insert the drives", "to copy onto", "Back: return"},
			[]string{"No targets", "Back: return"})
	}
	withData := 0
	for _, p := range targets {
		if m.drives[p].HasData {
			withData++
		}
	}
	area := m.areaLine(c)
	if withData == 0 || m.confirmMode == VerifyOnly {
		return pick(r, []string{both(m.confirmMode.String(), fmt.Sprintf("x%d", len(targets)), c), fit(area, c), "OK: start", "Back: cancel"},
			[]string{fit(area, c), "OK:go Back:no"})
	}
	hold := "Hold OK 2s"
	if m.holding {
		hold = "Hold " + bar(c-5, int64(m.now-m.holdFrom), int64(HoldToOverwrite))
	}
	data := fmt.Sprintf("%d hold data!", withData)
	if withData == 1 {
		data = "1 holds data!"
	}
	return pick(r, []string{fit(data, c), "Overwrite it all?", hold, "Back: cancel"}, []string{fit(data, c), hold})
}

// jobTotals sums the job's progress over its targets: the share done
// (both phases when verifying), the combined rate and the longest ETA.
func (m *Model) jobTotals() (done, total int64, bps float64, eta time.Duration, phase string) {
	j := m.job
	phases := int64(1)
	if j.mode == CopyVerify {
		phases = 2
	}
	phase = "Starting"
	for _, p := range j.targets {
		pr, ok := j.progress[p]
		if j.mode == EraseDrives {
			// An erase's progress counts every pass and the verify.
			phase = "Erasing"
			total += max(pr.Total, 1)
			done += pr.Done
			if pr.Phase != "done" {
				bps += pr.Rate
				eta = max(eta, pr.ETA)
			}
			continue
		}
		total += j.bytes * phases
		if !ok {
			continue
		}
		step := int64(0)
		switch pr.Phase {
		case "verifying":
			if j.mode == CopyVerify {
				step = 1
			}
			phase = "Verifying"
		case "done":
			step = phases - 1
		case "copying", "syncing":
			if phase != "Verifying" {
				phase = "Copying"
			}
		case "checking":
			if phase == "Starting" {
				phase = "Checking"
			}
		}
		if j.mode == VerifyOnly {
			phase = "Verifying"
		}
		done += step*pr.Total + pr.Done
		if pr.Phase != "done" {
			bps += pr.Rate
			left := pr.ETA
			if step == 0 && phases == 2 && pr.Rate > 0 {
				left += time.Duration(float64(pr.Total) / pr.Rate * float64(time.Second))
			}
			eta = max(eta, left)
		}
	}
	if !j.started {
		phase = "Starting"
	}
	return done, total, bps, eta, phase
}

func (m *Model) jobLines(c, r int) []string {
	j := m.job
	if j.page > 0 {
		port := j.targets[j.page-1]
		pr := j.progress[port]
		phase := pr.Phase
		if phase == "" {
			phase = "waiting"
		}
		pct := fmt.Sprintf("%3d%%", percent(pr.Done, pr.Total))
		speed := ""
		if pr.Rate > 0 {
			speed = rate(pr.Rate)
		}
		eta := ""
		if pr.ETA > 0 {
			eta = clock(pr.ETA)
		}
		head := "Port " + m.label(port)
		if r >= 4 {
			return []string{both(head, phase, c), bar(c-5, pr.Done, pr.Total) + " " + pct,
				fit(strings.TrimSpace(speed+" ETA "+eta), c), fmt.Sprintf("Up/Dn %d/%d", j.page, len(j.targets))}
		}
		return []string{both("P"+m.label(port)+" "+phase, pct, c), both(speed, eta, c)}
	}
	done, total, bps, eta, phase := m.jobTotals()
	pct := fmt.Sprintf("%3d%%", percent(done, total))
	speed, left := "", ""
	if bps > 0 {
		speed = rate(bps)
	}
	if eta > 0 {
		left = "ETA " + clock(eta)
	}
	if r >= 4 {
		title := fmt.Sprintf("%s %dx", phase, len(j.targets))
		if m.job.started && j.mode != EraseDrives {
			title = fmt.Sprintf("%s %dx %s", phase, len(j.targets), size(j.bytes))
		}
		return []string{fit(title, c), bar(c-5, done, total) + " " + pct, both(speed, left, c), "Dn:ports Back:abort"}
	}
	return []string{bar(c-5, done, total) + " " + pct, both(speed, strings.TrimPrefix(left, "ETA "), c)}
}

func percent(done, total int64) int {
	if total <= 0 {
		return 0
	}
	return int(min(done, total) * 100 / total)
}

func (m *Model) resultLines(c, r int) []string {
	res := m.result
	failed := m.failedResults()
	head := fmt.Sprintf("%d PASS %d FAIL", res.Passed(), len(res.Ports)-res.Passed())
	if res.MasterError != "" {
		cause := res.MasterCause
		if cause == "" {
			cause = "unreadable"
		}
		return pick(r, []string{"Master failed", fit(cause, c), fit(fmt.Sprintf("%d ports FAIL", len(res.Ports)), c), "Back: done"},
			[]string{"Master failed", fit(cause, c)})
	}
	if len(failed) == 0 && res.MasterBadSectors > 0 {
		bad := fmt.Sprintf("%d bad on master", res.MasterBadSectors)
		return pick(r, []string{"Job done", fit(head, c), fit("with "+bad, c), "Back: done"},
			[]string{fit(fmt.Sprintf("All %d PASS with", len(res.Ports)), c), fit(bad, c)})
	}
	if len(failed) == 0 {
		took := size(res.Bytes) + " in " + clock(res.Duration)
		if res.Mode == EraseDrives {
			took = "Erased in " + clock(res.Duration)
		}
		return pick(r, []string{"Job done", fit(head, c), fit(took, c), "Back: done"},
			[]string{fit(fmt.Sprintf("All %d PASS", len(res.Ports)), c), "Back: done"})
	}
	i := min(m.resultIdx, len(failed)-1)
	f := failed[i]
	what := "FAIL"
	if f.Abort {
		what = "ABORT"
	}
	line := fit(fmt.Sprintf("P%s %s %s", m.label(f.Port), what, f.Cause), c)
	if r >= 4 {
		more := "Back: done"
		if len(failed) > 1 {
			more = fmt.Sprintf("Up/Dn %d/%d Back", i+1, len(failed))
		}
		return []string{"Job done", fit(head, c), line, fit(more, c)}
	}
	return []string{fit(head, c), line}
}

func (m *Model) infoLines(c, r int) []string {
	ports := m.occupied()
	if len(ports) == 0 {
		return pick(r, []string{"Drive info", "No drives", "", "Back: return"}, []string{"No drives", "Back: return"})
	}
	d := m.drives[ports[m.infoIdx%len(ports)]]
	name := d.Model
	if name == "" {
		name = "(no name)"
	}
	role := ""
	if d.Port == m.cfg.MasterPort {
		role = " master"
	}
	serial := d.Serial
	if serial == "" {
		serial = "-"
	}
	if r >= 4 {
		status := size(d.Size)
		if d.Problem != "" {
			status += " " + d.Problem
		} else if d.HasData {
			status += " has data"
		}
		return []string{both("Port "+m.label(d.Port)+role, fmt.Sprintf("%d/%d", m.infoIdx%len(ports)+1, len(ports)), c),
			fit(name, c), fit("S/N "+serial, c), fit(status, c)}
	}
	return []string{fit("P"+m.label(d.Port)+" "+name, c), fit(size(d.Size)+" "+serial, c)}
}

func (m *Model) logLines(c, r int) []string {
	if len(m.log) == 0 {
		return pick(r, []string{"Job log", "No jobs yet", "", "Back: return"}, []string{"No jobs yet", "Back: return"})
	}
	j := m.log[m.logIdx]
	head := fmt.Sprintf("%d PASS %d FAIL", j.Passed(), len(j.Ports)-j.Passed())
	if j.MasterError != "" {
		head = "Master failed"
	}
	if r >= 4 {
		return []string{both("Job log", fmt.Sprintf("%d/%d", m.logIdx+1, len(m.log)), c), fit(j.Mode.String(), c),
			fit(head, c), fit(size(j.Bytes)+" in "+clock(j.Duration), c)}
	}
	return []string{both(fmt.Sprintf("%d/%d", m.logIdx+1, len(m.log)), j.Mode.String(), c), fit(head, c)}
}

func (m *Model) pinLines(c, r int) []string {
	title := "Enter PIN"
	if m.pinFor == scrPIN {
		title = "New PIN"
	}
	digits := ""
	for range m.pin {
		digits += "*"
	}
	digits += fmt.Sprint(m.pinDigit)
	for len(digits) < 4 {
		digits += "_"
	}
	return pick(r, []string{title, digits, "Up/Dn: digit", "OK: next Back"}, []string{both(title, digits, c), "Up/Dn OK Back"})
}

func (m *Model) eraseConfirmLines(c, r int) []string {
	n := len(m.readyTargets())
	if n == 0 {
		return pick(r, []string{"Erase", "No drives to erase", "", "Back: return"}, []string{"No drives", "Back: return"})
	}
	hold := "Hold OK 2s"
	if m.holding {
		hold = "Hold " + bar(c-5, int64(m.now-m.holdFrom), int64(HoldToOverwrite))
	}
	what := fmt.Sprintf("Erase %d drives?", n)
	if n == 1 {
		what = "Erase 1 drive?"
	}
	return pick(r, []string{fit(what, c), fit(eraseModes[m.eraseMode].name+" erase", c), hold, "Back: cancel"}, []string{fit(what, c), hold})
}
