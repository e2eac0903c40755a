package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/clonebay/clonebay/board"
	"github.com/clonebay/clonebay/hal"
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

// scannerRetry is how long a scanner that is not there (unplugged, not
// plugged in yet) is left before it is opened again.
const scannerRetry = 2 * time.Second

// lastingScanner is the board's scanner for the appliance's whole run: a
// scanner unplugged and plugged in again, or plugged in after the start,
// is read again without a restart.
type lastingScanner struct {
	open func() (*evdev.Reader, error)
	log  *slog.Logger
}

var _ hal.CodeReader = lastingScanner{}

// Run reads the scanner until ctx ends, opening it again whenever it goes
// away.
func (s lastingScanner) Run(ctx context.Context, scans chan<- hal.Scan) error {
	missing := false // said once until it is back
	for {
		r, err := s.open()
		if err == nil {
			if missing {
				s.log.Info("scanner: back")
			}
			missing = false
			err = r.Run(ctx, scans)
			r.Close()
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		if !missing {
			s.log.Warn("scanner: not there; lots can be started from the menu until it is", "err", err)
			missing = true
		}
		select {
		case <-time.After(scannerRetry):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
