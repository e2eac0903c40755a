//go:build linux && cgo

package udev

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jochenvg/go-udev"

	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/internal/hotplug"
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

// UdevdRunning reports whether systemd-udevd is running: a socket
// listens on its control socket's path.
func UdevdRunning() bool { return hotplug.UdevdRunning() }

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
	t := hotplug.NewTracker()
	send := func(ev hal.DriveEvent) error {
		select {
		case events <- ev:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for _, d := range present {
		if ev, ok := t.Scan(readInfo(d)); ok {
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
			for _, ev := range t.Event(d.Action(), readInfo(d)) {
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
		if info := readInfo(d).Info; hotplug.Reportable(info) {
			out = append(out, info)
		}
	}
	return out, nil
}

// readInfo reads a device's identity from udev's properties, falling back
// to sysfs attributes when udevd did not set them.
func readInfo(d *udev.Device) hotplug.Device {
	return hotplug.SysRoot.Read(d.Devpath(), d.PropertyValue)
}
