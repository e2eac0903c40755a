package ui_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/ui"
)

// screenNames names the screen each golden frame shows.
var screenNames = map[string]string{
	"idle-empty": "idle", "idle-ready": "idle", "idle-no-media": "idle", "image-deployed": "idle",
	"menu": "menu", "menu-setup": "menu",
	"confirm": "confirm", "confirm-one": "confirm", "confirm-data": "confirm", "confirm-holding": "confirm",
	"confirm-no-master": "confirm", "confirm-smart": "confirm", "confirm-smart-reading": "confirm",
	"confirm-no-targets": "confirm", "verify-confirm": "confirm", "image-confirm": "confirm",
	"job-starting": "job", "job-overview": "job", "job-port": "job", "job-verifying": "job", "erase-running": "job",
	"job-abort":   "abort",
	"result-pass": "result", "result-pass-bad-master": "result", "result-fail": "result", "result-fail-second": "result",
	"result-master-error": "result",
	"info":                "info", "info-next": "info", "info-empty": "info", "check-drive": "check",
	"resume-offer": "resume",
	"log-empty":    "log", "log": "log",
	"setup": "setup", "setup-page2": "setup", "restore": "restore", "pin-entry": "pin",
	"erase": "erase", "erase-confirm": "erase-confirm",
	"image-menu": "image", "image-pick": "image-pick", "image-info": "image-info", "image-info-page2": "image-info",
	"info-box": "info", "set-pick": "set-pick", "idle-files": "idle", "confirm-files": "confirm", "confirm-files-master": "confirm",
	"image-delete": "image-delete", "image-capturing": "busy", "image-imports": "imports",
	"line-confirm": "line-confirm", "line-running": "line", "line-stop": "line-stop",
	"line-ended": "message", "refused": "message",
}

// TestViewNamesEveryScreen: every screen of the golden frames has its
// name in the View, and the View's lines are the LCD's, never blank.
func TestViewNamesEveryScreen(t *testing.T) {
	for _, geo := range geometries {
		for _, sc := range screens {
			t.Run(sc.name+"/"+geo.String(), func(t *testing.T) {
				want, ok := screenNames[sc.name]
				require.True(t, ok, "screenNames lacks %s", sc.name)
				m := ui.New(config(geo), ui.DefaultSettings())
				for _, ev := range sc.events {
					m.Update(ev)
				}
				v := m.View()
				assert.Equal(t, want, v.Screen)
				assert.Equal(t, m.Frame().Lines, v.Lines)
				assert.NotEmpty(t, strings.TrimSpace(strings.Join(v.Lines, "")), "the screen shows something")
			})
		}
	}
}

func portView(v ui.View, port int) ui.PortView {
	for _, p := range v.Ports {
		if p.Number == port {
			return p
		}
	}
	return ui.PortView{}
}

// TestViewPortTable: the View carries what a port shows: its drive, its
// progress in the job, its result until the drive leaves, and its LED.
func TestViewPortTable(t *testing.T) {
	m := newModel(ui.DefaultSettings())
	v := m.View()
	require.Len(t, v.Ports, 8, "every port of the board, empty or not")
	assert.Equal(t, ui.PortView{Number: 1, Label: "M", Master: true, LED: hal.LEDOff}, v.Ports[0])
	assert.Nil(t, v.Job)

	feed(m, running)
	v = m.View()
	assert.Equal(t, &ui.JobView{Mode: ui.CopyVerify, Area: "whole media", Bytes: 8e9, Started: true, Targets: []int{2, 3, 4}}, v.Job)
	drive3 := blank(3).Drive
	assert.Equal(t, ui.PortView{Number: 3, Label: "3", Drive: &drive3, Working: true, Phase: ui.Copying,
		Done: 3_500_000_000, Total: 8e9, Rate: 30e6, ETA: progress(3, ui.Copying, 3_500_000_000).ETA, LED: hal.LEDGreenBlink}, portView(v, 3))
	assert.True(t, portView(v, 1).Working, "the master is working")
	assert.Equal(t, "SanDisk Ultra Fit", portView(v, 1).Drive.Model)
	assert.Equal(t, m.LEDs()[:8], ledsOf(v))

	feed(m, ui.JobDone{Result: ui.JobResult{Mode: ui.CopyVerify, Bytes: 8e9, Duration: 9 * time.Minute, Ports: []ui.PortResult{
		{Port: 2, Pass: true}, {Port: 3, Cause: "mismatch", Reason: "verify: mismatch at 4096"}, {Port: 4, Abort: true, Cause: "aborted"}}}})
	v = m.View()
	assert.Nil(t, v.Job)
	assert.Equal(t, "result", v.Screen)
	for _, want := range []struct {
		port   int
		result ui.PortResult
		led    hal.LEDState
	}{
		{2, ui.PortResult{Port: 2, Pass: true}, hal.LEDGreen},
		{3, ui.PortResult{Port: 3, Cause: "mismatch", Reason: "verify: mismatch at 4096"}, hal.LEDRed},
		{4, ui.PortResult{Port: 4, Abort: true, Cause: "aborted"}, hal.LEDOff},
	} {
		p := portView(v, want.port)
		require.NotNil(t, p.Result, "port %d", want.port)
		assert.Equal(t, want.result, *p.Result, "port %d", want.port)
		assert.Equal(t, want.led, p.LED, "port %d", want.port)
		assert.False(t, p.Working)
		assert.Zero(t, p.Total, "no progress after the job")
	}
	assert.Nil(t, portView(v, 1).Result, "the master did not fail")

	feed(m, ui.DriveOut{Port: 3})
	v = m.View()
	assert.Nil(t, portView(v, 3).Drive)
	assert.Nil(t, portView(v, 3).Result, "a result goes with its drive")
	assert.NotNil(t, portView(v, 2).Result)
}

func ledsOf(v ui.View) []hal.LEDState {
	var out []hal.LEDState
	for _, p := range v.Ports {
		out = append(out, p.LED)
	}
	return out
}

// TestViewMasterFailure: a master that failed carries the result on the
// master port.
func TestViewMasterFailure(t *testing.T) {
	m := newModel(ui.DefaultSettings())
	feed(m, running, ui.JobDone{Result: ui.JobResult{MasterError: "master: read at 0: input/output error", MasterCause: "read error",
		Ports: []ui.PortResult{{Port: 2}, {Port: 3}, {Port: 4}}}})
	p := portView(m.View(), 1)
	require.NotNil(t, p.Result)
	assert.Equal(t, ui.PortResult{Port: 1, Cause: "read error", Reason: "master: read at 0: input/output error"}, *p.Result)
	assert.Equal(t, hal.LEDRedBlink, p.LED)
}

// TestViewLine: line mode's counters and running ports.
func TestViewLine(t *testing.T) {
	m := newModel(ui.DefaultSettings())
	feed(m, lineRunning)
	v := m.View()
	assert.Equal(t, "line", v.Screen)
	assert.Nil(t, v.Job)
	assert.Equal(t, &ui.LineView{Mode: ui.CopyVerify, Started: true, Bytes: 8e9, Passed: 1, Failed: 1, Running: []int{3, 5}}, v.Line)
	assert.Equal(t, ui.Verifying, portView(v, 5).Phase)
	assert.Equal(t, int64(6e9), portView(v, 5).Done)
	assert.Equal(t, "write error", portView(v, 4).Result.Cause)
}

// TestViewIsACopy: a View kept by another front end does not change
// with the panel, and changing it does not change the panel.
func TestViewIsACopy(t *testing.T) {
	m := newModel(ui.DefaultSettings())
	feed(m, running, ui.Busy{What: "Capturing", Done: 1, Total: 2})
	v := m.View()
	before := m.View()

	v.Lines[0] = "changed"
	v.Job.Targets[0] = 99
	v.Ports[1].Drive.Model = "changed"
	v.Busy.What = "changed"
	assert.Equal(t, before, m.View(), "changing a View does not reach the panel")

	feed(m, progress(2, ui.Verifying, 1e9), ui.DriveOut{Port: 4})
	assert.Equal(t, ui.Copying, portView(before, 2).Phase, "a View kept does not follow the panel")
	assert.NotNil(t, portView(before, 4).Drive)
}
