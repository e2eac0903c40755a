// Package hotplug holds what the drive watchers share, whichever way they
// hear of hot-plug events (go-udev in hal/udev, a netlink socket in
// hal/uevent): building a hal.DriveInfo from a device's properties and its
// sysfs attributes, and the tracker that turns raw add/change/remove
// events into the appliance's drive events without reporting a drive twice.
//
// It imports hal only; never a hardware library, board, sim, engine, ui
// or firmware.
package hotplug
