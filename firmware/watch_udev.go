//go:build linux && cgo && libudev

package main

import (
	"log/slog"

	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/hal/udev"
)

// newDriveWatcher is the hot-plug backend of a build with -tags libudev:
// udev through libudev (go-udev, cgo).
func newDriveWatcher(log *slog.Logger) (hal.DriveWatcher, error) { return udev.New(log), nil }

// scanDrives lists the drives present now.
func scanDrives() ([]hal.DriveInfo, error) { return udev.Scan() }
