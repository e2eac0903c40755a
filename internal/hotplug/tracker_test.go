//go:build linux

package hotplug

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/clonebay/clonebay/hal"
)

// Drives the tracker tests use.
var (
	stick = Device{DevPath: "/devices/usb1/1-1/block/sdb", Info: hal.DriveInfo{Node: "/dev/sdb", Size: 8e9, Removable: true, Bus: hal.BusUSB, Serial: "A1"}}
	// otherStick sits where stick was, with the same node and size.
	otherStick = Device{DevPath: stick.DevPath, Info: hal.DriveInfo{Node: "/dev/sdb", Size: 8e9, Removable: true, Bus: hal.BusUSB, Serial: "B2"}}
	reader     = Device{DevPath: "/devices/usb1/1-2/block/sdc", Info: hal.DriveInfo{Node: "/dev/sdc", Removable: true, Bus: hal.BusUSB}}
	card       = withSize(reader, 32e9)
	swapped    = Device{DevPath: card.DevPath, Info: card.Info, MediaChange: true}
	loop       = Device{DevPath: "/devices/virtual/block/loop3", Info: hal.DriveInfo{Node: "/dev/loop3", Bus: hal.BusLoop}}
	attached   = withSize(loop, 1<<20)
)

func withSize(d Device, size int64) Device {
	d.Info.Size = size
	return d
}

type kinds = []hal.DriveEventKind

func TestTracker(t *testing.T) {
	type step struct {
		action string
		dev    Device
		want   kinds
	}
	for _, tc := range []struct {
		name  string
		scan  []Device
		steps []step
	}{
		{"plug and pull a stick", nil, []step{
			{"add", stick, kinds{hal.DriveAdded}},
			{"change", stick, nil},
			{"remove", stick, kinds{hal.DriveRemoved}},
			{"remove", stick, nil},
		}},
		{"scan and stream report a drive once", []Device{stick}, []step{
			{"add", stick, nil},
		}},
		{"card reader: empty, card in, card out", nil, []step{
			{"add", reader, kinds{hal.DriveAdded}},
			{"change", card, kinds{hal.MediaChanged}},
			{"change", card, nil},
			{"change", reader, kinds{hal.MediaChanged}},
		}},
		{"a card swapped for one of the same size", []Device{card}, []step{
			{"change", swapped, kinds{hal.MediaChanged}},
		}},
		{"loop attach and detach", []Device{loop}, []step{
			{"change", attached, kinds{hal.DriveAdded}},
			{"change", loop, kinds{hal.DriveRemoved}},
			{"change", loop, nil},
		}},
		{"a loop detach that says its media changed", []Device{attached}, []step{
			{"change", Device{DevPath: loop.DevPath, Info: loop.Info, MediaChange: true}, kinds{hal.DriveRemoved}},
		}},
		{"an empty loop device is no drive", nil, []step{
			{"add", loop, nil},
			{"remove", loop, nil},
		}},
		{"other actions change nothing", []Device{stick}, []step{
			{"bind", stick, nil},
			{"move", stick, nil},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := NewTracker()
			for _, d := range tc.scan {
				tr.Scan(d)
			}
			for i, s := range tc.steps {
				var got kinds
				for _, ev := range tr.Event(s.action, s.dev) {
					got = append(got, ev.Kind)
					assert.Equal(t, s.dev.Info.Node, ev.Drive.Node)
				}
				assert.Equal(t, s.want, got, "step %d: %s %s", i+1, s.action, s.dev.Info.Node)
			}
		})
	}
}

func TestTrackerResync(t *testing.T) {
	type report struct {
		kind   hal.DriveEventKind
		serial string
		node   string
	}
	for _, tc := range []struct {
		name    string
		seen    []Device
		present []Device
		want    []report
	}{
		{"nothing lost", []Device{stick, attached}, []Device{stick, attached}, nil},
		{"a drive left", []Device{stick, attached}, []Device{stick, loop}, []report{
			{hal.DriveRemoved, "", "/dev/loop3"},
		}},
		{"a drive left and its device is gone", []Device{stick, attached}, []Device{stick}, []report{
			{hal.DriveRemoved, "", "/dev/loop3"},
		}},
		{"a drive came", []Device{stick}, []Device{stick, reader}, []report{
			{hal.DriveAdded, "", "/dev/sdc"},
		}},
		{"a card went in", []Device{reader}, []Device{card}, []report{
			{hal.MediaChanged, "", "/dev/sdc"},
		}},
		{"another stick in the same slot", []Device{stick}, []Device{otherStick}, []report{
			{hal.DriveRemoved, "A1", "/dev/sdb"},
			{hal.DriveAdded, "B2", "/dev/sdb"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := NewTracker()
			for _, d := range tc.seen {
				tr.Scan(d)
			}
			var got []report
			for _, ev := range tr.Resync(tc.present) {
				got = append(got, report{ev.Kind, ev.Drive.Serial, ev.Drive.Node})
			}
			assert.Equal(t, tc.want, got)
			assert.Empty(t, tr.Resync(tc.present), "a second resync finds nothing new")
		})
	}
}
