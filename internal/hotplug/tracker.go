//go:build linux

package hotplug

import (
	"path/filepath"
	"sort"
	"strings"

	"github.com/clonebay/clonebay/hal"
)

// Tracker turns raw add/change/remove events into the appliance's drive
// events, and remembers what it reported so nothing is sent twice: the
// scan and the live events that follow it may both report a drive.
type Tracker struct {
	seen map[string]hal.DriveInfo // by DevPath
}

// NewTracker makes a tracker that has seen nothing.
func NewTracker() *Tracker { return &Tracker{seen: map[string]hal.DriveInfo{}} }

// Reportable says whether a device is a drive slot worth showing: one with
// media, or an empty card reader (removable media that is not a loop
// device or a RAM disk).
func Reportable(i hal.DriveInfo) bool {
	if i.Size > 0 {
		return true
	}
	base := filepath.Base(i.Node)
	return i.Removable && i.Bus != hal.BusLoop && !strings.HasPrefix(base, "ram") && !strings.HasPrefix(base, "zram")
}

// Scan reports a device found by enumeration.
func (t *Tracker) Scan(d Device) (hal.DriveEvent, bool) {
	if !Reportable(d.Info) {
		return hal.DriveEvent{}, false
	}
	t.seen[d.DevPath] = d.Info
	return hal.DriveEvent{Kind: hal.DriveAdded, Drive: d.Info}, true
}

// Event reports a live event: action is the kernel's (add, remove,
// change; others are ignored).
func (t *Tracker) Event(action string, d Device) []hal.DriveEvent {
	prev, known := t.seen[d.DevPath]
	switch action {
	case "add":
		if known {
			return nil // the scan already reported it
		}
		if ev, ok := t.Scan(d); ok {
			return []hal.DriveEvent{ev}
		}
	case "remove":
		if known {
			delete(t.seen, d.DevPath)
			return []hal.DriveEvent{{Kind: hal.DriveRemoved, Drive: prev}}
		}
	case "change":
		switch {
		case !known:
			if ev, ok := t.Scan(d); ok {
				return []hal.DriveEvent{ev}
			}
		case d.Info.Size == prev.Size && !d.MediaChange:
			// udevd's watch sends a change whenever a writer closes the
			// drive: nothing changed for the panel.
			return nil
		case d.Info.Size == 0 && !Reportable(d.Info):
			// A loop device detached: it is gone as a drive.
			delete(t.seen, d.DevPath)
			return []hal.DriveEvent{{Kind: hal.DriveRemoved, Drive: prev}}
		default:
			// A card went in or out of a reader, or was swapped for
			// another.
			t.seen[d.DevPath] = d.Info
			return []hal.DriveEvent{{Kind: hal.MediaChanged, Drive: d.Info}}
		}
	}
	return nil
}

// Resync brings the tracker back to the truth after events were lost:
// present is every device there now (as enumeration finds it). Drives that
// left are removed, new ones added; a drive whose identity changed (another
// stick in the same slot) is removed and added again, and one whose size
// changed gets MediaChanged.
func (t *Tracker) Resync(present []Device) []hal.DriveEvent {
	now := map[string]bool{}
	for _, d := range present {
		now[d.DevPath] = true
	}
	var gone []string
	for p := range t.seen {
		if !now[p] {
			gone = append(gone, p)
		}
	}
	sort.Strings(gone)
	var out []hal.DriveEvent
	for _, p := range gone {
		out = append(out, hal.DriveEvent{Kind: hal.DriveRemoved, Drive: t.seen[p]})
		delete(t.seen, p)
	}
	for _, d := range present {
		prev, known := t.seen[d.DevPath]
		if known && !sameDrive(prev, d.Info) {
			out = append(out, hal.DriveEvent{Kind: hal.DriveRemoved, Drive: prev})
			delete(t.seen, d.DevPath)
		}
		out = append(out, t.Event("change", d)...)
	}
	return out
}

// sameDrive says whether two reports name the same drive in the same slot.
func sameDrive(a, b hal.DriveInfo) bool {
	return a.Node == b.Node && a.Path == b.Path && a.Vendor == b.Vendor && a.Model == b.Model && a.Serial == b.Serial
}
