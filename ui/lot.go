package ui

import (
	"fmt"
	"slices"

	"github.com/clonebay/clonebay/hal"
)

// Lots: a production order the operator names (or scans), optionally with
// a count of drives that must pass. The appliance keeps the lot and counts
// it from the record; the panel shows the counter, ends the line when the
// count is reached, and holds back a drive that already passed in the lot
// until the operator confirms.

// LotState is the lot the appliance runs; Name "" is none. The appliance
// sends it at start, when a lot starts or ends, and after every record
// entry of the lot.
type LotState struct {
	Name       string
	Goal       int // drives that must pass; 0 is no count
	Pass, Fail int
	Recent     []string // lots used lately, the last first, for the picker
	Next       string   // the default name of a new lot
}

// Scanned is a code read by the barcode scanner: a lot name, or Err says
// why the code was refused.
type Scanned struct{ Name, Err string }

func (LotState) event() {}
func (Scanned) event()  {}

// StartLot asks firmware to start a lot (Goal 0: no count); EndLot to end
// the running one.
type (
	StartLot struct {
		Name string
		Goal int
	}
	EndLot struct{}
)

func (StartLot) command() {}
func (EndLot) command()   {}

// lotDone reports whether the running lot reached its count.
func (m *Model) lotDone() bool {
	return m.lot.Name != "" && m.lot.Goal > 0 && m.lot.Pass >= m.lot.Goal
}

// lotLeft is how many drives the lot's count still needs; 0 when no lot
// with a count runs.
func (m *Model) lotLeft() int {
	if m.lot.Name == "" || m.lot.Goal == 0 {
		return 0
	}
	return max(0, m.lot.Goal-m.lot.Pass)
}

// lotChanged takes the appliance's lot. The moment a count is reached the
// line ends (its running ports are aborted: none is needed), the buzzer
// gives the final beep and the panel says so.
func (m *Model) lotChanged(ev LotState) []Command {
	was := m.lotDone()
	if ev.Name != m.lot.Name {
		m.redo = map[int]bool{}
	}
	same := ev.Name == m.lot.Name
	m.lot = ev
	if !m.lotDone() {
		return m.lineFill() // a failure frees a place the count held back
	}
	if was && same {
		return nil
	}
	var cmds []Command
	if m.set.Buzzer {
		cmds = append(cmds, Beep{Pattern: hal.BeepJobDone})
	}
	if l := m.line; l != nil && !l.stopping {
		l.stopping, l.why = true, fmt.Sprintf("Lot %s reached its count. ", ev.Name)
		return append(cmds, StopLine{})
	}
	if _, idle := m.screen.(*idleScreen); idle {
		// A job's result stays on show; the idle screen says it after.
		m.screen = message("Lot done", fmt.Sprintf("Lot %s: %d of %d passed.", ev.Name, ev.Pass, ev.Goal))
	}
	return cmds
}

// scanned takes a scanned code as the name of a new lot, asking for its
// count. While a job or the line runs the lot cannot change.
func (m *Model) scanned(ev Scanned) []Command {
	switch {
	case m.Running():
		// The lot cannot change under a job: the failure beep says the
		// scan was not taken.
	case ev.Err != "":
		m.screen = message("Scan refused", ev.Err)
	default:
		m.screen = &goalScreen{lot: ev.Name}
	}
	if m.set.Buzzer && (ev.Err != "" || m.Running()) {
		return []Command{Beep{Pattern: hal.BeepFailure}}
	}
	return nil
}

// held reports whether the drive in port already passed in the lot and
// the operator has not confirmed writing it again.
func (m *Model) held(port int) bool {
	return m.drives[port].Done != "" && !m.redo[port]
}

// notHeld leaves out the ports whose drives already passed in the lot.
func (m *Model) notHeld(ports []int) []int {
	return slices.DeleteFunc(ports, m.held)
}

// askRedo shows the question for a drive that already passed in the lot,
// when the panel is idle or on the line.
func (m *Model) askRedo(d Drive) {
	if d.Done == "" || d.Port == m.cfg.MasterPort && !m.fromLibrary() {
		return
	}
	switch m.screen.(type) {
	case *idleScreen, *lineScreen:
		m.screen = &redoScreen{port: d.Port}
	}
}

// lotLine is the lot's counter for a line of c characters: "Lot A17:
// 312/500", the name shortened to keep the count.
func (m *Model) lotLine(c int) string {
	sep := ": "
	if m.lotDone() {
		sep = " done "
	}
	return m.lotNamed(c, "Lot ", sep+m.lotCount())
}

// lotHead is the line screen's head while a lot runs: the lot, its
// count and the session's failures.
func (m *Model) lotHead(c int) string {
	return m.lotNamed(c, "", fmt.Sprintf(" %s F:%d", m.lotCount(), m.line.failed))
}

// lotCount is the lot's passes, over its count when it has one: "312/500".
func (m *Model) lotCount() string {
	if m.lot.Goal > 0 {
		return fmt.Sprintf("%d/%d", m.lot.Pass, m.lot.Goal)
	}
	return fmt.Sprint(m.lot.Pass)
}

// lotNamed puts the lot's name between head and tail in c characters,
// the name shortened so that the tail is always shown.
func (m *Model) lotNamed(c int, head, tail string) string {
	return head + fit(m.lot.Name, max(1, c-len(head)-len(tail))) + tail
}

// Lamps is what the stack light shows: green while a job or the line
// runs, red while a port shows a failure, amber when the lot is done or
// the panel waits for the operator.
func (m *Model) Lamps() hal.Lamps {
	var l hal.Lamps
	l.Green = m.Running()
	for _, o := range m.outcome {
		if o.led == hal.LEDRed || o.led == hal.LEDRedBlink {
			l.Red = true
		}
	}
	switch m.screen.(type) {
	case *redoScreen, *messageScreen:
		l.Amber = true
	}
	l.Amber = l.Amber || m.lotDone() && !m.Running()
	return l
}

// lotScreen starts and ends lots: a new lot under the default name, a
// recent one again, or the end of the running one.
type lotScreen struct{ list }

func (*lotScreen) name() string { return "lot" }

// items are the lot menu's choices: the end of the running lot first,
// then a new lot, then the recent ones.
func (s *lotScreen) items(m *Model) (labels, names []string) {
	if m.lot.Name != "" {
		labels, names = append(labels, "End lot "+m.lot.Name), append(names, m.lot.Name)
	}
	labels, names = append(labels, "New "+m.lot.Next), append(names, m.lot.Next)
	for _, r := range m.lot.Recent {
		if r != m.lot.Name && r != m.lot.Next {
			labels, names = append(labels, r), append(names, r)
		}
	}
	return labels, names
}

func (s *lotScreen) update(m *Model, ev Event) (screen, []Command) {
	b, ok := pressed(ev)
	if !ok {
		return s, nil
	}
	labels, names := s.items(m)
	switch s.key(b.Button, len(labels)) {
	case listBack:
		return menuAt(menuLot), nil
	case listChose:
		if m.Running() {
			return message("Lot", "The lot cannot change while a job runs."), nil
		}
		switch {
		case s.at == 0 && m.lot.Name != "":
			return &idleScreen{}, []Command{EndLot{}}
		case names[s.at] == "":
			return s, nil // no default name yet: the appliance sends one
		}
		return &goalScreen{lot: names[s.at]}, nil
	}
	return s, nil
}

func (s *lotScreen) lines(m *Model, c, r int) []string {
	labels, _ := s.items(m)
	return s.render(c, r, labels, false)
}

// goalSteps are the counts Up and Down step through: one at a time for
// small lots, in round numbers for large ones.
var goalSteps = func() []int {
	steps := []int{0} // no count
	for n := 1; n <= 100_000; {
		steps = append(steps, n)
		switch {
		case n < 20:
			n++
		case n < 100:
			n += 5
		case n < 500:
			n += 10
		case n < 1000:
			n += 50
		case n < 10_000:
			n += 500
		default:
			n += 5000
		}
	}
	return steps
}()

// goalScreen sets a new lot's count of drives that must pass.
type goalScreen struct {
	lot  string
	step int // index in goalSteps
}

func (*goalScreen) name() string { return "lot-count" }

func (s *goalScreen) update(m *Model, ev Event) (screen, []Command) {
	b, ok := pressed(ev)
	if !ok {
		return s, nil
	}
	switch b.Button {
	case hal.Up:
		s.step = min(len(goalSteps)-1, s.step+1)
	case hal.Down:
		s.step = max(0, s.step-1)
	case hal.OK:
		if m.Running() {
			return message("Lot", "The lot cannot change while a job runs."), nil
		}
		return &idleScreen{}, []Command{StartLot{Name: s.lot, Goal: goalSteps[s.step]}}
	case hal.Back:
		return &lotScreen{}, nil
	}
	return s, nil
}

func (s *goalScreen) lines(_ *Model, c, r int) []string {
	count := "no count"
	if g := goalSteps[s.step]; g > 0 {
		count = fmt.Sprint(g)
	}
	return pick(r, []string{"Lot " + fit(s.lot, c-4), fit("Count: "+count, c), "Up/Down: count", "OK:start Back:no"},
		[]string{"Lot " + fit(s.lot, c-4), fit("N:"+count+" OK:go", c)})
}

// redoScreen holds back a drive that already passed in the lot: OK held
// writes it again, Back leaves it alone until it is pulled.
type redoScreen struct {
	port int
	hold hold
}

func (*redoScreen) name() string { return "already-done" }

// back is the screen the question came from.
func (s *redoScreen) back(m *Model) screen {
	if m.line != nil {
		return &lineScreen{}
	}
	return &idleScreen{}
}

func (s *redoScreen) update(m *Model, ev Event) (screen, []Command) {
	if out, ok := ev.(DriveOut); ok && out.Port == s.port || !m.held(s.port) {
		return s.back(m), nil
	}
	if s.hold.confirmed(m.now, ev) {
		m.redo[s.port] = true
		if m.line != nil {
			return &lineScreen{}, m.lineFill()
		}
		return &idleScreen{}, nil
	}
	b, ok := pressed(ev)
	if !ok {
		return s, nil
	}
	switch b.Button {
	case hal.OK:
		s.hold.start(m.now)
	case hal.Back:
		return s.back(m), nil
	}
	return s, nil
}

func (s *redoScreen) lines(m *Model, c, r int) []string {
	head := "P" + m.label(s.port) + " already done"
	return pick(r, []string{fit(head, c), fit(m.drives[s.port].Done, c), fit(s.hold.prompt(m.now, c)+" redo", c), "Back: skip it"},
		[]string{fit(head, c), s.hold.prompt(m.now, c)})
}
