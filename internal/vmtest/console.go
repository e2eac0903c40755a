package vmtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"time"
)

// Console keeps a machine's serial console: every byte goes to a log,
// and each line, stamped with the host's time of arrival, can be waited
// for.
type Console struct {
	log io.Writer

	mu      sync.Mutex
	partial []byte
	lines   []Line
	newLine chan struct{} // closed and replaced when a line arrives
}

// Line is one line of console output and when the host read it.
type Line struct {
	Text string
	At   time.Time
}

// NewConsole returns a console that copies everything to log.
func NewConsole(log io.Writer) *Console {
	return &Console{log: log, newLine: make(chan struct{})}
}

// Write takes console output (QEMU's standard output).
func (c *Console) Write(p []byte) (int, error) {
	now := time.Now()
	_, err := c.log.Write(p)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.partial = append(c.partial, p...)
	added := false
	for {
		i := bytes.IndexByte(c.partial, '\n')
		if i < 0 {
			break
		}
		text := string(bytes.TrimRight(c.partial[:i], "\r"))
		c.partial = c.partial[i+1:]
		c.lines = append(c.lines, Line{Text: text, At: now})
		added = true
	}
	if added {
		close(c.newLine)
		c.newLine = make(chan struct{})
	}
	return len(p), err
}

// Mark is the number of lines read so far: WaitLine from a mark looks
// only at what came after it.
func (c *Console) Mark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.lines)
}

// Lines returns the lines from a mark on.
func (c *Console) Lines(from int) []Line {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Line(nil), c.lines[min(from, len(c.lines)):]...)
}

// WaitLine waits for a line from the mark on that match accepts, and
// returns it with the mark just after it. It stops early when stop is
// closed (the machine ended).
func (c *Console) WaitLine(ctx context.Context, from int, stop <-chan struct{}, what string, match func(string) bool) (Line, int, error) {
	for {
		c.mu.Lock()
		lines, wake := c.lines, c.newLine
		c.mu.Unlock()
		for i := from; i < len(lines); i++ {
			if match(lines[i].Text) {
				return lines[i], i + 1, nil
			}
		}
		from = len(lines)
		select {
		case <-wake:
		case <-stop:
			return Line{}, from, fmt.Errorf("console: the machine ended before %s", what)
		case <-ctx.Done():
			return Line{}, from, fmt.Errorf("console: waiting for %s: %w", what, ctx.Err())
		}
	}
}
