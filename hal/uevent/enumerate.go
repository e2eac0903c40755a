//go:build linux

package uevent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/clonebay/clonebay/internal/hotplug"
)

// udevData holds udevd's database: one file a device, b<major>:<minor>
// for a block device.
const udevData = "/run/udev/data"

// enumerate reads the whole disks present now from sysfs, with their
// properties from udevd's database when withDB is set, in sysfs path
// order.
func enumerate(sys hotplug.Sysfs, withDB bool) ([]hotplug.Device, error) {
	classDir := filepath.Join(string(sys), "class", "block")
	entries, err := os.ReadDir(classDir)
	if err != nil {
		return nil, fmt.Errorf("drive watcher: list the block devices: %w", err)
	}
	var out []hotplug.Device
	for _, e := range entries {
		d, ok, err := readDisk(sys, filepath.Join(classDir, e.Name()), withDB)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].DevPath < out[j].DevPath })
	return out, nil
}

// readDisk reads one block device through its /sys/class/block link; ok
// is false for a partition and for a device that went away meanwhile.
func readDisk(sys hotplug.Sysfs, link string, withDB bool) (hotplug.Device, bool, error) {
	real, err := filepath.EvalSymlinks(link)
	if vanished(err) {
		return hotplug.Device{}, false, nil
	}
	if err != nil {
		return hotplug.Device{}, false, fmt.Errorf("drive watcher: %w", err)
	}
	devPath, ok := strings.CutPrefix(real, filepath.Clean(string(sys)))
	if !ok || !strings.HasPrefix(devPath, "/devices/") {
		return hotplug.Device{}, false, fmt.Errorf("drive watcher: %s leads to %s, outside %s/devices", link, real, sys)
	}
	b, err := os.ReadFile(filepath.Join(real, "uevent"))
	if vanished(err) {
		return hotplug.Device{}, false, nil
	}
	if err != nil {
		return hotplug.Device{}, false, fmt.Errorf("drive watcher: %w", err)
	}
	props := parseLines(b, "")
	if props["DEVTYPE"] != "disk" {
		return hotplug.Device{}, false, nil
	}
	if withDB {
		db := filepath.Join(udevData, "b"+props["MAJOR"]+":"+props["MINOR"])
		b, err := os.ReadFile(db)
		switch {
		case err == nil:
			for k, v := range parseLines(b, "E:") {
				if _, kernel := props[k]; !kernel {
					props[k] = v
				}
			}
		case !errors.Is(err, os.ErrNotExist):
			// udevd has not seen the device yet when there is no entry.
			return hotplug.Device{}, false, fmt.Errorf("drive watcher: udev database: %w", err)
		}
	}
	return sys.Read(devPath, func(k string) string { return props[k] }), true, nil
}

// parseLines reads KEY=VALUE lines (a sysfs uevent file), or the lines of
// a udev database entry that start with prefix ("E:KEY=VALUE").
func parseLines(b []byte, prefix string) map[string]string {
	props := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		line, ok := strings.CutPrefix(line, prefix)
		if !ok {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok && k != "" {
			props[k] = v
		}
	}
	return props
}

// vanished says whether err means the device went away while it was read:
// sysfs answers for a removed device with ENOENT or ENODEV.
func vanished(err error) bool {
	return errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENODEV)
}
