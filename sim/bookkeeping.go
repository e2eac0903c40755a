package sim

import (
	"context"
	"fmt"
	"sync"

	"github.com/clonebay/clonebay/hal"
)

// Scanner is a virtual USB barcode scanner. Tests and the terminal panel
// type into it as its keys would, or scan a whole code; Run passes one
// Scan per Enter, refusing what hal.CheckCode refuses, as a real scanner
// reader does.
type Scanner struct {
	mu      sync.Mutex
	line    []rune // the code being typed, kept to one past the limit
	typed   int    // its length
	queue   []hal.Scan
	ready   chan struct{} // signalled when queue grows
	scanned int
}

var _ hal.CodeReader = (*Scanner)(nil)

// NewScanner makes a virtual scanner with nothing typed.
func NewScanner() *Scanner { return &Scanner{ready: make(chan struct{}, 1)} }

// Type types text as keys: "\n" ends a code (an empty line is no code);
// every other character, control characters included, goes into it.
func (s *Scanner) Type(text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range text {
		if r != '\n' {
			// A long code is only counted past the limit, however long
			// the scanner goes on.
			if s.typed++; s.typed <= hal.MaxCodeLen+1 {
				s.line = append(s.line, r)
			}
			continue
		}
		if s.typed == 0 {
			continue
		}
		s.queue = append(s.queue, scanOf(string(s.line), s.typed))
		s.line, s.typed = s.line[:0], 0
		s.scanned++
	}
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

// Scan scans one code: its characters, then Enter.
func (s *Scanner) Scan(code string) { s.Type(code + "\n") }

// Scanned counts the codes typed so far (refused ones included).
func (s *Scanner) Scanned() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.scanned
}

func scanOf(code string, typed int) hal.Scan {
	if typed > hal.MaxCodeLen {
		return hal.Scan{Err: fmt.Errorf("%w: the code is %d characters long; at most %d", hal.ErrBadCode, typed, hal.MaxCodeLen)}
	}
	if err := hal.CheckCode(code); err != nil {
		return hal.Scan{Err: err}
	}
	return hal.Scan{Code: code}
}

// Run passes the scanned codes on, in order, until ctx ends.
func (s *Scanner) Run(ctx context.Context, scans chan<- hal.Scan) error {
	for {
		s.mu.Lock()
		var next *hal.Scan
		if len(s.queue) > 0 {
			next = &s.queue[0]
		}
		s.mu.Unlock()
		if next == nil {
			select {
			case <-s.ready:
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		select {
		case scans <- *next:
			s.mu.Lock()
			s.queue = s.queue[1:]
			s.mu.Unlock()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// StackLight is a virtual stack light whose lamps tests and the terminal
// panel read.
type StackLight struct {
	mu    sync.Mutex
	lamps hal.Lamps
	sets  int
}

var _ hal.StackLight = (*StackLight)(nil)

// NewStackLight makes a virtual stack light, all lamps off.
func NewStackLight() *StackLight { return &StackLight{} }

func (l *StackLight) Set(lamps hal.Lamps) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lamps = lamps
	l.sets++
	return nil
}

// Lamps returns the lamps lit now.
func (l *StackLight) Lamps() hal.Lamps {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lamps
}

// Sets counts the calls to Set.
func (l *StackLight) Sets() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sets
}

// String draws the light for the terminal panel: "[G - -]", top lamp
// last as on a tower read left to right.
func (l *StackLight) String() string {
	lamps := l.Lamps()
	mark := func(on bool, c string) string {
		if on {
			return c
		}
		return "-"
	}
	return "[" + mark(lamps.Green, "G") + " " + mark(lamps.Amber, "A") + " " + mark(lamps.Red, "R") + "]"
}
