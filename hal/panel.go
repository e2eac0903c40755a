package hal

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Button is one of the four front-panel buttons.
type Button int

// The front-panel buttons.
const (
	Up Button = iota + 1
	Down
	OK
	Back
)

// AllButtons lists every button, in panel order.
var AllButtons = []Button{Up, Down, OK, Back}

func (b Button) String() string {
	switch b {
	case Up:
		return "Up"
	case Down:
		return "Down"
	case OK:
		return "OK"
	case Back:
		return "Back"
	}
	return fmt.Sprintf("Button(%d)", int(b))
}

// ButtonAction is what a button did, after debouncing.
type ButtonAction int

// Button actions. A held button sends Press, then LongPress once it has
// been held long enough, then Repeat at the auto-repeat rate, then Release.
const (
	Press ButtonAction = iota + 1
	Release
	LongPress
	Repeat
)

func (a ButtonAction) String() string {
	switch a {
	case Press:
		return "press"
	case Release:
		return "release"
	case LongPress:
		return "long-press"
	case Repeat:
		return "repeat"
	}
	return fmt.Sprintf("ButtonAction(%d)", int(a))
}

// ButtonEvent is one debounced button event.
type ButtonEvent struct {
	Button Button
	Action ButtonAction
}

// Buttons sends debounced button events until ctx ends, then returns
// ctx.Err().
type Buttons interface {
	Run(ctx context.Context, events chan<- ButtonEvent) error
}

// Geometry is the size of a character display.
type Geometry struct {
	Cols, Rows int
}

func (g Geometry) String() string { return fmt.Sprintf("%dx%d", g.Cols, g.Rows) }

// Glyph is a custom HD44780 character: 8 rows of 5 pixels, bit 4 leftmost.
type Glyph [8]byte

// GlyphCount is how many custom glyphs an HD44780 holds. Custom glyph i is
// shown by the byte i in a line passed to Show.
const GlyphCount = 8

// Display is a character display such as an HD44780.
type Display interface {
	Geometry() Geometry
	// Show replaces the whole screen. It takes at most Rows lines of at most
	// Cols bytes; shorter lines are padded with spaces. Bytes 0..7 show the
	// custom glyphs; other bytes must be printable ASCII.
	Show(lines []string) error
	// DefineGlyph loads custom glyph index (0..7).
	DefineGlyph(index int, g Glyph) error
	SetBacklight(on bool) error
	// Flush waits until everything asked for so far is on the display (a
	// display that writes on a goroutine of its own), or ctx ends.
	Flush(ctx context.Context) error
}

// ErrBadFrame is returned (wrapped) by Display.Show for a frame that does
// not fit the geometry or holds bytes the display cannot show.
var ErrBadFrame = errors.New("frame does not fit the display")

// CheckFrame returns a wrapped ErrBadFrame when lines do not fit g.
// Displays call it so they all refuse the same frames.
func CheckFrame(g Geometry, lines []string) error {
	if len(lines) > g.Rows {
		return fmt.Errorf("%w: %d lines on a %s display", ErrBadFrame, len(lines), g)
	}
	for i, l := range lines {
		if len(l) > g.Cols {
			return fmt.Errorf("%w: line %d is %d characters on a %s display", ErrBadFrame, i+1, len(l), g)
		}
		for j := 0; j < len(l); j++ {
			c := l[j]
			if c >= GlyphCount && (c < 0x20 || c > 0x7e) {
				return fmt.Errorf("%w: line %d column %d: byte 0x%02x is not printable ASCII or a glyph", ErrBadFrame, i+1, j+1, c)
			}
		}
	}
	return nil
}

// LEDState is what a port's LED shows.
type LEDState int

// LED states: steady or blinking, green or red.
const (
	LEDOff LEDState = iota
	LEDGreen
	LEDRed
	LEDGreenBlink
	LEDRedBlink
)

func (s LEDState) String() string {
	switch s {
	case LEDOff:
		return "off"
	case LEDGreen:
		return "green"
	case LEDRed:
		return "red"
	case LEDGreenBlink:
		return "green-blink"
	case LEDRedBlink:
		return "red-blink"
	}
	return fmt.Sprintf("LEDState(%d)", int(s))
}

// ErrNoPort is returned (wrapped) for a port number the hardware lacks.
var ErrNoPort = errors.New("no such port")

// LEDs drives one two-colour LED per port. Ports are numbered from 1.
type LEDs interface {
	Ports() int
	SetLED(port int, s LEDState) error
}

// Beep is one tone of the buzzer followed by a silence.
type Beep struct {
	On, Off time.Duration
}

// Standard beep patterns.
var (
	BeepKey     = []Beep{{On: 30 * time.Millisecond}}
	BeepJobDone = []Beep{{On: 800 * time.Millisecond}}
	BeepFailure = []Beep{
		{On: 150 * time.Millisecond, Off: 150 * time.Millisecond},
		{On: 150 * time.Millisecond, Off: 150 * time.Millisecond},
		{On: 150 * time.Millisecond},
	}
)

// Buzzer plays beep patterns. Play returns once the pattern has played or
// ctx ended; the buzzer is silent afterwards either way.
type Buzzer interface {
	Play(ctx context.Context, pattern []Beep) error
}

// CheckPattern refuses beep patterns with negative durations. Buzzers call
// it so they all refuse the same patterns.
func CheckPattern(pattern []Beep) error {
	for i, beep := range pattern {
		if beep.On < 0 || beep.Off < 0 {
			return fmt.Errorf("buzzer: beep %d has a negative duration", i+1)
		}
	}
	return nil
}

// CheckLED refuses a port the LEDs lack or a state that does not exist.
// LED implementations call it so they all refuse the same calls.
func CheckLED(ports, port int, s LEDState) error {
	if port < 1 || port > ports {
		return fmt.Errorf("led: port %d: %w (ports 1..%d)", port, ErrNoPort, ports)
	}
	if s < LEDOff || s > LEDRedBlink {
		return fmt.Errorf("led: port %d: unknown state %d", port, int(s))
	}
	return nil
}

// Sound plays a beep pattern by switching a buzzer with set, in the time
// package's time, and leaves it off however it ends. Buzzer
// implementations share it.
func Sound(ctx context.Context, pattern []Beep, set func(on bool) error) (err error) {
	if err := CheckPattern(pattern); err != nil {
		return err
	}
	defer func() {
		if off := set(false); off != nil && err == nil {
			err = off
		}
	}()
	for _, beep := range pattern {
		for _, step := range []struct {
			on bool
			d  time.Duration
		}{{true, beep.On}, {false, beep.Off}} {
			if err := set(step.on); err != nil {
				return err
			}
			if step.d <= 0 {
				continue
			}
			t := time.NewTimer(step.d)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			}
		}
	}
	return ctx.Err()
}
