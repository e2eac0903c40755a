// Package cli is the headless command line on the same engine as the
// appliance: copy, verify and hash, erase, files, the image library and
// the production record. The firmware's main package adds its own
// commands (run, sim, check) and hands them all to Main.
//
// It never imports the appliance, ui or sim.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
)

// Env is what a command may touch of the process.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	IsTerminal     bool   // Stderr is a terminal: progress is redrawn in place
	Version        string // the firmware's version, for reports and certificates
}

// Command is a subcommand.
type Command struct {
	Summary string
	Run     func(ctx context.Context, env *Env, args []string) error
}

// Commands are the headless commands.
func Commands() map[string]Command {
	return map[string]Command{
		"copy":   {"copy a master onto targets and verify them", cmdCopy},
		"verify": {"compare targets with a master, writing nothing", cmdVerify},
		"hash":   {"print the SHA-256 and size of a master", cmdHash},
		"erase":  {"wipe drives: quick, zeros, random, dod, discard, secure-discard", cmdErase},
		"log":    {"verify, show, export or push the production record", cmdLog},
		"image":  {"the image library: list, show, capture, import, pull, verify, rm", cmdImage},
		"files":  {"copy a file set onto targets of any sizes, each formatted fresh and verified file by file", cmdFiles},
		"report": {"batch reports of a lot or a date range, erase certificates", cmdReport},
	}
}

// ExitError carries an exit code out of a command.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// UsageError marks a bad command line: exit code 2.
func UsageError(format string, args ...any) error {
	return &ExitError{Code: 2, Err: fmt.Errorf(format, args...)}
}

// Main runs one command line and returns the process's exit code: 0, 1
// for a failure, 2 for a bad command line, or what an ExitError says.
func Main(ctx context.Context, env *Env, cmds map[string]Command, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(env.Stderr, cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(env.Stderr, "clonebay: unknown command %q\n\n", args[0])
		usage(env.Stderr, cmds)
		return 2
	}
	err := cmd.Run(ctx, env, args[1:])
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(env.Stderr, "clonebay %s: %v\n", args[0], err)
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return 1
}

func usage(w io.Writer, cmds map[string]Command) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(w, "usage: clonebay COMMAND [flags]\n\ncommands:\n")
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, cmds[n].Summary)
	}
	fmt.Fprintf(w, "\nRun 'clonebay COMMAND -h' for a command's flags.\n")
}

// NewFlags makes a command's flag set, printing errors and usage on the
// command's standard error.
func NewFlags(env *Env, name, args string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.Stderr, "usage: clonebay %s %s\n", name, args)
		fs.PrintDefaults()
	}
	return fs
}

// IsTerminal reports whether f is a terminal.
func IsTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Parse parses a command's flags; a bad flag is a usage error (exit 2,
// the flag package has already printed what was wrong and the usage).
func Parse(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	return &ExitError{Code: 2, Err: err}
}
