//go:build linux

package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/host/v3"

	"github.com/clonebay/clonebay/appliance"
	"github.com/clonebay/clonebay/board"
	"github.com/clonebay/clonebay/cli"
	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/hal/blockdev"
	halgpio "github.com/clonebay/clonebay/hal/gpio"
	"github.com/clonebay/clonebay/hal/lcd"
	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/ui"
)

func cmdRun(ctx context.Context, env *cli.Env, args []string) error {
	fs := cli.NewFlags(env, "run", "--board NAME|FILE [--lock FILE]")
	boardName := fs.String("board", "", "the board: a built-in name or a YAML file")
	lockFile := fs.String("lock", "/run/clonebay.lock", "the lock file that keeps a second copy from starting")
	defaultsFile := fs.String("defaults", "/etc/clonebay/settings.yaml", "the factory settings")
	settingsFile := fs.String("settings", "/var/lib/clonebay/settings.yaml", "where Setup saves the operator's settings")
	recordFile := fs.String("record", "/var/lib/clonebay/jobs.log", "the production record: every job and drive")
	journalFile := fs.String("journal", "/var/lib/clonebay/job.journal", "the running job's checkpoints, to resume it after a power loss")
	libraryDir := fs.String("images", "", "the image library folder (default: the board's, else "+cli.DefaultLibrary+")")
	stateDir := fs.String("state", "/var/lib/clonebay", "the appliance's own state: its ID in the fleet, the replication's cursor")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *boardName == "" {
		return cli.UsageError("--board is required (see 'clonebay boards')")
	}
	b, err := board.Load(*boardName)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	unlock, err := lockOnce(*lockFile)
	if err != nil {
		return err
	}
	defer unlock()
	hw, closeHW, err := buildHardware(b, log)
	if err != nil {
		return err
	}
	defer closeHW()
	set, problem, err := appliance.LoadSettings(fsys.OS, *defaultsFile, *settingsFile)
	if err != nil {
		return err
	}
	log.Info("clonebay starting", "version", version, "board", b.Name, "settings", *settingsFile)
	cfg := appliance.Config{Board: b, Settings: set.Panel, Fleet: set.Fleet, Version: version}
	if problem != "" {
		log.Error("settings", "problem", problem)
		cfg.Notice = &ui.Notice{Title: "Settings", Text: problem}
	}
	app, err := appliance.New(cfg, hw, appliance.Paths{Settings: *settingsFile, Record: *recordFile, Journal: *journalFile,
		Library: cmp.Or(*libraryDir, b.Images, cli.DefaultLibrary), State: *stateDir}, log)
	if err != nil {
		return err
	}
	return app.Run(ctx)
}

// lockOnce takes an exclusive lock on path, so a second appliance process
// on the same box refuses to start instead of fighting over the drives.
func lockOnce(path string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("another clonebay is already running (it holds %s)", path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	_ = f.Truncate(0)
	fmt.Fprintf(f, "%d\n", os.Getpid())
	return func() { f.Close() }, nil
}

// buildHardware makes the real backends from the board. A missing LCD,
// GPIO pin or buzzer is logged and left out: a headless appliance still
// duplicates. The drive side must work.
func buildHardware(b *board.Board, log *slog.Logger) (appliance.Hardware, func(), error) {
	isSystem, err := blockdev.SystemCheck()
	if err != nil {
		return appliance.Hardware{}, nil, err
	}
	watcher, err := newDriveWatcher(log)
	if err != nil {
		return appliance.Hardware{}, nil, err
	}
	hw := appliance.Hardware{Watcher: watcher, Opener: blockdev.Opener{}, IsSystem: isSystem}
	var closers []func() error
	closeAll := func() {
		for _, c := range closers {
			_ = c()
		}
	}

	gpioOK := b.Buttons != (board.Buttons{}) || b.Buzzer != nil || anyLED(b)
	if gpioOK {
		if _, err := host.Init(); err != nil {
			log.Warn("no GPIO on this machine: no buttons, LEDs or buzzer", "err", err)
			gpioOK = false
		}
	}
	if gpioOK {
		hw.Buttons = buildButtons(b, log)
		if leds := buildLEDs(b, log); leds != nil {
			hw.LEDs = leds
			hw.Runners = append(hw.Runners, leds.Run)
		}
		if b.Buzzer != nil {
			if p, ok := outPin(*b.Buzzer, "buzzer", log); ok {
				if bz, err := halgpio.NewBuzzer(p); err != nil {
					log.Warn("buzzer left out", "err", err)
				} else {
					hw.Buzzer = bz
				}
			}
		}
	}
	if b.LCD != nil {
		geo := hal.Geometry{Cols: b.LCD.Cols, Rows: b.LCD.Rows}
		panel, closeLCD, err := lcd.Open(b.LCD.Bus, b.LCD.Address, geo, log)
		if err != nil {
			log.Warn("no LCD: running without a display", "err", err)
		} else {
			hw.Display = panel
			hw.Runners = append(hw.Runners, panel.Run)
			closers = append(closers, closeLCD)
		}
	}
	return hw, closeAll, nil
}

func anyLED(b *board.Board) bool {
	for _, p := range b.Ports {
		if p.GreenLED != nil || p.RedLED != nil {
			return true
		}
	}
	return false
}

// pinIO finds a board's pin on this machine.
func pinIO(p board.Pin, what string, log *slog.Logger) gpio.PinIO {
	io := gpioreg.ByName(p.Name)
	if io == nil {
		log.Warn("pin not found on this machine", "pin", p.Name, "for", what)
	}
	return io
}

func inPin(p board.Pin, what string, log *slog.Logger) (halgpio.InPin, bool) {
	io := pinIO(p, what, log)
	return halgpio.InPin{In: io, ActiveLow: p.ActiveLow}, io != nil
}

func outPin(p board.Pin, what string, log *slog.Logger) (halgpio.OutPin, bool) {
	io := pinIO(p, what, log)
	return halgpio.OutPin{Out: io, ActiveLow: p.ActiveLow}, io != nil
}

func buildButtons(b *board.Board, log *slog.Logger) hal.Buttons {
	pins := map[hal.Button]halgpio.InPin{}
	for btn, p := range map[hal.Button]*board.Pin{hal.Up: b.Buttons.Up, hal.Down: b.Buttons.Down, hal.OK: b.Buttons.OK, hal.Back: b.Buttons.Back} {
		if p == nil {
			continue
		}
		if pin, ok := inPin(*p, "button "+btn.String(), log); ok {
			pins[btn] = pin
		}
	}
	if len(pins) == 0 {
		return nil
	}
	bs, err := halgpio.NewButtons(pins, halgpio.DefaultTiming)
	if err != nil {
		log.Warn("buttons left out", "err", err)
		return nil
	}
	return bs
}

func buildLEDs(b *board.Board, log *slog.Logger) *halgpio.LEDs {
	n := b.MaxPort()
	green, red := make([]halgpio.OutPin, n), make([]halgpio.OutPin, n)
	found := false
	for _, p := range b.Ports {
		for _, x := range []struct {
			pin *board.Pin
			dst *halgpio.OutPin
			c   string
		}{{p.GreenLED, &green[p.Number-1], "green"}, {p.RedLED, &red[p.Number-1], "red"}} {
			if x.pin == nil {
				continue
			}
			if pin, ok := outPin(*x.pin, fmt.Sprintf("port %s %s LED", p.Label, x.c), log); ok {
				*x.dst = pin
				found = true
			}
		}
	}
	if !found {
		return nil
	}
	leds, err := halgpio.NewLEDs(green, red)
	if err != nil {
		log.Warn("LEDs left out", "err", err)
		return nil
	}
	return leds
}
