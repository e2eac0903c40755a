package ui

import (
	"fmt"
	"strings"
	"time"

	"github.com/clonebay/clonebay/hal"

	"github.com/clonebay/clonebay/internal/units"
)

// Glyphs are the custom characters the panel uses: glyph i is a cell of
// the progress bar filled i+1 columns out of 5. The bar has 5 levels per
// cell; an empty cell is a space.
var Glyphs = func() [hal.GlyphCount]hal.Glyph {
	var g [hal.GlyphCount]hal.Glyph
	for level := 1; level <= 5; level++ {
		row := byte(0x1f) &^ (0x1f >> level)
		g[level-1] = hal.Glyph{0, row, row, row, row, row, row, 0}
	}
	return g
}()

// bar draws a progress bar of width cells for done/total.
func bar(width int, done, total int64) string {
	if total <= 0 {
		return strings.Repeat(" ", width)
	}
	done = min(max(done, 0), total)
	fifths := int(done * int64(width) * 5 / total)
	var sb strings.Builder
	for i := 0; i < width; i++ {
		n := min(max(fifths-5*i, 0), 5)
		if n == 0 {
			sb.WriteByte(' ')
		} else {
			sb.WriteByte(byte(n - 1))
		}
	}
	return sb.String()
}

// size writes a byte count in decimal units, as short as the LCD wants:
// "8GB", "7.45GB", "512MB".
func size(n int64) string { return units.Size(n, true) }

// rate writes bytes a second as MB/s.
func rate(bps float64) string {
	if bps >= 100e6 {
		return fmt.Sprintf("%.0fMB/s", bps/1e6)
	}
	return fmt.Sprintf("%.1fMB/s", bps/1e6)
}

// clock writes a duration as m:ss or h:mm:ss.
func clock(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// fit shortens s to n characters, at a word boundary when there is one,
// so a name is never shown with half a word. Non-ASCII bytes become '?'.
func fit(s string, n int) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	s = strings.TrimSpace(string(b))
	if len(s) <= n {
		return s
	}
	if i := strings.LastIndexByte(s[:n+1], ' '); i > 0 {
		return strings.TrimSpace(s[:i])
	}
	return s[:n]
}

// both joins a left and a right part on one line of width n, the right
// part flush right; the left part gives way.
func both(left, right string, n int) string {
	if len(right) >= n {
		return right[:n]
	}
	left = fit(left, n-len(right)-1)
	return left + strings.Repeat(" ", n-len(left)-len(right)) + right
}

// wrap breaks text into at most rows lines of n characters, at spaces.
func wrap(text string, n, rows int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		if len(w) > n {
			w = w[:n]
		}
		switch {
		case line == "":
			line = w
		case len(line)+1+len(w) <= n:
			line += " " + w
		default:
			lines = append(lines, line)
			line = w
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	if len(lines) > rows {
		lines = lines[:rows]
	}
	return lines
}

// Render writes a frame as text, with the bar glyphs drawn as Unicode
// blocks, for golden files and the terminal panel.
func Render(lines []string, cols int) string {
	var sb strings.Builder
	for i, l := range lines {
		if i > 0 {
			sb.WriteByte('\n')
		}
		for j := 0; j < len(l); j++ {
			if c := l[j]; c < hal.GlyphCount {
				sb.WriteRune([]rune{'▏', '▎', '▌', '▊', '█', '?', '?', '?'}[c])
			} else {
				sb.WriteByte(c)
			}
		}
		sb.WriteString(strings.Repeat(" ", max(0, cols-len(l))))
	}
	return sb.String()
}

// FormatBytes writes a byte count the way the panel does ("8GB",
// "268.43MB").
func FormatBytes(n int64) string { return size(n) }
