//go:build linux && !cgo

package main

import (
	"errors"
	"log/slog"

	"github.com/clonebay/clonebay/hal"
)

// errNoWatcher says what a build without a hot-plug backend lacks.
var errNoWatcher = errors.New("this clonebay was built without cgo, and its hot-plug backend needs libudev: build it with CGO_ENABLED=1 and libudev-dev installed")

func newDriveWatcher(*slog.Logger) (hal.DriveWatcher, error) { return nil, errNoWatcher }

func scanDrives() ([]hal.DriveInfo, error) { return nil, errNoWatcher }
