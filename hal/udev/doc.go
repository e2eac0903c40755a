// Package udev is the real Linux drive watcher, built on go-udev
// (libudev, so it needs cgo and libudev-dev). It subscribes first, then
// enumerates the whole disks already present, sends ScanDone, then streams
// hot-plug events, removing duplicates between the scan and the stream.
// With systemd-udevd running it listens to udev's events and reads udev's
// properties (ID_PATH, ID_SERIAL_SHORT, ...); without it, it listens to the
// kernel's events and reads what sysfs has. It logs which.
//
// hal/uevent is the same watcher without cgo; the two share the drive
// identity and the tracker through internal/hotplug.
//
// It imports hal, go-udev and internal/hotplug only; never board, sim,
// engine, ui or firmware: mapping drives to ports is the firmware's job.
package udev
