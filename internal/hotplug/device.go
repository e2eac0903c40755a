//go:build linux

package hotplug

import (
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/clonebay/clonebay/hal"
)

// Sysfs is the root of a sysfs tree: SysRoot on a machine, a folder in
// tests.
type Sysfs string

// SysRoot is the machine's sysfs.
const SysRoot Sysfs = "/sys"

// Device is a block device as the tracker sees it.
type Device struct {
	// DevPath is the kernel's device path (/devices/...): the key that
	// ties a device's events together.
	DevPath string
	Info    hal.DriveInfo
	// MediaChange says the event reports new media (DISK_MEDIA_CHANGE=1):
	// a card swapped for one of the same size changes nothing else.
	MediaChange bool
}

// Read builds a device from its properties (a uevent's or udev's
// KEY=VALUE pairs; prop returns "" for a missing one) and its sysfs
// attributes. udev's ID_* properties win; without udevd the identity comes
// from sysfs, and the port is matched on the sysfs path.
func (s Sysfs) Read(devPath string, prop func(key string) string) Device {
	dir := filepath.Join(string(s), devPath)
	name := path.Base(devPath)
	attr := func(a string) string { return readAttr(filepath.Join(dir, a)) }
	node := prop("DEVNAME")
	switch {
	case node == "":
		node = "/dev/" + name
	case !strings.HasPrefix(node, "/"):
		// The kernel names the node relative to /dev; udev gives it whole.
		node = "/dev/" + node
	}
	info := hal.DriveInfo{
		Node:               node,
		Path:               firstOf(prop("ID_PATH"), devPath),
		Vendor:             firstOf(prop("ID_VENDOR"), attr("device/vendor")),
		Model:              strings.ReplaceAll(firstOf(prop("ID_MODEL"), attr("device/model")), "_", " "),
		Serial:             firstOf(prop("ID_SERIAL_SHORT"), s.parentSerial(dir)),
		CID:                hal.CardID(attr("device/cid")),
		Bus:                hal.GuessBus(dir, name),
		Size:               atoi(attr("size")) * 512,
		LogicalSectorSize:  int(max(512, atoi(attr("queue/logical_block_size")))),
		PhysicalSectorSize: int(max(512, atoi(attr("queue/physical_block_size")))),
		Removable:          attr("removable") == "1",
		ReadOnly:           attr("ro") == "1",
	}
	switch prop("ID_BUS") {
	case "usb":
		info.Bus = hal.BusUSB
	case "ata":
		info.Bus = hal.BusSATA
	}
	return Device{DevPath: devPath, Info: info, MediaChange: prop("DISK_MEDIA_CHANGE") == "1"}
}

// parentSerial finds a serial number on the device's ancestors (the USB
// device of a stick, the controller of an NVMe drive, the card of an SD
// slot). Only folders that are devices (they have a uevent file) count.
func (s Sysfs) parentSerial(dir string) string {
	top := filepath.Join(string(s), "devices")
	for p := filepath.Dir(dir); strings.HasPrefix(p, top+"/"); p = filepath.Dir(p) {
		if _, err := os.Stat(filepath.Join(p, "uevent")); err != nil {
			continue
		}
		if v := readAttr(filepath.Join(p, "serial")); v != "" {
			return v
		}
	}
	return ""
}

// readAttr reads a sysfs attribute; a missing one reads as "".
func readAttr(file string) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func atoi(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}
