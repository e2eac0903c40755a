package ui

import (
	"fmt"
	"strings"

	"github.com/clonebay/clonebay/hal"
)

// Production-line mode: every fresh target is copied on its own as soon
// as it is inserted, without asking, until the operator ends the line.

// lineState is production-line mode on the panel.
type lineState struct {
	mode     Mode
	started  bool
	stopping bool
	bytes    int64
	passed   int
	failed   int
	running  map[int]bool
	progress map[int]Progress
	// keep is the master port's drive when the line copies an image: most
	// likely the master stick itself, it is never written. A drive put
	// into that port later is a target like any other.
	keep bool
	why  string // why the line ended by itself
	// gone are the running ports whose drive left before their result
	// came: the result is not for the drive that may be there now.
	gone map[int]bool
}

// lineFill starts a copy on every port holding a fresh target: one that
// arrived since its last result.
func (m *Model) lineFill() []Command {
	l := m.line
	if l == nil || !l.started || l.stopping {
		return nil
	}
	var cmds []Command
	for _, p := range m.lineTargets() {
		if m.lot.Goal > 0 && m.lot.Pass+len(l.running) >= m.lot.Goal {
			break // enough are passed or under way for the lot's count
		}
		if l.running[p] || m.held(p) {
			continue
		}
		if _, done := m.outcome[p]; done {
			continue // its result stays until the drive is pulled
		}
		l.running[p] = true
		cmds = append(cmds, LineTarget{Port: p})
	}
	return cmds
}

// lineTargets are the ports line mode copies onto: the ready targets,
// and the master port when the master is an image or a file set (unless
// its drive was there when the line started).
func (m *Model) lineTargets() []int {
	ports := m.readyTargets()
	if !m.fromLibrary() || m.line.keep {
		return ports
	}
	if d, ok := m.drives[m.cfg.MasterPort]; ok && d.Size > 0 && d.Problem == "" {
		ports = append([]int{m.cfg.MasterPort}, ports...)
	}
	return ports
}

// lineDone counts one target's result, shows it on its LED and logs it.
func (m *Model) lineDone(p PortResult) []Command {
	l := m.line
	if l == nil {
		return nil
	}
	delete(l.running, p.Port)
	delete(l.progress, p.Port)
	switch {
	case p.Pass:
		l.passed++
	case !p.Abort:
		l.failed++
	}
	if l.gone[p.Port] {
		delete(l.gone, p.Port)
	} else {
		m.outcome[p.Port] = portOutcome(p)
	}
	m.logJob(JobResult{Mode: l.mode, Ports: []PortResult{p}, Bytes: l.bytes})
	if m.set.Buzzer && !p.Pass && !p.Abort {
		return []Command{Beep{Pattern: hal.BeepFailure}}
	}
	return nil
}

// lineConfirmScreen asks before line mode starts.
type lineConfirmScreen struct{}

func (*lineConfirmScreen) name() string { return "line-confirm" }

func (s *lineConfirmScreen) update(m *Model, ev Event) (screen, []Command) {
	b, ok := pressed(ev)
	if !ok {
		return s, nil
	}
	switch b.Button {
	case hal.OK:
		if !m.masterPresent() {
			break
		}
		m.line = &lineState{mode: m.defaultMode(), running: map[int]bool{}, progress: map[int]Progress{}}
		_, m.line.keep = m.drives[m.cfg.MasterPort]
		// Whatever is already in the ports counts as fresh.
		for _, p := range m.readyTargets() {
			delete(m.outcome, p)
		}
		start := m.startJob(m.line.mode, nil)
		return &lineScreen{}, []Command{StartLine{Mode: start.Mode, Master: start.Master, Image: start.Image, Set: start.Set, Area: start.Area}}
	case hal.Back:
		return &idleScreen{}, nil
	}
	return s, nil
}

func (*lineConfirmScreen) lines(m *Model, c, r int) []string {
	if !m.masterPresent() {
		return pick(r, []string{"No master", fit("Insert it in port "+m.label(m.cfg.MasterPort), c), "or deploy an image", "Back: return"},
			[]string{"No master", "Back: return"})
	}
	return pick(r, []string{"Line mode", fit("From "+m.masterName(), c), "Targets: no asking", "OK:start Back:no"},
		[]string{fit("Line "+m.masterName(), c), "OK:start Back:no"})
}

// masterName says what a job copies from: the image, the file set, or the
// master drive.
func (m *Model) masterName() string {
	switch {
	case m.set.Files && m.fileSet != "":
		return "set " + m.fileSet
	case m.set.Files:
		return "files on master"
	case m.image != "":
		return "img " + m.image
	}
	d := m.drives[m.cfg.MasterPort]
	s := size(d.Size)
	if d.Model != "" {
		s += " " + d.Model
	}
	return s
}

// lineScreen shows the session counter and every target port.
type lineScreen struct{}

func (*lineScreen) name() string { return "line" }

func (s *lineScreen) update(_ *Model, ev Event) (screen, []Command) {
	if b, ok := pressed(ev); ok && b.Button == hal.Back {
		return &lineStopScreen{}, nil
	}
	return s, nil
}

// lines shows the counter and each port: its progress, OK or FAIL, or
// "-" when empty.
func (*lineScreen) lines(m *Model, c, r int) []string {
	l := m.line
	if l == nil {
		return []string{"Line mode", "ending"}
	}
	head := fmt.Sprintf("Line P:%d F:%d", l.passed, l.failed)
	switch {
	case !l.started:
		head = "Line starting"
	case l.stopping:
		head = fmt.Sprintf("Ending P:%d F:%d", l.passed, l.failed)
	case m.lot.Name != "":
		head = m.lotHead(c)
	}
	var cells []string
	for _, p := range m.cfg.Ports {
		if p.Number == m.cfg.MasterPort && !m.fromLibrary() {
			continue
		}
		cells = append(cells, m.lineCell(p.Number, r >= 4))
	}
	if r < 4 {
		return []string{fit(head, c), fit(strings.Join(cells, ""), c)}
	}
	out := []string{fit(head, c)}
	per := max(1, (c+1)/7)
	for i := 0; i < len(cells) && len(out) < r; i += per {
		out = append(out, fit(strings.TrimRight(strings.Join(cells[i:min(len(cells), i+per)], " "), " "), c))
	}
	return out
}

// lineCell is one port: "3:45%", "3:OK", "3:FAIL" on wide displays, one
// character ("4" for 40%, "+" pass, "x" fail, "." empty) on narrow ones.
func (m *Model) lineCell(port int, wide bool) string {
	status, short := "-", "."
	d, present := m.drives[port]
	o, finished := m.outcome[port]
	switch {
	case m.line.running[port]:
		pct := m.linePercent(m.line.progress[port])
		status, short = fmt.Sprintf("%d%%", pct), fmt.Sprint(min(9, pct/10))
	case finished && o.led == hal.LEDGreen:
		status, short = "OK", "+"
	case finished && o.led == hal.LEDRed:
		status, short = "FAIL", "x"
	case present && d.Problem != "":
		status, short = "?", "?"
	case present && m.held(port):
		status, short = "DONE", "d"
	}
	if !wide {
		return short
	}
	return fmt.Sprintf("%-6s", fit(m.label(port)+":"+status, 6))
}

// linePercent is a line target's share done: a copy that verifies is
// half done when it starts to verify.
func (m *Model) linePercent(pr Progress) int {
	pct := percent(pr.Done, pr.Total)
	if pr.Phase == Verifying {
		return 50 + pct/2
	}
	if m.line.mode == CopyVerify {
		return pct / 2
	}
	return pct
}

// lineStopScreen asks before line mode ends.
type lineStopScreen struct{}

func (*lineStopScreen) name() string { return "line-stop" }

func (s *lineStopScreen) update(m *Model, ev Event) (screen, []Command) {
	b, ok := pressed(ev)
	if !ok {
		return s, nil
	}
	switch b.Button {
	case hal.OK:
		if m.line != nil && !m.line.stopping {
			m.line.stopping = true
			return &lineScreen{}, []Command{StopLine{}}
		}
		return &lineScreen{}, nil
	case hal.Back:
		return &lineScreen{}, nil
	}
	return s, nil
}

func (*lineStopScreen) lines(_ *Model, _, r int) []string {
	return pick(r, []string{"End line mode?", "Running ports", "are aborted.", "OK:end Back:stay"},
		[]string{"End line mode?", "OK:end Back:stay"})
}
