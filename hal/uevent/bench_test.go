//go:build linux && cgo

package uevent_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/hal/udev"
	"github.com/clonebay/clonebay/hal/uevent"
	"github.com/clonebay/clonebay/internal/looptest"
)

// BenchmarkDriveAdded measures each backend, on each event source, from
// attaching a loop device (LOOP_CONFIGURE) to its DriveAdded event, and
// the CPU time the process spends for each attach and detach. One
// iteration attaches, waits for DriveAdded, detaches and waits for
// DriveRemoved; run it with -benchtime 20x for a median of 20. The
// baseline attaches and detaches with no watcher: its CPU time is the
// ioctls' own, to subtract from the backends'.
func BenchmarkDriveAdded(b *testing.B) {
	looptest.Require(b)
	looptest.LockUdevd(b)
	looptest.RestoreUdevd(b)
	backends := []struct {
		name    string
		watcher func(source string) hal.DriveWatcher
	}{
		{"go-udev", func(source string) hal.DriveWatcher { w := udev.New(nil); w.Source = source; return w }},
		{"uevent", func(source string) hal.DriveWatcher { w := uevent.New(nil); w.Source = source; return w }},
	}
	for _, source := range []string{"kernel", "udev"} {
		if source == "kernel" {
			looptest.StopUdevd(b)
			// Without udevd, nothing else opens the device: a detach is
			// done when the benchmark closes it.
			b.Run("baseline/kernel", func(b *testing.B) { benchAttach(b, nil) })
		} else {
			looptest.StartUdevd(b)
		}
		for _, be := range backends {
			b.Run(be.name+"/"+source, func(b *testing.B) { benchAttach(b, be.watcher(source)) })
		}
	}
}

func benchAttach(b *testing.B, w hal.DriveWatcher) {
	loop := newFreeLoop(b)
	backing, err := os.Create(filepath.Join(b.TempDir(), "backing.img"))
	require.NoError(b, err)
	defer backing.Close()
	require.NoError(b, backing.Truncate(4<<20))

	if w == nil {
		cpu0 := cpuTime(b)
		for range b.N {
			loop.attach(b, backing)
			loop.detach(b)
		}
		b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/attach+detach")
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	events := make(chan hal.DriveEvent, 16)
	done := make(chan error, 1)
	go func() { done <- w.Watch(ctx, events) }()
	defer func() {
		cancel()
		<-done
	}()
	wait := func(kind hal.DriveEventKind) {
		deadline := time.After(5 * time.Second)
		for {
			select {
			case ev := <-events:
				if ev.Kind == kind && (kind == hal.ScanDone || ev.Drive.Node == loop.node) {
					return
				}
			case <-deadline:
				b.Fatalf("no %v event for %s within 5 s", kind, loop.node)
			}
		}
	}
	wait(hal.ScanDone)

	latencies := make([]time.Duration, 0, b.N)
	cpu0 := cpuTime(b)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		loop.attach(b, backing)
		wait(hal.DriveAdded)
		latencies = append(latencies, time.Since(start))
		loop.detach(b)
		wait(hal.DriveRemoved)
	}
	b.StopTimer()
	slices.Sort(latencies)
	b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds()), "µs-to-added-median")
	b.ReportMetric(float64(latencies[len(latencies)*9/10].Microseconds()), "µs-to-added-p90")
	b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/attach+detach")
}

// freeLoop is a loop device made for the benchmark, attached and detached
// by ioctl so no process start is timed.
type freeLoop struct{ node string }

func newFreeLoop(b *testing.B) *freeLoop {
	ctl, err := os.OpenFile("/dev/loop-control", os.O_RDWR, 0)
	require.NoError(b, err)
	defer ctl.Close()
	n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
	require.NoError(b, err, "LOOP_CTL_GET_FREE")
	l := &freeLoop{node: fmt.Sprintf("/dev/loop%d", n)}
	b.Cleanup(func() { looptest.Detach(b, l.node) })
	return l
}

// ioctl opens the loop device, runs one ioctl and closes it again.
func (l *freeLoop) ioctl(b *testing.B, what string, call func(fd int) error) {
	dev, err := os.OpenFile(l.node, os.O_RDWR, 0)
	require.NoError(b, err)
	defer dev.Close()
	require.NoError(b, call(int(dev.Fd())), "%s %s", what, l.node)
}

func (l *freeLoop) attach(b *testing.B, backing *os.File) {
	cfg := unix.LoopConfig{Fd: uint32(backing.Fd())}
	l.ioctl(b, "LOOP_CONFIGURE", func(fd int) error { return unix.IoctlLoopConfigure(fd, &cfg) })
}

// detach clears the device; the kernel lets go of the backing file when
// the last opener closes it.
func (l *freeLoop) detach(b *testing.B) {
	l.ioctl(b, "LOOP_CLR_FD", func(fd int) error { return unix.IoctlSetInt(fd, unix.LOOP_CLR_FD, 0) })
}

// cpuTime is the user and system CPU time the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru unix.Rusage
	require.NoError(b, unix.Getrusage(unix.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
