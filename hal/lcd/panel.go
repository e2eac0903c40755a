package lcd

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/clonebay/clonebay/hal"
)

// device is what the panel needs of an HD44780 driver; go-hd44780's
// *Lcd has these methods.
type device interface {
	SetPosition(line, pos int) error
	Write(buf []byte) (int, error)
	Command(cmd byte) error
	BacklightOn() error
	BacklightOff() error
}

// HD44780 commands the panel sends itself.
const cmdSetCGRAM = 0x40

// state is one full picture of the display.
type state struct {
	cells     [][]byte
	glyphs    [hal.GlyphCount]hal.Glyph
	backlight bool
}

func blank(g hal.Geometry) state {
	s := state{cells: make([][]byte, g.Rows), backlight: true}
	for i := range s.cells {
		s.cells[i] = []byte(strings.Repeat(" ", g.Cols))
	}
	return s
}

func (s state) clone() state {
	c := s
	c.cells = make([][]byte, len(s.cells))
	for i, row := range s.cells {
		c.cells[i] = append([]byte(nil), row...)
	}
	return c
}

// Panel is a hal.Display on an HD44780. Show, DefineGlyph and SetBacklight
// record the wanted picture and return at once; Run writes it out.
type Panel struct {
	geo hal.Geometry
	dev device
	log *slog.Logger

	mu      sync.Mutex
	want    state
	have    state
	known   bool          // have matches the display (false after an error)
	gen     int           // bumped on every change of want
	applied int           // the gen Run last wrote out
	changed chan struct{} // closed and replaced when applied moves
	wake    chan struct{}
	writes  int // bytes and commands sent, for tests
}

var _ hal.Display = (*Panel)(nil)

func newPanel(dev device, geo hal.Geometry, log *slog.Logger) *Panel {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Panel{geo: geo, dev: dev, log: log, want: blank(geo), have: blank(geo),
		changed: make(chan struct{}), wake: make(chan struct{}, 1)}
}

func (p *Panel) Geometry() hal.Geometry { return p.geo }

func (p *Panel) Show(lines []string) error {
	if err := hal.CheckFrame(p.geo, lines); err != nil {
		return err
	}
	p.update(func(s *state) {
		for r := range s.cells {
			line := ""
			if r < len(lines) {
				line = lines[r]
			}
			copy(s.cells[r], line+strings.Repeat(" ", p.geo.Cols-len(line)))
		}
	})
	return nil
}

func (p *Panel) DefineGlyph(index int, g hal.Glyph) error {
	if index < 0 || index >= hal.GlyphCount {
		return fmt.Errorf("lcd: glyph %d: the HD44780 has glyphs 0..%d", index, hal.GlyphCount-1)
	}
	for row, bits := range g {
		if bits > 0x1f {
			return fmt.Errorf("lcd: glyph %d row %d: 0x%02x is wider than 5 pixels", index, row, bits)
		}
	}
	p.update(func(s *state) { s.glyphs[index] = g })
	return nil
}

func (p *Panel) SetBacklight(on bool) error {
	p.update(func(s *state) { s.backlight = on })
	return nil
}

func (p *Panel) update(fn func(*state)) {
	p.mu.Lock()
	fn(&p.want)
	p.gen++
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// retry is how soon Run tries again after the bus failed.
const retry = time.Second

// Run owns the display until ctx ends: it writes out every change, the
// newest picture winning over ones it had no time for.
func (p *Panel) Run(ctx context.Context) error {
	for {
		p.mu.Lock()
		want, gen := p.want.clone(), p.gen
		p.mu.Unlock()
		if err := p.apply(want); err != nil {
			p.log.Warn("lcd: write failed; redrawing everything on the next try", "err", err)
			p.mu.Lock()
			p.known = false
			p.mu.Unlock()
			select {
			case <-time.After(retry):
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		p.mu.Lock()
		p.applied = gen
		close(p.changed)
		p.changed = make(chan struct{})
		p.mu.Unlock()
		select {
		case <-p.wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Flush waits until everything asked for so far is on the display.
func (p *Panel) Flush(ctx context.Context) error {
	p.mu.Lock()
	target := p.gen
	for p.applied < target {
		ch := p.changed
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		p.mu.Lock()
	}
	p.mu.Unlock()
	return nil
}

// Lines returns what the display shows now, padded rows.
func (p *Panel) Lines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, len(p.have.cells))
	for i, row := range p.have.cells {
		out[i] = string(row)
	}
	return out
}

// apply writes the difference between what the display shows and want.
func (p *Panel) apply(want state) error {
	p.mu.Lock()
	have, known := p.have.clone(), p.known
	p.mu.Unlock()
	commit := func() {
		p.mu.Lock()
		p.have = have.clone()
		p.mu.Unlock()
	}
	defer commit()
	for i, g := range want.glyphs {
		if known && g == have.glyphs[i] {
			continue
		}
		if err := p.cmd(cmdSetCGRAM | byte(i)<<3); err != nil {
			return fmt.Errorf("glyph %d: %w", i, err)
		}
		if err := p.write(g[:]); err != nil {
			return fmt.Errorf("glyph %d: %w", i, err)
		}
		have.glyphs[i] = g
	}
	if !known || want.backlight != have.backlight {
		var err error
		if want.backlight {
			err = p.dev.BacklightOn()
		} else {
			err = p.dev.BacklightOff()
		}
		p.writes++
		if err != nil {
			return fmt.Errorf("backlight: %w", err)
		}
		have.backlight = want.backlight
	}
	for r, row := range want.cells {
		for _, run := range changedRuns(have.cells[r], row, known) {
			if err := p.dev.SetPosition(r, run.from); err != nil {
				return fmt.Errorf("row %d column %d: %w", r+1, run.from+1, err)
			}
			p.writes++
			if err := p.write(row[run.from:run.to]); err != nil {
				return fmt.Errorf("row %d column %d: %w", r+1, run.from+1, err)
			}
			copy(have.cells[r][run.from:run.to], row[run.from:run.to])
		}
	}
	p.mu.Lock()
	p.known = true
	p.mu.Unlock()
	return nil
}

func (p *Panel) cmd(c byte) error {
	p.writes++
	return p.dev.Command(c)
}

func (p *Panel) write(b []byte) error {
	p.writes += len(b)
	_, err := p.dev.Write(b)
	return err
}

// Writes counts the commands and bytes sent to the display so far.
func (p *Panel) Writes() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.writes
}

type run struct{ from, to int }

// changedRuns finds the runs of cells that differ. Runs closer than three
// cells are joined: resending two equal cells costs no more than a new
// cursor position. When the display's state is unknown, the whole row is
// one run.
func changedRuns(have, want []byte, known bool) []run {
	if !known {
		return []run{{0, len(want)}}
	}
	var runs []run
	for i := 0; i < len(want); i++ {
		if have[i] == want[i] {
			continue
		}
		j := i + 1
		for j < len(want) && have[j] != want[j] {
			j++
		}
		if n := len(runs); n > 0 && i-runs[n-1].to < 3 {
			runs[n-1].to = j
		} else {
			runs = append(runs, run{i, j})
		}
		i = j
	}
	return runs
}
