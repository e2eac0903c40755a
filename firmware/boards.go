package main

import (
	"context"
	"fmt"

	"github.com/clonebay/clonebay/board"
	"github.com/clonebay/clonebay/cli"
)

func cmdBoards(_ context.Context, env *cli.Env, args []string) error {
	fs := cli.NewFlags(env, "boards", "")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	for _, name := range board.Names() {
		b, err := board.Builtin(name)
		if err != nil {
			return err
		}
		cols, rows := b.Geometry()
		fmt.Fprintf(env.Stdout, "%-10s %d ports, %dx%d LCD: %s\n", b.Name, len(b.Ports), cols, rows, b.Description)
	}
	return nil
}
