//go:build linux && cgo

package udev

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/jochenvg/go-udev"

	"github.com/clonebay/clonebay/hal"
)

// Watcher reports the machine's whole-disk block devices.
type Watcher struct {
	log *slog.Logger
	// Source forces "udev" or "kernel" events; empty picks udev when
	// systemd-udevd is running.
	Source string
}

var _ hal.DriveWatcher = (*Watcher)(nil)

// New makes a watcher that logs to log.
func New(log *slog.Logger) *Watcher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Watcher{log: log}
}

// UdevdRunning reports whether systemd-udevd is running: it listens on
// its control socket.
func UdevdRunning() bool {
	st, err := os.Stat("/run/udev/control")
	return err == nil && st.Mode()&os.ModeSocket != 0
}

// Watch implements hal.DriveWatcher.
func (w *Watcher) Watch(ctx context.Context, events chan<- hal.DriveEvent) error {
	source := w.Source
	if source == "" {
		source = "kernel"
		if UdevdRunning() {
			source = "udev"
		}
	}
	if source == "udev" {
		w.log.Info("drive watcher: listening to systemd-udevd's events")
	} else {
		w.log.Info("drive watcher: systemd-udevd is not running; listening to kernel events and reading sysfs")
	}

	var u udev.Udev
	// Subscribe before enumerating, so nothing that happens in between is
	// lost; the seen set drops what the two report twice.
	m := u.NewMonitorFromNetlink(source)
	if m == nil {
		return fmt.Errorf("drive watcher: cannot open a %s netlink monitor (needs root)", source)
	}
	if err := m.FilterAddMatchSubsystemDevtype("block", "disk"); err != nil {
		return fmt.Errorf("drive watcher: monitor filter: %w", err)
	}
	devs, errs, err := m.DeviceChan(ctx)
	if err != nil {
		return fmt.Errorf("drive watcher: monitor: %w", err)
	}

	present, err := enumerate(&u)
	if err != nil {
		return err
	}
	t := newTracker()
	send := func(ev hal.DriveEvent) error {
		select {
		case events <- ev:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for _, d := range present {
		if ev, ok := t.scan(readInfo(d)); ok {
			if err := send(ev); err != nil {
				return err
			}
		}
	}
	if err := send(hal.DriveEvent{Kind: hal.ScanDone}); err != nil {
		return err
	}
	for {
		select {
		case d, ok := <-devs:
			if !ok {
				return ctx.Err()
			}
			if d.Devtype() != "disk" {
				continue
			}
			for _, ev := range t.event(d.Action(), readInfo(d)) {
				if err := send(ev); err != nil {
					return err
				}
			}
		case err := <-errs:
			if err != nil {
				w.log.Warn("drive watcher: monitor error", "err", err)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// enumerate lists the whole disks present now.
func enumerate(u *udev.Udev) ([]*udev.Device, error) {
	e := u.NewEnumerate()
	if err := e.AddMatchSubsystem("block"); err != nil {
		return nil, fmt.Errorf("drive watcher: enumerate: %w", err)
	}
	if err := e.AddMatchProperty("DEVTYPE", "disk"); err != nil {
		return nil, fmt.Errorf("drive watcher: enumerate: %w", err)
	}
	devs, err := e.Devices()
	if err != nil {
		return nil, fmt.Errorf("drive watcher: enumerate: %w", err)
	}
	return devs, nil
}

// Scan returns the drives present now (with media, or empty card
// readers), as Watch's scan would report them.
func Scan() ([]hal.DriveInfo, error) {
	var u udev.Udev
	devs, err := enumerate(&u)
	if err != nil {
		return nil, err
	}
	var out []hal.DriveInfo
	for _, d := range devs {
		if info := readInfo(d).info; reportable(info) {
			out = append(out, info)
		}
	}
	return out, nil
}

// device is what the tracker knows of a block device.
type device struct {
	info    hal.DriveInfo
	sysPath string
}

// readInfo reads a device's identity from udev's properties, falling back
// to sysfs attributes when udevd did not set them.
func readInfo(d *udev.Device) device {
	name := d.Sysname()
	node := d.Devnode()
	if node == "" {
		node = "/dev/" + name
	}
	attr := func(a string) string { return strings.TrimSpace(d.SysattrValue(a)) }
	prop := d.PropertyValue
	info := hal.DriveInfo{
		Node:               node,
		Vendor:             firstOf(prop("ID_VENDOR"), attr("device/vendor")),
		Model:              strings.ReplaceAll(firstOf(prop("ID_MODEL"), attr("device/model")), "_", " "),
		Serial:             firstOf(prop("ID_SERIAL_SHORT"), parentSerial(d)),
		Size:               atoi(attr("size")) * 512,
		LogicalSectorSize:  int(max(512, atoi(attr("queue/logical_block_size")))),
		PhysicalSectorSize: int(max(512, atoi(attr("queue/physical_block_size")))),
		Removable:          attr("removable") == "1",
		ReadOnly:           attr("ro") == "1",
	}
	sysPath := d.Syspath()
	info.Path = firstOf(prop("ID_PATH"), strings.TrimPrefix(sysPath, "/sys"))
	info.Bus = hal.GuessBus(sysPath, name)
	switch prop("ID_BUS") {
	case "usb":
		info.Bus = hal.BusUSB
	case "ata":
		info.Bus = hal.BusSATA
	}
	return device{info: info, sysPath: sysPath}
}

// parentSerial finds a USB serial number on the device's ancestors.
func parentSerial(d *udev.Device) string {
	for p := d.Parent(); p != nil; p = p.Parent() {
		if s := strings.TrimSpace(p.SysattrValue("serial")); s != "" {
			return s
		}
	}
	return ""
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

// tracker turns raw add/change/remove events into the appliance's drive
// events, and remembers what it reported so nothing is sent twice.
type tracker struct {
	seen map[string]hal.DriveInfo // by sysfs path
}

func newTracker() *tracker { return &tracker{seen: map[string]hal.DriveInfo{}} }

// reportable says whether a device is a drive slot worth showing: one with
// media, or an empty card reader (removable media that is not a loop
// device or a RAM disk).
func reportable(i hal.DriveInfo) bool {
	if i.Size > 0 {
		return true
	}
	base := filepath.Base(i.Node)
	return i.Removable && i.Bus != hal.BusLoop && !strings.HasPrefix(base, "ram") && !strings.HasPrefix(base, "zram")
}

func (t *tracker) scan(d device) (hal.DriveEvent, bool) {
	if !reportable(d.info) {
		return hal.DriveEvent{}, false
	}
	t.seen[d.sysPath] = d.info
	return hal.DriveEvent{Kind: hal.DriveAdded, Drive: d.info}, true
}

func (t *tracker) event(action string, d device) []hal.DriveEvent {
	prev, known := t.seen[d.sysPath]
	switch action {
	case "add":
		if known {
			return nil // the scan already reported it
		}
		if ev, ok := t.scan(d); ok {
			return []hal.DriveEvent{ev}
		}
	case "remove":
		if known {
			delete(t.seen, d.sysPath)
			return []hal.DriveEvent{{Kind: hal.DriveRemoved, Drive: prev}}
		}
	case "change":
		switch {
		case !known:
			if ev, ok := t.scan(d); ok {
				return []hal.DriveEvent{ev}
			}
		case d.info.Size == prev.Size:
			return nil
		case d.info.Size == 0 && !reportable(d.info):
			// A loop device detached: it is gone as a drive.
			delete(t.seen, d.sysPath)
			return []hal.DriveEvent{{Kind: hal.DriveRemoved, Drive: prev}}
		default:
			// A card went in or out of a reader.
			t.seen[d.sysPath] = d.info
			return []hal.DriveEvent{{Kind: hal.MediaChanged, Drive: d.info}}
		}
	}
	return nil
}
