package board_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/board"
)

const bookkeepingBoard = goodBoard + `
scanner: {device: /dev/input/by-id/usb-Honeywell_Imaging_1900-event-kbd, layout: de}
stack_light:
  green: {pin: GPIO20}
  amber: {pin: GPIO21}
  red: {pin: GPIO16, active_low: true}
`

func TestParseScannerAndStackLight(t *testing.T) {
	b, err := board.Parse([]byte(bookkeepingBoard), "bench.yaml")
	require.NoError(t, err)
	assert.Equal(t, &board.Scanner{Device: "/dev/input/by-id/usb-Honeywell_Imaging_1900-event-kbd", Layout: "de"}, b.Scanner)
	assert.Equal(t, &board.StackLight{Green: &board.Pin{Name: "GPIO20"}, Amber: &board.Pin{Name: "GPIO21"},
		Red: &board.Pin{Name: "GPIO16", ActiveLow: true}}, b.StackLight)

	for _, tc := range []struct {
		name     string
		from, to string
		wantErr  string
	}{
		{"no layout is US", ", layout: de}", "}", ""},
		{"a tower without amber", "  amber: {pin: GPIO21}\n", "", ""},
		{"an unknown layout", "layout: de", "layout: fr", `scanner.layout: "fr" is not one of us, de`},
		{"no device", "device: /dev/input/by-id/usb-Honeywell_Imaging_1900-event-kbd", "device: ''", "scanner.device: is empty"},
		{"a disk as the scanner", "/dev/input/by-id/usb-Honeywell_Imaging_1900-event-kbd", "/dev/sda",
			`scanner.device: "/dev/sda" is not an input device under /dev/input/`},
		{"a way out of /dev/input", "/dev/input/by-id/usb-Honeywell_Imaging_1900-event-kbd", "/dev/input/../sda",
			`scanner.device: "/dev/input/../sda" is not an input device`},
		{"a relative device", "/dev/input/by-id/usb-Honeywell_Imaging_1900-event-kbd", "input/event3", "is not an input device"},
		{"a control character", "/dev/input/by-id/usb-Honeywell_Imaging_1900-event-kbd", `"/dev/input/event3\n"`,
			`scanner.device: "/dev/input/event3\n" is not a device path`},
		{"a long device", "/dev/input/by-id/usb-Honeywell_Imaging_1900-event-kbd", "/dev/input/" + strings.Repeat("x", 300),
			"is not a device path (up to 255 printable characters, no spaces)"},
		{"a tower without lamps", "stack_light:\n  green: {pin: GPIO20}\n  amber: {pin: GPIO21}\n  red: {pin: GPIO16, active_low: true}\n",
			"stack_light: {}\n", "stack_light: names no lamp (green, amber, red)"},
		{"a lamp on a button's pin", "red: {pin: GPIO16", "red: {pin: GPIO13", "stack_light.red.pin: GPIO13 is already used by buttons.ok"},
		{"a lamp without a pin", "amber: {pin: GPIO21}", "amber: {active_low: true}", "stack_light.amber.pin: is empty"},
		{"a misspelt lamp", "amber:", "ambre:", "field ambre not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := board.Parse([]byte(strings.Replace(bookkeepingBoard, tc.from, tc.to, 1)), "bench.yaml")
			if tc.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tc.wantErr)
			assert.ErrorContains(t, err, "bench.yaml")
		})
	}

	t.Run("round trip", func(t *testing.T) {
		data, err := b.Marshal()
		require.NoError(t, err)
		back, err := board.Parse(data, "again.yaml")
		require.NoError(t, err)
		assert.Equal(t, b, back)
	})
}
