// Command clonebay is the duplicator appliance's firmware: `run` on the
// appliance, `sim` on a laptop against simulated hardware, and a headless
// command line (copy, verify, ...) on the same engine.
//
// Only this package wires things together: it builds the backends from
// the board, starts every goroutine in one errgroup and turns down vendor
// loggers. No other package may import it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// Stamped in by the Makefile.
var (
	version   = "dev"
	commit    = "none"
	buildDate = "unknown"
)

// exitError carries an exit code out of a subcommand.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageError marks a bad command line: exit code 2.
func usageError(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

type command struct {
	summary string
	run     func(ctx context.Context, env *cliEnv, args []string) error
}

// cliEnv is what a subcommand may touch of the process.
type cliEnv struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	isTerminal     bool
}

func commands() map[string]command {
	return map[string]command{
		"version": {"print the firmware version", cmdVersion},
		"boards":  {"list the built-in boards", cmdBoards},
		"sim":     {"run the firmware against simulated hardware", cmdSim},
		"run":     {"run the appliance on its board's hardware", cmdRun},
		"check":   {"validate a board and report which of its parts this machine has", cmdCheck},
		"copy":    {"copy a master onto targets and verify them", cmdCopy},
		"verify":  {"compare targets with a master, writing nothing", cmdVerify},
		"hash":    {"print the SHA-256 and size of a master", cmdHash},
		"erase":   {"wipe drives: quick, zeros, random, dod, discard, secure-discard", cmdErase},
		"log":     {"verify, show or export the production record", cmdLog},
		"image":   {"the image library: list, show, capture, import, verify, rm", cmdImage},
		"report":  {"batch reports of a lot or a date range, erase certificates", cmdReport},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	env := &cliEnv{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, isTerminal: isTerminal(os.Stdout)}
	code := run(ctx, env, os.Args[1:])
	stop()
	os.Exit(code)
}

// run executes one command line and returns the process exit code.
func run(ctx context.Context, env *cliEnv, args []string) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(env.stderr, cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(env.stderr, "clonebay: unknown command %q\n\n", args[0])
		usage(env.stderr, cmds)
		return 2
	}
	err := cmd.run(ctx, env, args[1:])
	if err == nil {
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(env.stderr, "clonebay %s: %v\n", args[0], err)
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

func usage(w io.Writer, cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(w, "usage: clonebay COMMAND [flags]\n\ncommands:\n")
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintf(w, "\nRun 'clonebay COMMAND -h' for a command's flags.\n")
}

func newFlags(env *cliEnv, name, args string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.stderr, "usage: clonebay %s %s\n", name, args)
		fs.PrintDefaults()
	}
	return fs
}

func cmdVersion(_ context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "version", "")
	if err := parse(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "clonebay %s (commit %s, built %s)\n", version, commit, buildDate)
	return nil
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// parse parses a subcommand's flags; a bad flag is a usage error (exit 2,
// the flag package has already printed what was wrong and the usage).
func parse(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	return &exitError{code: 2, err: err}
}
