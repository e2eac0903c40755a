package haltest

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/hal"
)

// CodeReaderHarness drives a hal.CodeReader under test.
type CodeReaderHarness struct {
	Reader hal.CodeReader
	// Type types text on the scanner as its keys would: "\n" is Enter.
	// It types printable ASCII and the control characters \t and \x1b.
	Type func(text string)
}

// TestCodeReader checks the hal.CodeReader contract: one Scan per Enter,
// refused codes reported as such, and Run ends with its context.
func TestCodeReader(t *testing.T, h CodeReaderHarness) {
	ctx, cancel := context.WithCancel(context.Background())
	scans := make(chan hal.Scan)
	done := make(chan error, 1)
	go func() { done <- h.Reader.Run(ctx, scans) }()
	next := func() hal.Scan {
		t.Helper()
		select {
		case s := <-scans:
			return s
		case err := <-done:
			require.FailNow(t, "the reader stopped", "%v", err)
		}
		return hal.Scan{}
	}

	for _, tc := range []struct {
		name  string
		typed string
		code  string // "" when the code is refused
		why   string
	}{
		{"a lot name", "A17\n", "A17", ""},
		{"upper and lower case, digits and signs", "Lot-42/b.x_Y\n", "Lot-42/b.x_Y", ""},
		{"a space inside", "ORDER 7\n", "ORDER 7", ""},
		{"an empty line is no code", "\nB2\n", "B2", ""},
		{"a tab inside", "A\t17\n", "", "control character (U+0009)"},
		{"an escape", "\x1b[2J\n", "", "control character (U+001B)"},
		{"a thousand characters", strings.Repeat("7", 1000) + "\n", "", "1000 characters long; at most 128"},
		{"the longest code", strings.Repeat("x", hal.MaxCodeLen) + "\n", strings.Repeat("x", hal.MaxCodeLen), ""},
		{"after a refused code", "C3\n", "C3", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.Type(tc.typed)
			s := next()
			if tc.code != "" {
				require.NoError(t, s.Err)
				assert.Equal(t, tc.code, s.Code)
				return
			}
			assert.ErrorIs(t, s.Err, hal.ErrBadCode)
			assert.ErrorContains(t, s.Err, tc.why)
			assert.Empty(t, s.Code, "a refused code is never passed on")
		})
	}

	cancel()
	assert.ErrorIs(t, <-done, context.Canceled, "Run ends with its context")
}

// StackLightHarness drives a hal.StackLight under test.
type StackLightHarness struct {
	Light hal.StackLight
	// Lamps reads back which lamps are lit.
	Lamps func() hal.Lamps
}

// TestStackLight checks the hal.StackLight contract: every combination
// of lamps shows exactly as set.
func TestStackLight(t *testing.T, h StackLightHarness) {
	for i := range 8 {
		l := hal.Lamps{Green: i&1 != 0, Amber: i&2 != 0, Red: i&4 != 0}
		t.Run(l.String(), func(t *testing.T) {
			require.NoError(t, h.Light.Set(l))
			assert.Equal(t, l, h.Lamps())
		})
	}
	require.NoError(t, h.Light.Set(hal.Lamps{}))
	assert.Equal(t, hal.Lamps{}, h.Lamps(), "all off")
}
