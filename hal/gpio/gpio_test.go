package gpio_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/clonebay/clonebay/hal"
	halgpio "github.com/clonebay/clonebay/hal/gpio"
	"github.com/clonebay/clonebay/hal/haltest"
)

func newPin(name string) *gpiotest.Pin {
	return &gpiotest.Pin{N: name, EdgesChan: make(chan gpio.Level, 16)}
}

// panel makes four active-low buttons on fake pins.
func panel(t *testing.T) (*halgpio.Buttons, map[hal.Button]*gpiotest.Pin) {
	fakes := map[hal.Button]*gpiotest.Pin{}
	pins := map[hal.Button]halgpio.InPin{}
	for i, b := range hal.AllButtons {
		fakes[b] = newPin("GPIO" + string(rune('5'+i)))
		pins[b] = halgpio.InPin{In: fakes[b], ActiveLow: true}
	}
	bs, err := halgpio.NewButtons(pins, halgpio.DefaultTiming)
	require.NoError(t, err)
	for _, f := range fakes {
		assert.Equal(t, gpio.PullUp, f.Pull(), "active-low buttons are pulled up")
	}
	return bs, fakes
}

// level pushes an edge to a level, the way the kernel reports one.
func level(p *gpiotest.Pin, l gpio.Level) { p.EdgesChan <- l }

func TestButtonsConformance(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bs, fakes := panel(t)
		haltest.TestButtons(t, haltest.ButtonsHarness{
			Buttons: bs,
			Set:     func(b hal.Button, down bool) { level(fakes[b], gpio.Level(!down)) },
			Settle:  100 * time.Millisecond,
		})
	})
}

// run starts the buttons and returns the events channel and a stop func.
func run(t *testing.T, bs *halgpio.Buttons) (chan hal.ButtonEvent, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	events := make(chan hal.ButtonEvent, 64)
	done := make(chan struct{})
	go func() {
		_ = bs.Run(ctx, events)
		close(done)
	}()
	return events, func() { cancel(); <-done }
}

func drain(events chan hal.ButtonEvent) []hal.ButtonAction {
	var got []hal.ButtonAction
	for {
		select {
		case ev := <-events:
			got = append(got, ev.Action)
		default:
			return got
		}
	}
}

func TestDebounce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bs, fakes := panel(t)
		events, stop := run(t, bs)
		defer stop()
		ok := fakes[hal.OK]
		// A bouncing press: three edges within 3 ms, settling down.
		for _, l := range []gpio.Level{gpio.Low, gpio.High, gpio.Low} {
			level(ok, l)
			time.Sleep(time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond)
		// A bouncing release.
		for _, l := range []gpio.Level{gpio.High, gpio.Low, gpio.High} {
			level(ok, l)
			time.Sleep(time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond)
		synctest.Wait()
		assert.Equal(t, []hal.ButtonAction{hal.Press, hal.Release}, drain(events))

		// A glitch shorter than the debounce time is no press at all.
		level(ok, gpio.Low)
		time.Sleep(2 * time.Millisecond)
		level(ok, gpio.High)
		time.Sleep(200 * time.Millisecond)
		synctest.Wait()
		assert.Empty(t, drain(events))
	})
}

func TestLongPressAndRepeat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bs, fakes := panel(t)
		events, stop := run(t, bs)
		defer stop()
		down := fakes[hal.Down]
		start := time.Now()
		level(down, gpio.Low)
		var got []hal.ButtonAction
		var at []time.Duration
		for len(got) < 5 {
			ev := <-events
			got = append(got, ev.Action)
			at = append(at, time.Since(start).Round(time.Millisecond))
		}
		level(down, gpio.High)
		ev := <-events
		assert.Equal(t, hal.Release, ev.Action)
		assert.Equal(t, []hal.ButtonAction{hal.Press, hal.LongPress, hal.Repeat, hal.Repeat, hal.Repeat}, got)
		assert.Equal(t, []time.Duration{21 * time.Millisecond, time.Second, 1150 * time.Millisecond,
			1300 * time.Millisecond, 1450 * time.Millisecond}, at)
	})
}

func ledPins(n int, activeLow bool) ([]halgpio.OutPin, []halgpio.OutPin, []*gpiotest.Pin, []*gpiotest.Pin) {
	var green, red []halgpio.OutPin
	var gf, rf []*gpiotest.Pin
	for i := range n {
		g, r := newPin("G"+string(rune('1'+i))), newPin("R"+string(rune('1'+i)))
		gf, rf = append(gf, g), append(rf, r)
		green = append(green, halgpio.OutPin{Out: g, ActiveLow: activeLow})
		red = append(red, halgpio.OutPin{Out: r, ActiveLow: activeLow})
	}
	return green, red, gf, rf
}

func TestLEDs(t *testing.T) {
	for _, activeLow := range []bool{false, true} {
		t.Run(map[bool]string{false: "active high", true: "active low"}[activeLow], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				green, red, gf, rf := ledPins(3, activeLow)
				leds, err := halgpio.NewLEDs(green, red)
				require.NoError(t, err)
				lit := func(p *gpiotest.Pin) bool { return (p.Read() == gpio.High) != activeLow }
				read := func(port int) hal.LEDState {
					g, r := lit(gf[port-1]), lit(rf[port-1])
					switch {
					case g && !r:
						return hal.LEDGreen
					case r && !g:
						return hal.LEDRed
					}
					return hal.LEDOff
				}
				for i := range 3 {
					assert.Equal(t, hal.LEDOff, read(i+1), "off to start with")
				}
				// Steady states read back; blinking ones are checked below.
				for _, s := range []hal.LEDState{hal.LEDGreen, hal.LEDRed, hal.LEDOff} {
					require.NoError(t, leds.SetLED(2, s))
					assert.Equal(t, s, read(2))
				}
				haltest.TestLEDs(t, leds, nil)

				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan struct{})
				go func() { _ = leds.Run(ctx); close(done) }()
				require.NoError(t, leds.SetLED(1, hal.LEDGreenBlink))
				require.NoError(t, leds.SetLED(3, hal.LEDRed))
				var phases []bool
				for range 4 {
					time.Sleep(halgpio.BlinkPeriod / 2)
					synctest.Wait()
					phases = append(phases, lit(gf[0]))
					assert.Equal(t, hal.LEDRed, read(3), "a steady LED does not blink")
				}
				assert.Equal(t, []bool{true, false, true, false}, phases, "green blinks at the blink period")
				cancel()
				<-done
				for i := range 3 {
					assert.Equal(t, hal.LEDOff, read(i+1), "Run turns the LEDs off when it ends")
				}
			})
		})
	}
}

func TestBuzzer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pin := newPin("GPIO26")
		b, err := halgpio.NewBuzzer(halgpio.OutPin{Out: pin})
		require.NoError(t, err)
		haltest.TestBuzzer(t, b, func() bool { return pin.Read() == gpio.High })

		done := make(chan struct{})
		go func() { _ = b.Play(context.Background(), hal.BeepFailure); close(done) }()
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		assert.Equal(t, gpio.High, pin.Read(), "sounding during the first beep")
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		assert.Equal(t, gpio.Low, pin.Read(), "silent between beeps")
		<-done
		assert.Equal(t, gpio.Low, pin.Read())
	})
}
