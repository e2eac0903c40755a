// Package uevent is the Linux drive watcher in pure Go: no cgo, no
// libudev. It listens on a NETLINK_KOBJECT_UEVENT socket, to
// systemd-udevd's events (group 2, with udev's properties: ID_PATH,
// ID_SERIAL_SHORT, ...) when udevd runs, else to the kernel's (group 1,
// with what sysfs has). It subscribes first, then enumerates the whole
// disks in /sys/class/block (with udev's database when listening to
// udevd), sends ScanDone, then streams hot-plug events, removing
// duplicates between the scan and the stream. It trusts only messages from
// the kernel or from root, and when the socket overflows it reads the
// drives again, so the panel converges on what is plugged in.
//
// hal/udev is the same watcher on go-udev; the two share the drive
// identity and the tracker through internal/hotplug, and report the same
// DriveInfo for a drive.
//
// It imports hal, internal/hotplug and golang.org/x/sys only; never board,
// sim, engine, ui or firmware: mapping drives to ports is the firmware's
// job.
package uevent
