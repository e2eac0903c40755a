//go:build linux && cgo

package udev_test

import (
	"context"
	"log/slog"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/board"
	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/hal/haltest"
	"github.com/clonebay/clonebay/hal/udev"
	"github.com/clonebay/clonebay/internal/looptest"

	"github.com/clonebay/clonebay/internal/testenv"
)

const MiB = 1 << 20

// The tests run with and without systemd-udevd, one after the other: they
// start and stop it, so they hold the machine-wide udevd lock.
func TestWatcher(t *testing.T) {
	looptest.Require(t)
	if _, err := exec.LookPath("udevadm"); err != nil {
		testenv.Skip(t, "udevadm is missing (Debian package udev)")
	}
	looptest.LockUdevd(t)
	looptest.RestoreUdevd(t)
	looptest.StopUdevd(t)
	t.Run("without udevd", func(t *testing.T) { watcherSuite(t, "kernel") })
	looptest.StartUdevd(t)
	t.Run("with udevd", func(t *testing.T) { watcherSuite(t, "udev") })
}

func watcherSuite(t *testing.T, wantSource string) {
	var logs strings.Builder
	w := udev.New(slog.New(slog.NewTextHandler(&logs, nil)))

	t.Run("conformance", func(t *testing.T) {
		devs := map[string]looptest.Device{}
		haltest.TestDriveWatcher(t, haltest.WatcherHarness{
			Watcher: w,
			Add: func(t *testing.T) string {
				d := looptest.Attach(t, 2*MiB, nil)
				devs[d.Node] = d
				return d.Node
			},
			Remove:  func(t *testing.T, node string) { looptest.Detach(t, node) },
			Timeout: 3 * time.Second,
		})
	})
	if wantSource == "udev" {
		assert.Contains(t, logs.String(), "listening to systemd-udevd's events")
	} else {
		assert.Contains(t, logs.String(), "systemd-udevd is not running")
	}

	t.Run("three loop devices on their ports", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		events := make(chan hal.DriveEvent, 64)
		go func() { _ = w.Watch(ctx, events) }()
		waitFor(t, events, func(ev hal.DriveEvent) bool { return ev.Kind == hal.ScanDone }, 3*time.Second, "scan done")

		sizes := []int64{3 * MiB, 5 * MiB, 7 * MiB}
		var devs []looptest.Device
		for _, s := range sizes {
			devs = append(devs, looptest.Attach(t, s, nil))
		}
		b := loopBoard(t, devs)
		added := waitForAdded(t, events, devs, 3*time.Second)
		for i, d := range devs {
			ev := added[d.Node]
			assert.Equal(t, sizes[i], ev.Drive.Size, d.Node)
			assert.Equal(t, hal.BusLoop, ev.Drive.Bus)
			port, ok := b.PortFor(ev.Drive.Path, ev.Drive.Node)
			require.True(t, ok, "%s maps to a port", d.Node)
			assert.Equal(t, i+2, port.Number)
		}
		for _, d := range devs {
			start := time.Now()
			looptest.Detach(t, d.Node)
			waitFor(t, events, func(ev hal.DriveEvent) bool {
				return ev.Drive.Node == d.Node && ev.Kind == hal.DriveRemoved
			}, time.Second, "the removal of "+d.Node)
			t.Logf("%s removed after %v", d.Node, time.Since(start))
		}
	})
}

// loopBoard maps the given loop devices to ports 2, 3, ... of a test
// board; port 1 is left for a master.
func loopBoard(t *testing.T, devs []looptest.Device) *board.Board {
	b := &board.Board{Name: "loops", MasterPort: 1, Buses: []string{"loop"},
		Ports: []board.Port{{Number: 1, Label: "M", Match: "/dev/none"}}}
	for i, d := range devs {
		b.Ports = append(b.Ports, board.Port{Number: i + 2, Label: string(rune('A' + i)), Match: d.Node})
	}
	require.NoError(t, b.Validate())
	return b
}

// waitForAdded waits for the DriveAdded event of every device, in any
// order: udevd's workers finish the events of different drives in any
// order.
func waitForAdded(t *testing.T, events <-chan hal.DriveEvent, devs []looptest.Device, within time.Duration) map[string]hal.DriveEvent {
	t.Helper()
	want := map[string]bool{}
	for _, d := range devs {
		want[d.Node] = true
	}
	got := map[string]hal.DriveEvent{}
	deadline := time.After(within)
	for len(got) < len(want) {
		select {
		case ev := <-events:
			if ev.Kind == hal.DriveAdded && want[ev.Drive.Node] {
				got[ev.Drive.Node] = ev
			}
		case <-deadline:
			t.Fatalf("within %v, DriveAdded came for %d of %d drives: %v", within, len(got), len(want), got)
		}
	}
	return got
}

func waitFor(t *testing.T, events <-chan hal.DriveEvent, match func(hal.DriveEvent) bool, within time.Duration, what string) hal.DriveEvent {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case ev := <-events:
			if match(ev) {
				return ev
			}
		case <-deadline:
			t.Fatalf("no event for %s within %v", what, within)
		}
	}
}
