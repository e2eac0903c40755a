package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"golang.org/x/term"

	"github.com/clonebay/clonebay/appliance"
	"github.com/clonebay/clonebay/board"
	"github.com/clonebay/clonebay/cli"
	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/internal/passwords"
	"github.com/clonebay/clonebay/sim"
	"github.com/clonebay/clonebay/sim/scenario"
	"github.com/clonebay/clonebay/sim/terminal"
	"github.com/clonebay/clonebay/web"
)

func cmdSim(ctx context.Context, env *cli.Env, args []string) error {
	fs := cli.NewFlags(env, "sim", "[--board NAME|FILE] [--script FILE] [--log FILE] [--http ADDR]")
	boardName := fs.String("board", board.Default, "the board to simulate: a built-in name or a YAML file")
	scriptFile := fs.String("script", "", "run a scenario script without a terminal; exit 0 only when every expectation holds")
	logFile := fs.String("log", "", "write the firmware's log to this file (default: stderr with --script, nowhere otherwise)")
	recordFile := fs.String("record", "", "keep the production record (job log) in this file (default: beside the image library; a scenario's goes to a temporary file)")
	libraryDir := fs.String("images", simLibrary(), "the simulated appliance's image library folder (a scenario's is a new, empty one unless given)")
	httpAddr := fs.String("http", "", "serve the web panel on this address (127.0.0.1:8080); the password is $CLONEBAY_PASSWORD, else a generated one is printed")
	passwordsFile := fs.String("passwords", "", "keep the web panel's passwords and the PIN in this file (default: in memory)")
	slack := fs.Float64("slack", 1, "with --script: make every deadline this many times as long (an emulator runs slower)")
	settingsFile := fs.String("settings", "", "a settings file (Setup's choices, and the fleet's: replicate, catalog); Setup saves to it")
	stateDir := fs.String("state", "", "the simulated appliance's own state folder: its ID, the replication's cursor (needed to replicate), the running lot")
	lot := fs.String("lot", "", "start this lot (production order); every record entry carries it")
	count := fs.Int("count", 0, "with --lot: the drives that must pass before the lot is done (0: no count)")
	if err := cli.ParseFlags(fs, args); err != nil {
		return err
	}
	if err := checkLotFlags(*lot, *count); err != nil {
		return err
	}
	if *slack < 1 || *slack > 100 {
		return cli.UsageError("--slack %g: give 1..100", *slack)
	}
	b, err := board.Load(*boardName)
	if err != nil {
		return err
	}
	var logOut io.Writer = io.Discard
	if *scriptFile != "" {
		logOut = env.Stderr
	}
	if *logFile != "" {
		f, err := os.OpenFile(*logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("log: %w", err)
		}
		defer f.Close()
		logOut = f
	}
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelInfo}))
	set := appliance.DefaultSettings()
	if *settingsFile != "" {
		var problem string
		if set, problem, err = appliance.LoadSettings(fsys.OS, "", *settingsFile); err != nil {
			return err
		} else if problem != "" {
			return fmt.Errorf("--settings: %s", problem)
		}
	}

	if *scriptFile != "" {
		f, err := os.Open(*scriptFile)
		if err != nil {
			return fmt.Errorf("script: %w", err)
		}
		defer f.Close()
		s, err := scenario.Parse(*scriptFile, f)
		if err != nil {
			return &cli.ExitError{Code: 2, Err: err}
		}
		opts := scenario.Options{Record: *recordFile, Slack: *slack, Version: version, Settings: set,
			SettingsFile: *settingsFile, State: *stateDir}
		fs.Visit(func(f *flag.Flag) {
			if f.Name == "images" {
				opts.Images = *libraryDir // given: a scenario may start from a library
			}
		})
		return scenario.Run(ctx, b, s, env.Stdout, log, opts)
	}

	in, ok := env.Stdin.(*os.File)
	tty := ok && term.IsTerminal(int(in.Fd())) // /dev/null is a character device, not a terminal
	if !tty && *httpAddr == "" {
		return cli.UsageError("sim needs a terminal (or --script FILE, or --http ADDR for the web panel alone)")
	}
	pins := passwords.Memory(passwords.DefaultCost)
	if *passwordsFile != "" {
		if pins, err = passwords.Open(fsys.OS, *passwordsFile); err != nil {
			return err
		}
	}
	if *httpAddr != "" {
		if err := simPassword(env, pins); err != nil {
			return err
		}
		if *recordFile == "" {
			// The web panel shows the production record: keep one for the
			// session.
			dir, err := os.MkdirTemp("", "clonebay-sim-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			*recordFile = filepath.Join(dir, "jobs.log")
		}
	}
	rig := sim.NewRig(b)
	if err := rig.DefaultSession(); err != nil {
		return err
	}
	if *recordFile == "" {
		*recordFile = filepath.Join(filepath.Dir(*libraryDir), "jobs.log")
	}
	app, err := appliance.New(appliance.Config{Board: b, Settings: set.Panel, Fleet: set.Fleet, Version: version, Passwords: pins,
		Lot: *lot, LotGoal: *count},
		scenario.Hardware(rig), appliance.Paths{Record: *recordFile, Library: *libraryDir, Settings: *settingsFile, State: *stateDir}, log)
	if err != nil {
		return err
	}
	opts := web.Options{Passwords: pins, Version: version}
	if !tty {
		// The web panel alone, until SIGINT or SIGTERM.
		return withWeb(ctx, app, *httpAddr, opts, log, func(url string) {
			fmt.Fprintf(env.Stdout, "clonebay sim: the web panel is at %s (Ctrl-C ends it)\n", url)
		})
	}
	run := func(ctx context.Context) error { return withWeb(ctx, app, *httpAddr, opts, log, nil) }
	return terminal.Run(ctx, rig, run, in, env.Stdout)
}

// simPassword sets the simulator's operator password: $CLONEBAY_PASSWORD,
// or one it makes up and prints.
func simPassword(env *cli.Env, pins *passwords.Store) error {
	if has, err := pins.Has(passwords.Operator); err != nil || has {
		return err
	}
	pw := os.Getenv("CLONEBAY_PASSWORD")
	if pw == "" {
		pw = newPassword(12)
		fmt.Fprintf(env.Stdout, "clonebay sim: the web panel's operator password is %s\n", pw)
	}
	if err := pins.Set(passwords.Operator, pw); err != nil {
		return fmt.Errorf("CLONEBAY_PASSWORD: %w", err)
	}
	return nil
}

// simLibrary is where the simulator keeps its images between runs: the
// user's cache folder.
func simLibrary() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "clonebay-sim", "images")
}
