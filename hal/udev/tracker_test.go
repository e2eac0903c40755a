//go:build linux && cgo

package udev

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/clonebay/clonebay/hal"
)

func TestTracker(t *testing.T) {
	stick := device{sysPath: "/sys/block/sdb", info: hal.DriveInfo{Node: "/dev/sdb", Size: 8e9, Removable: true, Bus: hal.BusUSB}}
	reader := device{sysPath: "/sys/block/sdc", info: hal.DriveInfo{Node: "/dev/sdc", Removable: true, Bus: hal.BusUSB}}
	card := reader
	card.info.Size = 32e9
	loop := device{sysPath: "/sys/block/loop3", info: hal.DriveInfo{Node: "/dev/loop3", Bus: hal.BusLoop}}
	attached := loop
	attached.info.Size = 1 << 20

	type step struct {
		action string
		dev    device
		want   []hal.DriveEventKind
	}
	for _, tc := range []struct {
		name  string
		scan  []device
		steps []step
	}{
		{"plug and pull a stick", nil, []step{
			{"add", stick, []hal.DriveEventKind{hal.DriveAdded}},
			{"change", stick, nil},
			{"remove", stick, []hal.DriveEventKind{hal.DriveRemoved}},
			{"remove", stick, nil},
		}},
		{"scan and stream report a drive once", []device{stick}, []step{
			{"add", stick, nil},
		}},
		{"card reader: empty, card in, card out", nil, []step{
			{"add", reader, []hal.DriveEventKind{hal.DriveAdded}},
			{"change", card, []hal.DriveEventKind{hal.MediaChanged}},
			{"change", card, nil},
			{"change", reader, []hal.DriveEventKind{hal.MediaChanged}},
		}},
		{"loop attach and detach", []device{loop}, []step{
			{"change", attached, []hal.DriveEventKind{hal.DriveAdded}},
			{"change", loop, []hal.DriveEventKind{hal.DriveRemoved}},
			{"change", loop, nil},
		}},
		{"an empty loop device is no drive", nil, []step{
			{"add", loop, nil},
			{"remove", loop, nil},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTracker()
			for _, d := range tc.scan {
				tr.scan(d)
			}
			for i, s := range tc.steps {
				var got []hal.DriveEventKind
				for _, ev := range tr.event(s.action, s.dev) {
					got = append(got, ev.Kind)
					assert.Equal(t, s.dev.info.Node, ev.Drive.Node)
				}
				assert.Equal(t, s.want, got, "step %d: %s %s", i+1, s.action, s.dev.info.Node)
			}
		})
	}
}
