package ui

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Requests from a front end other than the buttons (the web panel). Each
// is an Event, so it goes the one way every event goes: the model takes
// it only when the panel would take the same choice now (no job running,
// the PIN given, the overwrite confirmed), and gives the same commands
// the panel's screens give, so the LCD shows what was done. What became
// of the latest request is kept for the front end (Model.TakeAnswer).

// Request is an operator's request from a front end.
type Request interface {
	Event
	request()
}

// The requests.
type (
	// StartRequest starts a copy, copy+verify or verify job from the
	// master (the drive in the master port, or the deployed image), or in
	// Files mode a files job (CopyFiles: the chosen set, else the master's
	// files), onto
	// Targets (every ready target when empty). Confirm must be set when
	// the job would overwrite a target that holds data: the panel asks
	// for a held OK then.
	StartRequest struct {
		Mode    Mode
		Targets []int
		Confirm bool
	}
	// EraseRequest wipes Targets (every drive but the master's when
	// empty). Confirm must be set: the panel asks for a held OK. PIN is
	// needed when a PIN locks Erase and the panel is not unlocked.
	EraseRequest struct {
		Mode    string // quick, zeros, random, dod, discard, secure-discard
		Verify  bool
		Targets []int
		Confirm bool
		PIN     string
	}
	// AbortRequest aborts the running job, or ends production-line mode.
	AbortRequest struct{}
	// AbortPortRequest aborts one port of the running job or line; the
	// others go on.
	AbortPortRequest struct{ Port int }
	// CheckRequest checks the drive in Port: Kind is "scan" or "speed".
	CheckRequest struct {
		Port int
		Kind string
	}
	// SettingsRequest changes the Setup choices that Change sets, over
	// the panel's own: what it leaves out keeps its value, whatever
	// another front end or the panel changed meanwhile. The PIN itself is
	// only set on the panel. PIN is needed when a PIN locks Setup.
	SettingsRequest struct {
		Change SettingsChange
		PIN    string
	}
	// DeployRequest makes an image of the library the master of every
	// job; "" goes back to the master drive.
	DeployRequest struct{ Image string }
	// DeleteImageRequest deletes an image of the library.
	DeleteImageRequest struct{ Name string }
	// LotRequest starts the lot Name with Goal drives to pass (0: no
	// count), or with End ends the running lot. The front end checks the
	// name and the count; the appliance checks them again.
	LotRequest struct {
		Name string
		Goal int
		End  bool
	}
)

func (StartRequest) event()       {}
func (EraseRequest) event()       {}
func (AbortRequest) event()       {}
func (AbortPortRequest) event()   {}
func (CheckRequest) event()       {}
func (SettingsRequest) event()    {}
func (DeployRequest) event()      {}
func (DeleteImageRequest) event() {}
func (LotRequest) event()         {}

func (StartRequest) request()       {}
func (EraseRequest) request()       {}
func (AbortRequest) request()       {}
func (AbortPortRequest) request()   {}
func (CheckRequest) request()       {}
func (SettingsRequest) request()    {}
func (DeployRequest) request()      {}
func (DeleteImageRequest) request() {}
func (LotRequest) request()         {}

// Why a request was refused, for a front end to act on.
const (
	RefusedBusy    = "busy"    // a job, line, capture or import is running, or a resume waits
	RefusedConfirm = "confirm" // targets hold data, or an erase: confirm it
	RefusedLocked  = "locked"  // the PIN locks it: give the PIN
	RefusedInvalid = "invalid" // the request names what is not there, or makes no sense
	RefusedFailed  = "failed"  // the appliance tried and could not
)

// Answer is what became of a front end's request: done (Text says what),
// or refused (Refused says why, Code what kind of no).
type Answer struct {
	Text    string
	Refused string
	Code    string
}

// OK reports whether the request was carried out.
func (a Answer) OK() bool { return a.Refused == "" }

func refused(code, format string, args ...any) *Answer {
	return &Answer{Refused: fmt.Sprintf(format, args...), Code: code}
}

// TakeAnswer returns what became of the latest request and forgets it.
// Firmware calls it once the request and every event its commands
// answered with at once have gone through Update: a job the appliance
// could not start after all shows here as refused.
func (m *Model) TakeAnswer() (Answer, bool) {
	if m.answer == nil {
		return Answer{}, false
	}
	a := *m.answer
	m.answer = nil
	return a, true
}

// request handles a front end's request.
func (m *Model) request(r Request) []Command {
	var cmds []Command
	var ans *Answer
	switch r := r.(type) {
	case StartRequest:
		ans, cmds = m.remoteStart(r)
	case EraseRequest:
		ans, cmds = m.remoteErase(r)
	case AbortRequest:
		ans, cmds = m.remoteAbort()
	case AbortPortRequest:
		ans, cmds = m.remoteAbortPort(r.Port)
	case CheckRequest:
		ans, cmds = m.remoteCheck(r)
	case SettingsRequest:
		ans, cmds = m.remoteSettings(r)
	case DeployRequest:
		ans = m.remoteDeploy(r.Image)
	case DeleteImageRequest:
		ans, cmds = m.remoteDelete(r.Name)
	case LotRequest:
		ans, cmds = m.remoteLot(r)
	}
	m.answer = ans
	if ans.OK() {
		m.backlight, m.lastKey = true, m.now // someone acted: the panel wakes as for a key
	}
	return cmds
}

// busyReason says why the panel would take no new work now, or "".
func (m *Model) busyReason() string {
	switch {
	case m.job != nil:
		return "a job is running"
	case m.line != nil:
		return "line mode is running"
	case m.busy != nil:
		return strings.ToLower(m.busy.What) + " is under way"
	}
	if _, ok := m.screen.(*resumeScreen); ok {
		return "a job a power loss interrupted waits to be resumed or discarded on the panel"
	}
	return ""
}

// remoteLot starts or ends a lot, as the Lot menu does: never under a
// running job.
func (m *Model) remoteLot(r LotRequest) (*Answer, []Command) {
	if why := m.busyReason(); why != "" {
		return refused(RefusedBusy, "%s: the lot cannot change under it", why), nil
	}
	if r.End {
		if m.lot.Name == "" {
			return refused(RefusedInvalid, "no lot is running"), nil
		}
		return &Answer{Text: "lot " + m.lot.Name + " ended"}, []Command{EndLot{}}
	}
	if r.Name == "" || r.Goal < 0 {
		return refused(RefusedInvalid, "a lot needs a name and a count of 0 (none) or more"), nil
	}
	return &Answer{Text: "lot " + r.Name + " started"}, []Command{StartLot{Name: r.Name, Goal: r.Goal}}
}

// pickTargets checks the ports a request names against the ready
// targets; none named is every ready target.
func (m *Model) pickTargets(ports []int) ([]int, *Answer) {
	ready := m.readyTargets()
	if len(ports) == 0 {
		if len(ready) == 0 {
			return nil, refused(RefusedInvalid, "no targets: insert the drives to write")
		}
		return ready, nil
	}
	var out []int
	for _, p := range ports {
		d, present := m.drives[p]
		switch {
		case slices.Contains(out, p):
			return nil, refused(RefusedInvalid, "port %s is named twice", m.label(p))
		case !m.isPort(p):
			return nil, refused(RefusedInvalid, "there is no port %d", p)
		case p == m.cfg.MasterPort:
			return nil, refused(RefusedInvalid, "port %s is the master port: never a target", m.label(p))
		case !present:
			return nil, refused(RefusedInvalid, "port %s holds no drive", m.label(p))
		case d.Size == 0:
			return nil, refused(RefusedInvalid, "port %s: no media", m.label(p))
		case d.Problem != "":
			return nil, refused(RefusedInvalid, "port %s: %s", m.label(p), d.Problem)
		}
		out = append(out, p)
	}
	// In the board's order, as the panel lists them.
	slices.SortFunc(out, func(a, b int) int {
		return slices.IndexFunc(m.cfg.Ports, func(p Port) bool { return p.Number == a }) -
			slices.IndexFunc(m.cfg.Ports, func(p Port) bool { return p.Number == b })
	})
	return out, nil
}

func (m *Model) isPort(n int) bool {
	return slices.ContainsFunc(m.cfg.Ports, func(p Port) bool { return p.Number == n })
}

// unlockedBy reports whether Setup and Erase are open to a request that
// gives pin: no PIN is set, the panel is unlocked, or pin is the PIN.
func (m *Model) unlockedBy(pin string) *Answer {
	switch {
	case m.set.PIN == "" || m.unlocked:
		return nil
	case pin == "":
		return refused(RefusedLocked, "locked by the PIN: give it")
	case !m.pinMatches(pin):
		return refused(RefusedLocked, "wrong PIN")
	}
	return nil
}

func (m *Model) remoteStart(r StartRequest) (*Answer, []Command) {
	if why := m.busyReason(); why != "" {
		return refused(RefusedBusy, "%s", why), nil
	}
	// The copy mode in Setup says which jobs the panel's start gives: a
	// request of the other kind is refused, not run from what Setup does
	// not say (a disk copy's image, a file set's master).
	switch r.Mode {
	case CopyVerify, CopyOnly, VerifyOnly:
		if m.set.Files {
			return refused(RefusedInvalid, "the copy mode is Files: ask for files, or set Copy mode: Disk in Setup"), nil
		}
	case CopyFiles:
		if !m.set.Files {
			return refused(RefusedInvalid, "the copy mode is Disk: ask for copy+verify, copy or verify, or set Copy mode: Files in Setup"), nil
		}
	default:
		return refused(RefusedInvalid, "mode %d is not copy+verify, copy, verify or files", int(r.Mode)), nil
	}
	if !m.masterPresent() {
		return refused(RefusedInvalid, "no master: insert it in port %s or deploy an image", m.label(m.cfg.MasterPort)), nil
	}
	if m.lotDone() && r.Mode != VerifyOnly {
		return refused(RefusedInvalid, "lot %s has its %d: start a new lot", m.lot.Name, m.lot.Goal), nil
	}
	targets, no := m.pickTargets(r.Targets)
	if no != nil {
		return no, nil
	}
	if r.Mode != VerifyOnly && len(r.Targets) == 0 {
		// Every ready target: the drives done in the lot are left out.
		if targets = m.notHeld(targets); len(targets) == 0 {
			return refused(RefusedInvalid, "every target already passed in lot %s", m.lot.Name), nil
		}
	}
	if left := m.lotLeft(); r.Mode != VerifyOnly && left > 0 && len(targets) > left {
		if len(r.Targets) > 0 {
			return refused(RefusedInvalid, "lot %s needs %d more: name at most %d targets", m.lot.Name, left, left), nil
		}
		targets = targets[:left]
	}
	if r.Mode != VerifyOnly {
		for _, p := range targets {
			if m.held(p) {
				return refused(RefusedInvalid, "port %s: %s; confirm on the panel to write it again, or leave it out",
					m.label(p), m.drives[p].Done), nil
			}
		}
	}
	if r.Mode != VerifyOnly && !r.Confirm {
		var full []string
		for _, p := range targets {
			if m.drives[p].HasData {
				full = append(full, m.label(p))
			}
		}
		switch len(full) {
		case 0:
		case 1:
			return refused(RefusedConfirm, "port %s holds data: confirm to overwrite it", full[0]), nil
		default:
			return refused(RefusedConfirm, "ports %s hold data: confirm to overwrite them", strings.Join(full, ", ")), nil
		}
	}
	next, cmds := m.startOn(m.screen, r.Mode, targets)
	m.screen = next
	return &Answer{Text: fmt.Sprintf("%s started on %d targets", r.Mode, len(targets))}, cmds
}

func (m *Model) remoteErase(r EraseRequest) (*Answer, []Command) {
	if why := m.busyReason(); why != "" {
		return refused(RefusedBusy, "%s", why), nil
	}
	if no := m.unlockedBy(r.PIN); no != nil {
		return no, nil
	}
	if !slices.ContainsFunc(eraseModes, func(e struct{ id, name string }) bool { return e.id == r.Mode }) {
		return refused(RefusedInvalid, "erase mode %q: give quick, zeros, random, dod, discard or secure-discard", r.Mode), nil
	}
	targets, no := m.pickTargets(r.Targets)
	if no != nil {
		return no, nil
	}
	if !r.Confirm {
		return refused(RefusedConfirm, "erasing %d drives destroys their data: confirm it", len(targets)), nil
	}
	m.job = &jobState{mode: EraseDrives, targets: targets, progress: map[int]Progress{}}
	for _, p := range targets {
		delete(m.outcome, p)
	}
	m.screen = &jobScreen{}
	return &Answer{Text: fmt.Sprintf("erase started on %d drives", len(targets))},
		[]Command{StartErase{Mode: r.Mode, Verify: r.Verify, Targets: targets}}
}

func (m *Model) remoteAbort() (*Answer, []Command) {
	switch {
	case m.job != nil:
		if _, asking := m.screen.(*abortScreen); asking {
			m.screen = &jobScreen{}
		}
		return &Answer{Text: "abort asked"}, []Command{AbortJob{}}
	case m.line != nil && m.line.stopping:
		return &Answer{Text: "line mode is ending"}, nil
	case m.line != nil:
		m.line.stopping = true
		m.screen = &lineScreen{}
		return &Answer{Text: "line mode is ending"}, []Command{StopLine{}}
	}
	return refused(RefusedInvalid, "no job is running"), nil
}

func (m *Model) remoteAbortPort(port int) (*Answer, []Command) {
	switch {
	case m.job != nil && m.job.mode == EraseDrives:
		return refused(RefusedInvalid, "an erase stops as a whole: abort the job"), nil
	case m.job != nil && slices.Contains(m.job.targets, port):
		if !m.job.started {
			return refused(RefusedBusy, "the job is starting: try again in a moment"), nil
		}
		if pr, ok := m.job.progress[port]; ok && pr.Phase == Done {
			return refused(RefusedInvalid, "port %s has finished", m.label(port)), nil
		}
		return &Answer{Text: "abort of port " + m.label(port) + " asked"}, []Command{AbortPort{Port: port}}
	case m.line != nil && m.line.running[port]:
		return &Answer{Text: "abort of port " + m.label(port) + " asked"}, []Command{AbortPort{Port: port}}
	case m.job == nil && m.line == nil:
		return refused(RefusedInvalid, "no job is running"), nil
	}
	return refused(RefusedInvalid, "port %d is not in the running job", port), nil
}

func (m *Model) remoteCheck(r CheckRequest) (*Answer, []Command) {
	if why := m.busyReason(); why != "" {
		return refused(RefusedBusy, "%s", why), nil
	}
	i := slices.IndexFunc(checks, func(c struct{ kind, name, doing string }) bool { return c.kind == r.Kind })
	if i < 0 {
		return refused(RefusedInvalid, "check %q: give scan or speed", r.Kind), nil
	}
	if _, ok := m.drives[r.Port]; !ok {
		return refused(RefusedInvalid, "port %d holds no drive", r.Port), nil
	}
	m.screen = message("Port "+m.label(r.Port), checks[i].doing)
	return &Answer{Text: checks[i].name + " of port " + m.label(r.Port) + " started"},
		[]Command{CheckDrive(r)}
}

// ValidSettings says what is wrong with settings a front end sends, or
// "" when the panel could have chosen them.
func (m *Model) ValidSettings(s Settings) string {
	switch {
	case s.Area != "whole" && s.Area != "used" && s.Area != "smart":
		return fmt.Sprintf("area %q: give whole, used or smart", s.Area)
	case s.AutoStart < 0 || s.AutoStart >= max(len(m.cfg.Ports), 1):
		return fmt.Sprintf("auto-start %d: give 0 (off) to %d targets", s.AutoStart, max(len(m.cfg.Ports)-1, 0))
	case s.Backlight < 0:
		return "backlight: a time must not be negative (0 is never)"
	case !(s.MinWriteMBps >= 0 && s.MinWriteMBps <= 10000):
		return fmt.Sprintf("minimum write speed %g: give 0..10000 MB/s", s.MinWriteMBps)
	}
	return ""
}

// SettingsChange is the Setup choices a SettingsRequest sets: the fields
// that are not nil.
type SettingsChange struct {
	Verify       *bool
	AutoStart    *int
	Buzzer       *bool
	KeyClick     *bool
	Backlight    *time.Duration
	Area         *string
	Clean        *bool
	ZeroFill     *bool
	Qualify      *bool
	MinWriteMBps *float64
}

// Apply returns s with the change's fields set.
func (c SettingsChange) Apply(s Settings) Settings {
	setIf(&s.Verify, c.Verify)
	setIf(&s.AutoStart, c.AutoStart)
	setIf(&s.Buzzer, c.Buzzer)
	setIf(&s.KeyClick, c.KeyClick)
	setIf(&s.Backlight, c.Backlight)
	setIf(&s.Area, c.Area)
	setIf(&s.Clean, c.Clean)
	setIf(&s.ZeroFill, c.ZeroFill)
	setIf(&s.Qualify, c.Qualify)
	setIf(&s.MinWriteMBps, c.MinWriteMBps)
	return s
}

// setIf sets *dst to *v when v is not nil.
func setIf[T any](dst, v *T) {
	if v != nil {
		*dst = *v
	}
}

func (m *Model) remoteSettings(r SettingsRequest) (*Answer, []Command) {
	if why := m.busyReason(); why != "" {
		return refused(RefusedBusy, "%s", why), nil
	}
	if no := m.unlockedBy(r.PIN); no != nil {
		return no, nil
	}
	s := r.Change.Apply(m.set) // the PIN and the copy mode are the panel's
	if why := m.ValidSettings(s); why != "" {
		return refused(RefusedInvalid, "%s", why), nil
	}
	if s.Area != m.set.Area {
		m.plan = nil // the firmware works it out again
	}
	m.set = s
	return &Answer{Text: "settings saved"}, []Command{SaveSettings{Settings: m.set}}
}

func (m *Model) remoteDeploy(name string) *Answer {
	if why := m.busyReason(); why != "" {
		return refused(RefusedBusy, "%s", why)
	}
	if name == "" {
		m.image = ""
		m.plan = nil
		return &Answer{Text: "jobs copy from the master drive"}
	}
	i := slices.IndexFunc(m.images, func(im ImageInfo) bool { return im.Name == name })
	switch {
	case i < 0:
		return refused(RefusedInvalid, "no image %q in the library", name)
	case m.images[i].Err != "":
		return refused(RefusedInvalid, "image %s is damaged: %s", name, m.images[i].Err)
	}
	m.image = name
	m.plan = nil
	return &Answer{Text: "jobs copy from image " + name}
}

func (m *Model) remoteDelete(name string) (*Answer, []Command) {
	if why := m.busyReason(); why != "" {
		return refused(RefusedBusy, "%s", why), nil
	}
	if !slices.ContainsFunc(m.images, func(im ImageInfo) bool { return im.Name == name }) {
		return refused(RefusedInvalid, "no image %q in the library", name), nil
	}
	return &Answer{Text: "image " + name + " deleted"}, []Command{DeleteImage{Name: name}}
}

// pinMatches reports whether pin is the Setup PIN.
func (m *Model) pinMatches(pin string) bool {
	if m.cfg.PINLock == nil {
		return pin == m.set.PIN
	}
	return m.cfg.PINLock.Match(m.set.PIN, pin)
}

// PINLock makes and checks the stored form of the Setup PIN, so the
// model never holds the PIN itself; without one the PIN is kept as it
// was entered.
type PINLock interface {
	Hash(pin string) (string, error)
	Match(hash, pin string) bool
}
