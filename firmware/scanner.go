package main

import (
	"fmt"

	"github.com/clonebay/clonebay/board"
	"github.com/clonebay/clonebay/hal/evdev"
)

// openScanner opens and grabs the board's barcode scanner.
func openScanner(sc *board.Scanner) (*evdev.Reader, error) {
	layout, err := evdev.LayoutByName(sc.Layout)
	if err != nil {
		return nil, err
	}
	return evdev.Open(sc.Device, layout)
}

// probeScanner says whether the board's scanner is there and can be
// taken: it is opened, grabbed and let go.
func probeScanner(sc *board.Scanner) string {
	r, err := openScanner(sc)
	if err != nil {
		return fmt.Sprintf("scanner: %v", err)
	}
	r.Close()
	return fmt.Sprintf("scanner: found at %s (%s layout)", sc.Device, r.Layout().Name())
}
