package ui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/clonebay/clonebay/hal"
)

// ImageInfo is one image of the library as the panel shows it.
type ImageInfo struct {
	Name    string
	Size    int64 // the content's size
	Bytes   int64 // what a deploy writes
	Stored  int64 // bytes on the appliance's storage
	Created time.Time
	SHA256  string
	Area    string
	Err     string // why it cannot be read (listed so it can be deleted)
}

// ImportFile is an image file found on a USB stick in a port.
type ImportFile struct {
	Port int
	Path string
	Size int64
}

// Events of the image library and production-line mode.
type (
	// ImagesLoaded carries the library's images and free space.
	ImagesLoaded struct {
		Images []ImageInfo
		Free   int64
	}
	// ImportFiles answers FindImports.
	ImportFiles struct{ Files []ImportFile }
	// Busy is the progress of a capture, import or image check.
	Busy struct {
		What        string
		Done, Total int64
	}
	// BusyDone ends a capture, import or deletion with what to read.
	BusyDone struct{ Title, Text string }
	// LineStarted says production-line mode runs: each target gets Bytes.
	LineStarted struct {
		Bytes int64
		Area  string
	}
	// LineDone is one target's result in production-line mode.
	LineDone struct{ Result PortResult }
	// LineStopped says production-line mode ended: no port is working.
	LineStopped struct{}
)

// Commands of the image library and production-line mode.
type (
	// CaptureImage asks firmware to store the drive in Port as an image.
	CaptureImage struct{ Port int }
	// FindImports asks firmware for the image files on sticks in the ports.
	FindImports struct{}
	// ImportImage asks firmware to import a file.
	ImportImage struct{ File ImportFile }
	// DeleteImage asks firmware to delete an image.
	DeleteImage struct{ Name string }
	// StartLine asks firmware to start production-line mode from the
	// master drive in Master, or from Image when set.
	StartLine struct {
		Mode   Mode
		Master int
		Image  string
		Area   string
	}
	// LineTarget asks firmware to copy the master onto the drive in Port.
	LineTarget struct{ Port int }
	// StopLine asks firmware to end production-line mode; running ports
	// are aborted.
	StopLine struct{}
)

func (CaptureImage) command() {}
func (FindImports) command()  {}
func (ImportImage) command()  {}
func (DeleteImage) command()  {}
func (StartLine) command()    {}
func (LineTarget) command()   {}
func (StopLine) command()     {}

// The Image menu.
var imageItems = []string{"Deploy", "Capture", "Import", "Info", "Delete", "Use drive"}

const (
	imgDeploy = iota
	imgCapture
	imgImport
	imgInfo
	imgDelete
	imgUseDrive
)

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
}

// imageUpdate handles the events of the image library and line mode; it
// reports false for other events.
func (m *Model) imageUpdate(ev any) ([]Command, bool) {
	switch ev := ev.(type) {
	case ImagesLoaded:
		m.images, m.free = ev.Images, ev.Free
		if m.image != "" && !slices.ContainsFunc(m.images, func(i ImageInfo) bool { return i.Name == m.image && i.Err == "" }) {
			m.image = "" // deleted or damaged: back to the master drive
		}
		m.imgPick = min(m.imgPick, max(0, len(m.images)-1))
	case ImportFiles:
		m.imports = ev.Files
		m.imgPick = 0
		if len(ev.Files) == 0 {
			m.message("Import", "No image file (.img .iso .gz .xz .zst) on a FAT stick in a port.")
		} else {
			m.screen = scrImports
		}
	case Busy:
		m.busy = &ev
		if m.screen != scrBusy && m.job == nil {
			m.screen = scrBusy
		}
	case BusyDone:
		m.busy = nil
		m.message(ev.Title, ev.Text)
	case LineStarted:
		if m.line != nil {
			m.line.started, m.line.bytes = true, ev.Bytes
			return m.lineFill(), true
		}
	case LineDone:
		if l := m.line; l != nil {
			p := ev.Result
			delete(l.running, p.Port)
			delete(l.progress, p.Port)
			switch {
			case p.Pass:
				l.passed++
				m.outcome[p.Port] = hal.LEDGreen
			case p.Abort:
				m.outcome[p.Port] = hal.LEDOff
			default:
				l.failed++
				m.outcome[p.Port] = hal.LEDRed
			}
			m.log = append([]JobResult{{Mode: l.mode, Ports: []PortResult{p}, Bytes: l.bytes}}, m.log...)
			if len(m.log) > logSize {
				m.log = m.log[:logSize]
			}
			if m.set.Buzzer && !p.Pass && !p.Abort {
				return []Command{Beep{Pattern: hal.BeepFailure}}, true
			}
		}
	case LineStopped:
		if m.line != nil {
			l := m.line
			m.line = nil
			m.message("Line ended", fmt.Sprintf("%s%d passed, %d failed this session.", l.why, l.passed, l.failed))
		}
	default:
		return nil, false
	}
	return nil, true
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
		if l.running[p] {
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
// and the master port when the master is an image (unless its drive was
// there when the line started).
func (m *Model) lineTargets() []int {
	ports := m.readyTargets()
	if m.image == "" || m.line.keep {
		return ports
	}
	if d, ok := m.drives[m.cfg.MasterPort]; ok && d.Size > 0 && d.Problem == "" {
		ports = append([]int{m.cfg.MasterPort}, ports...)
	}
	return ports
}

// imageKey handles the keys of the image and line screens; it reports
// false on other screens.
func (m *Model) imageKey(b hal.ButtonEvent) ([]Command, bool) {
	switch m.screen {
	case scrImage:
		if moveCursor(&m.imgIdx, len(imageItems), b.Button) {
			return nil, true
		}
		switch b.Button {
		case hal.Back:
			m.screen = scrMenu
		case hal.OK:
			return m.imageAction(), true
		}
	case scrImagePick:
		if moveCursor(&m.imgPick, max(1, len(m.images)), b.Button) {
			return nil, true
		}
		switch b.Button {
		case hal.Back:
			m.screen = scrImage
		case hal.OK:
			if len(m.images) == 0 {
				m.screen = scrImage
				break
			}
			im := m.images[m.imgPick]
			switch m.imgIdx {
			case imgDeploy:
				if im.Err != "" {
					m.message("Damaged", im.Name+": "+im.Err)
					break
				}
				m.image = im.Name
				m.plan = nil
				m.screen = scrIdle
			case imgInfo:
				m.screen, m.infoPage = scrImageInfo, 0
			case imgDelete:
				m.screen = scrImageDelete
			}
		}
	case scrImageInfo:
		switch b.Button {
		case hal.Back, hal.OK:
			m.screen = scrImagePick
		case hal.Up, hal.Down:
			m.infoPage = 1 - m.infoPage
		}
	case scrImageDelete:
		switch b.Button {
		case hal.OK:
			if b.Action == hal.Press {
				name := m.images[m.imgPick].Name
				m.screen = scrImage
				return []Command{DeleteImage{Name: name}}, true
			}
		case hal.Back:
			m.screen = scrImagePick
		}
	case scrImports:
		if moveCursor(&m.imgPick, max(1, len(m.imports)), b.Button) {
			return nil, true
		}
		switch b.Button {
		case hal.Back:
			m.screen = scrImage
		case hal.OK:
			if len(m.imports) > 0 {
				m.busy = &Busy{What: "Importing"}
				m.screen = scrBusy
				return []Command{ImportImage{File: m.imports[m.imgPick]}}, true
			}
		}
	case scrBusy:
		// Captures and imports run to their end; the panel waits.
	case scrLineConfirm:
		switch b.Button {
		case hal.OK:
			if b.Action == hal.Press && m.masterPresent() {
				m.line = &lineState{mode: m.defaultMode(), running: map[int]bool{}, progress: map[int]Progress{}}
				_, m.line.keep = m.drives[m.cfg.MasterPort]
				m.screen = scrLine
				// Whatever is already in the ports counts as fresh.
				for _, p := range m.readyTargets() {
					delete(m.outcome, p)
				}
				return []Command{StartLine{Mode: m.line.mode, Master: m.cfg.MasterPort, Image: m.image, Area: m.set.Area}}, true
			}
		case hal.Back:
			m.screen = scrIdle
		}
	case scrLine:
		if b.Button == hal.Back {
			m.screen = scrLineStop
		}
	case scrLineStop:
		switch b.Button {
		case hal.OK:
			if m.line != nil && !m.line.stopping {
				m.line.stopping = true
				m.screen = scrLine
				return []Command{StopLine{}}, true
			}
			m.screen = scrLine
		case hal.Back:
			m.screen = scrLine
		}
	default:
		return nil, false
	}
	return nil, true
}

// imageAction runs the Image menu's item under the cursor.
func (m *Model) imageAction() []Command {
	switch m.imgIdx {
	case imgDeploy, imgInfo, imgDelete:
		if len(m.images) == 0 {
			m.message("Image", "The library holds no image yet: capture or import one.")
			return nil
		}
		m.screen = scrImagePick
	case imgCapture:
		if d, ok := m.drives[m.cfg.MasterPort]; !ok || d.Size == 0 {
			m.message("Capture", "Insert the master drive in port "+m.label(m.cfg.MasterPort)+".")
			return nil
		}
		m.busy = &Busy{What: "Capturing"}
		m.screen = scrBusy
		return []Command{CaptureImage{Port: m.cfg.MasterPort}}
	case imgImport:
		m.busy = &Busy{What: "Looking"}
		m.screen = scrBusy
		return []Command{FindImports{}}
	case imgUseDrive:
		m.image = ""
		m.screen = scrIdle
	}
	return nil
}

// imageLines renders the image and line screens; nil for other screens.
func (m *Model) imageLines(c, r int) []string {
	switch m.screen {
	case scrImage:
		l := m.listLines(c, r, imageItems, m.imgIdx, false)
		if r >= 4 {
			head := fmt.Sprintf("%d images %s free", len(m.images), size(m.free))
			l = append([]string{fit(head, c)}, m.listLines(c, r-1, imageItems, m.imgIdx, false)...)
		}
		return l
	case scrImagePick:
		names := make([]string, len(m.images))
		for i, im := range m.images {
			names[i] = im.Name
			if im.Err != "" {
				names[i] = "!" + im.Name
			}
		}
		return m.listLines(c, r, names, m.imgPick, false)
	case scrImageInfo:
		im := m.images[m.imgPick]
		if im.Err != "" {
			return append([]string{fit(im.Name, c)}, wrap("Damaged: "+im.Err, c, r-1)...)
		}
		sha := im.SHA256
		if len(sha) > 8 {
			sha = sha[:8]
		}
		if r < 4 && m.infoPage == 1 {
			return []string{fit(im.Created.Local().Format("2006-01-02")+" "+size(im.Stored), c), fit("Free "+size(m.free), c)}
		}
		return pick(r, []string{fit(im.Name, c), fit(size(im.Size)+", stored "+size(im.Stored), c),
			fit(im.Created.Local().Format("2006-01-02")+" "+sha, c), fit("Library: "+size(m.free)+" free", c)},
			[]string{fit(im.Name, c), fit(size(im.Size)+" "+sha, c)})
	case scrImageDelete:
		name := m.images[m.imgPick].Name
		return pick(r, []string{"Delete image?", fit(name, c), "OK: delete", "Back: keep"},
			[]string{fit(name, c), "OK:del Back:no"})
	case scrImports:
		names := make([]string, len(m.imports))
		for i, f := range m.imports {
			names[i] = m.label(f.Port) + ":" + strings.TrimPrefix(f.Path, "/")
		}
		return m.listLines(c, r, names, m.imgPick, false)
	case scrBusy:
		b := m.busy
		if b == nil {
			b = &Busy{What: "Working"}
		}
		pct := fmt.Sprintf("%3d%%", percent(b.Done, b.Total))
		return pick(r, []string{fit(b.What, c), bar(c-5, b.Done, b.Total) + " " + pct, fit(size(b.Done)+" of "+size(b.Total), c), "Please wait"},
			[]string{fit(b.What, c), bar(c-5, b.Done, b.Total) + " " + pct})
	case scrLineConfirm:
		if !m.masterPresent() {
			return pick(r, []string{"No master", fit("Insert it in port "+m.label(m.cfg.MasterPort), c), "or deploy an image", "Back: return"},
				[]string{"No master", "Back: return"})
		}
		return pick(r, []string{"Line mode", fit("From "+m.masterName(), c), "Targets: no asking", "OK:start Back:no"},
			[]string{fit("Line "+m.masterName(), c), "OK:start Back:no"})
	case scrLine:
		return m.lineLines(c, r)
	case scrLineStop:
		return pick(r, []string{"End line mode?", "Running ports", "are aborted.", "OK:end Back:stay"},
			[]string{"End line mode?", "OK:end Back:stay"})
	}
	return nil
}

// masterName says what a job copies from: the image, or the master drive.
func (m *Model) masterName() string {
	if m.image != "" {
		return "img " + m.image
	}
	d := m.drives[m.cfg.MasterPort]
	s := size(d.Size)
	if d.Model != "" {
		s += " " + d.Model
	}
	return s
}

// lineLines shows the session counter and every target port: its
// progress, OK or FAIL, or "-" when empty.
func (m *Model) lineLines(c, r int) []string {
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
	}
	var cells []string
	for _, p := range m.cfg.Ports {
		if p.Number == m.cfg.MasterPort && m.image == "" {
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
	switch {
	case m.line.running[port]:
		pr := m.line.progress[port]
		pct := percent(pr.Done, pr.Total)
		if pr.Phase == "verifying" {
			pct = 50 + pct/2
		} else if m.line.mode == CopyVerify {
			pct /= 2
		}
		status, short = fmt.Sprintf("%d%%", pct), fmt.Sprint(min(9, pct/10))
	case m.outcome[port] == hal.LEDGreen:
		status, short = "OK", "+"
	case m.outcome[port] == hal.LEDRed:
		status, short = "FAIL", "x"
	case present && d.Problem != "":
		status, short = "?", "?"
	}
	if !wide {
		return short
	}
	return fmt.Sprintf("%-6s", fit(m.label(port)+":"+status, 6))
}
