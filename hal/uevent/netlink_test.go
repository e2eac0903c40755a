//go:build linux

package uevent

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/internal/looptest"
)

// sender posts netlink uevent messages, as root may: to a group, to one
// port, with the credentials it chooses.
type sender struct{ fd int }

func newSender(t *testing.T) sender {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_KOBJECT_UEVENT)
	require.NoError(t, err)
	t.Cleanup(func() { unix.Close(fd) })
	require.NoError(t, unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}))
	return sender{fd}
}

// send posts msg to a group (port 0) or to a port (group 0), claiming uid
// (or with the sender's own credentials when uid is negative).
func (s sender) send(t *testing.T, msg []byte, group, port uint32, uid int) {
	var oob []byte
	if uid >= 0 {
		oob = unix.UnixCredentials(&unix.Ucred{Pid: int32(os.Getpid()), Uid: uint32(uid), Gid: uint32(uid)})
	}
	err := unix.Sendmsg(s.fd, msg, oob, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: group, Pid: port}, 0)
	require.NoError(t, err)
}

// portID is the netlink port the monitor listens on.
func (m *monitor) portID(t *testing.T) uint32 {
	var sa unix.Sockaddr
	var err error
	require.NoError(t, m.rc.Control(func(fd uintptr) { sa, err = unix.Getsockname(int(fd)) }))
	require.NoError(t, err)
	return sa.(*unix.SockaddrNetlink).Pid
}

func marker(t *testing.T) string {
	b := make([]byte, 8)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return fmt.Sprintf("%x", b)
}

// A watcher trusts the kernel on the kernel's group and root on udevd's;
// anyone else could make the panel show a drive that is not there. Each
// case sends a made-up message, then one the monitor must take (a real
// kernel event, or root's on the udev group), and reads up to that one.
func TestMonitorTrustsOnlyTheKernelAndRoot(t *testing.T) {
	looptest.Require(t)
	loop := looptest.Attach(t, 1<<20, nil)
	devPath := "/devices/virtual/block/" + filepath.Base(loop.Node)
	forged := func(format string, id string) []byte {
		props := []string{"ACTION=change", "DEVPATH=" + devPath, "SUBSYSTEM=block", "DEVTYPE=disk", "CLONEBAY_TEST=" + id}
		if format == "udev" {
			return udevMessage(props...)
		}
		return kernelMessage("change", devPath, props...)
	}
	const self = 0xffffffff // stands for the monitor's own port
	for _, tc := range []struct {
		name    string
		group   uint32 // the monitor's
		format  string
		toGroup uint32
		toPort  uint32
		uid     int
		trusted bool
		why     string
	}{
		{"kernel group: a process posing as the kernel", groupKernel, "kernel", groupKernel, 0, -1, false, "not the kernel"},
		{"kernel group: a message to the watcher alone", groupKernel, "kernel", 0, self, -1, false, "alone, not to group 1"},
		{"kernel group: udev's format", groupKernel, "udev", groupKernel, 0, -1, false, "not the kernel"},
		{"udev group: root", groupUdev, "udev", groupUdev, 0, -1, true, ""},
		{"udev group: a sender that is not root", groupUdev, "udev", groupUdev, 0, 65534, false, "from uid 65534"},
		{"udev group: a message to the watcher alone", groupUdev, "udev", 0, self, 0, false, "alone, not to group 2"},
		{"udev group: the kernel's format", groupUdev, "kernel", groupUdev, 0, 0, false, "the other group's format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := openMonitor(tc.group, receiveBuffer)
			require.NoError(t, err)
			defer m.close()
			// A lost marker fails the test rather than hanging it.
			defer time.AfterFunc(10*time.Second, m.interrupt).Stop()

			s := newSender(t)
			id, mark := marker(t), marker(t)
			port := tc.toPort
			if port == self {
				port = m.portID(t)
			}
			s.send(t, forged(tc.format, id), tc.toGroup, port, tc.uid)
			if tc.group == groupKernel {
				// A real kernel event, tagged with the marker.
				require.NoError(t, os.WriteFile("/sys/class/block/"+filepath.Base(loop.Node)+"/uevent", []byte("change "+uuid(mark)), 0))
			} else {
				s.send(t, forged("udev", mark), groupUdev, 0, 0)
			}

			var rejected []string
			took := false
			for {
				msg, err := m.receive(true)
				if err != nil {
					require.ErrorIs(t, err, errUntrusted)
					rejected = append(rejected, err.Error())
					continue
				}
				if msg.prop("CLONEBAY_TEST") == id {
					took = true
				}
				if msg.prop("CLONEBAY_TEST") == mark || msg.prop("SYNTH_UUID") == uuid(mark) {
					break
				}
			}
			assert.Equal(t, tc.trusted, took, "the made-up message is taken")
			if !tc.trusted {
				assert.Condition(t, func() bool {
					for _, r := range rejected {
						if strings.Contains(r, tc.why) {
							return true
						}
					}
					return false
				}, "a rejection says %q; got %q", tc.why, rejected)
			}
		})
	}
}

// uuid shapes a 16-hex-digit marker as the UUID a synthetic uevent takes.
func uuid(mark string) string {
	return mark[:8] + "-" + mark[8:12] + "-" + mark[12:16] + "-0000-000000000000"
}

// When the watcher falls behind and the kernel drops events, it reads the
// drives again once it has caught up, so a drive that came while events
// were dropped is still reported.
func TestWatchAfterLostEvents(t *testing.T) {
	looptest.Require(t)
	logs := &lockedLog{}
	w := New(slog.New(slog.NewTextHandler(logs, nil)))
	w.Source = "kernel"
	w.rcvbuf = 1 // the kernel's smallest: room for a message or two

	ctx, cancel := context.WithCancel(context.Background())
	events := make(chan hal.DriveEvent) // unbuffered: the watcher waits on the test
	done := make(chan error, 1)
	go func() { done <- w.Watch(ctx, events) }()
	defer func() {
		cancel()
		assert.ErrorIs(t, <-done, context.Canceled)
	}()
	next := func(what string, match func(hal.DriveEvent) bool) {
		t.Helper()
		// Generous: under the race detector beside every other test
		// binary, reading sysfs again can take seconds; a pass is quick.
		deadline := time.After(30 * time.Second)
		for {
			select {
			case ev := <-events:
				if match(ev) {
					return
				}
			case <-deadline:
				t.Fatalf("no event for %s; log:\n%s", what, logs.String())
			}
		}
	}
	next("the scan", func(ev hal.DriveEvent) bool { return ev.Kind == hal.ScanDone })

	// The watcher blocks on reporting this drive while the test reads
	// nothing, so its socket fills up behind it (with events that change
	// nothing) and drops the rest.
	first := looptest.Attach(t, 1<<20, nil)
	uevent := "/sys/class/block/" + filepath.Base(first.Node) + "/uevent"
	for range 20 {
		require.NoError(t, os.WriteFile(uevent, []byte("change"), 0))
	}
	second := looptest.Attach(t, 2<<20, nil) // its event is dropped

	next("the first drive, "+first.Node, func(ev hal.DriveEvent) bool {
		return ev.Kind == hal.DriveAdded && ev.Drive.Node == first.Node
	})
	next("the drive added while events were dropped, "+second.Node, func(ev hal.DriveEvent) bool {
		return ev.Kind == hal.DriveAdded && ev.Drive.Node == second.Node
	})
	assert.Contains(t, logs.String(), "events lost")
}

// lockedLog collects a logger's output from the watcher's goroutine.
type lockedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
