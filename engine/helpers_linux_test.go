//go:build linux

package engine_test

import (
	"context"
	osexec "os/exec"
)

func exec(name string, args ...string) *osexec.Cmd { return osexec.Command(name, args...) }

func execContext(ctx context.Context, name string, args ...string) *osexec.Cmd {
	return osexec.CommandContext(ctx, name, args...)
}
