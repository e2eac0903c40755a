package disk

import (
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
)

// Extent is a byte range of a disk.
type Extent struct {
	Off, Len int64
}

// End is the first byte after the extent.
func (e Extent) End() int64 { return e.Off + e.Len }

// ErrDamaged is returned (wrapped) for a structure that is there but
// broken: the message says what and where.
var ErrDamaged = errors.New("damaged")

func damaged(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrDamaged, fmt.Sprintf(format, args...))
}

// mul is a*b for sizes computed from outside bytes: false when either is
// negative or the product does not fit an int64, so a crafted field can
// never wrap a size check around.
func mul(a, b int64) (int64, bool) {
	if a < 0 || b < 0 {
		return 0, false
	}
	if a == 0 || b == 0 {
		return 0, true
	}
	if a > math.MaxInt64/b {
		return 0, false
	}
	return a * b, true
}

// add is a+b for sizes computed from outside bytes, checked like mul.
func add(a, b int64) (int64, bool) {
	if a < 0 || b < 0 || a > math.MaxInt64-b {
		return 0, false
	}
	return a + b, true
}

// readAt reads exactly len(p) bytes at off.
func readAt(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return fmt.Errorf("read %d bytes at %d: %w", len(p), off, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("read %d bytes at %d: %w", len(p), off, err)
}

// Normalize sorts extents and merges the ones that overlap or touch.
func Normalize(ex []Extent) []Extent {
	var out []Extent
	for _, e := range ex {
		if e.Len > 0 {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Off < out[j].Off })
	merged := out[:0]
	for _, e := range out {
		if n := len(merged); n > 0 && e.Off <= merged[n-1].End() {
			merged[n-1].Len = max(merged[n-1].End(), e.End()) - merged[n-1].Off
			continue
		}
		merged = append(merged, e)
	}
	return merged
}

// bitmapRuns turns an allocation bitmap (bit i set: unit i used, least
// significant bit first) into extents of units, at base + unit*size.
func bitmapRuns(bitmap []byte, units int64, base, size int64) []Extent {
	units = min(units, 8*int64(len(bitmap))) // callers check; never index past it
	var out []Extent
	var start int64 = -1
	for i := int64(0); i <= units; i++ {
		used := i < units && bitmap[i/8]&(1<<(i%8)) != 0
		switch {
		case used && start < 0:
			start = i
		case !used && start >= 0:
			out = append(out, Extent{base + start*size, (i - start) * size})
			start = -1
		}
	}
	return out
}
