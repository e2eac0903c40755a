//go:build !linux

package main

import (
	"context"
	"fmt"
	"io"
	"runtime"

	"github.com/clonebay/clonebay/board"
	"github.com/clonebay/clonebay/cli"
)

// cmdRun needs the appliance's hardware, which only Linux backends drive.
func cmdRun(context.Context, *cli.Env, []string) error {
	return fmt.Errorf("run drives the appliance's hardware and needs Linux; this build is for %s/%s (use 'clonebay sim')", runtime.GOOS, runtime.GOARCH)
}

// probeHardware: the probe reads Linux's GPIO, I2C and block devices.
func probeHardware(w io.Writer, _ *board.Board) {
	fmt.Fprintf(w, "hardware probe: needs Linux (this build is for %s/%s)\n", runtime.GOOS, runtime.GOARCH)
}
