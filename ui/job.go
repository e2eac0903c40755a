package ui

import (
	"fmt"
	"strings"
	"time"

	"github.com/clonebay/clonebay/hal"
)

// The screens of a copy: idle, its confirmation, the running job, the
// abort question, the result; and the resume offer and messages.

// areaNames are the copy areas as the panel names them.
var areaNames = map[string]string{"whole": "Whole", "used": "Used", "smart": "Smart", "": "Whole"}

// idleScreen shows the master and the targets; OK copies, Up and Down
// open the menu.
type idleScreen struct{}

func (*idleScreen) name() string { return "idle" }

func (s *idleScreen) update(m *Model, ev Event) (screen, []Command) {
	b, ok := pressed(ev)
	if !ok {
		return s, nil
	}
	switch b.Button {
	case hal.OK:
		return &confirmScreen{mode: m.defaultMode()}, nil
	case hal.Down, hal.Up:
		return &menuScreen{}, nil
	}
	return s, nil
}

// lines shows the running lot's counter in place of the title (on two
// rows, of the key help).
func (s *idleScreen) lines(m *Model, c, r int) []string {
	out := s.panel(m, c, r)
	if m.lot.Name != "" && len(out) >= 2 {
		out[map[bool]int{true: 0, false: 1}[r >= 4]] = m.lotLine(c)
	}
	return out
}

func (*idleScreen) panel(m *Model, c, r int) []string {
	targets := m.readyTargets()
	var total int64
	for _, p := range targets {
		total += m.drives[p].Size
	}
	mode := map[bool]string{true: "Copy+Verify", false: "Copy"}[m.set.Verify]
	master := "none"
	if m.set.Files {
		from := "master's"
		if m.fileSet != "" {
			from = m.fileSet
		} else if !m.masterPresent() {
			from = "none"
		}
		if r >= 4 {
			return []string{both("Clonebay", "Files", c),
				fit("Files: "+from, c), fit(fmt.Sprintf("Targets: %d (%s)", len(targets), size(total)), c), "OK:start Down:menu"}
		}
		head := fmt.Sprintf("T:%d ", len(targets))
		return []string{head + fit(from, c-len(head)), "OK:start v:menu"}
	}
	if m.image != "" {
		if r >= 4 {
			return []string{both("Clonebay", mode, c),
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

// confirmScreen asks before a job of its mode starts. Targets that hold
// data are only overwritten after OK is held.
type confirmScreen struct {
	mode Mode
	hold hold
}

func (*confirmScreen) name() string { return "confirm" }

func (s *confirmScreen) update(m *Model, ev Event) (screen, []Command) {
	if s.hold.confirmed(m.now, ev) {
		return m.start(s, s.mode)
	}
	b, ok := pressed(ev)
	if !ok {
		return s, nil
	}
	switch b.Button {
	case hal.OK:
		if m.targetsHoldData(s.mode) {
			s.hold.start(m.now)
		} else {
			return m.start(s, s.mode)
		}
	case hal.Back:
		return &idleScreen{}, nil
	}
	return s, nil
}

func (s *confirmScreen) lines(m *Model, c, r int) []string {
	targets := m.jobTargets(s.mode)
	switch {
	case m.lotDone() && s.mode != VerifyOnly:
		return pick(r, []string{"Lot done", "Lot " + fit(m.lot.Name, c-4), "Start a new lot", "Back: return"},
			[]string{"Lot done", "Back: return"})
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
	if withData == 0 || s.mode == VerifyOnly {
		return pick(r, []string{both(s.mode.String(), fmt.Sprintf("x%d", len(targets)), c), fit(area, c), "OK: start", "Back: cancel"},
			[]string{fit(area, c), "OK:go Back:no"})
	}
	prompt := s.hold.prompt(m.now, c)
	data := fmt.Sprintf("%d hold data!", withData)
	if withData == 1 {
		data = "1 holds data!"
	}
	return pick(r, []string{fit(data, c), "Overwrite it all?", prompt, "Back: cancel"}, []string{fit(data, c), prompt})
}

// areaLine says what the copy area comes to: "Smart: 2.1 of 64GB", or
// "Smart 2.1/64GB" on a narrow display.
func (m *Model) areaLine(c int) string {
	name := areaNames[m.set.Area]
	if m.set.Files {
		return m.filesLine(c)
	}
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

// filesLine says what a Files job copies: "Files: 312 in 1.2GB".
func (m *Model) filesLine(c int) string {
	if m.fileSet == "" {
		if c >= 20 {
			return "Files on the master"
		}
		return "Master's files"
	}
	for _, s := range m.sets {
		if s.Name == m.fileSet {
			if long := fmt.Sprintf("Files: %d in %s", s.Files, size(s.Bytes)); len(long) <= c {
				return long
			}
			return fit(fmt.Sprintf("%d in %s", s.Files, size(s.Bytes)), c)
		}
	}
	return fit("Set "+m.fileSet, c)
}

// jobScreen shows the running job: an overview page, then a page per
// target, paged with Up and Down.
type jobScreen struct {
	page list // 0 is the overview, i is targets[i-1]
}

func (*jobScreen) name() string { return "job" }

func (s *jobScreen) update(m *Model, ev Event) (screen, []Command) {
	b, ok := pressed(ev)
	if !ok || m.job == nil {
		return s, nil
	}
	if s.page.key(b.Button, len(m.job.targets)+1) == listBack {
		return &abortScreen{job: s}, nil
	}
	return s, nil
}

func (s *jobScreen) lines(m *Model, c, r int) []string {
	j := m.job
	if j == nil {
		return []string{"Job", "ending"}
	}
	if page := s.page.at; page > 0 && page <= len(j.targets) {
		return m.portLines(c, r, page, len(j.targets), j.targets[page-1])
	}
	done, total, bps, eta, stage := m.jobTotals()
	pct := fmt.Sprintf("%3d%%", percent(done, total))
	speed, left := "", ""
	if bps > 0 {
		speed = rate(bps)
	}
	if eta > 0 {
		left = clock(eta)
	}
	if r >= 4 {
		if left != "" {
			left = "ETA " + left
		}
		title := fmt.Sprintf("%s %dx", stage, len(j.targets))
		if j.started && j.mode != EraseDrives {
			title = fmt.Sprintf("%s %dx %s", stage, len(j.targets), size(j.bytes))
		}
		return []string{fit(title, c), bar(c-5, done, total) + " " + pct, both(speed, left, c), "Dn:ports Back:abort"}
	}
	return []string{bar(c-5, done, total) + " " + pct, both(speed, left, c)}
}

// portLines is one target's page of the job.
func (m *Model) portLines(c, r, page, pages, port int) []string {
	pr := m.job.progress[port]
	phase := pr.Phase.String()
	pct := fmt.Sprintf("%3d%%", percent(pr.Done, pr.Total))
	speed := ""
	if pr.Rate > 0 {
		speed = rate(pr.Rate)
	}
	eta := ""
	if pr.ETA > 0 {
		eta = clock(pr.ETA)
	}
	if r >= 4 {
		return []string{both("Port "+m.label(port), phase, c), bar(c-5, pr.Done, pr.Total) + " " + pct,
			fit(strings.TrimSpace(speed+" ETA "+eta), c), fmt.Sprintf("Up/Dn %d/%d", page, pages)}
	}
	return []string{both("P"+m.label(port)+" "+phase, pct, c), both(speed, eta, c)}
}

// jobTotals sums the job's progress over its targets: the share done
// (both passes when the job verifies), the combined rate, the longest
// ETA, and the stage the title shows: the furthest any target got.
func (m *Model) jobTotals() (done, total int64, bps float64, eta time.Duration, stage string) {
	j := m.job
	passes := int64(1)
	if j.mode == CopyVerify {
		passes = 2
	}
	furthest := Waiting
	for _, p := range j.targets {
		pr, ok := j.progress[p]
		if j.mode == EraseDrives {
			// An erase's progress counts every pass and the verify.
			total += max(pr.Total, 1)
			done += pr.Done
			if pr.Phase != Done {
				bps += pr.Rate
				eta = max(eta, pr.ETA)
			}
			continue
		}
		total += j.bytes * passes
		if !ok {
			continue
		}
		pass := int64(0)
		switch pr.Phase {
		case Verifying:
			if j.mode == CopyVerify {
				pass = 1
			}
			furthest = Verifying
		case Done:
			pass = passes - 1
		case Copying, Syncing:
			furthest = max(furthest, Copying)
		case Checking:
			furthest = max(furthest, Checking)
		}
		if j.mode == VerifyOnly {
			furthest = Verifying
		}
		done += pass*pr.Total + pr.Done
		if pr.Phase != Done {
			bps += pr.Rate
			left := pr.ETA
			if pass == 0 && passes == 2 && pr.Rate > 0 {
				left += time.Duration(float64(pr.Total) / pr.Rate * float64(time.Second))
			}
			eta = max(eta, left)
		}
	}
	switch {
	case !j.started:
		stage = "Starting"
	case j.mode == EraseDrives && len(j.targets) > 0:
		stage = "Erasing"
	default:
		stage = map[Phase]string{Waiting: "Starting", Checking: "Checking", Copying: "Copying", Verifying: "Verifying"}[furthest]
	}
	return done, total, bps, eta, stage
}

func percent(done, total int64) int {
	if total <= 0 {
		return 0
	}
	return int(min(done, total) * 100 / total)
}

// abortScreen asks before the running job is aborted.
type abortScreen struct {
	job *jobScreen // the job's page to go back to
}

func (*abortScreen) name() string { return "abort" }

func (s *abortScreen) update(_ *Model, ev Event) (screen, []Command) {
	b, ok := pressed(ev)
	if !ok {
		return s, nil
	}
	switch b.Button {
	case hal.OK:
		return s.job, []Command{AbortJob{}}
	case hal.Back:
		return s.job, nil
	}
	return s, nil
}

func (*abortScreen) lines(_ *Model, _, r int) []string {
	return pick(r, []string{"Abort the job?", "OK: abort", "Back: go on"}, []string{"Abort the job?", "OK:yes Back:no"})
}

// resultScreen shows a job's result until it is seen; Up and Down step
// through the ports that failed.
type resultScreen struct {
	result JobResult
	failed list
}

func (*resultScreen) name() string { return "result" }

func (s *resultScreen) update(_ *Model, ev Event) (screen, []Command) {
	b, ok := pressed(ev)
	if !ok {
		return s, nil
	}
	if s.failed.key(b.Button, len(s.failures())) != listStay {
		return &idleScreen{}, nil // OK or Back: seen
	}
	return s, nil
}

func (s *resultScreen) failures() []PortResult {
	var out []PortResult
	for _, p := range s.result.Ports {
		if !p.Pass {
			out = append(out, p)
		}
	}
	return out
}

func (s *resultScreen) lines(m *Model, c, r int) []string {
	res := s.result
	failed := s.failures()
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
	i := min(s.failed.at, len(failed)-1)
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

// resumeScreen offers to resume a job a power loss cut short.
type resumeScreen struct {
	offer ResumeOffer
}

func (*resumeScreen) name() string { return "resume" }

func (s *resumeScreen) update(m *Model, ev Event) (screen, []Command) {
	b, ok := pressed(ev)
	if !ok {
		return s, nil
	}
	switch b.Button {
	case hal.OK:
		m.job = &jobState{mode: s.offer.Mode, progress: map[int]Progress{}}
		return &jobScreen{}, []Command{ResumeJob{}}
	case hal.Back:
		return &idleScreen{}, []Command{DiscardResume{}}
	}
	return s, nil
}

func (s *resumeScreen) lines(_ *Model, c, r int) []string {
	what := fmt.Sprintf("%s x%d", s.offer.Mode, s.offer.Targets)
	return pick(r, []string{"Resume last job?", fit(what, c), "OK: resume", "Back: discard"},
		[]string{"Resume last job?", "OK:yes Back:no"})
}

// messageScreen is something to read; any key dismisses it.
type messageScreen struct {
	title, text string
}

func message(title, text string) screen { return &messageScreen{title: title, text: text} }

func (*messageScreen) name() string { return "message" }

func (s *messageScreen) update(m *Model, ev Event) (screen, []Command) {
	if b, ok := pressed(ev); !ok || b.Action != hal.Press {
		return s, nil
	}
	if m.job != nil {
		return &jobScreen{}, nil
	}
	return &idleScreen{}, nil
}

func (s *messageScreen) lines(_ *Model, c, r int) []string {
	return append([]string{fit(s.title, c)}, wrap(s.text, c, r-1)...)
}
