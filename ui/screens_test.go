package ui_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/ui"
)

func repeat(b hal.Button) ui.Button {
	return ui.Button{ButtonEvent: hal.ButtonEvent{Button: b, Action: hal.Repeat}}
}

func saves(cmds []ui.Command) []ui.Settings {
	var out []ui.Settings
	for _, c := range cmds {
		if s, ok := c.(ui.SaveSettings); ok {
			out = append(out, s.Settings)
		}
	}
	return out
}

// TestAutoStartNeverOverwritesData: auto-start waits for a confirmation
// whenever a target holds data, whatever confirmation the operator last
// looked at (a Verify only one asks nothing about data).
func TestAutoStartNeverOverwritesData(t *testing.T) {
	for _, tc := range []struct {
		name   string
		before []ui.Event
	}{
		{"fresh panel", nil},
		{"after a Copy confirmation", seq(press(hal.OK), press(hal.Back))},
		{"after a Verify only confirmation", seq(press(hal.Down), press(hal.Down), press(hal.OK), press(hal.Back))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			set := ui.DefaultSettings()
			set.AutoStart = 2
			m := newModel(set)
			feed(m, master, tc.before)
			require.Contains(t, line(m, 0), "Clonebay", "back at idle, where auto-start works")
			assert.Empty(t, starts(feed(m, used(2), used(3))), "two targets with data")
			assert.Contains(t, line(m, 0), "Clonebay")
		})
	}
}

// TestHeldKeys: a held Up or Down moves on at the auto-repeat rate; a
// held OK or Back acts once, so holding OK neither flips a setting back
// and forth nor walks on into the next screen.
func TestHeldKeys(t *testing.T) {
	m := newModel(ui.DefaultSettings())
	feed(m, withMas, press(hal.Down), repeat(hal.Down), repeat(hal.Down))
	assert.Contains(t, m.Frame().Lines, ">3 Copy no verify", "Down held moves on")

	m = newModel(ui.DefaultSettings())
	feed(m, press(hal.Up), press(hal.Up), press(hal.OK), press(hal.Down), press(hal.Down)) // Setup > Verify
	got := saves(feed(m, press(hal.OK), repeat(hal.OK), repeat(hal.OK), repeat(hal.OK), release(hal.OK)))
	require.Len(t, got, 1, "one change for one press")
	assert.False(t, m.Settings().Verify)

	m = newModel(ui.DefaultSettings())
	feed(m, running, ui.JobDone{Result: ui.JobResult{Ports: []ui.PortResult{{Port: 2, Pass: true}, {Port: 3, Pass: true}, {Port: 4, Pass: true}}}})
	feed(m, press(hal.OK), repeat(hal.OK), repeat(hal.OK))
	assert.Equal(t, "idle", m.View().Screen, "OK held on a result only dismisses it")

	m = newModel(ui.DefaultSettings())
	feed(m, press(hal.Up), press(hal.Up), press(hal.OK), press(hal.Back), repeat(hal.Back))
	assert.Equal(t, "menu", m.View().Screen, "Back held goes back one screen")
}

// TestImageScreensFollowTheLibrary: when the library changes under an
// image's Info or Delete question (a capture, an import, a deletion),
// the screen keeps to the image it was opened on, or leaves when that
// image is gone; it never shows or deletes another one.
func TestImageScreensFollowTheLibrary(t *testing.T) {
	kiosk, ubuntu := library.Images[0], library.Images[1]
	toInfo := seq(library, toImage, press(hal.Down), press(hal.Down), press(hal.Down), press(hal.OK), press(hal.OK)) // kiosk-v3
	toDelete := seq(library, toImage, press(hal.Up), press(hal.Up), press(hal.OK), press(hal.Down), press(hal.OK))   // ubuntu-24.04
	for _, tc := range []struct {
		name   string
		open   []ui.Event
		reload ui.ImagesLoaded
		screen string
		top    string
	}{
		{"info, library emptied", toInfo, ui.ImagesLoaded{}, "image", "0 images 0B free"},
		{"info, its image deleted", toInfo, ui.ImagesLoaded{Images: []ui.ImageInfo{ubuntu}}, "image-pick", ">ubuntu-24.04"},
		{"info, an image added before it", toInfo, ui.ImagesLoaded{Images: []ui.ImageInfo{{Name: "aaa"}, kiosk, ubuntu}}, "image-info", "kiosk-v3"},
		{"delete, library emptied", toDelete, ui.ImagesLoaded{}, "image", "0 images 0B free"},
		{"delete, an image added before it", toDelete, ui.ImagesLoaded{Images: []ui.ImageInfo{kiosk, {Name: "new"}, ubuntu}}, "image-delete", "Delete image?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newModel(ui.DefaultSettings())
			feed(m, tc.open, tc.reload)
			require.NotPanics(t, func() { m.Frame() })
			assert.Equal(t, tc.screen, m.View().Screen)
			assert.Equal(t, tc.top, line(m, 0))
		})
	}

	m := newModel(ui.DefaultSettings())
	feed(m, toDelete, ui.ImagesLoaded{Images: []ui.ImageInfo{kiosk, {Name: "new"}, ubuntu}})
	assert.Equal(t, []ui.Command{ui.DeleteImage{Name: "ubuntu-24.04"}}, withoutBeeps(feed(m, press(hal.OK))),
		"the image asked about is the one deleted")
}

func withoutBeeps(cmds []ui.Command) []ui.Command {
	var out []ui.Command
	for _, c := range cmds {
		if _, beep := c.(ui.Beep); !beep {
			out = append(out, c)
		}
	}
	return out
}

// TestCursorsAreBornWithTheirScreen: a list opened again starts at its
// top, and a screen opened from another goes back to it with its cursor
// where it was.
func TestCursorsAreBornWithTheirScreen(t *testing.T) {
	m := newModel(ui.DefaultSettings())
	feed(m, library, toImage, press(hal.OK), press(hal.Down), press(hal.Back), press(hal.OK))
	assert.Equal(t, ">kiosk-v3", line(m, 0), "the image list starts at the first image again")

	m = newModel(ui.DefaultSettings())
	feed(m, withMas, press(hal.Down), press(hal.Down), press(hal.Down), press(hal.Down), press(hal.OK)) // Erase
	feed(m, press(hal.OK), press(hal.Down), press(hal.Down), press(hal.OK), press(hal.Back))            // Zeros, Start erase, Back
	assert.Equal(t, []string{" Mode: Zeros", " Verify: Off", ">Start erase"}, m.Frame().Lines, "the erase question goes back to the choices made")
	feed(m, press(hal.Back), press(hal.OK))
	assert.Equal(t, ">Mode: Quick", line(m, 0), "Erase opened again starts over")

	m = newModel(ui.DefaultSettings())
	feed(m, withMas, press(hal.Up), press(hal.Up), press(hal.Up), press(hal.Up), press(hal.Up), press(hal.Up), press(hal.OK)) // Drive info
	feed(m, press(hal.Down), press(hal.Down))                                                                                 // port 3
	feed(m, press(hal.OK), press(hal.Back))
	assert.Contains(t, line(m, 0), "Port 3", "Back from the checks returns to the same drive")
	feed(m, ui.DriveOut{Port: 2}, press(hal.OK), press(hal.Back))
	assert.Contains(t, line(m, 0), "Port M", "a drive leaving starts Drive info over")
}
