package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/board"
	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/hal/evdev"
)

func TestScannerLayoutsAgree(t *testing.T) {
	assert.Equal(t, board.ScannerLayouts, evdev.LayoutNames(), "every layout a board may name can be decoded, and no other")
}

func TestProbeScanner(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "event7")
	for _, tc := range []struct {
		name string
		sc   board.Scanner
		want string
	}{
		{"nothing there", board.Scanner{Device: missing}, "scanner: open " + missing + ": no such file or directory"},
		{"not an input device", board.Scanner{Device: "/dev/null", Layout: "de"}, "scanner /dev/null: not an input event device"},
		{"an unknown layout", board.Scanner{Device: "/dev/null", Layout: "fr"}, `scanner: scanner layout "fr": give one of us, de`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Contains(t, probeScanner(&tc.sc), tc.want)
		})
	}
}

// recordedScans is what a US scanner sends for "LOT-0042" and "A17", as
// recorded for the evdev package's tests.
func recordedScans(t *testing.T) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "hal", "evdev", "testdata", "scanner-us.hex"))
	require.NoError(t, err)
	var stream []byte
	for _, line := range strings.Fields(string(raw)) {
		b, err := hex.DecodeString(line)
		require.NoError(t, err)
		stream = append(stream, b...)
	}
	return stream
}

// TestScannerComesBack: a scanner missing at the start, and one unplugged
// mid-run, is opened again every scannerRetry and read on; each absence
// is logged once.
func TestScannerComesBack(t *testing.T) {
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		t.Skip("the recorded events are 64-bit input_event records")
	}
	stream := recordedScans(t)
	synctest.Test(t, func(t *testing.T) {
		var logs bytes.Buffer
		opens := 0
		writers := make(chan *io.PipeWriter, 2)
		s := lastingScanner{log: slog.New(slog.NewTextHandler(&logs, nil)), open: func() (*evdev.Reader, error) {
			opens++
			if opens == 1 {
				return nil, errors.New("open /dev/input/by-id/usb-scanner-event-kbd: no such file or directory")
			}
			pr, pw := io.Pipe()
			writers <- pw
			return evdev.NewReader("usb-scanner", pr, evdev.US), nil
		}}
		ctx, cancel := context.WithCancel(context.Background())
		scans := make(chan hal.Scan, 8)
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx, scans) }()
		start := time.Now()
		for plug := range 2 {
			pw := <-writers
			go func() {
				_, _ = pw.Write(stream)
				if plug == 0 {
					pw.Close() // unplugged
				}
			}()
			for _, want := range []string{"LOT-0042", "A17"} {
				assert.Equal(t, hal.Scan{Code: want}, <-scans, "plug %d", plug)
			}
		}
		assert.Equal(t, 2*scannerRetry, time.Since(start), "opened again after each absence's wait")
		cancel()
		assert.ErrorIs(t, <-done, context.Canceled)
		assert.Equal(t, 3, opens)
		assert.Equal(t, 2, strings.Count(logs.String(), "scanner: not there"), logs.String())
		assert.Equal(t, 2, strings.Count(logs.String(), "scanner: back"), logs.String())
	})
}
