package board_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/board"
)

func TestBuiltinsAreValid(t *testing.T) {
	names := board.Names()
	require.Subset(t, names, []string{"sim8", "rpi4-usb7", "loop-test"})
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			b, err := board.Builtin(name)
			require.NoError(t, err)
			assert.Equal(t, name, b.Name)
			assert.NoError(t, b.Validate())
		})
	}
}

func TestBuiltinGeometry(t *testing.T) {
	for _, tc := range []struct {
		name       string
		cols, rows int
		ports      int
	}{
		{"sim8", 20, 4, 8},
		{"rpi4-usb7", 16, 2, 7},
		{"loop-test", 20, 4, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := board.Builtin(tc.name)
			require.NoError(t, err)
			cols, rows := b.Geometry()
			assert.Equal(t, tc.cols, cols)
			assert.Equal(t, tc.rows, rows)
			assert.Len(t, b.Ports, tc.ports)
			assert.Equal(t, tc.ports, b.MaxPort())
		})
	}
}

func TestUnknownBoard(t *testing.T) {
	_, err := board.Load("nosuch")
	require.ErrorIs(t, err, board.ErrUnknown)
	assert.Contains(t, err.Error(), "sim8", "the error lists the boards there are")
}

func TestPortFor(t *testing.T) {
	rpi, err := board.Builtin("rpi4-usb7")
	require.NoError(t, err)
	loop, err := board.Builtin("loop-test")
	require.NoError(t, err)
	for _, tc := range []struct {
		name       string
		b          *board.Board
		path, node string
		port       int
	}{
		{"hub port 3", rpi, "platform-fd500000.pcie-pci-0000:01:00.0-usb-0:1.3:1.0-scsi-0:0:0:0", "/dev/sdc", 3},
		{"master port", rpi, "platform-fd500000.pcie-pci-0000:01:00.0-usb-0:1.1:1.0-scsi-0:0:0:0", "/dev/sda", 1},
		{"other usb port", rpi, "platform-fd500000.pcie-pci-0000:01:00.0-usb-0:2:1.0-scsi-0:0:0:0", "/dev/sdh", 0},
		{"loop by node", loop, "/devices/virtual/block/loop2", "/dev/loop2", 3},
		{"loop on no port", loop, "/devices/virtual/block/loop9", "/dev/loop9", 0},
		{"nothing to match", loop, "", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, ok := tc.b.PortFor(tc.path, tc.node)
			assert.Equal(t, tc.port != 0, ok)
			assert.Equal(t, tc.port, p.Number)
		})
	}
}

func TestExcluded(t *testing.T) {
	rpi, err := board.Builtin("rpi4-usb7")
	require.NoError(t, err)
	assert.True(t, rpi.Excluded("platform-fe340000.mmc", "/dev/mmcblk0"))
	assert.False(t, rpi.Excluded("platform-fd500000.pcie-pci-0000:01:00.0-usb-0:1.3:1.0-scsi-0:0:0:0", "/dev/sdc"))
	assert.True(t, rpi.Offers("usb"))
	assert.False(t, rpi.Offers("loop"))
}

const goodBoard = `
name: bench
master_port: 1
buses: [usb]
lcd: {bus: 0, address: 0x3f, cols: 16, rows: 2}
buttons:
  ok: {pin: GPIO13, active_low: true}
ports:
  - {number: 1, label: M, match: "usb-1*", green_led: {pin: GPIO4}}
  - {number: 2, label: T1, match: "usb-2*"}
`

func TestParseNamesTheBadField(t *testing.T) {
	for _, tc := range []struct {
		name     string
		from, to string // replace in goodBoard
		wantErr  string
	}{
		{"good", "", "", ""},
		{"empty name", "name: bench", "name: ''", "name: is empty"},
		{"master not a port", "master_port: 1", "master_port: 9", "master_port: 9 is not one of the board's ports"},
		{"unknown bus", "buses: [usb]", "buses: [usb, floppy]", `buses[1]: "floppy" is not one of`},
		{"no buses", "buses: [usb]", "buses: []", "buses: lists no kind of drive"},
		{"bad geometry", "cols: 16, rows: 2", "cols: 17, rows: 2", "lcd: 17x2 is not a supported geometry"},
		{"bad address", "address: 0x3f", "address: 0x99", "lcd.address: 0x99 is not a 7-bit I2C device address"},
		{"duplicate port", "number: 2,", "number: 1,", "ports[1].number: port 1 is defined twice"},
		{"long label", "label: T1", "label: TARGET", `ports[1].label: "TARGET" is longer than 4 characters`},
		{"duplicate label", "label: T1", "label: M", `ports[1].label: "M" is used twice`},
		{"empty match", `match: "usb-2*"`, `match: ""`, "ports[1].match: is empty"},
		{"bad glob", `match: "usb-2*"`, `match: "usb-[2"`, "ports[1].match: \"usb-[2\" is not a valid pattern"},
		{"pin used twice", "ok: {pin: GPIO13", "ok: {pin: GPIO4", "buttons.ok.pin: GPIO4 is already used by ports[0].green_led"},
		{"misspelt key", "master_port:", "mastr_port:", "field mastr_port not found"},
		{"port number out of int32", "number: 2,", "number: 2147483648,", "ports[1].number: 2147483648 is not a port number (1..64)"},
		{"port 0", "number: 2,", "number: 0,", "ports[1].number: 0 is not a port number (1..64)"},
		{"port 65", "number: 2,", "number: 65,", "ports[1].number: 65 is not a port number (1..64)"},
		{"huge I2C bus", "bus: 0,", "bus: 2147483647,", "lcd.bus: 2147483647 is not an I2C bus number (0..255)"},
		{"negative I2C bus", "bus: 0,", "bus: -1,", "lcd.bus: -1 is not an I2C bus number"},
		{"reserved I2C address", "address: 0x3f", "address: 0x02", "lcd.address: 0x2 is not a 7-bit I2C device address (0x03..0x77)"},
		{"huge I2C address", "address: 0x3f", "address: 9223372036854775807", "lcd.address: 0x7fffffffffffffff is not"},
		{"a pin name with a space", "ok: {pin: GPIO13", "ok: {pin: 'GPIO 13'", `buttons.ok.pin: "GPIO 13" is not a pin name`},
		{"a long pin name", "ok: {pin: GPIO13", "ok: {pin: GPIO" + strings.Repeat("1", 40), "buttons.ok.pin: \"GPIO111"},
		{"a long pattern", `match: "usb-2*"`, `match: "usb-2` + strings.Repeat("x", 200) + `"`, "ports[1].match: is longer than 128 characters"},
		{"one pattern inside another", `match: "usb-2*"`, `match: "usb-[12]x*"`,
			`ports[1].match: port 2's "usb-[12]x*" and port 1's "usb-1*" (ports[0]) can match one drive: both match "usb-1x"`},
		{"the same pattern twice", `match: "usb-2*"`, `match: "usb-1*"`, `both match "usb-1"`},
		{"a node pattern next to a path pattern", `match: "usb-2*"`, `match: "/dev/sd?"`,
			`ports[1].match: port 2's "/dev/sd?" and port 1's "usb-1*" (ports[0]) can match one drive: a drive whose path is "usb-1" and whose node is "/dev/sda" matches both`},
		{"not yaml", "ports:", "ports: [", "did not find expected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := board.Parse([]byte(strings.Replace(goodBoard, tc.from, tc.to, 1)), "bench.yaml")
			if tc.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
			assert.Contains(t, err.Error(), "bench.yaml", "the error names the file")
		})
	}
}

func TestParseEmptyAndMultiDocument(t *testing.T) {
	_, err := board.Parse(nil, "empty.yaml")
	assert.ErrorContains(t, err, "empty.yaml: the file is empty")
	_, err = board.Parse([]byte(goodBoard+"\n---\nname: x\n"), "two.yaml")
	assert.ErrorContains(t, err, "more than one YAML document")
}

func TestLoadFileRoundTrip(t *testing.T) {
	b, err := board.Builtin("rpi4-usb7")
	require.NoError(t, err)
	b.Name = "my-box"
	data, err := b.Marshal()
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "my-box.yaml")
	require.NoError(t, os.WriteFile(file, data, 0o644))

	got, err := board.Load(file)
	require.NoError(t, err)
	assert.Equal(t, b, got)

	_, err = board.Load(filepath.Join(t.TempDir(), "missing.yaml"))
	assert.ErrorContains(t, err, "missing.yaml")
}

// FuzzParse feeds arbitrary bytes to the board parser: it may refuse them,
// but must never panic, and what it accepts must validate.
func FuzzParse(f *testing.F) {
	for _, name := range board.Names() {
		b, err := board.Builtin(name)
		require.NoError(f, err)
		data, err := b.Marshal()
		require.NoError(f, err)
		f.Add(data)
	}
	f.Add([]byte(goodBoard))
	f.Add([]byte("name: [\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := board.Parse(data, "fuzz")
		if err == nil {
			assert.NoError(t, b.Validate())
		}
	})
}
