package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/clonebay/clonebay/board"
	"github.com/clonebay/clonebay/ui"
)

func cmdSim(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "sim", "[--board NAME|FILE] [--script FILE] [--log FILE]")
	boardName := fs.String("board", board.Default, "the board to simulate: a built-in name or a YAML file")
	scriptFile := fs.String("script", "", "run a scenario script without a terminal; exit 0 only when every expectation holds")
	logFile := fs.String("log", "", "write the firmware's log to this file (default: stderr with --script, nowhere otherwise)")
	recordFile := fs.String("record", "", "keep the production record (job log) in this file; a scenario's goes to a temporary file without it")
	libraryDir := fs.String("images", simLibrary(), "the simulated appliance's image library folder (a scenario's is a new, empty one unless given)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	b, err := board.Load(*boardName)
	if err != nil {
		return err
	}
	var logOut io.Writer = io.Discard
	if *scriptFile != "" {
		logOut = env.stderr
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

	if *scriptFile != "" {
		f, err := os.Open(*scriptFile)
		if err != nil {
			return fmt.Errorf("script: %w", err)
		}
		defer f.Close()
		s, err := parseScript(*scriptFile, f)
		if err != nil {
			return &exitError{code: 2, err: err}
		}
		files := scriptFiles{record: *recordFile}
		fs.Visit(func(f *flag.Flag) {
			if f.Name == "images" {
				files.images = *libraryDir // given: a scenario may start from a library
			}
		})
		return runScript(ctx, b, s, env.stdout, log, files)
	}

	in, ok := env.stdin.(*os.File)
	if !ok || !isTerminal(in) {
		return usageError("sim needs a terminal (or --script FILE)")
	}
	rig := newSimRig(b)
	if err := rig.defaultSession(); err != nil {
		return err
	}
	app := newAppliance(b, rig.hardware(), ui.DefaultSettings(), log)
	app.logPath = *recordFile
	app.libraryDir = *libraryDir
	return runTerminal(ctx, rig, app, in, env.stdout)
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
