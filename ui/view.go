package ui

import (
	"slices"
	"time"

	"github.com/clonebay/clonebay/hal"
)

// View is what the panel shows, for a second front end (the web panel)
// to observe without touching the LCD: a snapshot that shares no memory
// with the Model, so it may be kept and read after the Model moves on.
type View struct {
	Screen    string   // the screen on show: "idle", "menu", "confirm", "job", ...
	Lines     []string // the LCD lines, as Frame has them
	Backlight bool
	Ports     []PortView // every port of the board, in the board's order
	Job       *JobView   // the running job; nil when none runs
	Line      *LineView  // production-line mode; nil when it is off
	Image     string     // the image jobs copy from; "" is the master drive
	Busy      *Busy      // a capture, import or image check under way; nil when none
	Box       BoxInfo    // the appliance's ID and its record's replication
	// Message is the message on show (a check's result, a refusal); nil
	// when the screen is another.
	Message *Notice
	// Images is the image library; Free its free space.
	Images []ImageInfo
	Free   int64
	// Settings are the Setup choices, without the PIN; PINLock says a
	// PIN locks Setup and Erase (and the panel is not unlocked now).
	Settings Settings
	PINLock  bool
	// Lot is the running lot and its count (Name "" is none); LotDone
	// says its count is reached.
	Lot     LotState
	LotDone bool
	Lamps   hal.Lamps // the stack light
}

// PortView is one port: its drive, its progress in the running job or
// line, its last result and its LED.
type PortView struct {
	Number  int
	Label   string
	Master  bool   // the master port
	Drive   *Drive // the drive in the port; nil when it is empty
	Working bool   // in the running job or line (a target, or the master it copies from)
	Phase   Phase
	Done    int64
	Total   int64
	Rate    float64 // bytes a second
	ETA     time.Duration
	// Result is the port's last result (pass, fail or abort, with the
	// cause and reason) until its drive is pulled; nil when there is none.
	Result *PortResult
	LED    hal.LEDState
}

// JobView is the running job.
type JobView struct {
	Mode    Mode
	Area    string
	Bytes   int64 // what it copies per target, once started
	Started bool  // the firmware started it
	Targets []int
}

// LineView is production-line mode's session.
type LineView struct {
	Mode     Mode
	Started  bool
	Stopping bool
	Bytes    int64 // what each target gets
	Passed   int
	Failed   int
	Running  []int // the ports being copied
}

// View returns a snapshot of the panel.
func (m *Model) View() View {
	v := View{Screen: m.screen.name(), Lines: m.lines(), Backlight: m.backlight, Image: m.image, Box: m.box,
		Lot: m.lot, LotDone: m.lotDone(), Lamps: m.Lamps()}
	v.Lot.Recent = slices.Clone(m.lot.Recent)
	for _, p := range m.cfg.Ports {
		pv := PortView{Number: p.Number, Label: p.Label, Master: p.Number == m.cfg.MasterPort,
			Working: m.working(p.Number), LED: m.led(p.Number)}
		if d, ok := m.drives[p.Number]; ok {
			pv.Drive = &d
		}
		if pr, ok := m.portProgress(p.Number); ok {
			pv.Phase, pv.Done, pv.Total, pv.Rate, pv.ETA = pr.Phase, pr.Done, pr.Total, pr.Rate, pr.ETA
		}
		if o, ok := m.outcome[p.Number]; ok {
			r := o.result
			pv.Result = &r
		}
		v.Ports = append(v.Ports, pv)
	}
	if j := m.job; j != nil {
		v.Job = &JobView{Mode: j.mode, Area: j.area, Bytes: j.bytes, Started: j.started, Targets: slices.Clone(j.targets)}
	}
	if l := m.line; l != nil {
		v.Line = &LineView{Mode: l.mode, Started: l.started, Stopping: l.stopping, Bytes: l.bytes, Passed: l.passed, Failed: l.failed}
		for _, p := range m.cfg.Ports {
			if l.running[p.Number] {
				v.Line.Running = append(v.Line.Running, p.Number)
			}
		}
	}
	if m.busy != nil {
		b := *m.busy
		v.Busy = &b
	}
	if s, ok := m.screen.(*messageScreen); ok {
		v.Message = &Notice{Title: s.title, Text: s.text}
	}
	v.Images, v.Free = slices.Clone(m.images), m.free
	v.Settings, v.PINLock = m.set, m.set.PIN != "" && !m.unlocked
	v.Settings.PIN = ""
	return v
}

// portProgress is the port's progress in the running job or line.
func (m *Model) portProgress(port int) (Progress, bool) {
	if m.job != nil && slices.Contains(m.job.targets, port) {
		pr, ok := m.job.progress[port]
		return pr, ok
	}
	if m.line != nil && m.line.running[port] {
		pr, ok := m.line.progress[port]
		return pr, ok
	}
	return Progress{}, false
}
