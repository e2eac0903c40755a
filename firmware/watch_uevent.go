//go:build linux && !(cgo && libudev)

package main

import (
	"log/slog"

	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/hal/uevent"
)

// newDriveWatcher is the hot-plug backend of the shipped build: udev's
// (or the kernel's) netlink events read in pure Go, no cgo, no libudev.
// Build with -tags libudev (and cgo) for the go-udev backend instead.
func newDriveWatcher(log *slog.Logger) (hal.DriveWatcher, error) { return uevent.New(log), nil }

// scanDrives lists the drives present now.
func scanDrives() ([]hal.DriveInfo, error) { return uevent.Scan() }
