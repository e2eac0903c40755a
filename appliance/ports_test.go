package appliance

import (
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/board"
	"github.com/clonebay/clonebay/hal"
)

func TestPortMap(t *testing.T) {
	rpi, err := board.Builtin("rpi4-usb7")
	require.NoError(t, err)
	hub := func(n string) string {
		return "platform-fd500000.pcie-pci-0000:01:00.0-usb-0:1." + n + ":1.0-scsi-0:0:0:0"
	}
	usb := func(node, path string) hal.DriveInfo {
		return hal.DriveInfo{Node: node, Path: path, Bus: hal.BusUSB, Size: 8e9}
	}
	for _, tc := range []struct {
		name      string
		extra     bool
		ev        hal.DriveEvent
		wantOK    bool
		wantPort  int
		wantLabel string
	}{
		{"hub port 3", false, hal.DriveEvent{Kind: hal.DriveAdded, Drive: usb("/dev/sdc", hub("3"))}, true, 3, "3"},
		{"master port", false, hal.DriveEvent{Kind: hal.DriveAdded, Drive: usb("/dev/sda", hub("1"))}, true, 1, "M"},
		{"no port", false, hal.DriveEvent{Kind: hal.DriveAdded, Drive: usb("/dev/sdh", "pci-0000:00:14.0-usb-0:9:1.0-scsi-0:0:0:0")}, false, 0, ""},
		{"no port, extra allowed", true, hal.DriveEvent{Kind: hal.DriveAdded, Drive: usb("/dev/sdh", "pci-0000:00:14.0-usb-0:9:1.0-scsi-0:0:0:0")}, true, 8, "X8"},
		{"system disk on a port", false, hal.DriveEvent{Kind: hal.DriveAdded, Drive: usb("/dev/sys", hub("2"))}, false, 0, ""},
		{"excluded SD slot", false, hal.DriveEvent{Kind: hal.DriveAdded, Drive: hal.DriveInfo{Node: "/dev/mmcblk0", Path: "platform-fe340000.mmc", Bus: hal.BusSD}}, false, 0, ""},
		{"bus not offered", false, hal.DriveEvent{Kind: hal.DriveAdded, Drive: hal.DriveInfo{Node: "/dev/loop0", Path: hub("4"), Bus: hal.BusLoop}}, false, 0, ""},
		{"removal of an unknown drive", false, hal.DriveEvent{Kind: hal.DriveRemoved, Drive: usb("/dev/sdq", "")}, false, 0, ""},
		{"scan done passes", false, hal.DriveEvent{Kind: hal.ScanDone}, true, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := *rpi
			b.Extra = tc.extra
			m := newPortMap(&b, func(node string) bool { return node == "/dev/sys" }, slog.New(slog.DiscardHandler))
			got, ok := m.Map(tc.ev)
			assert.Equal(t, tc.wantOK, ok)
			assert.Equal(t, tc.wantPort, got.Drive.Port)
			assert.Equal(t, tc.wantLabel, got.Drive.Label)
		})
	}
}

func TestPortMapFollowsADrive(t *testing.T) {
	b, err := board.Builtin("rpi4-usb7")
	require.NoError(t, err)
	b.Extra = true
	m := newPortMap(b, nil, slog.New(slog.DiscardHandler))
	stray := hal.DriveInfo{Node: "/dev/sdx", Path: "elsewhere", Bus: hal.BusUSB, Size: 1e9}
	ev, ok := m.Map(hal.DriveEvent{Kind: hal.DriveAdded, Drive: stray})
	require.True(t, ok)
	assert.Equal(t, 8, ev.Drive.Port)

	ev, ok = m.Map(hal.DriveEvent{Kind: hal.MediaChanged, Drive: stray})
	require.True(t, ok, "a known drive's media change keeps its port")
	assert.Equal(t, 8, ev.Drive.Port)

	ev, ok = m.Map(hal.DriveEvent{Kind: hal.DriveRemoved, Drive: hal.DriveInfo{Node: "/dev/sdx"}})
	require.True(t, ok)
	assert.Equal(t, 8, ev.Drive.Port, "a removal names the port the drive was on")

	other := stray
	other.Node = "/dev/sdy"
	ev, ok = m.Map(hal.DriveEvent{Kind: hal.DriveAdded, Drive: other})
	require.True(t, ok)
	assert.Equal(t, 8, ev.Drive.Port, "the freed extra port is used again")
}

// TestPortHoldsOneDrive: a second drive that maps onto a port that holds
// one (a two-slot card reader in hub port 3) is not put there: it is kept
// off the panel, or goes onto an extra port when the board has them.
func TestPortHoldsOneDrive(t *testing.T) {
	rpi, err := board.Builtin("rpi4-usb7")
	require.NoError(t, err)
	slot := func(node, lun string) hal.DriveInfo {
		return hal.DriveInfo{Node: node, Path: "platform-fd500000.pcie-pci-0000:01:00.0-usb-0:1.3:1.0-scsi-0:0:0:" + lun, Bus: hal.BusUSB, Size: 8e9}
	}
	for _, tc := range []struct {
		name      string
		extra     bool
		wantOK    bool
		wantPort  int
		wantLabel string
	}{
		{"kept off the panel", false, false, 0, ""},
		{"on an extra port", true, true, 8, "X8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := *rpi
			b.Extra = tc.extra
			m := newPortMap(&b, nil, slog.New(slog.DiscardHandler))
			first, ok := m.Map(hal.DriveEvent{Kind: hal.DriveAdded, Drive: slot("/dev/sdc", "0")})
			require.True(t, ok)
			require.Equal(t, 3, first.Drive.Port)

			second, ok := m.Map(hal.DriveEvent{Kind: hal.DriveAdded, Drive: slot("/dev/sdd", "1")})
			assert.Equal(t, tc.wantOK, ok)
			assert.Equal(t, tc.wantPort, second.Drive.Port)
			assert.Equal(t, tc.wantLabel, second.Drive.Label)

			gone, ok := m.Map(hal.DriveEvent{Kind: hal.DriveRemoved, Drive: hal.DriveInfo{Node: "/dev/sdc"}})
			require.True(t, ok)
			assert.Equal(t, 3, gone.Drive.Port)
			again, ok := m.Map(hal.DriveEvent{Kind: hal.DriveAdded, Drive: slot("/dev/sde", "0")})
			require.True(t, ok, "the freed port takes a drive again")
			assert.Equal(t, 3, again.Drive.Port)
		})
	}
}
