package web

import (
	"time"

	"github.com/clonebay/clonebay/ui"
)

// The JSON the page reads: the panel's view in the web's words.

type statusJSON struct {
	Version   string       `json:"version"`
	Screen    string       `json:"screen"`
	LCD       []string     `json:"lcd"` // the LCD's lines, progress bars as block characters
	Backlight bool         `json:"backlight"`
	Ports     []portJSON   `json:"ports"`
	Job       *jobJSON     `json:"job"`
	Line      *lineJSON    `json:"line"`
	Image     string       `json:"image"` // the image jobs copy from; "" the master drive
	Busy      *busyJSON    `json:"busy"`
	Message   *messageJSON `json:"message"`
	PINLock   bool         `json:"pin_lock"`
	Upload    *uploadJSON  `json:"upload"`
	Images    imagesJSON   `json:"images"`
	Settings  settingsJSON `json:"settings"`
	Summary   summaryJSON  `json:"summary"`
	Lot       lotJSON      `json:"lot"`
	Lamps     lampsJSON    `json:"lamps"` // the stack light
}

type driveJSON struct {
	Model   string `json:"model"`
	Serial  string `json:"serial"`
	Size    int64  `json:"size"`
	SizeStr string `json:"size_text"`
	HasData bool   `json:"has_data"`
	Problem string `json:"problem,omitempty"`
	Done    string `json:"done_in_lot,omitempty"` // where it already passed in the running lot
}

type resultJSON struct {
	Result string `json:"result"` // PASS, FAIL or ABORTED
	Cause  string `json:"cause,omitempty"`
	Reason string `json:"reason,omitempty"`
}

type portJSON struct {
	Number  int         `json:"number"`
	Label   string      `json:"label"`
	Master  bool        `json:"master"`
	Drive   *driveJSON  `json:"drive"`
	Working bool        `json:"working"`
	Phase   string      `json:"phase,omitempty"`
	Done    int64       `json:"done"`
	Total   int64       `json:"total"`
	Percent int         `json:"percent"`
	MBps    float64     `json:"mbps"`
	ETA     float64     `json:"eta_seconds"`
	Result  *resultJSON `json:"result"`
	LED     string      `json:"led"`
}

type jobJSON struct {
	Mode    string `json:"mode"`
	Area    string `json:"area"`
	Bytes   int64  `json:"bytes"`
	Started bool   `json:"started"`
	Targets []int  `json:"targets"`
}

type lineJSON struct {
	Mode     string `json:"mode"`
	Started  bool   `json:"started"`
	Stopping bool   `json:"stopping"`
	Bytes    int64  `json:"bytes"`
	Passed   int    `json:"passed"`
	Failed   int    `json:"failed"`
	Running  []int  `json:"running"`
}

type busyJSON struct {
	What  string `json:"what"`
	Done  int64  `json:"done"`
	Total int64  `json:"total"`
}

type messageJSON struct {
	Title string `json:"title"`
	Text  string `json:"text"`
}

type imageJSON struct {
	Name    string    `json:"name"`
	Size    int64     `json:"size"`
	Bytes   int64     `json:"bytes"`
	Stored  int64     `json:"stored"`
	Created time.Time `json:"created"`
	SHA256  string    `json:"sha256"`
	Area    string    `json:"area"`
	Error   string    `json:"error,omitempty"`
}

type imagesJSON struct {
	Images []imageJSON `json:"images"`
	Free   int64       `json:"free"`
}

// summaryJSON counts the ports for a glance.
type summaryJSON struct {
	Drives  int `json:"drives"`
	Working int `json:"working"`
	Passed  int `json:"passed"`
	Failed  int `json:"failed"`
}

// resultWord is a port result's word.
func resultWord(r ui.PortResult) string {
	switch {
	case r.Pass:
		return "PASS"
	case r.Abort:
		return "ABORTED"
	}
	return "FAIL"
}

// modeWord is a job mode as the API names it.
func modeWord(m ui.Mode) string {
	switch m {
	case ui.CopyOnly:
		return "copy"
	case ui.VerifyOnly:
		return "verify"
	case ui.EraseDrives:
		return "erase"
	}
	return "copy+verify"
}

// statusOf turns the panel's view into the API's status.
func (s *Server) statusOf(v *ui.View) statusJSON {
	st := statusJSON{Version: s.o.Version, Images: imagesJSON{Images: []imageJSON{}}, Ports: []portJSON{}}
	if v == nil {
		return st
	}
	cols := 0
	for _, l := range v.Lines {
		cols = max(cols, len(l))
	}
	st.Screen, st.Backlight, st.Image, st.PINLock = v.Screen, v.Backlight, v.Image, v.PINLock
	for _, l := range v.Lines {
		st.LCD = append(st.LCD, ui.Render([]string{l}, 0))
	}
	for _, p := range v.Ports {
		pj := portJSON{Number: p.Number, Label: p.Label, Master: p.Master, Working: p.Working, LED: p.LED.String()}
		if d := p.Drive; d != nil {
			pj.Drive = &driveJSON{Model: d.Model, Serial: d.Serial, Size: d.Size, SizeStr: ui.FormatBytes(d.Size), HasData: d.HasData, Problem: d.Problem, Done: d.Done}
			st.Summary.Drives++
		}
		if p.Working {
			st.Summary.Working++
			pj.Phase, pj.Done, pj.Total, pj.MBps, pj.ETA = p.Phase.String(), p.Done, p.Total, p.Rate/1e6, p.ETA.Seconds()
			if p.Total > 0 {
				pj.Percent = int(min(p.Done, p.Total) * 100 / p.Total)
			}
		}
		if r := p.Result; r != nil {
			pj.Result = &resultJSON{Result: resultWord(*r), Cause: r.Cause, Reason: r.Reason}
			switch {
			case r.Pass:
				st.Summary.Passed++
			case !r.Abort:
				st.Summary.Failed++
			}
		}
		st.Ports = append(st.Ports, pj)
	}
	if j := v.Job; j != nil {
		st.Job = &jobJSON{Mode: modeWord(j.Mode), Area: j.Area, Bytes: j.Bytes, Started: j.Started, Targets: j.Targets}
	}
	if l := v.Line; l != nil {
		st.Line = &lineJSON{Mode: modeWord(l.Mode), Started: l.Started, Stopping: l.Stopping, Bytes: l.Bytes,
			Passed: l.Passed, Failed: l.Failed, Running: l.Running}
	}
	if b := v.Busy; b != nil {
		st.Busy = &busyJSON{What: b.What, Done: b.Done, Total: b.Total}
	}
	if m := v.Message; m != nil {
		st.Message = &messageJSON{Title: m.Title, Text: m.Text}
	}
	for _, im := range v.Images {
		st.Images.Images = append(st.Images.Images, imageJSON{Name: im.Name, Size: im.Size, Bytes: im.Bytes, Stored: im.Stored,
			Created: im.Created, SHA256: im.SHA256, Area: im.Area, Error: im.Err})
	}
	st.Images.Free = v.Free
	st.Settings = settingsOf(v.Settings)
	st.Lot = lotOf(v)
	st.Lamps = lampsJSON{Green: v.Lamps.Green, Amber: v.Lamps.Amber, Red: v.Lamps.Red}
	return st
}
