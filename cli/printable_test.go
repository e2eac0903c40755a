package cli

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/record"
)

func TestPrintable(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"SanDisk Ultra 4C53", "SanDisk Ultra 4C53"},
		{"Grüße, ½ GB", "Grüße, ½ GB"},
		{"L\x1b]0;pwned\x07", `L\x1b]0;pwned\a`},
		{"a\nb\tc", `a\nb\tc`},
		{"\u009b31m", `\u009b31m`}, // a C1 control: the 8-bit escape
		{"bad \xff byte", `bad \xff byte`},
		{"a real \uFFFD stays", "a real \uFFFD stays"},
	} {
		assert.Equal(t, tc.want, printable(tc.in), "%q", tc.in)
	}
}

// TestLogShowShowsNoControlSequence: a record's text (a stick's model,
// an edited reason) reaches the terminal escaped.
func TestLogShowShowsNoControlSequence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.log")
	l, _, err := record.Open(fsys.OS, path)
	require.NoError(t, err)
	require.NoError(t, l.Append(record.Entry{Job: "j", Port: 2, Label: "2", Result: "PASS",
		TargetModel: "Stick\x1b]0;pwned\x07", Reason: "ok\x1b[2J"}))
	require.NoError(t, l.Close())
	code, out, errOut := runCLI(t, "log", "show", "--log", path)
	require.Equal(t, 0, code, errOut)
	assert.NotContains(t, out, "\x1b")
	assert.Contains(t, out, `Stick\x1b]0;pwned\a`)
	assert.Contains(t, out, `ok\x1b[2J`)
}
