package main

import (
	"context"
	"fmt"

	"github.com/clonebay/clonebay/board"
	"github.com/clonebay/clonebay/cli"
)

// cmdCheck validates a board and reports which of its parts this machine
// has: pins, the LCD, and the drives in its ports. Missing hardware is
// reported, not an error: a board file is checked on a laptop too (where
// the probe says what it needs).
func cmdCheck(_ context.Context, env *cli.Env, args []string) error {
	fs := cli.NewFlags(env, "check", "--board NAME|FILE")
	boardName := fs.String("board", "", "the board: a built-in name or a YAML file")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *boardName == "" {
		return cli.UsageError("--board is required")
	}
	b, err := board.Load(*boardName)
	if err != nil {
		return err
	}
	w := env.Stdout
	fmt.Fprintf(w, "board %s: valid (%d ports, master on port %d)\n", b.Name, len(b.Ports), b.MasterPort)

	probeHardware(w, b)
	return nil
}
