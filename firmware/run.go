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
	"strings"

	"golang.org/x/sys/unix"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/host/v3"

	"github.com/clonebay/clonebay/appliance"
	"github.com/clonebay/clonebay/board"
	"github.com/clonebay/clonebay/cli"
	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/hal/blockdev"
	"github.com/clonebay/clonebay/hal/evdev"
	halgpio "github.com/clonebay/clonebay/hal/gpio"
	"github.com/clonebay/clonebay/hal/lcd"
	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/internal/passwords"
	"github.com/clonebay/clonebay/ui"
	"github.com/clonebay/clonebay/web"
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
	passwordsFile := fs.String("passwords", defaultPasswords, "the web panel's passwords and the Setup PIN, hashed")
	httpAddr := fs.String("http", "", "serve the web panel here (default: the settings' http, else "+appliance.DefaultHTTP+"; off: none)")
	stateDir := fs.String("state", "/var/lib/clonebay", "the appliance's own state: its ID in the fleet, the replication's cursor, the running lot")
	lot := fs.String("lot", "", "start this lot (production order); every record entry carries it (default: the lot that ran last)")
	count := fs.Int("count", 0, "with --lot: the drives that must pass before the lot is done (0: no count)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *boardName == "" {
		return cli.UsageError("--board is required (see 'clonebay boards')")
	}
	if err := checkLotFlags(*lot, *count); err != nil {
		return err
	}
	b, err := board.Load(*boardName)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if limit := limitRunMemory(); limit > 0 {
		log.Info("soft memory limit", "MiB", limit>>20)
	}
	unlock, err := lockOnce(*lockFile)
	if err != nil {
		return err
	}
	defer unlock()
	// A firmware killed mid-job leaves its master read-only in the kernel;
	// the ledger it kept gives the drive its own state back.
	if restored, err := blockdev.RestoreStale(); err != nil {
		log.Error("write-blocks of a killed job not restored", "err", err)
	} else if len(restored) > 0 {
		log.Warn("write-blocks of a killed job restored", "drives", restored)
	}
	hw, closeHW, err := buildHardware(b, log)
	if err != nil {
		return err
	}
	defer closeHW()
	set, problem, err := appliance.LoadSettings(fsys.OS, *defaultsFile, *settingsFile)
	if err != nil {
		return err
	}
	network, err := appliance.LoadNetwork(fsys.OS, *defaultsFile)
	if err != nil {
		return err
	}
	if *httpAddr != "" {
		network.HTTP = strings.TrimSpace(*httpAddr)
		if network.HTTP == "off" {
			network.HTTP = ""
		}
	}
	pins, err := passwords.Open(fsys.OS, *passwordsFile)
	if err != nil {
		return err
	}
	if set, err = appliance.SecurePIN(fsys.OS, *settingsFile, pins, set); err != nil {
		return err
	}
	log.Info("clonebay starting", "version", version, "board", b.Name, "settings", *settingsFile)
	cfg := appliance.Config{Board: b, Settings: set.Panel, Fleet: set.Fleet, Version: version, Passwords: pins, Lot: *lot, LotGoal: *count}
	if problem != "" {
		log.Error("settings", "problem", problem)
		cfg.Notice = &ui.Notice{Title: "Settings", Text: problem}
	}
	app, err := appliance.New(cfg, hw, appliance.Paths{Settings: *settingsFile, Record: *recordFile, Journal: *journalFile,
		Library: cmp.Or(*libraryDir, b.Images, cli.DefaultLibrary), State: *stateDir}, log)
	if err != nil {
		return err
	}
	if has, _ := pins.Has(passwords.Operator); !has && network.HTTP != "" {
		log.Info("web panel: no operator password yet: only /healthz and /metrics are served until one is set (Setup > Web password, or clonebay passwd)")
	}
	return withWeb(ctx, app, network.HTTP, web.Options{Passwords: pins, Version: version, MetricsToken: network.MetricsToken,
		TLSCert: network.TLSCert, TLSKey: network.TLSKey}, log, nil)
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

	if sc := b.Scanner; sc != nil {
		hw.Scanner = lastingScanner{open: func() (*evdev.Reader, error) { return openScanner(sc) }, log: log}
	}
	gpioOK := b.Buttons != (board.Buttons{}) || b.Buzzer != nil || anyLED(b) || b.StackLight != nil
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
		if l := b.StackLight; l != nil {
			hw.Light = buildStackLight(l, log)
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

// buildStackLight drives the board's tower light; a lamp whose pin is
// missing is left dark.
func buildStackLight(l *board.StackLight, log *slog.Logger) hal.StackLight {
	pin := func(p *board.Pin, what string) halgpio.OutPin {
		if p == nil {
			return halgpio.OutPin{}
		}
		out, _ := outPin(*p, what, log)
		return out
	}
	light, err := halgpio.NewStackLight(pin(l.Green, "stack light green"), pin(l.Amber, "stack light amber"), pin(l.Red, "stack light red"))
	if err != nil {
		log.Warn("stack light left out", "err", err)
		return nil
	}
	return light
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
