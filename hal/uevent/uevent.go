//go:build linux

package uevent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/internal/hotplug"
)

// Watcher reports the machine's whole-disk block devices.
type Watcher struct {
	log *slog.Logger
	// Source forces "udev" or "kernel" events; empty picks udev when
	// systemd-udevd is running.
	Source string
	// rcvbuf is the socket's receive buffer in bytes.
	rcvbuf int
}

var _ hal.DriveWatcher = (*Watcher)(nil)

// New makes a watcher that logs to log.
func New(log *slog.Logger) *Watcher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Watcher{log: log, rcvbuf: receiveBuffer}
}

// UdevdRunning reports whether systemd-udevd is running: a socket
// listens on its control socket's path.
func UdevdRunning() bool { return hotplug.UdevdRunning() }

// Watch implements hal.DriveWatcher.
func (w *Watcher) Watch(ctx context.Context, events chan<- hal.DriveEvent) error {
	var group uint32
	switch source := w.Source; {
	case source == "udev" || source == "" && UdevdRunning():
		group = groupUdev
		w.log.Info("drive watcher: listening to systemd-udevd's events")
	case source == "kernel" || source == "":
		group = groupKernel
		w.log.Info("drive watcher: systemd-udevd is not running; listening to kernel events and reading sysfs")
	default:
		return fmt.Errorf("drive watcher: unknown event source %q (want udev or kernel)", source)
	}
	withDB := group == groupUdev

	// Subscribe before enumerating, so nothing that happens in between is
	// lost; the tracker drops what the two report twice.
	m, err := openMonitor(group, w.rcvbuf)
	if err != nil {
		return fmt.Errorf("drive watcher: %w", err)
	}
	defer m.close()
	stop := context.AfterFunc(ctx, m.interrupt)
	defer stop()

	send := func(ev hal.DriveEvent) error {
		select {
		case events <- ev:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	present, err := enumerate(hotplug.SysRoot, withDB)
	if err != nil {
		return err
	}
	t := hotplug.NewTracker()
	for _, d := range present {
		if ev, ok := t.Scan(d); ok {
			if err := send(ev); err != nil {
				return err
			}
		}
	}
	if err := send(hal.DriveEvent{Kind: hal.ScanDone}); err != nil {
		return err
	}
	// lost is set from an overflow until the socket is drained: the kernel
	// reports an overflow once, and drops more until the queue is empty.
	lost := false
	for {
		msg, err := m.receive(!lost)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var evs []hal.DriveEvent
		switch {
		case errors.Is(err, errLost):
			if !lost {
				w.log.Warn("drive watcher: events lost (the socket's receive buffer overflowed); reading the drives again")
			}
			lost = true
			continue
		case errors.Is(err, errEmpty):
			// Whatever was dropped is behind us: the drives there now
			// are the truth.
			lost = false
			present, err := enumerate(hotplug.SysRoot, withDB)
			if err != nil {
				w.log.Error("drive watcher: reading the drives again", "err", err)
				continue
			}
			evs = t.Resync(present)
		case errors.Is(err, errUntrusted), errors.Is(err, ErrMalformed):
			w.log.Warn("drive watcher: message ignored", "err", err)
			continue
		case err != nil:
			return fmt.Errorf("drive watcher: %w", err)
		case msg.subsystem != "block" || msg.devType != "disk":
			continue
		default:
			evs = t.Event(msg.action, hotplug.SysRoot.Read(msg.devPath, msg.prop))
		}
		for _, ev := range evs {
			if err := send(ev); err != nil {
				return err
			}
		}
	}
}

// Scan returns the drives present now (with media, or empty card
// readers), as Watch's scan would report them. It reads udev's database
// when systemd-udevd runs; without it, the database may describe drives
// that were pulled since, so only sysfs is read.
func Scan() ([]hal.DriveInfo, error) {
	devs, err := enumerate(hotplug.SysRoot, UdevdRunning())
	if err != nil {
		return nil, err
	}
	var out []hal.DriveInfo
	for _, d := range devs {
		if hotplug.Reportable(d.Info) {
			out = append(out, d.Info)
		}
	}
	return out, nil
}
