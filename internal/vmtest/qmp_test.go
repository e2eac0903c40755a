package vmtest_test

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/internal/vmtest"
)

// bareQEMU starts a QEMU with no guest running (stopped before it
// starts) and an xHCI controller, and takes its QMP connection.
func bareQEMU(t *testing.T) *vmtest.QMP {
	t.Helper()
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		t.Skip("qemu-system-x86_64 is missing (Debian package qemu-system-x86)")
	}
	dir, err := os.MkdirTemp("", "qmp") // short: a Unix socket path
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "qmp.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	require.NoError(t, err)
	defer ln.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", "-machine", "pc", "-accel", "tcg", "-S",
		"-nodefaults", "-display", "none", "-device", "qemu-xhci,id=xhci", "-qmp", "unix:"+sock)
	log, err := os.Create(filepath.Join(dir, "qemu.log"))
	require.NoError(t, err)
	cmd.Stdout, cmd.Stderr = log, log
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	// QEMU connects to the socket the test listens on; the deadline only
	// keeps a broken QEMU from hanging the test.
	require.NoError(t, ln.SetDeadline(time.Now().Add(time.Minute)))
	conn, err := ln.Accept()
	if err != nil {
		out, _ := os.ReadFile(log.Name())
		require.NoError(t, err, "QEMU did not connect to its QMP socket: %s", out)
	}
	q, err := vmtest.NewQMP(ctx, conn)
	require.NoError(t, err)
	t.Cleanup(func() { q.Close() })
	return q
}

func TestQMPCommands(t *testing.T) {
	q := bareQEMU(t)
	ctx := context.Background()
	img := filepath.Join(t.TempDir(), "drive.img")
	require.NoError(t, vmtest.MakeBlank(img, 4<<20))

	t.Run("a command's return value is decoded", func(t *testing.T) {
		var st struct {
			Status string `json:"status"`
		}
		require.NoError(t, q.Execute(ctx, "query-status", nil, &st))
		assert.Equal(t, "prelaunch", st.Status)
	})
	t.Run("a refused command is a QMPError naming the command", func(t *testing.T) {
		err := q.Execute(ctx, "no-such-command", nil, nil)
		var qe *vmtest.QMPError
		require.ErrorAs(t, err, &qe)
		assert.Equal(t, "CommandNotFound", qe.Class)
		assert.Contains(t, err.Error(), "no-such-command")
	})
	t.Run("a usb-storage device is plugged and deleted, with its event", func(t *testing.T) {
		require.NoError(t, q.Execute(ctx, "blockdev-add", map[string]any{
			"node-name": "d1", "driver": "raw", "file": map[string]any{"driver": "file", "filename": img},
		}, nil))
		require.NoError(t, q.Execute(ctx, "device_add", map[string]any{
			"driver": "usb-storage", "id": "stick", "bus": "xhci.0", "port": "2", "drive": "d1", "serial": "CB-1",
		}, nil))
		from := q.Events()
		require.NoError(t, q.Execute(ctx, "device_del", map[string]any{"id": "stick"}, nil))
		wait, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		ev, _, err := q.WaitEvent(wait, "DEVICE_DELETED", from, nil)
		require.NoError(t, err)
		assert.Contains(t, string(ev.Data), "stick")
		require.NoError(t, q.Execute(ctx, "blockdev-del", map[string]any{"node-name": "d1"}, nil))
	})
	t.Run("a port that does not exist is refused", func(t *testing.T) {
		require.NoError(t, q.Execute(ctx, "blockdev-add", map[string]any{
			"node-name": "d2", "driver": "raw", "file": map[string]any{"driver": "file", "filename": img},
		}, nil))
		err := q.Execute(ctx, "device_add", map[string]any{
			"driver": "usb-storage", "id": "nowhere", "bus": "xhci.0", "port": "1.5", "drive": "d2",
		}, nil)
		var qe *vmtest.QMPError
		require.ErrorAs(t, err, &qe, "no hub on port 1: port 1.5 does not exist")
	})
	t.Run("a wait for an event ends with its context", func(t *testing.T) {
		wait, cancel := context.WithCancel(ctx)
		cancel()
		_, _, err := q.WaitEvent(wait, "NEVER", q.Events(), nil)
		assert.True(t, errors.Is(err, context.Canceled), "%v", err)
	})
}

func TestQMPClosedConnection(t *testing.T) {
	q := bareQEMU(t)
	ctx := context.Background()
	require.NoError(t, q.Execute(ctx, "quit", nil, nil))
	// QEMU closes the socket as it exits: a command after that fails
	// with an error, it does not hang.
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, _, err := q.WaitEvent(wait, "NEVER", 0, nil)
	require.Error(t, err)
	assert.NotErrorIs(t, err, context.DeadlineExceeded)
	assert.Error(t, q.Execute(wait, "query-status", nil, nil))
}
