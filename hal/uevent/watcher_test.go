//go:build linux

package uevent_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/board"
	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/hal/haltest"
	"github.com/clonebay/clonebay/hal/uevent"
	"github.com/clonebay/clonebay/internal/looptest"

	"github.com/clonebay/clonebay/internal/testenv"
)

const MiB = 1 << 20

// The tests run with and without systemd-udevd, one after the other: they
// start and stop it, so they hold the machine-wide udevd lock.
func TestWatcher(t *testing.T) {
	requireUdevd(t)
	looptest.LockUdevd(t)
	looptest.RestoreUdevd(t)
	looptest.StopUdevd(t)
	t.Run("without udevd", func(t *testing.T) { watcherSuite(t, "kernel") })
	identityRules(t)
	looptest.StartUdevd(t)
	t.Run("with udevd", func(t *testing.T) { watcherSuite(t, "udev") })
}

func requireUdevd(t *testing.T) {
	looptest.Require(t)
	if _, err := exec.LookPath("udevadm"); err != nil {
		testenv.Skip(t, "udevadm is missing (Debian package udev)")
	}
}

// A loop device attached to a backing file whose name starts with
// identityFile gets, from identityRules, the udev properties of a USB
// stick: ID_PATH clonebay-test-loopN, serial loopN.
const identityFile = "clonebay-identity-"

// identityRules installs, until the test ends, udev rules that give loop
// devices with an identityFile backing file an identity (loop devices
// have none). udevd reads them when it starts.
func identityRules(t *testing.T) {
	dir := "/run/udev/rules.d"
	require.NoError(t, os.MkdirAll(dir, 0o755))
	file := filepath.Join(dir, fmt.Sprintf("99-clonebay-test-%d.rules", os.Getpid()))
	rule := `SUBSYSTEM=="block", KERNEL=="loop*", ENV{DEVTYPE}=="disk", ATTR{loop/backing_file}=="*/` + identityFile + `*", ` +
		`ENV{ID_BUS}="usb", ENV{ID_VENDOR}="Clonebay", ENV{ID_MODEL}="Test_Stick", ENV{ID_SERIAL_SHORT}="%k", ENV{ID_PATH}="clonebay-test-%k"` + "\n"
	require.NoError(t, os.WriteFile(file, []byte(rule), 0o644))
	t.Cleanup(func() {
		os.Remove(file)
		os.Remove(dir) // when no other rules are left in it
	})
}

// attachWithIdentity attaches a loop device that identityRules names.
func attachWithIdentity(t *testing.T, size int64) looptest.Device {
	file := filepath.Join(t.TempDir(), identityFile+"stick.img")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	require.NoError(t, os.Truncate(file, size))
	return looptest.AttachFile(t, file)
}

func watcherSuite(t *testing.T, wantSource string) {
	logs := &syncBuffer{}
	w := uevent.New(slog.New(slog.NewTextHandler(logs, nil)))

	t.Run("conformance", func(t *testing.T) {
		haltest.TestDriveWatcher(t, haltest.WatcherHarness{
			Watcher: w,
			Add: func(t *testing.T) string {
				return looptest.Attach(t, 2*MiB, nil).Node
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
		events := watch(t, w)
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
			assert.Equal(t, "/devices/virtual/block/"+filepath.Base(d.Node), ev.Drive.Path, "a loop device's path is its sysfs path")
			port, ok := b.PortFor(ev.Drive.Path, ev.Drive.Node)
			require.True(t, ok, "%s maps to a port", d.Node)
			assert.Equal(t, i+2, port.Number)
		}
		for _, d := range devs {
			looptest.Detach(t, d.Node)
			waitFor(t, events, func(ev hal.DriveEvent) bool {
				return ev.Drive.Node == d.Node && ev.Kind == hal.DriveRemoved
			}, 3*time.Second, "the removal of "+d.Node)
		}
	})

	t.Run("a drive's identity", func(t *testing.T) {
		events := watch(t, w)
		d := attachWithIdentity(t, 3*MiB)
		ev := waitFor(t, events, func(ev hal.DriveEvent) bool {
			return ev.Drive.Node == d.Node && ev.Kind == hal.DriveAdded
		}, 3*time.Second, "the drive at "+d.Node)
		name := filepath.Base(d.Node)
		want := hal.DriveInfo{Node: d.Node, Path: "/devices/virtual/block/" + name, Bus: hal.BusLoop,
			Size: 3 * MiB, LogicalSectorSize: 512, PhysicalSectorSize: 512}
		if wantSource == "udev" {
			// udev's properties, from the event.
			want.Path, want.Vendor, want.Model, want.Serial, want.Bus = "clonebay-test-"+name, "Clonebay", "Test Stick", name, hal.BusUSB
		}
		assert.Equal(t, want, ev.Drive, "from the event")
		// The scan reads the same from sysfs and udev's database.
		drives, err := uevent.Scan()
		require.NoError(t, err)
		assert.Contains(t, drives, want, "from the scan")
	})
}

// watch runs the watcher until the test ends and returns its events once
// the scan is done.
func watch(t *testing.T, w hal.DriveWatcher) <-chan hal.DriveEvent {
	ctx, cancel := context.WithCancel(context.Background())
	events := make(chan hal.DriveEvent, 64)
	done := make(chan error, 1)
	go func() { done <- w.Watch(ctx, events) }()
	t.Cleanup(func() {
		cancel()
		assert.ErrorIs(t, <-done, context.Canceled)
	})
	waitFor(t, events, func(ev hal.DriveEvent) bool { return ev.Kind == hal.ScanDone }, 3*time.Second, "scan done")
	return events
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

// syncBuffer is a strings.Builder safe for the logger's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
