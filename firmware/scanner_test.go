package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/clonebay/clonebay/board"
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
