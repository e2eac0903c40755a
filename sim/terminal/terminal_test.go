package terminal

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
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
