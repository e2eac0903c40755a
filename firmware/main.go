// Command clonebay is the duplicator appliance's firmware: `run` on the
// appliance, `sim` on a laptop against simulated hardware, and a headless
// command line (copy, verify, files, image, log, ...) on the same engine.
//
// It is wiring only: flags, signals, logging, building the hardware
// backends from the board and handing them to the appliance (package
// appliance); the headless commands live in package cli. No other package
// may import it.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/clonebay/clonebay/cli"
)

// Stamped in by the Makefile.
var (
	version   = "dev"
	commit    = "none"
	buildDate = "unknown"
)

// commands are the headless commands and the firmware's own.
func commands() map[string]cli.Command {
	cmds := cli.Commands()
	cmds["version"] = cli.Command{Summary: "print the firmware version", Run: cmdVersion}
	cmds["boards"] = cli.Command{Summary: "list the built-in boards", Run: cmdBoards}
	cmds["sim"] = cli.Command{Summary: "run the firmware against simulated hardware", Run: cmdSim}
	cmds["run"] = cli.Command{Summary: "run the appliance on its board's hardware", Run: cmdRun}
	cmds["passwd"] = cli.Command{Summary: "set the web panel's password (operator or viewer) from standard input", Run: cmdPasswd}
	cmds["check"] = cli.Command{Summary: "validate a board and report which of its parts this machine has", Run: cmdCheck}
	return cmds
}

func main() {
	// SIGHUP (a closed terminal or SSH session) stops the appliance as
	// cleanly as SIGTERM: a master is never left write-blocked.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	env := &cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, IsTerminal: cli.IsTerminal(os.Stderr), Version: version}
	code := cli.Main(ctx, env, commands(), os.Args[1:])
	stop()
	os.Exit(code)
}

func cmdVersion(_ context.Context, env *cli.Env, args []string) error {
	fs := cli.NewFlags(env, "version", "")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "clonebay %s (commit %s, built %s)\n", version, commit, buildDate)
	return nil
}
