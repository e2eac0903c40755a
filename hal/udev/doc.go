// Package udev is the real Linux drive watcher, built on go-udev
// (libudev, so it needs cgo and libudev-dev). It subscribes first, then
// enumerates the whole disks already present, sends ScanDone, then streams
// hot-plug events, removing duplicates between the scan and the stream.
// With systemd-udevd running it listens to udev's events and reads udev's
// properties (ID_PATH, ID_SERIAL_SHORT, ...); without it, it listens to the
// kernel's events and reads what sysfs has. It logs which.
//
// It imports hal and go-udev only; never board, sim, engine, ui or
// firmware: mapping drives to ports is the firmware's job.
package udev
