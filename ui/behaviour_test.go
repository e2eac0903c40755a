package ui_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/ui"
)

func newModel(set ui.Settings) *ui.Model {
	return ui.New(config(hal.Geometry{Cols: 20, Rows: 4}), set)
}

// feed sends events and returns every command given.
func feed(m *ui.Model, events ...any) []ui.Command {
	var cmds []ui.Command
	for _, ev := range seq(events...) {
		cmds = append(cmds, m.Update(ev)...)
	}
	return cmds
}

func starts(cmds []ui.Command) []ui.StartJob {
	var out []ui.StartJob
	for _, c := range cmds {
		if s, ok := c.(ui.StartJob); ok {
			out = append(out, s)
		}
	}
	return out
}

func beeps(cmds []ui.Command) [][]hal.Beep {
	var out [][]hal.Beep
	for _, c := range cmds {
		if b, ok := c.(ui.Beep); ok {
			out = append(out, b.Pattern)
		}
	}
	return out
}

func line(m *ui.Model, i int) string { return m.Frame().Lines[i] }

var menuNames = []string{"Copy", "Verify only", "Copy no verify", "Erase", "Image", "Drive info", "Job log", "Line mode", "Lot", "Setup"}

func TestMenuTreeWalk(t *testing.T) {
	m := newModel(ui.DefaultSettings())
	feed(m, withMas)
	for i, want := range []struct {
		top    string
		screen string
	}{
		{"Copy+Verify", "confirm"},
		{"Verify", "confirm"},
		{"Copy", "confirm"},
		{">Mode: Quick", "erase"},
		{"0 images 0B free", "image"},
		{"Port M master", "info"},
		{"Job log", "log"},
		{"Line mode", "line"},
		{">New", "lot"},
		{">Area: Whole", "setup"},
	} {
		feed(m, press(hal.Down)) // idle -> menu at item 1
		for range i {
			feed(m, press(hal.Down))
		}
		assert.Contains(t, line(m, i%4), ">", "item %d has the cursor", i+1)
		feed(m, press(hal.OK))
		assert.Contains(t, line(m, 0), want.top, "menu item %d opens the %s screen", i+1, want.screen)
		feed(m, press(hal.Back))
		if want.screen != "confirm" && want.screen != "line" {
			assert.Contains(t, m.Frame().Lines, ">"+fmt.Sprintf("%d %s", i+1, menuNames[i]), "Back returns to the menu from %s", want.screen)
			feed(m, press(hal.Back))
		}
		assert.Contains(t, line(m, 0), "Clonebay", "back at idle after item %d", i+1)
	}
}

func TestHoldOKToOverwrite(t *testing.T) {
	m := newModel(ui.DefaultSettings())
	feed(m, master, blank(2), used(3), press(hal.OK), ui.Tick{Now: 10 * time.Second})
	assert.Empty(t, starts(feed(m, press(hal.OK))), "a short press does not overwrite data")
	assert.Empty(t, starts(feed(m, ui.Tick{Now: 11 * time.Second})))
	assert.Empty(t, starts(feed(m, release(hal.OK), ui.Tick{Now: 13 * time.Second})), "released before 2 s")

	feed(m, ui.Tick{Now: 20 * time.Second}, press(hal.OK))
	assert.Empty(t, starts(feed(m, ui.Tick{Now: 21900 * time.Millisecond})))
	got := starts(feed(m, ui.Tick{Now: 22 * time.Second}))
	require.Len(t, got, 1, "held for 2 s")
	assert.Equal(t, []int{2, 3}, got[0].Targets)
	assert.Equal(t, 1, got[0].Master)
}

func TestMasterIsNeverATarget(t *testing.T) {
	m := newModel(ui.DefaultSettings())
	got := starts(feed(m, withMas, blank(8), press(hal.OK), press(hal.OK)))
	require.Len(t, got, 1)
	assert.Equal(t, []int{2, 3, 4, 8}, got[0].Targets)
	assert.Equal(t, ui.CopyVerify, got[0].Mode)
}

func TestNoJobWithoutMasterOrTargets(t *testing.T) {
	m := newModel(ui.DefaultSettings())
	assert.Empty(t, starts(feed(m, blank(2), press(hal.OK), press(hal.OK))))
	assert.Equal(t, "No master", line(m, 0))
	m = newModel(ui.DefaultSettings())
	assert.Empty(t, starts(feed(m, master, press(hal.OK), press(hal.OK))))
	assert.Equal(t, "No targets", line(m, 0))
}

func TestAbortNeedsConfirmation(t *testing.T) {
	m := newModel(ui.DefaultSettings())
	feed(m, running)
	assert.NotContains(t, feed(m, press(hal.Back)), ui.Command(ui.AbortJob{}), "Back only asks")
	assert.Equal(t, "Abort the job?", line(m, 0))
	feed(m, press(hal.Back))
	assert.Contains(t, line(m, 0), "Copying", "Back again goes on with the job")
	feed(m, press(hal.Back))
	assert.Contains(t, feed(m, press(hal.OK)), ui.Command(ui.AbortJob{}))
}

func TestJobLEDsAndBeeps(t *testing.T) {
	m := newModel(ui.DefaultSettings())
	feed(m, withMas)
	assert.Equal(t, []hal.LEDState{hal.LEDGreen, hal.LEDGreen, hal.LEDGreen, hal.LEDGreen, hal.LEDOff, hal.LEDOff, hal.LEDOff, hal.LEDOff},
		m.LEDs(), "ready drives are steady green, empty ports off")
	cmds := feed(m, press(hal.OK), press(hal.OK))
	assert.Equal(t, [][]hal.Beep{hal.BeepKey, hal.BeepKey}, beeps(cmds), "a click per key")
	assert.Equal(t, hal.LEDGreenBlink, m.LEDs()[2], "working")
	assert.Equal(t, hal.LEDGreenBlink, m.LEDs()[0], "the master is working too")

	cmds = feed(m, ui.JobDone{Result: ui.JobResult{Ports: []ui.PortResult{{Port: 2, Pass: true}, {Port: 3, Cause: "mismatch"}, {Port: 4, Pass: true}}}})
	assert.Equal(t, [][]hal.Beep{hal.BeepFailure}, beeps(cmds), "three beeps on a failure")
	assert.Equal(t, []hal.LEDState{hal.LEDGreen, hal.LEDGreen, hal.LEDRed, hal.LEDGreen}, m.LEDs()[:4])
	assert.Equal(t, "Job done", line(m, 0))

	feed(m, ui.DriveOut{Port: 3})
	assert.Equal(t, hal.LEDOff, m.LEDs()[2], "the failed drive was pulled")
	assert.Equal(t, "Job done", line(m, 0), "the result stays until it was seen")
	feed(m, press(hal.Back))
	assert.Contains(t, line(m, 0), "Clonebay")

	feed(m, blank(3), press(hal.OK), press(hal.OK))
	cmds = feed(m, ui.JobDone{Result: ui.JobResult{Ports: []ui.PortResult{{Port: 2, Pass: true}, {Port: 3, Pass: true}, {Port: 4, Pass: true}}}})
	assert.Equal(t, [][]hal.Beep{hal.BeepJobDone}, beeps(cmds), "one long beep when all passed")
}

func TestMasterFailureLED(t *testing.T) {
	m := newModel(ui.DefaultSettings())
	feed(m, running, ui.JobDone{Result: ui.JobResult{MasterError: "master: read at 0: input/output error", MasterCause: "read error",
		Ports: []ui.PortResult{{Port: 2}, {Port: 3}, {Port: 4}}}})
	assert.Equal(t, hal.LEDRedBlink, m.LEDs()[0], "the master needs attention")
	assert.Equal(t, "read error", line(m, 1))
}

func TestBuzzerSwitches(t *testing.T) {
	set := ui.DefaultSettings()
	set.Buzzer, set.KeyClick = false, false
	m := newModel(set)
	cmds := feed(m, running, ui.JobDone{Result: ui.JobResult{Ports: []ui.PortResult{{Port: 2}}}})
	assert.Empty(t, beeps(cmds))
}

func TestSetupSavesEveryChange(t *testing.T) {
	m := newModel(ui.DefaultSettings())
	feed(m, press(hal.Up), press(hal.Up), press(hal.OK)) // menu, Setup, open
	var saved []ui.Settings
	for _, c := range feed(m, press(hal.Down), press(hal.Down), press(hal.OK), press(hal.Down), press(hal.Down), press(hal.Down), press(hal.OK), press(hal.OK),
		press(hal.Down), press(hal.OK), press(hal.Down), press(hal.Down), press(hal.OK)) {
		if s, ok := c.(ui.SaveSettings); ok {
			saved = append(saved, s.Settings)
		}
	}
	require.Len(t, saved, 5)
	last := saved[len(saved)-1]
	assert.False(t, last.Verify)
	assert.Equal(t, 2, last.AutoStart)
	assert.False(t, last.Buzzer)
	assert.Equal(t, 30*time.Minute, last.Backlight, "5 min steps on to 30 min")
	assert.Equal(t, last, m.Settings())

	feed(m, press(hal.Down), press(hal.Down), press(hal.Down), press(hal.Down), press(hal.OK)) // past Copy mode, Web password and PIN lock
	assert.Equal(t, "Restore defaults?", line(m, 0))
	cmds := feed(m, press(hal.OK))
	assert.Contains(t, cmds, ui.Command(ui.SaveSettings{Settings: ui.DefaultSettings()}))
	assert.Equal(t, ui.DefaultSettings(), m.Settings())
}

func TestSetupMakesAWebPassword(t *testing.T) {
	m := newModel(ui.DefaultSettings())
	feed(m, press(hal.Up), press(hal.Up), press(hal.OK), press(hal.Up), press(hal.Up), press(hal.Up), press(hal.Up)) // Setup > Web password
	require.Contains(t, m.Frame().Lines, ">Web password", "the cursor on it")
	cmds := feed(m, press(hal.OK))
	assert.Contains(t, cmds, ui.Command(ui.NewWebPassword{}))
	assert.Equal(t, "Web password", line(m, 0))
	feed(m, ui.Notice{Title: "Web password", Text: "k3mnpq7rstuv"})
	assert.Equal(t, "k3mnpq7rstuv", line(m, 1), "the new password is shown once, whole")
}

func TestAutoStart(t *testing.T) {
	set := ui.DefaultSettings()
	set.AutoStart = 2
	m := newModel(set)
	assert.Empty(t, starts(feed(m, master, blank(2))), "one target is not enough")
	got := starts(feed(m, blank(3)))
	require.Len(t, got, 1, "the second target starts the job")
	assert.Equal(t, []int{2, 3}, got[0].Targets)
	feed(m, ui.JobDone{Result: ui.JobResult{Ports: []ui.PortResult{{Port: 2, Pass: true}, {Port: 3, Pass: true}}}}, press(hal.Back))
	assert.Empty(t, starts(feed(m, blank(4))), "the copied drives do not start another job")
	feed(m, ui.DriveOut{Port: 2}, ui.DriveOut{Port: 3})
	assert.Empty(t, starts(feed(m, ui.DriveOut{Port: 4}, blank(2))))
	assert.Len(t, starts(feed(m, blank(3))), 1, "fresh drives start the next job")

	m = newModel(set)
	assert.Empty(t, starts(feed(m, master, blank(2), used(3))), "never auto-start over data")
}

func TestBacklightTimeout(t *testing.T) {
	set := ui.DefaultSettings()
	set.Backlight = 30 * time.Second
	m := newModel(set)
	feed(m, ui.Tick{Now: 29 * time.Second})
	assert.True(t, m.Frame().Backlight)
	feed(m, ui.Tick{Now: 30 * time.Second})
	assert.False(t, m.Frame().Backlight)
	cmds := feed(m, press(hal.Down))
	assert.True(t, m.Frame().Backlight)
	assert.Empty(t, cmds, "the key that wakes the panel does nothing else")
	assert.Contains(t, line(m, 0), "Clonebay")
}

func TestProgressTotals(t *testing.T) {
	m := newModel(ui.DefaultSettings())
	feed(m, running)
	assert.Contains(t, line(m, 1), " 22%", "copying 45% of a copy+verify is 22% of the job")
	assert.Contains(t, line(m, 2), "90.0MB/s", "rates add up")
}

func TestPINLocksSetupAndErase(t *testing.T) {
	m := newModel(ui.DefaultSettings())
	// Setup > PIN lock > 1 2 3 4.
	feed(m, press(hal.Up), press(hal.Up), press(hal.OK), press(hal.Up), press(hal.Up), press(hal.Up), press(hal.OK))
	require.Equal(t, "New PIN", line(m, 0), "%v", m.Frame().Lines)
	var saved []ui.Settings
	for _, d := range []int{1, 2, 3, 4} {
		for range d {
			feed(m, press(hal.Up))
		}
		for _, c := range feed(m, press(hal.OK)) {
			if s, ok := c.(ui.SaveSettings); ok {
				saved = append(saved, s.Settings)
			}
		}
	}
	require.Len(t, saved, 1)
	assert.Equal(t, "1234", saved[0].PIN)
	feed(m, press(hal.Back), press(hal.Back)) // Setup -> menu -> idle: locked again

	enter := func(digits ...int) {
		for _, d := range digits {
			for range d {
				feed(m, press(hal.Up))
			}
			feed(m, press(hal.OK))
		}
	}
	feed(m, press(hal.Up), press(hal.Up), press(hal.OK)) // Setup
	assert.Equal(t, "Enter PIN", line(m, 0))
	enter(1, 2, 3, 5)
	assert.Equal(t, "Wrong PIN", line(m, 0))
	feed(m, press(hal.Back), press(hal.Up), press(hal.Up), press(hal.OK))
	enter(1, 2, 3, 4)
	assert.Equal(t, ">Area: Whole", line(m, 0), "the right PIN opens Setup")
	feed(m, press(hal.Back))
	feed(m, press(hal.Up), press(hal.Up), press(hal.Up), press(hal.Up), press(hal.Up), press(hal.Up), press(hal.OK))
	assert.Equal(t, ">Mode: Quick", line(m, 0), "Erase stays open while the panel is unlocked")
}

func TestEraseNeedsAHold(t *testing.T) {
	m := newModel(ui.DefaultSettings())
	feed(m, withMas, press(hal.Down), press(hal.Down), press(hal.Down), press(hal.Down), press(hal.OK)) // Erase
	feed(m, press(hal.OK), press(hal.OK))                                                               // Mode: Zeros, Random
	feed(m, press(hal.Down), press(hal.OK))                                                             // Verify: On
	feed(m, press(hal.Down), press(hal.OK))                                                             // Start erase
	assert.Equal(t, "Erase 3 drives?", line(m, 0))
	feed(m, ui.Tick{Now: 10 * time.Second})
	var cmds []ui.Command
	cmds = append(cmds, feed(m, press(hal.OK), ui.Tick{Now: 11 * time.Second})...)
	assert.Empty(t, eraseCmds(cmds), "not before 2 s")
	cmds = feed(m, ui.Tick{Now: 12 * time.Second})
	got := eraseCmds(cmds)
	require.Len(t, got, 1)
	assert.Equal(t, ui.StartErase{Mode: "random", Verify: true, Targets: []int{2, 3, 4}}, got[0], "never the master")
}

func eraseCmds(cmds []ui.Command) []ui.StartErase {
	var out []ui.StartErase
	for _, c := range cmds {
		if s, ok := c.(ui.StartErase); ok {
			out = append(out, s)
		}
	}
	return out
}

// TestLineMode: every fresh target starts on its own, a result stays on
// its LED until the drive is pulled, the next drive in that port starts
// again, and the counter counts each result once.
func TestLineMode(t *testing.T) {
	m := newModel(ui.DefaultSettings())
	feed(m, master, blank(2))
	cmds := feed(m, press(hal.Up), press(hal.Up), press(hal.Up), press(hal.Up), press(hal.OK), press(hal.OK))
	var start []ui.StartLine
	for _, c := range cmds {
		if s, ok := c.(ui.StartLine); ok {
			start = append(start, s)
		}
	}
	require.Len(t, start, 1)
	assert.Equal(t, ui.StartLine{Mode: ui.CopyVerify, Master: 1, Area: "whole"}, start[0])

	lineTargets := func(cmds []ui.Command) []int {
		var ports []int
		for _, c := range cmds {
			if l, ok := c.(ui.LineTarget); ok {
				ports = append(ports, l.Port)
			}
		}
		return ports
	}
	assert.Equal(t, []int{2}, lineTargets(feed(m, ui.LineStarted{Bytes: 8e9})), "the drive already in port 2 starts")
	assert.Equal(t, []int{3}, lineTargets(feed(m, blank(3))), "a drive inserted later starts at once")
	assert.Empty(t, lineTargets(feed(m, ui.DriveIn{Drive: ui.Drive{Port: 4, Problem: "read-only", Size: 8e9}})), "a drive with a problem is not a target")
	assert.Empty(t, lineTargets(feed(m, blank(3))), "a running port is not started twice")

	feed(m, ui.LineDone{Result: ui.PortResult{Port: 2, Pass: true}}, ui.LineDone{Result: ui.PortResult{Port: 3, Cause: "mismatch"}})
	assert.Equal(t, "Line P:1 F:1", line(m, 0))
	assert.Equal(t, hal.LEDGreen, m.LEDs()[1])
	assert.Equal(t, hal.LEDRed, m.LEDs()[2])
	assert.Empty(t, lineTargets(feed(m, ui.Tick{Now: time.Minute})), "a finished drive is not copied again")

	feed(m, ui.DriveOut{Port: 2})
	assert.Equal(t, hal.LEDOff, m.LEDs()[1])
	assert.Equal(t, []int{2}, lineTargets(feed(m, blank(2))), "the next drive in port 2 starts")

	feed(m, press(hal.Back))
	assert.Equal(t, "End line mode?", line(m, 0))
	cmds = feed(m, press(hal.OK))
	assert.Contains(t, cmds, ui.Command(ui.StopLine{}))
	assert.Equal(t, "Ending P:1 F:1", line(m, 0))
	assert.Empty(t, lineTargets(feed(m, ui.DriveOut{Port: 3}, blank(3))), "nothing starts while the line ends")
	feed(m, ui.LineDone{Result: ui.PortResult{Port: 2, Abort: true}}, ui.LineStopped{})
	assert.Equal(t, "Line ended", line(m, 0))
	assert.False(t, m.Running())
}

// TestLineEndsWhenTheMasterLeaves: with a master drive, pulling it ends
// the line (its running ports can only fail) and says why.
func TestLineEndsWhenTheMasterLeaves(t *testing.T) {
	m := newModel(ui.DefaultSettings())
	feed(m, master, blank(2))
	feed(m, press(hal.Up), press(hal.Up), press(hal.Up), press(hal.Up), press(hal.OK), press(hal.OK), ui.LineStarted{Bytes: 8e9})
	cmds := feed(m, ui.DriveOut{Port: 1})
	assert.Contains(t, cmds, ui.Command(ui.StopLine{}))
	assert.Empty(t, feed(m, ui.DriveOut{Port: 1}), "asked once")
	feed(m, ui.LineDone{Result: ui.PortResult{Port: 2, Abort: true}}, ui.LineStopped{})
	assert.Equal(t, []string{"Line ended", "The master was", "removed. 0 passed, 0", "failed this session."}, m.Frame().Lines)
}

// TestFilesMode: picking a file set turns Files mode on and is saved; a
// job then copies the set (no master drive needed), and production-line
// mode takes the master port as a target too, as with an image.
func TestFilesMode(t *testing.T) {
	m := newModel(ui.DefaultSettings())
	sets := ui.SetsLoaded{Sets: []ui.SetInfo{{Name: "course-2026", Files: 312, Bytes: 1.2e9}}}
	cmds := feed(m, sets, blank(2), blank(3), press(hal.Down), press(hal.Down), press(hal.Down), press(hal.Down), press(hal.Down), press(hal.OK),
		press(hal.Down), press(hal.Down), press(hal.Down), press(hal.Down), press(hal.OK), press(hal.Down), press(hal.OK))
	require.Contains(t, cmds, ui.Command(ui.SaveSettings{Settings: m.Settings()}))
	assert.True(t, m.Settings().Files, "picking a set turns Files mode on")
	assert.Equal(t, "Files: course-2026", line(m, 1))

	got := starts(feed(m, press(hal.OK), press(hal.OK)))
	require.Len(t, got, 1)
	assert.Equal(t, ui.StartJob{Mode: ui.CopyFiles, Master: 1, Set: "course-2026", Targets: []int{2, 3}}, got[0])
	feed(m, ui.JobDone{Result: ui.JobResult{Mode: ui.CopyFiles, Ports: []ui.PortResult{{Port: 2, Pass: true}, {Port: 3, Pass: true}}}}, press(hal.OK))

	t.Run("line mode", func(t *testing.T) {
		cmds := feed(m, press(hal.Up), press(hal.Up), press(hal.Up), press(hal.Up), press(hal.OK), press(hal.OK))
		require.Contains(t, cmds, ui.Command(ui.StartLine{Mode: ui.CopyFiles, Master: 1, Set: "course-2026"}))
		cmds = feed(m, ui.LineStarted{Bytes: 1.2e9}, blank(1))
		assert.Contains(t, cmds, ui.Command(ui.LineTarget{Port: 1}), "with a set, the master port takes targets")
		assert.NotContains(t, feed(m, ui.DriveOut{Port: 1}), ui.Command(ui.StopLine{}), "no master drive to lose")
	})
}

// TestRemoteStartFollowsTheCopyMode: a front end gets the kind of job the
// panel's start gives under Setup's copy mode, and is told so when it
// asks for the other kind.
func TestRemoteStartFollowsTheCopyMode(t *testing.T) {
	disk, files := ui.DefaultSettings(), ui.DefaultSettings()
	files.Files = true
	for _, tc := range []struct {
		name   string
		set    ui.Settings
		mode   ui.Mode
		want   *ui.StartJob // nil: refused
		reason string
	}{
		{"a disk copy in Disk mode", disk, ui.CopyVerify, &ui.StartJob{Mode: ui.CopyVerify, Master: 1, Targets: []int{2, 3}, Area: "whole"}, ""},
		{"files in Disk mode", disk, ui.CopyFiles, nil, "the copy mode is Disk: ask for copy+verify, copy or verify, or set Copy mode: Files in Setup"},
		{"files in Files mode", files, ui.CopyFiles, &ui.StartJob{Mode: ui.CopyFiles, Master: 1, Targets: []int{2, 3}}, ""},
		{"a disk copy in Files mode", files, ui.CopyOnly, nil, "the copy mode is Files: ask for files, or set Copy mode: Disk in Setup"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newModel(tc.set)
			feed(m, master, blank(2), blank(3))
			cmds := feed(m, ui.StartRequest{Mode: tc.mode, Confirm: true})
			ans, ok := m.TakeAnswer()
			require.True(t, ok)
			if tc.want == nil {
				assert.Equal(t, ui.RefusedInvalid, ans.Code)
				assert.Equal(t, tc.reason, ans.Refused)
				assert.Empty(t, starts(cmds))
				return
			}
			assert.True(t, ans.OK(), ans.Refused)
			assert.Equal(t, []ui.StartJob{*tc.want}, starts(cmds))
		})
	}
}

// TestASwappedTargetDoesNotWearTheResult: a target taken out during a job
// and another drive put in its port: the job's result for the port is
// the drive that left's, so the new drive shows no PASS (nor FAIL), nor
// does it count as working while the job runs. In line mode too.
func TestASwappedTargetDoesNotWearTheResult(t *testing.T) {
	pass := ui.JobDone{Result: ui.JobResult{Ports: []ui.PortResult{{Port: 2, Pass: true}, {Port: 3, Pass: true}, {Port: 4, Pass: true}}}}
	for _, tc := range []struct {
		name string
		swap []ui.Event
	}{
		{"swapped", seq(ui.DriveOut{Port: 2}, blank(2))},
		{"taken out", seq(ui.DriveOut{Port: 2})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newModel(ui.DefaultSettings())
			feed(m, running, tc.swap)
			assert.False(t, m.View().Ports[1].Working, "the new drive is not the job's")
			assert.True(t, m.View().Ports[2].Working)
			feed(m, pass)
			v := m.View()
			assert.Nil(t, v.Ports[1].Result, "no result for the drive now in port 2")
			require.NotNil(t, v.Ports[2].Result)
			assert.True(t, v.Ports[2].Result.Pass, "port 3's drive passed")
			assert.Equal(t, "Job done", line(m, 0))
			assert.Equal(t, "3 PASS 0 FAIL", line(m, 1), "the job's own drives all passed")
		})
	}

	t.Run("line mode", func(t *testing.T) {
		m := newModel(ui.DefaultSettings())
		feed(m, lineRunning, ui.DriveOut{Port: 3}, blank(3), ui.LineDone{Result: ui.PortResult{Port: 3, Pass: true}})
		assert.Nil(t, m.View().Ports[2].Result, "no result for the drive now in port 3")
	})
}

// TestRemoteSettingsChangeWhatTheyName: a front end's settings request
// changes the fields it sets and no other, over the panel's own: the copy
// mode (which the web API does not carry) stays, and two front ends that
// change different fields one after the other both keep their change.
func TestRemoteSettingsChangeWhatTheyName(t *testing.T) {
	set := ui.DefaultSettings()
	set.Files = true
	m := newModel(set)
	off, smart, bad := false, "smart", "half"
	for _, tc := range []struct {
		name   string
		change ui.SettingsChange
		ok     bool
	}{
		{"the buzzer off", ui.SettingsChange{Buzzer: &off}, true},
		{"the smart area", ui.SettingsChange{Area: &smart}, true},
		{"a bad area", ui.SettingsChange{Area: &bad}, false},
	} {
		cmds := feed(m, ui.SettingsRequest{Change: tc.change})
		ans, ok := m.TakeAnswer()
		require.True(t, ok, tc.name)
		assert.Equal(t, tc.ok, ans.OK(), "%s: %s", tc.name, ans.Refused)
		if !tc.ok {
			assert.Empty(t, cmds, tc.name)
		}
	}
	got := m.View().Settings
	assert.True(t, got.Files, "the copy mode stays")
	assert.False(t, got.Buzzer, "the first change stays")
	assert.Equal(t, "smart", got.Area, "the second change is made")
	assert.Equal(t, set.Verify, got.Verify, "what no request named keeps its value")
}
