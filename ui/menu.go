package ui

import (
	"fmt"
	"slices"
	"time"

	"github.com/clonebay/clonebay/hal"
)

// The main menu and what it opens besides copies, images and line mode:
// Erase, Drive info, Job log, Setup, and the PIN that locks Setup and
// Erase.

// The main menu, in the order operators of duplicators know it.
var menuItems = []string{"Copy", "Verify only", "Copy no verify", "Erase", "Image", "Drive info", "Job log", "Line mode", "Lot", "Setup"}

const (
	menuCopy = iota
	menuVerify
	menuCopyNoVerify
	menuErase
	menuImage
	menuInfo
	menuLog
	menuLine
	menuLot
	menuSetup
)

// menuScreen is the main menu.
type menuScreen struct{ list }

// menuAt is the main menu with the cursor on item: where a screen it
// opened goes back to.
func menuAt(item int) *menuScreen { return &menuScreen{list{at: item}} }

func (*menuScreen) name() string { return "menu" }

func (s *menuScreen) update(m *Model, ev Event) (screen, []Command) {
	b, ok := pressed(ev)
	if !ok {
		return s, nil
	}
	switch s.key(b.Button, len(menuItems)) {
	case listBack:
		m.unlocked = false
		return &idleScreen{}, nil
	case listChose:
		switch s.at {
		case menuCopy:
			return &confirmScreen{mode: CopyVerify}, nil
		case menuVerify:
			return &confirmScreen{mode: VerifyOnly}, nil
		case menuCopyNoVerify:
			return &confirmScreen{mode: CopyOnly}, nil
		case menuErase, menuSetup:
			return m.guard(s.at), nil
		case menuImage:
			return &imageMenuScreen{}, nil
		case menuLine:
			return &lineConfirmScreen{}, nil
		case menuLot:
			return &lotScreen{}, nil
		case menuInfo:
			return &infoScreen{}, nil
		case menuLog:
			return &logScreen{list{clamp: true}}, nil
		}
	}
	return s, nil
}

func (s *menuScreen) lines(_ *Model, c, r int) []string {
	return s.render(c, r, menuItems, true)
}

// guard opens a menu item the PIN locks (Setup, Erase), asking for the
// PIN first when one is set and the panel is locked.
func (m *Model) guard(item int) screen {
	if m.set.PIN == "" || m.unlocked {
		return m.open(item)
	}
	return &pinScreen{item: item}
}

func (m *Model) open(item int) screen {
	if item == menuErase {
		return &eraseScreen{}
	}
	return &setupScreen{}
}

// pinScreen takes four digits, one at a time: to unlock the menu item
// item, or (newPIN) to set a new PIN from Setup.
type pinScreen struct {
	item   int
	newPIN bool
	digits []int // entered so far
	digit  int   // the digit being chosen
}

func (*pinScreen) name() string { return "pin" }

func (s *pinScreen) update(m *Model, ev Event) (screen, []Command) {
	b, ok := pressed(ev)
	if !ok {
		return s, nil
	}
	switch b.Button {
	case hal.Up:
		s.digit = (s.digit + 1) % 10
	case hal.Down:
		s.digit = (s.digit + 9) % 10
	case hal.Back:
		if s.newPIN {
			return setupAt(setPIN), nil
		}
		return menuAt(s.item), nil
	case hal.OK:
		s.digits = append(s.digits, s.digit)
		s.digit = 0
		if len(s.digits) < 4 {
			return s, nil
		}
		entered := fmt.Sprintf("%d%d%d%d", s.digits[0], s.digits[1], s.digits[2], s.digits[3])
		if s.newPIN {
			stored := entered
			if m.cfg.PINLock != nil {
				h, err := m.cfg.PINLock.Hash(entered)
				if err != nil {
					return message("PIN not set", err.Error()), nil
				}
				stored = h
			}
			m.set.PIN = stored
			return setupAt(setPIN), []Command{SaveSettings{Settings: m.set}}
		}
		if !m.pinMatches(entered) {
			return message("Wrong PIN", "Setup and Erase stay locked."), nil
		}
		m.unlocked = true
		return m.open(s.item), nil
	}
	return s, nil
}

func (s *pinScreen) lines(_ *Model, c, r int) []string {
	title := "Enter PIN"
	if s.newPIN {
		title = "New PIN"
	}
	digits := ""
	for range s.digits {
		digits += "*"
	}
	digits += fmt.Sprint(s.digit)
	for len(digits) < 4 {
		digits += "_"
	}
	return pick(r, []string{title, digits, "Up/Dn: digit", "OK: next Back"}, []string{both(title, digits, c), "Up/Dn OK Back"})
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
	setCopyMode
	setWebPassword
	setPIN
	setRestore
	setVersion
	setCount
)

var backlightSteps = []time.Duration{0, 30 * time.Second, time.Minute, 5 * time.Minute, 30 * time.Minute}

// setupScreen lists the settings; OK steps the one under the cursor on
// and saves it.
type setupScreen struct{ list }

func setupAt(item int) *setupScreen { return &setupScreen{list{at: item}} }

func (*setupScreen) name() string { return "setup" }

func (s *setupScreen) update(m *Model, ev Event) (screen, []Command) {
	b, ok := pressed(ev)
	if !ok {
		return s, nil
	}
	switch s.key(b.Button, setCount) {
	case listBack:
		return menuAt(menuSetup), nil
	case listChose:
		return s.choose(m)
	}
	return s, nil
}

func (s *setupScreen) choose(m *Model) (screen, []Command) {
	switch s.at {
	case setCopyMode:
		m.set.Files = !m.set.Files
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
	case setWebPassword:
		// A password typed with four buttons is no password: the
		// appliance makes one up and shows it once.
		return message("Web password", "Making a new one..."), []Command{NewWebPassword{}}
	case setPIN:
		if m.set.PIN == "" {
			return &pinScreen{newPIN: true}, nil
		}
		m.set.PIN = "" // Setup is open, so the PIN was given
	case setRestore:
		return &restoreScreen{}, nil
	case setVersion:
		return s, nil
	}
	return s, []Command{SaveSettings{Settings: m.set}}
}

func (s *setupScreen) lines(m *Model, c, r int) []string {
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
	return s.render(c, r, []string{
		"Area: " + areaNames[m.set.Area],
		"Gaps: " + skipped,
		"Verify: " + onOff[m.set.Verify],
		"Check size: " + onOff[m.set.Qualify],
		"Bad sect: " + map[bool]string{false: "abort", true: "zero"}[m.set.ZeroFill],
		"Auto-start: " + auto,
		"Buzzer: " + onOff[m.set.Buzzer],
		"Key click: " + onOff[m.set.KeyClick],
		"Light off: " + bl,
		"Copy mode: " + map[bool]string{false: "Disk", true: "Files"}[m.set.Files],
		"Web password",
		"PIN lock: " + onOff[m.set.PIN != ""],
		"Reset defaults",
		fit("Version "+m.cfg.Version, c-1),
	}, false)
}

// restoreScreen asks before the factory settings come back.
type restoreScreen struct{}

func (*restoreScreen) name() string { return "restore" }

func (s *restoreScreen) update(m *Model, ev Event) (screen, []Command) {
	b, ok := pressed(ev)
	if !ok {
		return s, nil
	}
	switch b.Button {
	case hal.OK:
		m.set = DefaultSettings()
		return setupAt(setRestore), []Command{SaveSettings{Settings: m.set}}
	case hal.Back:
		return setupAt(setRestore), nil
	}
	return s, nil
}

func (*restoreScreen) lines(_ *Model, _, r int) []string {
	return pick(r, []string{"Restore defaults?", "OK: restore", "Back: keep"}, []string{"Restore defaults", "OK:yes Back:no"})
}

// eraseModes are the erase modes the panel offers, with their names.
var eraseModes = []struct{ id, name string }{
	{"quick", "Quick"}, {"zeros", "Zeros"}, {"random", "Random"}, {"dod", "DoD 3-pass"},
	{"discard", "Discard"}, {"secure-discard", "Secure disc."},
}

// The Erase items.
const (
	eraseMode = iota
	eraseVerify
	eraseStart
	eraseCount
)

// eraseScreen chooses how to erase: the mode, a verify pass; then asks.
type eraseScreen struct {
	list
	mode   int // index into eraseModes
	verify bool
}

func (*eraseScreen) name() string { return "erase" }

func (s *eraseScreen) update(_ *Model, ev Event) (screen, []Command) {
	b, ok := pressed(ev)
	if !ok {
		return s, nil
	}
	switch s.key(b.Button, eraseCount) {
	case listBack:
		return menuAt(menuErase), nil
	case listChose:
		switch s.at {
		case eraseMode:
			s.mode = (s.mode + 1) % len(eraseModes)
		case eraseVerify:
			s.verify = !s.verify
		case eraseStart:
			return &eraseConfirmScreen{erase: s}, nil
		}
	}
	return s, nil
}

func (s *eraseScreen) lines(_ *Model, c, r int) []string {
	return s.render(c, r, []string{"Mode: " + eraseModes[s.mode].name,
		"Verify: " + map[bool]string{true: "On", false: "Off"}[s.verify], "Start erase"}, false)
}

// eraseConfirmScreen erases every drive but the master's once OK is held.
type eraseConfirmScreen struct {
	erase *eraseScreen // the choices, and where Back goes
	hold  hold
}

func (*eraseConfirmScreen) name() string { return "erase-confirm" }

func (s *eraseConfirmScreen) update(m *Model, ev Event) (screen, []Command) {
	if s.hold.confirmed(m.now, ev) {
		return m.startErase(s, eraseModes[s.erase.mode].id, s.erase.verify)
	}
	b, ok := pressed(ev)
	if !ok {
		return s, nil
	}
	switch b.Button {
	case hal.OK:
		if len(m.readyTargets()) > 0 {
			s.hold.start(m.now)
		}
	case hal.Back:
		return s.erase, nil
	}
	return s, nil
}

func (s *eraseConfirmScreen) lines(m *Model, c, r int) []string {
	n := len(m.readyTargets())
	if n == 0 {
		return pick(r, []string{"Erase", "No drives to erase", "", "Back: return"}, []string{"No drives", "Back: return"})
	}
	prompt := s.hold.prompt(m.now, c)
	what := fmt.Sprintf("Erase %d drives?", n)
	if n == 1 {
		what = "Erase 1 drive?"
	}
	return pick(r, []string{fit(what, c), fit(eraseModes[s.erase.mode].name+" erase", c), prompt, "Back: cancel"}, []string{fit(what, c), prompt})
}

// infoScreen shows the drives in the ports, one at a time.
type infoScreen struct{ list }

// infoAt is Drive info on the drive in port, or on the first drive when
// that port is empty now.
func infoAt(m *Model, port int) *infoScreen {
	return &infoScreen{list{at: max(0, slices.Index(m.occupied(), port))}}
}

func (*infoScreen) name() string { return "info" }

func (s *infoScreen) update(m *Model, ev Event) (screen, []Command) {
	if _, ok := ev.(DriveOut); ok {
		s.at = 0
		return s, nil
	}
	b, ok := pressed(ev)
	if !ok {
		return s, nil
	}
	ports := m.occupied()
	switch s.key(b.Button, len(ports)+m.boxPages()) {
	case listBack:
		return menuAt(menuInfo), nil
	case listChose:
		if s.at < len(ports) && m.job == nil {
			return &checkScreen{port: ports[s.at]}, nil
		}
	}
	return s, nil
}

// boxPages is 1 when Drive info ends with a page on the appliance itself
// (its ID and its record's replication), 0 when there is nothing to say.
func (m *Model) boxPages() int {
	if m.box == (BoxInfo{}) {
		return 0
	}
	return 1
}

// boxLines is Drive info's page on the appliance itself.
func (m *Model) boxLines(c, r, page, pages int) []string {
	id, sync := m.box.ID, m.box.Sync
	if id == "" {
		id = "-"
	}
	if sync == "" {
		sync = "Sync: off"
	}
	if r >= 4 {
		return []string{both("This box", fmt.Sprintf("%d/%d", page, pages), c), "ID " + fit(id, c-3), fit(sync, c), fit("Version "+m.cfg.Version, c)}
	}
	return []string{"ID " + fit(id, c-3), fit(sync, c)}
}

func (s *infoScreen) lines(m *Model, c, r int) []string {
	ports := m.occupied()
	pages := len(ports) + m.boxPages()
	if s.at >= len(ports) && m.boxPages() == 1 {
		return m.boxLines(c, r, s.at+1, pages)
	}
	if len(ports) == 0 {
		return pick(r, []string{"Drive info", "No drives", "", "Back: return"}, []string{"No drives", "Back: return"})
	}
	i := s.at % len(ports)
	d := m.drives[ports[i]]
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
		switch {
		case d.Problem != "":
			status += " " + d.Problem
		case d.Done != "":
			status += " done in lot"
		case d.Serial == "" && m.lot.Name != "" && d.Port != m.cfg.MasterPort:
			status += " unchecked" // no serial: the lot cannot tell a repeat
		case d.HasData:
			status += " has data"
		}
		return []string{both("Port "+m.label(d.Port)+role, fmt.Sprintf("%d/%d", i+1, pages), c),
			fit(name, c), fit("S/N "+serial, c), fit(status, c)}
	}
	return []string{fit("P"+m.label(d.Port)+" "+name, c), fit(size(d.Size)+" "+serial, c)}
}

// The checks of a drive, as CheckDrive names them and the panel shows
// them.
var checks = []struct{ kind, name, doing string }{
	{"scan", "Read scan", "Reading every sector..."},
	{"speed", "Speed test", "Testing the speed..."},
}

// checkScreen offers the checks of the drive in port.
type checkScreen struct {
	list
	port int
}

func (*checkScreen) name() string { return "check" }

func (s *checkScreen) update(m *Model, ev Event) (screen, []Command) {
	b, ok := pressed(ev)
	if !ok {
		return s, nil
	}
	switch s.key(b.Button, len(checks)) {
	case listBack:
		return infoAt(m, s.port), nil
	case listChose:
		c := checks[s.at]
		return message("Port "+m.label(s.port), c.doing), []Command{CheckDrive{Port: s.port, Kind: c.kind}}
	}
	return s, nil
}

func (s *checkScreen) lines(m *Model, c, r int) []string {
	names := make([]string, len(checks))
	for i, k := range checks {
		names[i] = k.name
	}
	l := s.render(c, r, names, false)
	if r >= 4 {
		l = append([]string{"Check port " + m.label(s.port)}, l...)
	}
	return l
}

// logScreen shows the Job log, newest first; OK exports it to a stick.
type logScreen struct{ list }

func (*logScreen) name() string { return "log" }

func (s *logScreen) update(m *Model, ev Event) (screen, []Command) {
	b, ok := pressed(ev)
	if !ok {
		return s, nil
	}
	switch s.key(b.Button, len(m.log)) {
	case listBack:
		return menuAt(menuLog), nil
	case listChose:
		return message("Export", "Looking for a USB stick..."), []Command{ExportLog{}}
	}
	return s, nil
}

func (s *logScreen) lines(m *Model, c, r int) []string {
	if len(m.log) == 0 {
		return pick(r, []string{"Job log", "No jobs yet", "", "Back: return"}, []string{"No jobs yet", "Back: return"})
	}
	i := min(s.at, len(m.log)-1)
	j := m.log[i]
	head := fmt.Sprintf("%d PASS %d FAIL", j.Passed(), len(j.Ports)-j.Passed())
	if j.MasterError != "" {
		head = "Master failed"
	}
	if r >= 4 {
		return []string{both("Job log", fmt.Sprintf("%d/%d", i+1, len(m.log)), c), fit(j.Mode.String(), c),
			fit(head, c), fit(size(j.Bytes)+" in "+clock(j.Duration), c)}
	}
	return []string{both(fmt.Sprintf("%d/%d", i+1, len(m.log)), j.Mode.String(), c), fit(head, c)}
}
