//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/appliance"
	"github.com/clonebay/clonebay/board"
	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/internal/looptest"
	"github.com/clonebay/clonebay/sim"
	"github.com/clonebay/clonebay/ui"
)

// TestRunOnLoopDevices runs the appliance on the real backends (udev
// hot-plug, block devices) with a board whose ports are loop devices. The
// drives are attached while it runs; the copy is started by button events
// fed in through a test hook (simulated buttons) and read off a simulated
// LCD, as there is no panel hardware here.
func TestRunOnLoopDevices(t *testing.T) {
	looptest.Require(t)
	looptest.LockUdevd(t) // other tests stop and start udevd; not during this one
	nums := looptest.FreeNumbers(t, 4)
	b := &board.Board{Name: "loops", MasterPort: 1, Buses: []string{"loop"}}
	for i, n := range nums {
		b.Ports = append(b.Ports, board.Port{Number: i + 1, Label: fmt.Sprint(i + 1), Match: fmt.Sprintf("/dev/loop%d", n)})
	}
	b.Ports[0].Label = "M"
	require.NoError(t, b.Validate())

	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	hw, closeHW, err := buildHardware(b, log)
	require.NoError(t, err)
	defer closeHW()
	buttons := sim.NewButtons()
	lcd := sim.NewLCD(hal.Geometry{Cols: 20, Rows: 4})
	hw.Buttons, hw.Display = buttons, lcd
	app, err := appliance.New(appliance.Config{Board: b, Settings: ui.DefaultSettings()}, hw, appliance.Paths{}, log)
	require.NoError(t, err)
	views, unsubscribe := app.Subscribe()
	defer unsubscribe()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	defer func() {
		cancel()
		assert.NoError(t, <-done)
		assert.Contains(t, lcd.Text(), "Shut down", "the LCD says the appliance stopped")
	}()
	// The real backends run in real time: wait on the appliance's views,
	// each one a change the panel showed.
	waitLCD := func(text string, within time.Duration) {
		t.Helper()
		timeout := time.After(within)
		for !strings.Contains(lcd.Text(), text) {
			select {
			case <-views:
			case <-timeout:
				t.Fatalf("the LCD did not show %q within %v; it shows:\n%s\nlog:\n%s", text, within, lcd.Text(), logs.String())
			}
		}
	}
	waitLCD("Master: none", 5*time.Second)

	content := make([]byte, 8<<20)
	_, err = rand.Read(content)
	require.NoError(t, err)
	looptest.AttachAt(t, nums[0], 8<<20, content)
	var targets []looptest.Device
	for _, n := range nums[1:] {
		targets = append(targets, looptest.AttachAt(t, n, 12<<20, nil))
	}
	waitLCD("Master: 8.38MB", 5*time.Second)
	waitLCD("Targets: 3", 5*time.Second)

	buttons.Click(hal.OK)
	waitLCD("x3", 2*time.Second)
	buttons.Click(hal.OK)
	waitLCD("3 PASS 0 FAIL", 60*time.Second)
	for _, d := range targets {
		got, err := os.ReadFile(d.File)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(content, got[:len(content)]), "%s holds the master", d.Node)
	}
	assert.Contains(t, logs.String(), `msg="job done" passed=3 ports=3`)
}

func TestSecondInstanceRefused(t *testing.T) {
	lock := filepath.Join(t.TempDir(), "clonebay.lock")
	unlock, err := lockOnce(lock)
	require.NoError(t, err)
	_, err = lockOnce(lock)
	assert.ErrorContains(t, err, "another clonebay is already running")
	unlock()
	unlock2, err := lockOnce(lock)
	require.NoError(t, err, "free again once the first one stopped")
	unlock2()
}

// syncBuffer is a bytes.Buffer safe for the logger's goroutines.
// syncBuffer is a log that many goroutines write and a test reads; it
// says when it grows.
type syncBuffer struct {
	mu   sync.Mutex
	b    bytes.Buffer
	grew chan struct{}
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.grew != nil {
		close(s.grew)
		s.grew = nil
	}
	return s.b.Write(p)
}

// changed is closed at the next write.
func (s *syncBuffer) changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.grew == nil {
		s.grew = make(chan struct{})
	}
	return s.grew
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRunWithoutPanelHardware starts the real binary with the Raspberry Pi
// board on a machine that has neither its GPIO pins nor its LCD: it says
// what is missing, keeps running, and stops cleanly on SIGTERM.
func TestRunWithoutPanelHardware(t *testing.T) {
	looptest.Require(t)
	bin := filepath.Join(t.TempDir(), "clonebay")
	out, err := osexec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	dir := t.TempDir()
	var logs syncBuffer
	cmd := osexec.Command(bin, "run", "--board", "rpi4-usb7", "--lock", filepath.Join(dir, "lock"),
		"--defaults", filepath.Join(dir, "none.yaml"), "--settings", filepath.Join(dir, "settings.yaml"))
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	// Read the log as it comes; a process starts as slowly as the machine
	// lets it, so the wait is for the line, not for a time.
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logs.Write(append(sc.Bytes(), '\n'))
		}
	}()
	deadline := time.After(60 * time.Second)
	for !strings.Contains(logs.String(), "drive scan done") {
		select {
		case <-logs.changed():
		case <-scanned:
			t.Fatalf("clonebay run ended before its drive scan:\n%s", logs.String())
		case <-deadline:
			_ = cmd.Process.Kill()
			t.Fatalf("no drive scan within 60 s:\n%s", logs.String())
		}
	}
	second := osexec.Command(bin, "run", "--board", "rpi4-usb7", "--lock", filepath.Join(dir, "lock"))
	out, err = second.CombinedOutput()
	assert.Error(t, err, "a second copy refuses to start")
	assert.Contains(t, string(out), "another clonebay is already running")

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	<-scanned
	require.NoError(t, cmd.Wait(), "a clean exit on SIGTERM:\n%s", logs.String())
	s := logs.String()
	assert.Contains(t, s, "no LCD: running without a display")
	assert.Regexp(t, `pin not found on this machine.*pin=GPIO13|no GPIO on this machine`, s)
	assert.Contains(t, s, "shut down")
}
