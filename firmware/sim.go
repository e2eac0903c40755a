package main

import (
	"context"
	"fmt"
)

func cmdSim(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "sim", "[flags]")
	if err := parse(fs, args); err != nil {
		return err
	}
	fmt.Fprintln(env.stdout, "clonebay sim: the simulated front panel is not wired yet")
	return nil
}
