package lcd

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/hal/haltest"
)

// fakeLCD records what a driver was told and keeps the picture an HD44780
// would show, to check the diffing against.
type fakeLCD struct {
	mu        sync.Mutex
	ops       []string
	ddram     [4][20]byte
	cgram     [64]byte
	line, pos int
	cgAddr    int // >= 0 while writing CGRAM
	backlight bool
	fail      error
}

func newFake() *fakeLCD {
	f := &fakeLCD{cgAddr: -1}
	for r := range f.ddram {
		for c := range f.ddram[r] {
			f.ddram[r][c] = ' '
		}
	}
	return f
}

func (f *fakeLCD) SetPosition(line, pos int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ops = append(f.ops, fmt.Sprintf("pos %d,%d", line, pos))
	f.line, f.pos, f.cgAddr = line, pos, -1
	return f.fail
}

func (f *fakeLCD) Write(buf []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return 0, f.fail
	}
	f.ops = append(f.ops, fmt.Sprintf("write %q", buf))
	for _, b := range buf {
		if f.cgAddr >= 0 {
			f.cgram[f.cgAddr] = b
			f.cgAddr++
		} else {
			f.ddram[f.line][f.pos] = b
			f.pos++
		}
	}
	return len(buf), nil
}

func (f *fakeLCD) Command(cmd byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ops = append(f.ops, fmt.Sprintf("cmd %#02x", cmd))
	if cmd&0xc0 == cmdSetCGRAM {
		f.cgAddr = int(cmd & 0x3f)
	}
	return f.fail
}

func (f *fakeLCD) BacklightOn() error  { return f.light(true) }
func (f *fakeLCD) BacklightOff() error { return f.light(false) }

func (f *fakeLCD) light(on bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ops = append(f.ops, fmt.Sprintf("backlight %v", on))
	f.backlight = on
	return f.fail
}

func (f *fakeLCD) takeOps() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	ops := f.ops
	f.ops = nil
	return ops
}

func (f *fakeLCD) screen(rows, cols int) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for r := range rows {
		out = append(out, string(f.ddram[r][:cols]))
	}
	return out
}

// start runs a panel on a fake LCD until the test ends.
func start(t *testing.T, geo hal.Geometry) (*Panel, *fakeLCD) {
	f := newFake()
	p := newPanel(f, geo, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = p.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	require.NoError(t, p.Flush(ctx))
	return p, f
}

func TestPanelConformance(t *testing.T) {
	for _, geo := range []hal.Geometry{{Cols: 16, Rows: 2}, {Cols: 20, Rows: 4}} {
		t.Run(geo.String(), func(t *testing.T) {
			p, f := start(t, geo)
			haltest.TestDisplay(t, p, func() []string {
				require.NoError(t, p.Flush(context.Background()))
				assert.Equal(t, p.Lines(), f.screen(geo.Rows, geo.Cols), "the display shows what the panel thinks")
				return p.Lines()
			})
		})
	}
}

func TestOnlyChangedCellsAreWritten(t *testing.T) {
	p, f := start(t, hal.Geometry{Cols: 20, Rows: 4})
	ctx := context.Background()
	f.takeOps()
	require.NoError(t, p.Show([]string{"Copying 7x 8GB", "\x04\x04\x04\x02         42%", "90.0MB/s  ETA 2:15"}))
	require.NoError(t, p.Flush(ctx))
	f.takeOps()

	require.NoError(t, p.Show([]string{"Copying 7x 8GB", "\x04\x04\x04\x03         43%", "90.0MB/s  ETA 2:14"}))
	require.NoError(t, p.Flush(ctx))
	assert.Equal(t, []string{
		`pos 1,3`, `write "\x03"`,
		`pos 1,14`, `write "3"`,
		`pos 2,17`, `write "4"`,
	}, f.takeOps(), "a progress tick rewrites three cells")

	require.NoError(t, p.Show([]string{"Copying 7x 8GB", "\x04\x04\x04\x03         43%", "90.0MB/s  ETA 2:14"}))
	require.NoError(t, p.Flush(ctx))
	assert.Empty(t, f.takeOps(), "an unchanged frame costs nothing")

	require.NoError(t, p.DefineGlyph(2, hal.Glyph{0x1c, 0x1c}))
	require.NoError(t, p.SetBacklight(false))
	require.NoError(t, p.Flush(ctx))
	assert.Equal(t, []string{`cmd 0x50`, `write "\x1c\x1c\x00\x00\x00\x00\x00\x00"`, `backlight false`}, f.takeOps())
	assert.Equal(t, byte(0x1c), f.cgram[16], "glyph 2 lives at CGRAM address 16")
}

func TestChangedRuns(t *testing.T) {
	for _, tc := range []struct {
		have, want string
		known      bool
		runs       []run
	}{
		{"abcdef", "abcdef", true, nil},
		{"abcdef", "xbcdef", true, []run{{0, 1}}},
		{"abcdef", "xbxdef", true, []run{{0, 3}}},
		{"abcdef", "xbcdex", true, []run{{0, 1}, {5, 6}}},
		{"abcdef", "abcdef", false, []run{{0, 6}}},
	} {
		assert.Equal(t, tc.runs, changedRuns([]byte(tc.have), []byte(tc.want), tc.known), "%s -> %s", tc.have, tc.want)
	}
}

func TestBusErrorRedrawsEverything(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, f := start(t, hal.Geometry{Cols: 16, Rows: 2})
		f.mu.Lock()
		f.fail = errors.New("i2c: remote I/O error")
		f.mu.Unlock()
		require.NoError(t, p.Show([]string{"Hello"}))
		time.Sleep(100 * time.Millisecond)
		f.mu.Lock()
		f.fail = nil
		f.mu.Unlock()
		f.takeOps()
		time.Sleep(retry)
		require.NoError(t, p.Flush(context.Background()))
		ops := f.takeOps()
		assert.Contains(t, ops, `write "Hello           "`, "after a failure the whole screen is redrawn")
		assert.Equal(t, []string{"Hello           ", "                "}, f.screen(2, 16))
	})
}
