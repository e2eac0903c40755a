package haltest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/hal"
)

// TestDisplay checks the hal.Display contract. screen, when not nil,
// reads back what the display shows (padded rows).
func TestDisplay(t *testing.T, d hal.Display, screen func() []string) {
	g := d.Geometry()
	require.True(t, g == hal.Geometry{Cols: 16, Rows: 2} || g == hal.Geometry{Cols: 20, Rows: 4},
		"geometry %s is 16x2 or 20x4", g)

	full := make([]string, g.Rows)
	for i := range full {
		full[i] = strings.Repeat(string(rune('A'+i)), g.Cols)
	}
	for _, tc := range []struct {
		name  string
		lines []string
		ok    bool
	}{
		{"full frame", full, true},
		{"short lines are padded", []string{"Hi"}, true},
		{"empty frame", nil, true},
		{"glyph bytes", []string{"\x00\x01\x07 bar"}, true},
		{"too many lines", append(full, "x"), false},
		{"line too long", []string{strings.Repeat("x", g.Cols+1)}, false},
		{"not ASCII", []string{"caf\xc3\xa9"}, false},
		{"control byte", []string{"a\nb"}, false},
	} {
		t.Run("Show/"+tc.name, func(t *testing.T) {
			err := d.Show(tc.lines)
			if !tc.ok {
				assert.ErrorIs(t, err, hal.ErrBadFrame)
				return
			}
			require.NoError(t, err)
			if screen == nil {
				return
			}
			got := screen()
			require.Len(t, got, g.Rows)
			for i := range got {
				want := ""
				if i < len(tc.lines) {
					want = tc.lines[i]
				}
				assert.Equal(t, want+strings.Repeat(" ", g.Cols-len(want)), got[i], "row %d", i+1)
			}
		})
	}

	t.Run("DefineGlyph", func(t *testing.T) {
		bar := hal.Glyph{0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10}
		for i := 0; i < hal.GlyphCount; i++ {
			assert.NoError(t, d.DefineGlyph(i, bar), "glyph %d", i)
		}
		assert.Error(t, d.DefineGlyph(-1, bar))
		assert.Error(t, d.DefineGlyph(hal.GlyphCount, bar))
		assert.Error(t, d.DefineGlyph(0, hal.Glyph{0x20}), "a row wider than 5 pixels")
	})

	t.Run("Backlight", func(t *testing.T) {
		assert.NoError(t, d.SetBacklight(false))
		assert.NoError(t, d.SetBacklight(true))
	})
}

// TestLEDs checks the hal.LEDs contract. read, when not nil, reads a
// port's state back.
func TestLEDs(t *testing.T, l hal.LEDs, read func(port int) hal.LEDState) {
	require.Positive(t, l.Ports())
	states := []hal.LEDState{hal.LEDGreen, hal.LEDRed, hal.LEDGreenBlink, hal.LEDRedBlink, hal.LEDOff}
	for port := 1; port <= l.Ports(); port++ {
		for _, s := range states {
			require.NoError(t, l.SetLED(port, s), "port %d %s", port, s)
			if read != nil {
				assert.Equal(t, s, read(port), "port %d", port)
			}
		}
	}
	assert.ErrorIs(t, l.SetLED(0, hal.LEDGreen), hal.ErrNoPort)
	assert.ErrorIs(t, l.SetLED(l.Ports()+1, hal.LEDGreen), hal.ErrNoPort)
	assert.Error(t, l.SetLED(1, hal.LEDState(99)), "an unknown state")
}

// TestBuzzer checks the hal.Buzzer contract. sounding, when not nil, tells
// whether the buzzer is on.
func TestBuzzer(t *testing.T, b hal.Buzzer, sounding func() bool) {
	ctx := context.Background()
	assert.NoError(t, b.Play(ctx, hal.BeepKey))
	assert.NoError(t, b.Play(ctx, nil), "an empty pattern")
	assert.Error(t, b.Play(ctx, []hal.Beep{{On: -time.Second}}), "a negative duration")

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	assert.ErrorIs(t, b.Play(cancelled, hal.BeepJobDone), context.Canceled)
	if sounding != nil {
		assert.False(t, sounding(), "silent after a pattern, even a cancelled one")
	}
}

// ButtonsHarness moves a button the way a finger would. Set press to true
// for down, false for up; the suite waits Settle after each move.
type ButtonsHarness struct {
	Buttons hal.Buttons
	Set     func(b hal.Button, down bool)
	Settle  time.Duration
}

// TestButtons checks the hal.Buttons contract: a press and release of each
// button arrive as Press then Release, and Run returns when ctx ends.
func TestButtons(t *testing.T, h ButtonsHarness) {
	ctx, cancel := context.WithCancel(context.Background())
	events := make(chan hal.ButtonEvent, 16)
	done := make(chan error, 1)
	go func() { done <- h.Buttons.Run(ctx, events) }()

	for _, b := range hal.AllButtons {
		h.Set(b, true)
		time.Sleep(h.Settle)
		h.Set(b, false)
		time.Sleep(h.Settle)
		for _, want := range []hal.ButtonAction{hal.Press, hal.Release} {
			select {
			case ev := <-events:
				assert.Equal(t, hal.ButtonEvent{Button: b, Action: want}, ev)
			case <-time.After(time.Second + 10*h.Settle):
				t.Fatalf("%s: no %s event", b, want)
			}
		}
	}
	cancel()
	select {
	case err := <-done:
		assert.ErrorIs(t, err, context.Canceled)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}
