//go:build linux

package main

import (
	"fmt"
	"io"
	"os"

	"github.com/d2r2/go-i2c"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/host/v3"

	"github.com/clonebay/clonebay/board"
	"github.com/clonebay/clonebay/hal/blockdev"
	"github.com/clonebay/clonebay/hal/lcd"
)

// probeHardware says which of the board's pins, LCD and drives this
// machine has.
func probeHardware(w io.Writer, b *board.Board) {
	var pins []struct {
		what string
		pin  *board.Pin
	}
	add := func(what string, p *board.Pin) {
		if p != nil {
			pins = append(pins, struct {
				what string
				pin  *board.Pin
			}{what, p})
		}
	}
	add("button Up", b.Buttons.Up)
	add("button Down", b.Buttons.Down)
	add("button OK", b.Buttons.OK)
	add("button Back", b.Buttons.Back)
	add("buzzer", b.Buzzer)
	for _, p := range b.Ports {
		add("port "+p.Label+" green LED", p.GreenLED)
		add("port "+p.Label+" red LED", p.RedLED)
	}
	if l := b.StackLight; l != nil {
		add("stack light green", l.Green)
		add("stack light amber", l.Amber)
		add("stack light red", l.Red)
	}
	if len(pins) > 0 {
		if _, err := host.Init(); err != nil {
			fmt.Fprintf(w, "gpio: no GPIO driver on this machine (%v)\n", err)
		}
		for _, p := range pins {
			state := "missing"
			if gpioreg.ByName(p.pin.Name) != nil {
				state = "found"
			}
			fmt.Fprintf(w, "pin %-8s %-22s %s\n", p.pin.Name, p.what, state)
		}
	}
	if l := b.LCD; l != nil {
		lcd.Quiet()
		dev := fmt.Sprintf("/dev/i2c-%d", l.Bus)
		switch _, err := os.Stat(dev); {
		case err != nil:
			fmt.Fprintf(w, "lcd: %s is missing (enable I2C and load i2c-dev)\n", dev)
		default:
			bus, err := i2c.NewI2C(uint8(l.Address), l.Bus)
			if err != nil {
				fmt.Fprintf(w, "lcd: %s address 0x%02x: %v\n", dev, l.Address, err)
				break
			}
			_, err = bus.WriteBytes([]byte{0x08}) // backlight on, nothing else
			bus.Close()
			if err != nil {
				fmt.Fprintf(w, "lcd: nothing answers at %s address 0x%02x\n", dev, l.Address)
			} else {
				fmt.Fprintf(w, "lcd: found at %s address 0x%02x (%dx%d)\n", dev, l.Address, l.Cols, l.Rows)
			}
		}
	}
	if sc := b.Scanner; sc != nil {
		fmt.Fprintln(w, probeScanner(sc))
	}
	drives, err := scanDrives()
	if err != nil {
		fmt.Fprintf(w, "drives: cannot list them: %v\n", err)
		return
	}
	isSystem, _ := blockdev.SystemCheck()
	onPort := map[int]string{}
	for _, d := range drives {
		p, ok := b.PortFor(d.Path, d.Node)
		switch {
		case isSystem != nil && isSystem(d.Node):
			fmt.Fprintf(w, "drive %s: the system disk, never offered\n", d.Node)
		case !b.Offers(string(d.Bus)):
			continue
		case ok:
			onPort[p.Number] = fmt.Sprintf("%s (%s %s, %d bytes)", d.Node, d.Vendor, d.Model, d.Size)
		default:
			fmt.Fprintf(w, "drive %s (path %s): on no port\n", d.Node, d.Path)
		}
	}
	for _, p := range b.Ports {
		state := "empty"
		if s, ok := onPort[p.Number]; ok {
			state = s
		}
		fmt.Fprintf(w, "port %d (%s): %s\n", p.Number, p.Label, state)
	}
}
