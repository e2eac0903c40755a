package sim

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/clonebay/clonebay/hal"
)

// Buttons are virtual front-panel buttons. Tests and the terminal panel
// push already-debounced events; Run delivers them in order.
type Buttons struct {
	ch chan hal.ButtonEvent
}

var _ hal.Buttons = (*Buttons)(nil)

// NewButtons makes virtual buttons that queue up to 64 events.
func NewButtons() *Buttons { return &Buttons{ch: make(chan hal.ButtonEvent, 64)} }

// Push queues one event; it returns false when the queue is full and the
// event was dropped (as a real panel drops presses nobody reads).
func (b *Buttons) Push(btn hal.Button, a hal.ButtonAction) bool {
	select {
	case b.ch <- hal.ButtonEvent{Button: btn, Action: a}:
		return true
	default:
		return false
	}
}

// Click presses and releases a button.
func (b *Buttons) Click(btn hal.Button) {
	b.Push(btn, hal.Press)
	b.Push(btn, hal.Release)
}

// Hold presses a button long enough for a long press, then releases it.
func (b *Buttons) Hold(btn hal.Button) {
	b.Push(btn, hal.Press)
	b.Push(btn, hal.LongPress)
	b.Push(btn, hal.Release)
}

// Run delivers queued events until ctx ends.
func (b *Buttons) Run(ctx context.Context, events chan<- hal.ButtonEvent) error {
	for {
		select {
		case ev := <-b.ch:
			select {
			case events <- ev:
			case <-ctx.Done():
				return ctx.Err()
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// LCD is a virtual HD44780: a character grid with 8 custom glyphs and a
// backlight.
type LCD struct {
	mu        sync.Mutex
	geo       hal.Geometry
	lines     []string
	glyphs    [hal.GlyphCount]hal.Glyph
	backlight bool
	frames    int
}

var _ hal.Display = (*LCD)(nil)

// NewLCD makes a virtual LCD of the given geometry, blank with the
// backlight on.
func NewLCD(geo hal.Geometry) *LCD {
	l := &LCD{geo: geo, backlight: true}
	l.lines = blankLines(geo)
	return l
}

func blankLines(geo hal.Geometry) []string {
	lines := make([]string, geo.Rows)
	for i := range lines {
		lines[i] = strings.Repeat(" ", geo.Cols)
	}
	return lines
}

func (l *LCD) Geometry() hal.Geometry { return l.geo }

func (l *LCD) Show(lines []string) error {
	if err := hal.CheckFrame(l.geo, lines); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = blankLines(l.geo)
	for i, s := range lines {
		l.lines[i] = s + strings.Repeat(" ", l.geo.Cols-len(s))
	}
	l.frames++
	return nil
}

func (l *LCD) DefineGlyph(index int, g hal.Glyph) error {
	if index < 0 || index >= hal.GlyphCount {
		return fmt.Errorf("lcd: glyph %d: the HD44780 has glyphs 0..%d", index, hal.GlyphCount-1)
	}
	for row, bits := range g {
		if bits > 0x1f {
			return fmt.Errorf("lcd: glyph %d row %d: 0x%02x is wider than 5 pixels", index, row, bits)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.glyphs[index] = g
	return nil
}

func (l *LCD) SetBacklight(on bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.backlight = on
	return nil
}

// Flush returns at once: the simulated LCD shows a frame as it is given.
func (l *LCD) Flush(context.Context) error { return nil }

// Lines returns the screen, one string a row, padded to the width; custom
// glyphs are the bytes 0..7.
func (l *LCD) Lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines)
}

// Text returns the screen with each custom glyph shown as the character
// that best stands for it (see GlyphRune), rows joined by newlines.
func (l *LCD) Text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var sb strings.Builder
	for i, line := range l.lines {
		if i > 0 {
			sb.WriteByte('\n')
		}
		for j := 0; j < len(line); j++ {
			if c := line[j]; c < hal.GlyphCount {
				sb.WriteRune(GlyphRune(l.glyphs[c]))
			} else {
				sb.WriteByte(c)
			}
		}
	}
	return sb.String()
}

// Glyph returns custom glyph i.
func (l *LCD) Glyph(i int) hal.Glyph {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.glyphs[i]
}

// Backlight reports whether the backlight is on.
func (l *LCD) Backlight() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.backlight
}

// Frames counts the frames shown.
func (l *LCD) Frames() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.frames
}

// GlyphRune picks a Unicode block character for a 5x8 glyph by how many of
// its columns are lit, which is how progress-bar glyphs look: empty, 1/5 ..
// 5/5 full.
func GlyphRune(g hal.Glyph) rune {
	lit := 0
	for col := 0; col < 5; col++ {
		for _, row := range g {
			if row&(0x10>>col) != 0 {
				lit++
				break
			}
		}
	}
	return []rune{' ', '▏', '▎', '▌', '▊', '█'}[lit]
}

// LEDs are a virtual port's LEDs.
type LEDs struct {
	mu     sync.Mutex
	states []hal.LEDState
}

var _ hal.LEDs = (*LEDs)(nil)

// NewLEDs makes LEDs for ports 1..ports, all off.
func NewLEDs(ports int) *LEDs { return &LEDs{states: make([]hal.LEDState, ports)} }

func (l *LEDs) Ports() int { return len(l.states) }

func (l *LEDs) SetLED(port int, s hal.LEDState) error {
	if err := hal.CheckLED(len(l.states), port, s); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.states[port-1] = s
	return nil
}

// LED returns a port's LED state (off for a port the LEDs lack).
func (l *LEDs) LED(port int) hal.LEDState {
	l.mu.Lock()
	defer l.mu.Unlock()
	if port < 1 || port > len(l.states) {
		return hal.LEDOff
	}
	return l.states[port-1]
}

// States returns every port's LED state, port 1 first.
func (l *LEDs) States() []hal.LEDState {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.states)
}

// Buzzer is a virtual buzzer that remembers what it played.
type Buzzer struct {
	mu     sync.Mutex
	played [][]hal.Beep
	on     bool
}

var _ hal.Buzzer = (*Buzzer)(nil)

func NewBuzzer() *Buzzer { return &Buzzer{} }

// Play sounds the pattern in (possibly virtual) time.
func (b *Buzzer) Play(ctx context.Context, pattern []hal.Beep) error {
	if err := hal.CheckPattern(pattern); err != nil {
		return err
	}
	b.mu.Lock()
	b.played = append(b.played, slices.Clone(pattern))
	b.mu.Unlock()
	return hal.Sound(ctx, pattern, func(on bool) error { b.set(on); return nil })
}

func (b *Buzzer) set(on bool) {
	b.mu.Lock()
	b.on = on
	b.mu.Unlock()
}

// Sounding reports whether the buzzer is on right now.
func (b *Buzzer) Sounding() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.on
}

// Played returns every pattern played so far.
func (b *Buzzer) Played() [][]hal.Beep {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.played)
}
