package appliance

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/board"
	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/sim"
	"github.com/clonebay/clonebay/ui"
)

// The appliance's tests run inside testing/synctest bubbles: the simulated
// drives keep virtual time, so a copy that takes 3 s at USB-stick speeds
// costs only the CPU it needs, a deadline of 30 s cannot be missed by a
// slow machine, and synctest fails a test whose appliance leaves a
// goroutine behind when Run returns.

// rigApp is an appliance on simulated hardware, running in a bubble.
type rigApp struct {
	t    *testing.T
	rig  *sim.Rig
	app  *Appliance
	stop func() // ends the appliance and waits for Run to return
}

// sim8 is the simulator's 8-port board.
func sim8(t *testing.T) *board.Board {
	t.Helper()
	b, err := board.Builtin("sim8")
	require.NoError(t, err)
	return b
}

// rigHardware is the appliance's hardware made of a rig.
func rigHardware(r *sim.Rig) Hardware {
	return Hardware{Watcher: r.Bay, Opener: r.Bay, Buttons: r.Buttons, Display: r.LCD, LEDs: r.LEDs, Buzzer: r.Buzzer,
		Scanner: r.Scanner, Light: r.Light}
}

// startRig fills a rig with setup and runs an appliance on it. Call it
// inside synctest.Test.
func startRig(t *testing.T, cfg Config, paths Paths, setup func(r *sim.Rig)) *rigApp {
	t.Helper()
	if cfg.Board == nil {
		cfg.Board = sim8(t)
	}
	if cfg.Settings == (ui.Settings{}) {
		cfg.Settings = ui.DefaultSettings()
	}
	rig := sim.NewRig(cfg.Board)
	if setup != nil {
		setup(rig)
	}
	app, err := New(cfg, rigHardware(rig), paths, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	r := &rigApp{t: t, rig: rig, app: app}
	stopped := false
	r.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		require.NoError(t, <-done)
	}
	t.Cleanup(r.stop)
	return r
}

// waitText waits, in virtual time, until the LCD shows text.
func (r *rigApp) waitText(text string, within time.Duration) {
	r.t.Helper()
	deadline := time.Now().Add(within)
	for {
		synctest.Wait() // everything that can happen now has happened
		if strings.Contains(r.rig.LCD.Text(), text) {
			return
		}
		if !time.Now().Before(deadline) {
			r.t.Fatalf("the LCD did not show %q within %v; it shows:\n%s", text, within, r.rig.LCD.Text())
		}
		time.Sleep(tickEvery)
	}
}

// press clicks buttons one after the other, each once the panel has
// taken the one before.
func (r *rigApp) press(buttons ...hal.Button) {
	for _, b := range buttons {
		r.rig.Buttons.Click(b)
		synctest.Wait()
		time.Sleep(tickEvery)
	}
}
