package ui_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/ui"
)

var update = flag.Bool("update", false, "rewrite the golden frames in testdata")

var geometries = []hal.Geometry{{Cols: 20, Rows: 4}, {Cols: 16, Rows: 2}}

func config(geo hal.Geometry) ui.Config {
	cfg := ui.Config{Geometry: geo, MasterPort: 1, Version: "1.0.0"}
	for i := 1; i <= 8; i++ {
		label := fmt.Sprint(i)
		if i == 1 {
			label = "M"
		}
		cfg.Ports = append(cfg.Ports, ui.Port{Number: i, Label: label})
	}
	return cfg
}

func press(b hal.Button) ui.Button {
	return ui.Button{ButtonEvent: hal.ButtonEvent{Button: b, Action: hal.Press}}
}

func release(b hal.Button) ui.Button {
	return ui.Button{ButtonEvent: hal.ButtonEvent{Button: b, Action: hal.Release}}
}

var (
	master = ui.DriveIn{Drive: ui.Drive{Port: 1, Model: "SanDisk Ultra Fit", Serial: "4C530001", Size: 8_000_000_000, HasData: true}}
	blank  = func(p int) ui.DriveIn {
		return ui.DriveIn{Drive: ui.Drive{Port: p, Model: "Kingston DT", Size: 16_000_000_000}}
	}
	used = func(p int) ui.DriveIn {
		return ui.DriveIn{Drive: ui.Drive{Port: p, Model: "Old Stick", Size: 8_000_000_000, HasData: true}}
	}
	withMas = []ui.Event{master, blank(2), blank(3), blank(4)}
)

func progress(port int, phase ui.Phase, done int64) ui.Progress {
	return ui.Progress{Port: port, Phase: phase, Done: done, Total: 8_000_000_000, Rate: 30e6, ETA: time.Duration(float64(8e9-done)/30e6) * time.Second}
}

// seq flattens events and lists of events into one list.
func seq(parts ...any) []ui.Event {
	var out []ui.Event
	for _, p := range parts {
		switch p := p.(type) {
		case []ui.Event:
			out = append(out, p...)
		case ui.Event:
			out = append(out, p)
		default:
			panic(fmt.Sprintf("seq: %T is not an event", p))
		}
	}
	return out
}

var running = seq(withMas, press(hal.OK), press(hal.OK), ui.JobStarted{Bytes: 8_000_000_000, Area: "whole media"},
	progress(2, ui.Copying, 3_600_000_000), progress(3, ui.Copying, 3_500_000_000), progress(4, ui.Copying, 3_700_000_000))

var (
	library = ui.ImagesLoaded{Free: 41e9, Images: []ui.ImageInfo{
		{Name: "kiosk-v3", Size: 8e9, Bytes: 2.1e9, Stored: 9e8, Created: time.Date(2026, 11, 2, 9, 0, 0, 0, time.Local), SHA256: "9f2c44e1aa7d0c55", Area: "used area"},
		{Name: "ubuntu-24.04", Size: 6.4e9, Bytes: 6.4e9, Stored: 2.6e9, Created: time.Date(2026, 10, 20, 9, 0, 0, 0, time.Local), SHA256: "03ab77c1e9d0aa42", Area: "whole image"},
	}}
	toImage = seq(press(hal.Down), press(hal.Down), press(hal.Down), press(hal.Down), press(hal.Down), press(hal.OK))
	sets    = ui.SetsLoaded{Sets: []ui.SetInfo{{Name: "course-2026", Files: 312, Bytes: 1.2e9}, {Name: "promo-sticks", Files: 14, Bytes: 3.9e9}}}
	// Files mode copying the set course-2026 (Image, File sets, its row).
	toFiles = seq(sets, toImage, press(hal.Down), press(hal.Down), press(hal.Down), press(hal.Down), press(hal.OK),
		press(hal.Down), press(hal.OK))
	toLine = seq(press(hal.Up), press(hal.Up), press(hal.Up), press(hal.Up), press(hal.OK))
	// Line mode with eight ports: 2 passed, 3 copying, 4 failed, 5 verifying.
	lineRunning = seq(withMas, toLine, press(hal.OK), ui.LineStarted{Bytes: 8e9, Area: "whole media"},
		blank(5), progress(2, ui.Copying, 4e9), progress(3, ui.Copying, 2e9), progress(4, ui.Copying, 1e9), progress(5, ui.Verifying, 6e9),
		ui.LineDone{Result: ui.PortResult{Port: 2, Pass: true}}, ui.LineDone{Result: ui.PortResult{Port: 4, Cause: "write error"}})
)

var screens = []struct {
	name   string
	events []ui.Event
}{
	{"idle-empty", nil},
	{"idle-ready", withMas},
	{"idle-no-media", seq(ui.DriveIn{Drive: ui.Drive{Port: 1, Model: "SD reader"}})},
	{"menu", seq(withMas, press(hal.Down))},
	{"menu-setup", seq(withMas, press(hal.Down), press(hal.Up))},
	{"confirm", seq(withMas, press(hal.OK))},
	{"confirm-one", seq(master, blank(5), press(hal.OK))},
	{"confirm-data", seq(master, blank(2), used(3), press(hal.OK))},
	{"confirm-holding", seq(master, blank(2), used(3), press(hal.OK), press(hal.OK), ui.Tick{Now: time.Second})},
	{"confirm-no-master", seq(blank(2), press(hal.OK))},
	{"confirm-smart", seq(withMas, press(hal.Up), press(hal.Up), press(hal.OK), press(hal.OK), press(hal.OK), press(hal.Back), press(hal.Back),
		ui.PlanInfo{Area: "smart", Bytes: 2_100_000_000, Of: 64_000_000_000}, press(hal.OK))},
	{"confirm-smart-reading", seq(withMas, press(hal.Up), press(hal.Up), press(hal.OK), press(hal.OK), press(hal.OK), press(hal.Back), press(hal.Back), press(hal.OK))},
	{"confirm-no-targets", seq(master, press(hal.OK))},
	{"verify-confirm", seq(master, used(3), press(hal.Down), press(hal.Down), press(hal.OK))},
	{"job-starting", seq(withMas, press(hal.OK), press(hal.OK))},
	{"job-overview", running},
	{"job-port", seq(running, press(hal.Down), press(hal.Down))},
	{"job-verifying", seq(running, progress(2, ui.Verifying, 1_000_000_000), progress(3, ui.Verifying, 2_000_000_000), progress(4, ui.Verifying, 4_000_000_000))},
	{"job-abort", seq(running, press(hal.Back))},
	{"result-pass", seq(running, ui.JobDone{Result: ui.JobResult{Mode: ui.CopyVerify, Bytes: 8e9, Duration: 9 * time.Minute,
		Ports: []ui.PortResult{{Port: 2, Pass: true}, {Port: 3, Pass: true}, {Port: 4, Pass: true}}}})},
	{"result-pass-bad-master", seq(running, ui.JobDone{Result: ui.JobResult{Mode: ui.CopyVerify, Bytes: 8e9, MasterBadSectors: 3,
		Ports: []ui.PortResult{{Port: 2, Pass: true}, {Port: 3, Pass: true}, {Port: 4, Pass: true}}}})},
	{"result-fail", seq(running, ui.JobDone{Result: ui.JobResult{Mode: ui.CopyVerify, Bytes: 8e9, Duration: 9 * time.Minute,
		Ports: []ui.PortResult{{Port: 2, Pass: true}, {Port: 3, Cause: "mismatch"}, {Port: 4, Cause: "write error"}}}})},
	{"result-fail-second", seq(running, ui.JobDone{Result: ui.JobResult{Mode: ui.CopyVerify, Bytes: 8e9,
		Ports: []ui.PortResult{{Port: 2, Pass: true}, {Port: 3, Cause: "mismatch"}, {Port: 4, Abort: true, Cause: "aborted"}}}}, press(hal.Down))},
	{"result-master-error", seq(running, ui.JobDone{Result: ui.JobResult{Mode: ui.CopyVerify, MasterError: "master: read at 1234: input/output error",
		Ports: []ui.PortResult{{Port: 2, Cause: "master error"}, {Port: 3, Cause: "master error"}, {Port: 4, Cause: "master error"}}}})},
	{"info", seq(withMas, press(hal.Down), press(hal.Down), press(hal.Down), press(hal.Down), press(hal.Down), press(hal.Down), press(hal.OK))},
	{"info-next", seq(withMas, press(hal.Down), press(hal.Down), press(hal.Down), press(hal.Down), press(hal.Down), press(hal.Down), press(hal.OK), press(hal.Down))},
	{"check-drive", seq(withMas, press(hal.Down), press(hal.Down), press(hal.Down), press(hal.Down), press(hal.Down), press(hal.Down), press(hal.OK), press(hal.Down), press(hal.OK), press(hal.Down))},
	{"resume-offer", seq(withMas, ui.ResumeOffer{Mode: ui.CopyVerify, Targets: 3})},
	{"info-empty", seq(press(hal.Down), press(hal.Down), press(hal.Down), press(hal.Down), press(hal.Down), press(hal.Down), press(hal.OK))},
	{"log-empty", seq(press(hal.Up), press(hal.Up), press(hal.Up), press(hal.Up), press(hal.Up), press(hal.OK))},
	{"log", seq(running, ui.JobDone{Result: ui.JobResult{Mode: ui.CopyVerify, Bytes: 8e9, Duration: 9 * time.Minute,
		Ports: []ui.PortResult{{Port: 2, Pass: true}, {Port: 3, Cause: "mismatch"}, {Port: 4, Pass: true}}}},
		press(hal.Back), press(hal.Up), press(hal.Up), press(hal.Up), press(hal.Up), press(hal.Up), press(hal.OK))},
	{"setup", seq(press(hal.Up), press(hal.Up), press(hal.OK))},
	{"setup-page2", seq(press(hal.Up), press(hal.Up), press(hal.OK), press(hal.Up))},
	{"restore", seq(press(hal.Up), press(hal.Up), press(hal.OK), press(hal.Up), press(hal.Up), press(hal.OK))},
	{"erase", seq(withMas, press(hal.Down), press(hal.Down), press(hal.Down), press(hal.Down), press(hal.OK), press(hal.OK), press(hal.Down), press(hal.OK))},
	{"erase-confirm", seq(withMas, used(5), press(hal.Down), press(hal.Down), press(hal.Down), press(hal.Down), press(hal.OK),
		press(hal.Up), press(hal.OK), press(hal.OK), ui.Tick{Now: time.Second})},
	{"erase-running", seq(withMas, press(hal.Down), press(hal.Down), press(hal.Down), press(hal.Down), press(hal.OK),
		press(hal.Up), press(hal.OK), press(hal.OK), ui.Tick{Now: 3 * time.Second}, ui.JobStarted{},
		ui.Progress{Port: 2, Phase: ui.Copying, Done: 4e9, Total: 16e9, Rate: 40e6, ETA: 5 * time.Minute})},
	{"pin-entry", seq(press(hal.Up), press(hal.Up), press(hal.OK), press(hal.Up), press(hal.Up), press(hal.Up),
		press(hal.OK), press(hal.Up), press(hal.Up), press(hal.OK))},
	{"image-menu", seq(library, toImage)},
	{"image-pick", seq(withMas, library, toImage, press(hal.OK), press(hal.Down))},
	{"image-deployed", seq(withMas, library, toImage, press(hal.OK), press(hal.Down), press(hal.OK))},
	{"image-confirm", seq(withMas, library, toImage, press(hal.OK), press(hal.OK), press(hal.OK))},
	{"image-info", seq(library, toImage, press(hal.Down), press(hal.Down), press(hal.Down), press(hal.OK), press(hal.OK))},
	{"image-info-page2", seq(library, toImage, press(hal.Down), press(hal.Down), press(hal.Down), press(hal.OK), press(hal.OK), press(hal.Down))},
	{"image-delete", seq(library, toImage, press(hal.Up), press(hal.Up), press(hal.OK), press(hal.Down), press(hal.OK))},
	{"image-capturing", seq(withMas, library, toImage, press(hal.Down), press(hal.OK), ui.Busy{What: "Capturing", Done: 3e9, Total: 8e9})},
	{"image-imports", seq(withMas, library, toImage, press(hal.Down), press(hal.Down), press(hal.OK),
		ui.ImportFiles{Files: []ui.ImportFile{{Port: 5, Path: "/ubuntu-24.04.img.xz", Size: 2e9}, {Port: 5, Path: "/releases/app-v2.img.zst", Size: 9e8}}})},
	{"line-confirm", seq(withMas, toLine)},
	{"line-running", seq(lineRunning)},
	{"line-stop", seq(lineRunning, press(hal.Back))},
	{"line-ended", seq(lineRunning, press(hal.Back), press(hal.OK), ui.LineStopped{})},
	{"refused", seq(withMas, press(hal.OK), press(hal.OK), ui.JobRefused{Reason: "port 3: the target is the master itself"})},
	{"info-box", seq(withMas, ui.BoxInfo{ID: "7f3a9c2e41d05b88", Sync: "Sync: 12 behind"}, press(hal.Down), press(hal.Down), press(hal.Down),
		press(hal.Down), press(hal.Down), press(hal.Down), press(hal.OK), press(hal.Up))},
	{"set-pick", seq(withMas, sets, toImage, press(hal.Down), press(hal.Down), press(hal.Down), press(hal.Down), press(hal.OK), press(hal.Down))},
	{"idle-files", seq(blank(2), blank(3), toFiles)},
	{"confirm-files", seq(blank(2), used(3), toFiles, press(hal.OK))},
	{"confirm-files-master", seq(withMas, sets, toImage, press(hal.Down), press(hal.Down), press(hal.Down), press(hal.Down), press(hal.OK),
		press(hal.OK), press(hal.OK))},
}

// TestGoldenFrames renders every screen in both geometries and compares
// it with testdata/NAME-COLSxROWS.golden (go test -update rewrites them).
func TestGoldenFrames(t *testing.T) {
	for _, geo := range geometries {
		for _, sc := range screens {
			t.Run(sc.name+"/"+geo.String(), func(t *testing.T) {
				m := ui.New(config(geo), ui.DefaultSettings())
				for _, ev := range sc.events {
					m.Update(ev)
				}
				f := m.Frame()
				require.LessOrEqual(t, len(f.Lines), geo.Rows)
				require.NoError(t, hal.CheckFrame(geo, f.Lines), "every line fits and is ASCII or a glyph")
				got := frameText(geo, f)
				file := filepath.Join("testdata", fmt.Sprintf("%s-%s.golden", sc.name, geo))
				if *update {
					require.NoError(t, os.WriteFile(file, []byte(got), 0o644))
					return
				}
				want, err := os.ReadFile(file)
				require.NoError(t, err, "run go test ./ui -update to make the golden file")
				assert.Equal(t, string(want), got)
			})
		}
	}
}

// frameText draws a frame in a box with its LEDs, for golden files.
func frameText(geo hal.Geometry, f ui.Frame) string {
	var sb strings.Builder
	border := "+" + strings.Repeat("-", geo.Cols) + "+\n"
	sb.WriteString(border)
	for _, line := range strings.Split(ui.Render(padRows(f.Lines, geo.Rows), geo.Cols), "\n") {
		sb.WriteString("|" + line + "|\n")
	}
	sb.WriteString(border)
	sb.WriteString("LEDs:")
	for i, s := range f.LEDs {
		fmt.Fprintf(&sb, " %d=%s", i+1, s)
	}
	sb.WriteString("\n")
	return sb.String()
}

func padRows(lines []string, rows int) []string {
	for len(lines) < rows {
		lines = append(lines, "")
	}
	return lines
}
