package main

import (
	"context"
	"fmt"

	"github.com/clonebay/clonebay/board"
)

func cmdBoards(_ context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "boards", "")
	if err := parse(fs, args); err != nil {
		return err
	}
	for _, name := range board.Names() {
		b, err := board.Builtin(name)
		if err != nil {
			return err
		}
		cols, rows := b.Geometry()
		fmt.Fprintf(env.stdout, "%-10s %d ports, %dx%d LCD: %s\n", b.Name, len(b.Ports), cols, rows, b.Description)
	}
	return nil
}
