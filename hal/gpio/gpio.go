package gpio

import (
	"context"
	"fmt"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/clonebay/clonebay/hal"
)

// The pins are split by role, as periph splits gpio.PinIn from
// gpio.PinOut: a button is only ever read, an LED or the buzzer only ever
// driven.

// InPin is a GPIO input and its polarity: a button.
type InPin struct {
	In        gpio.PinIn
	ActiveLow bool // the pin reads low when the button is down
}

// OutPin is a GPIO output and its polarity: an LED, the buzzer.
type OutPin struct {
	Out       gpio.PinOut
	ActiveLow bool // the pin drives low to light the LED or sound the buzzer
}

func (p OutPin) set(on bool) error {
	level := gpio.Level(on != p.ActiveLow)
	if err := p.Out.Out(level); err != nil {
		return fmt.Errorf("gpio %s: %w", p.Out.Name(), err)
	}
	return nil
}

// Timing of the buttons.
type Timing struct {
	Debounce  time.Duration // a level must hold this long to count; 20 ms
	LongPress time.Duration // held this long is a long press; 1 s
	Repeat    time.Duration // then auto-repeat at this interval; 150 ms
}

// DefaultTiming suits the panel's tactile switches.
var DefaultTiming = Timing{Debounce: 20 * time.Millisecond, LongPress: time.Second, Repeat: 150 * time.Millisecond}

// Buttons are the panel's buttons on GPIO inputs.
type Buttons struct {
	pins   map[hal.Button]InPin
	timing Timing
}

var _ hal.Buttons = (*Buttons)(nil)

// NewButtons sets every pin up as an input with edge detection (pulled up
// for active-low buttons, down otherwise).
func NewButtons(pins map[hal.Button]InPin, t Timing) (*Buttons, error) {
	for b, p := range pins {
		pull := gpio.PullDown
		if p.ActiveLow {
			pull = gpio.PullUp
		}
		if err := p.In.In(pull, gpio.BothEdges); err != nil {
			return nil, fmt.Errorf("button %s on %s: %w", b, p.In.Name(), err)
		}
	}
	return &Buttons{pins: pins, timing: t}, nil
}

// Run watches every button until ctx ends.
func (bs *Buttons) Run(ctx context.Context, events chan<- hal.ButtonEvent) error {
	var wg sync.WaitGroup
	for b, p := range bs.pins {
		wg.Go(func() { bs.watch(ctx, b, p, events) })
	}
	wg.Wait()
	return ctx.Err()
}

// poll bounds how long a wait for an edge lasts, so a cancelled context is
// seen promptly.
const poll = 50 * time.Millisecond

func (bs *Buttons) watch(ctx context.Context, b hal.Button, p InPin, events chan<- hal.ButtonEvent) {
	down := func() bool { return (p.In.Read() == gpio.Low) == p.ActiveLow }
	send := func(a hal.ButtonAction) bool {
		select {
		case events <- hal.ButtonEvent{Button: b, Action: a}:
			return true
		case <-ctx.Done():
			return false
		}
	}
	pressed := down()
	var next time.Time // when the next long press or repeat is due
	long := false
	for ctx.Err() == nil {
		wait := poll
		if pressed {
			wait = min(wait, max(0, time.Until(next)))
		}
		if p.In.WaitForEdge(wait) {
			edgeAt := time.Now()
			bs.settle(p)
			if now := down(); now != pressed {
				pressed = now
				if pressed {
					long = false
					next = edgeAt.Add(bs.timing.LongPress)
					if !send(hal.Press) {
						return
					}
				} else if !send(hal.Release) {
					return
				}
			}
			continue
		}
		if pressed && !time.Now().Before(next) {
			action := hal.Repeat
			if !long {
				action, long = hal.LongPress, true
			}
			next = next.Add(bs.timing.Repeat)
			if !send(action) {
				return
			}
		}
	}
}

// drainWait is how long settle waits for one more queued edge.
const drainWait = time.Millisecond

// settle waits until the pin has had no edge for the debounce time, so a
// bouncing contact counts once and a glitch not at all.
func (bs *Buttons) settle(p InPin) {
	for {
		time.Sleep(bs.timing.Debounce)
		bounced := false
		for p.In.WaitForEdge(drainWait) {
			bounced = true
		}
		if !bounced {
			return
		}
	}
}

// LEDs are the port LEDs: a green and a red pin per port (either may be
// missing).
type LEDs struct {
	mu     sync.Mutex
	green  []OutPin // index port-1
	red    []OutPin
	states []hal.LEDState
	on     bool // blink phase
}

var _ hal.LEDs = (*LEDs)(nil)

// BlinkPeriod is a blinking LED's full on-off cycle.
const BlinkPeriod = time.Second

// NewLEDs drives ports 1..len(green); a zero OutPin is a missing LED.
func NewLEDs(green, red []OutPin) (*LEDs, error) {
	if len(green) != len(red) {
		return nil, fmt.Errorf("leds: %d green and %d red pins", len(green), len(red))
	}
	l := &LEDs{green: green, red: red, states: make([]hal.LEDState, len(green))}
	for i := range green {
		if err := l.apply(i); err != nil {
			return nil, err
		}
	}
	return l, nil
}

func (l *LEDs) Ports() int { return len(l.states) }

func (l *LEDs) SetLED(port int, s hal.LEDState) error {
	if err := hal.CheckLED(len(l.states), port, s); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.states[port-1] = s
	return l.apply(port - 1)
}

// apply drives one port's pins for its state and the blink phase; l.mu
// held.
func (l *LEDs) apply(i int) error {
	g, r := false, false
	switch l.states[i] {
	case hal.LEDGreen:
		g = true
	case hal.LEDRed:
		r = true
	case hal.LEDGreenBlink:
		g = l.on
	case hal.LEDRedBlink:
		r = l.on
	}
	for _, x := range []struct {
		p  OutPin
		on bool
	}{{l.green[i], g}, {l.red[i], r}} {
		if x.p.Out == nil {
			continue
		}
		if err := x.p.set(x.on); err != nil {
			return fmt.Errorf("led port %d: %w", i+1, err)
		}
	}
	return nil
}

// Run blinks the blinking LEDs until ctx ends, then turns every LED off.
func (l *LEDs) Run(ctx context.Context) error {
	t := time.NewTicker(BlinkPeriod / 2)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			l.mu.Lock()
			l.on = !l.on
			for i, s := range l.states {
				if s == hal.LEDGreenBlink || s == hal.LEDRedBlink {
					_ = l.apply(i)
				}
			}
			l.mu.Unlock()
		case <-ctx.Done():
			l.mu.Lock()
			for i := range l.states {
				l.states[i] = hal.LEDOff
				_ = l.apply(i)
			}
			l.mu.Unlock()
			return ctx.Err()
		}
	}
}

// Buzzer is a buzzer on a GPIO output.
type Buzzer struct {
	mu  sync.Mutex // one pattern at a time
	pin OutPin
}

var _ hal.Buzzer = (*Buzzer)(nil)

// NewBuzzer drives the pin, silent to start with.
func NewBuzzer(p OutPin) (*Buzzer, error) {
	if err := p.set(false); err != nil {
		return nil, fmt.Errorf("buzzer: %w", err)
	}
	return &Buzzer{pin: p}, nil
}

func (b *Buzzer) Play(ctx context.Context, pattern []hal.Beep) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return hal.Sound(ctx, pattern, func(on bool) error {
		if err := b.pin.set(on); err != nil {
			return fmt.Errorf("buzzer: %w", err)
		}
		return nil
	})
}

// StackLight is a signal tower's lamps on GPIO outputs; a zero OutPin is
// a lamp the tower lacks.
type StackLight struct {
	mu                sync.Mutex
	green, amber, red OutPin
}

var _ hal.StackLight = (*StackLight)(nil)

// NewStackLight drives the lamps' pins, all lamps off to start with.
func NewStackLight(green, amber, red OutPin) (*StackLight, error) {
	l := &StackLight{green: green, amber: amber, red: red}
	if err := l.Set(hal.Lamps{}); err != nil {
		return nil, err
	}
	return l, nil
}

// Set lights exactly the given lamps. A lamp the tower lacks is left out.
func (l *StackLight) Set(lamps hal.Lamps) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, x := range []struct {
		name string
		p    OutPin
		on   bool
	}{{"green", l.green, lamps.Green}, {"amber", l.amber, lamps.Amber}, {"red", l.red, lamps.Red}} {
		if x.p.Out == nil {
			continue
		}
		if err := x.p.set(x.on); err != nil {
			return fmt.Errorf("stack light %s: %w", x.name, err)
		}
	}
	return nil
}
