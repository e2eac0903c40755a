//go:build linux && cgo

package main

import (
	"log/slog"

	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/hal/udev"
)

// newDriveWatcher is the hot-plug backend of this build: udev through
// libudev.
func newDriveWatcher(log *slog.Logger) (hal.DriveWatcher, error) { return udev.New(log), nil }

// scanDrives lists the drives present now.
func scanDrives() ([]hal.DriveInfo, error) { return udev.Scan() }
