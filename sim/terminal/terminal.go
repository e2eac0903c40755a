// Package terminal is the simulator's front panel in a terminal: the LCD,
// the LEDs and the ports drawn in place, keys for the buttons, for
// putting drives in and out and for faults.
//
// It imports sim and hal; the firmware hands it the running appliance.
package terminal

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/sim"
	"github.com/clonebay/clonebay/ui"
)

// termPanel draws the simulated front panel in a terminal and turns keys
// into buttons, drive inserts and faults.
type termPanel struct {
	rig     *sim.Rig
	in      *os.File
	out     io.Writer
	mu      sync.Mutex
	pending rune   // a fault key waiting for its port digit
	scans   int    // barcodes scanned, to number the next one
	status  string // the last thing a key did
	quit    context.CancelFunc
	last    string // the frame drawn last, so an unchanged one is not sent again
}

// Each line fits an 80-column terminal: q=quit first, where it is seen.
const keyHelp = "Keys: q=quit  arrows=Up/Down  Enter=OK  Backspace/Esc=Back  o=hold OK 2.5s\n" +
	"      1-9=insert/remove a drive  c+N=corrupt port N  w+N=write error\n" +
	"      r+N=pull mid-copy  b=scan a lot's barcode"

// Run runs the appliance (run) with the terminal panel until q, Ctrl-C or
// ctx ends. The terminal is restored on every way out, panics too.
func Run(ctx context.Context, rig *sim.Rig, run func(context.Context) error, in *os.File, out io.Writer) (err error) {
	fd := int(in.Fd())
	old, err := term.MakeRaw(fd)
	if err != nil {
		return fmt.Errorf("terminal: %w (run with --script to drive the simulator without a terminal)", err)
	}
	restore := func() {
		fmt.Fprint(out, "\x1b[0m\x1b[?25h\x1b[?1049l")
		_ = term.Restore(fd, old)
	}
	defer func() {
		if r := recover(); r != nil {
			restore()
			panic(r)
		}
		restore()
	}()
	fmt.Fprint(out, "\x1b[?1049h\x1b[?25l") // alternate screen, no cursor

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p := &termPanel{rig: rig, in: in, out: out, quit: cancel, status: startHint}
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	keys := make(chan []byte, 16)
	go p.readKeys(keys)
	winch := make(chan os.Signal, 1)
	notifyResize(winch)
	defer signal.Stop(winch)

	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	p.draw(true)
	for {
		select {
		case k := <-keys:
			p.key(k)
			p.draw(false)
		case <-tick.C:
			p.draw(false)
		case <-winch:
			p.draw(true)
		case err := <-done:
			return err
		case <-ctx.Done():
			return <-done
		}
	}
}

func (p *termPanel) readKeys(keys chan<- []byte) {
	buf := make([]byte, 16)
	for {
		n, err := p.in.Read(buf)
		if err != nil {
			return
		}
		keys <- append([]byte(nil), buf[:n]...)
	}
}

// startHint is the status line until the first button: how to start.
// After that it would be wrong on most screens (a job running, done, a
// menu), so a button clears it.
const startHint = "Enter twice starts a copy of port 1 onto the others."

func (p *termPanel) key(k []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := string(k)
	b := p.rig.Buttons
	if p.status == startHint {
		p.status = ""
	}
	switch s {
	case "\x1b[A", "\x1bOA":
		b.Click(hal.Up)
		return
	case "\x1b[B", "\x1bOB":
		b.Click(hal.Down)
		return
	case "\r", "\n":
		b.Click(hal.OK)
		return
	case "\x7f", "\x08", "\x1b":
		b.Click(hal.Back)
		return
	case "q", "Q", "\x03":
		p.quit()
		return
	case "o":
		b.Push(hal.OK, hal.Press)
		time.AfterFunc(2500*time.Millisecond, func() { b.Push(hal.OK, hal.Release) })
		p.status = "holding OK for 2.5 s"
		return
	case "b":
		p.scans++
		code := fmt.Sprintf("WO-%04d", p.scans)
		p.rig.Scanner.Scan(code)
		p.status = "scanned the barcode " + code
		return
	case "c", "w", "r":
		p.pending = rune(s[0])
		p.status = "which port? (1-9)"
		return
	}
	if len(s) == 1 && s[0] >= '1' && s[0] <= '9' {
		port := int(s[0] - '0')
		if port > p.rig.Bay.Ports() {
			p.status = fmt.Sprintf("there is no port %d", port)
			return
		}
		if p.pending != 0 {
			p.fault(port)
			return
		}
		if p.rig.Bay.Drive(port) != nil {
			_, _ = p.rig.Bay.Remove(port)
			p.status = fmt.Sprintf("pulled the drive out of port %d", port)
			return
		}
		spec := sim.DefaultTarget()
		if port == p.rig.Board.MasterPort {
			spec = sim.Stick{Master: true, ReadMBps: 120, WriteMBps: 40}
		}
		if _, err := p.rig.Insert(port, spec); err != nil {
			p.status = err.Error()
			return
		}
		p.status = fmt.Sprintf("inserted a drive into port %d", port)
	}
}

func (p *termPanel) fault(port int) {
	kind := p.pending
	p.pending = 0
	d := p.rig.Bay.Drive(port)
	if d == nil {
		p.status = fmt.Sprintf("port %d is empty", port)
		return
	}
	f := map[rune]sim.Fault{
		'c': {Kind: sim.Corrupt, Off: 1 << 20, Len: 512},
		'w': {Kind: sim.WriteError, Off: 16 << 20},
		'r': {Kind: sim.RemoveAt, Off: 32 << 20},
	}[kind]
	d.Inject(f)
	p.status = fmt.Sprintf("port %d: %s", port, f)
}

// draw paints the panel; full clears the screen first (start, resize).
// A frame that is the same as the last one is not sent: the panel is
// looked at every 100 ms, and a terminal over a slow link (a serial
// console, ssh) would otherwise be sent the whole screen ten times a
// second while nothing moves.
func (p *termPanel) draw(full bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	width, height, err := term.GetSize(int(p.in.Fd()))
	if err != nil || width <= 0 {
		width, height = 80, 24
	}
	var sb strings.Builder
	if full {
		sb.WriteString("\x1b[2J")
	}
	sb.WriteString("\x1b[H")
	line := func(s string) {
		if height <= 0 {
			return
		}
		height--
		visible := []rune(s)
		if plainLen(s) > width {
			visible = []rune(truncateANSI(s, width))
		}
		sb.WriteString(string(visible) + "\x1b[0m\x1b[K\r\n")
	}
	geo := p.rig.LCD.Geometry()
	line(fmt.Sprintf("Clonebay simulator: board %s, %s LCD", p.rig.Board.Name, geo))
	border := "+" + strings.Repeat("-", geo.Cols) + "+"
	if !p.rig.LCD.Backlight() {
		border = "+" + strings.Repeat("-", geo.Cols-9) + "light off+"
	}
	line(border)
	for _, l := range strings.Split(p.rig.LCD.Text(), "\n") {
		line("|\x1b[30;42m" + l + "\x1b[0m|")
	}
	line(border)
	blinkOn := time.Now().UnixMilli()/500%2 == 0
	var leds strings.Builder
	for _, port := range p.rig.Board.Ports {
		fmt.Fprintf(&leds, "%s:%s  ", port.Label, ledGlyph(p.rig.LEDs.LED(port.Number), blinkOn))
	}
	line("LEDs " + leds.String())
	line("Stack light " + lampGlyphs(p.rig.Light.Lamps()))
	line("")
	for _, port := range p.rig.Board.Ports {
		d := p.rig.Bay.Drive(port.Number)
		desc := "(empty)"
		if d != nil {
			info := d.Info()
			desc = fmt.Sprintf("%-14s %9s", info.Model, ui.FormatBytes(info.Size))
			if fs := d.Faults(); len(fs) > 0 {
				var names []string
				for _, f := range fs {
					names = append(names, f.String())
				}
				desc += "  faults: " + strings.Join(names, ", ")
			}
		}
		line(fmt.Sprintf(" port %d (%s)  %s", port.Number, port.Label, desc))
	}
	line("")
	for _, h := range strings.Split(keyHelp, "\n") {
		line(h)
	}
	line("> " + p.status)
	sb.WriteString("\x1b[J")
	frame := sb.String()
	if frame == p.last {
		return
	}
	p.last = frame
	io.WriteString(p.out, frame)
}

// lampGlyphs draws the stack light: green, amber and red, lit or dark.
func lampGlyphs(l hal.Lamps) string {
	lamp := func(on bool, color string) string {
		if on {
			return "\x1b[1;" + color + "m●\x1b[0m"
		}
		return "\x1b[2m○\x1b[0m"
	}
	return lamp(l.Green, "32") + " " + lamp(l.Amber, "33") + " " + lamp(l.Red, "31")
}

func ledGlyph(s hal.LEDState, on bool) string {
	switch s {
	case hal.LEDGreen:
		return "\x1b[1;32m●\x1b[0m"
	case hal.LEDRed:
		return "\x1b[1;31m●\x1b[0m"
	case hal.LEDGreenBlink:
		if on {
			return "\x1b[1;32m●\x1b[0m"
		}
		return "\x1b[32m○\x1b[0m"
	case hal.LEDRedBlink:
		if on {
			return "\x1b[1;31m●\x1b[0m"
		}
		return "\x1b[31m○\x1b[0m"
	}
	return "\x1b[2m○\x1b[0m"
}

// plainLen is the visible length of s, without ANSI escapes.
func plainLen(s string) int {
	n, esc := 0, false
	for _, r := range s {
		switch {
		case esc:
			if r >= '@' && r <= '~' && r != '[' {
				esc = false
			}
		case r == '\x1b':
			esc = true
		default:
			n++
		}
	}
	return n
}

// truncateANSI cuts s to width visible characters, keeping escapes.
func truncateANSI(s string, width int) string {
	var sb strings.Builder
	n, esc := 0, false
	for _, r := range s {
		switch {
		case esc:
			sb.WriteRune(r)
			if r >= '@' && r <= '~' && r != '[' {
				esc = false
			}
		case r == '\x1b':
			esc = true
			sb.WriteRune(r)
		case n < width:
			sb.WriteRune(r)
			n++
		}
	}
	return sb.String()
}
