package terminal

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/board"
	"github.com/clonebay/clonebay/sim"
)

// TestKeyHelpFitsEightyColumns: a terminal of 80 columns shows every key,
// quitting too; a longer line is cut at the terminal's edge.
func TestKeyHelpFitsEightyColumns(t *testing.T) {
	for i, line := range strings.Split(keyHelp, "\n") {
		assert.LessOrEqual(t, utf8.RuneCountInString(line), 80, "line %d: %q", i+1, line)
	}
	for _, key := range []string{"q=quit", "Enter=OK", "1-9=insert/remove a drive", "b=scan a lot's barcode"} {
		assert.Contains(t, keyHelp, key)
	}
}

// TestUnchangedFrameIsNotSentAgain: the panel is looked at ten times a
// second, but the terminal is sent a frame only when something on it
// changed (or the screen is cleared for a resize).
func TestUnchangedFrameIsNotSentAgain(t *testing.T) {
	b, err := board.Builtin("sim8")
	require.NoError(t, err)
	rig := sim.NewRig(b)
	in, w, err := os.Pipe() // not a terminal: drawn at 80x24
	require.NoError(t, err)
	t.Cleanup(func() { in.Close(); w.Close() })
	var out bytes.Buffer
	p := &termPanel{rig: rig, in: in, out: &out, status: "ready"}

	p.draw(true)
	assert.Contains(t, out.String(), "> ready")
	p.draw(false) // the same panel without the clear
	out.Reset()

	steps := []struct {
		name   string
		change func()
		sent   bool
	}{
		{"nothing changed", func() {}, false},
		{"the LCD shows a new line", func() { require.NoError(t, rig.LCD.Show([]string{"Copying 42%"})) }, true},
		{"nothing changed again", func() {}, false},
		{"a key's status", func() { p.status = "inserted a drive into port 2" }, true},
	}
	for _, s := range steps {
		s.change()
		p.draw(false)
		if s.sent {
			assert.NotEmpty(t, out.String(), s.name)
		} else {
			assert.Empty(t, out.String(), s.name)
		}
		out.Reset()
	}
	p.draw(true)
	assert.Contains(t, out.String(), "\x1b[2J", "a resize clears and draws the whole panel")
}

// TestStartHintGoesAtTheFirstKey: the line that tells how to start a copy
// shows until the first key; on the screens after it (a job running, its
// result, a menu) it would be wrong.
func TestStartHintGoesAtTheFirstKey(t *testing.T) {
	b, err := board.Builtin("sim8")
	require.NoError(t, err)
	rig := sim.NewRig(b)
	in, w, err := os.Pipe()
	require.NoError(t, err)
	t.Cleanup(func() { in.Close(); w.Close() })
	var out bytes.Buffer
	p := &termPanel{rig: rig, in: in, out: &out, status: startHint}

	p.draw(true)
	assert.Contains(t, out.String(), "> "+startHint)
	p.key([]byte("\r"))
	out.Reset()
	p.last = "" // draw it whole again
	p.draw(true)
	assert.Contains(t, out.String(), "Keys:")
	assert.NotContains(t, out.String(), startHint)
	p.key([]byte("2"))
	assert.Equal(t, "inserted a drive into port 2", p.status, "a key that says what it did still does")
}
