package evdev

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/clonebay/clonebay/hal"
)

// wordBytes is this build's word size: the kernel writes input_event
// records in the layout of the reading process.
const wordBytes = strconv.IntSize / 8

// Reader reads codes from a stream of input_event records: a scanner's
// event device, or any other stream in that format.
type Reader struct {
	name      string
	r         io.ReadCloser
	layout    Layout
	wordBytes int
}

var _ hal.CodeReader = (*Reader)(nil)

// NewReader reads the records of r, decoded with the layout. Run owns r
// and closes it when it returns. name says where the records come from in
// errors.
func NewReader(name string, r io.ReadCloser, l Layout) *Reader {
	return &Reader{name: name, r: r, layout: l, wordBytes: wordBytes}
}

// Layout is the layout the reader decodes with.
func (rd *Reader) Layout() Layout { return rd.layout }

// Close closes the stream of a reader that will not run (Run closes it
// itself).
func (rd *Reader) Close() error { return rd.r.Close() }

// Run sends one scan per code until ctx ends (then it returns ctx.Err())
// or the stream fails or ends (then it returns why: a scanner that was
// unplugged reads as an error).
func (rd *Reader) Run(ctx context.Context, scans chan<- hal.Scan) error {
	// Closing the stream is what ends a read that waits for a key.
	stop := context.AfterFunc(ctx, func() { rd.r.Close() })
	defer func() {
		if stop() {
			rd.r.Close()
		}
	}()
	dec := NewDecoder(rd.layout)
	buf := make([]byte, 64*EventSize(rd.wordBytes))
	size := EventSize(rd.wordBytes)
	have := 0
	for {
		n, err := rd.r.Read(buf[have:])
		have += n
		full := have - have%size
		for off := 0; off < full; off += size {
			if scan, ok := dec.Event(ParseEvent(buf[off:off+size], rd.wordBytes)); ok {
				select {
				case scans <- scan:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		}
		have = copy(buf, buf[full:have])
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("scanner %s: the device went away", rd.name)
			}
			if errors.Is(err, os.ErrClosed) {
				return fmt.Errorf("scanner %s: closed", rd.name)
			}
			return fmt.Errorf("scanner %s: read: %w", rd.name, err)
		}
	}
}
