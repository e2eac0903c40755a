package engine

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func addr(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }

// Only whole huge pages inside a buffer are advised: a huge page is
// faulted in whole, so one reaching past the buffer would take memory no
// buffer uses.
func TestHugeSpanCoversWholePagesOnly(t *testing.T) {
	const h = 2 << 20
	tests := []struct {
		name       string
		addr       uintptr
		n          int
		start, end int
	}{
		{"aligned, whole pages", 10 * h, 3 * h, 0, 3 * h},
		{"aligned, a part page at the end", 10 * h, 3*h + 4096, 0, 3 * h},
		{"starts a page in", 10*h + 4096, 3 * h, h - 4096, 3*h - 4096},
		{"no whole page", 10*h + 4096, h, 0, 0},
		{"smaller than a page", 10 * h, h - 4096, 0, 0},
		{"exactly the rest of one page and one", 11*h - 8192, h + 8192, 8192, h + 8192},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start, end := hugeSpan(tt.addr, tt.n, h)
			assert.Equal(t, tt.start, start, "start")
			assert.Equal(t, tt.end, end, "end")
			if start < end {
				assert.Zero(t, (tt.addr+uintptr(start))%h, "the span starts on a huge page")
				assert.Zero(t, (end-start)%h, "the span is whole huge pages")
				assert.LessOrEqual(t, end, tt.n, "the span stays inside the buffer")
			}
		})
	}
}

// A job's buffers are cut from the slab, each aligned for direct I/O and
// none overlapping another; once the budget is used up, buffers come from
// the heap as before.
func TestSlabCutsAlignedBuffersThenFallsBack(t *testing.T) {
	s := slab{left: 4 * bufAlign}
	sizes := []int{bufAlign, 100, 2 * bufAlign, bufAlign - 1}
	var got [][]byte
	for _, n := range sizes {
		b := s.take(n)
		require.Len(t, b, n)
		assert.Equal(t, n, cap(b), "a buffer cannot grow into the next")
		assert.Zero(t, addr(b)%bufAlign, "aligned for direct I/O")
		got = append(got, b)
	}
	base := addr(got[0])
	for i, b := range got[:3] {
		assert.GreaterOrEqual(t, addr(b), base, "buffer %d is cut from the slab", i)
		assert.LessOrEqual(t, addr(b)+uintptr(len(b)), base+4*bufAlign, "buffer %d is cut from the slab", i)
	}
	assert.Equal(t, base+bufAlign, addr(got[1]), "a 100-byte buffer still takes a whole aligned block")
	assert.Equal(t, base+2*bufAlign, addr(got[2]))
	last := addr(got[3])
	assert.False(t, last >= base && last < base+4*bufAlign, "the budget was used up: the fourth buffer is the heap's")

	for i, b := range got {
		for j := range b {
			b[j] = byte(i + 1)
		}
	}
	for i, b := range got {
		for _, v := range b {
			if v != byte(i+1) {
				t.Fatalf("buffer %d was overwritten by another", i)
			}
		}
	}
}

// A budget too small for the first buffer makes no piece: the buffer
// comes from the heap.
func TestSlabTooSmallIsNotMade(t *testing.T) {
	s := slab{left: bufAlign}
	b := s.take(2 * bufAlign)
	require.Len(t, b, 2*bufAlign)
	assert.Nil(t, s.free, "no piece was made")
	assert.Equal(t, bufAlign, s.left)
	assert.Zero(t, addr(b)%bufAlign)
}

// Pieces are made as the job asks for buffers, not the whole budget at
// once: a long-lived process whose heap reuses (and so zeroes) the memory
// holds only what a job used, to a piece.
func TestSlabMakesPiecesAsNeeded(t *testing.T) {
	const chunk = 1 << 20
	s := slab{left: 3 * slabPiece}
	var bufs [][]byte
	for range slabPiece/chunk + 1 {
		bufs = append(bufs, s.take(chunk))
	}
	assert.Equal(t, slabPiece, s.left, "two pieces of three were made")
	for i := 1; i < slabPiece/chunk; i++ {
		assert.Equal(t, addr(bufs[i-1])+chunk, addr(bufs[i]), "buffer %d follows the one before in its piece", i)
	}
	assert.Len(t, s.free, slabPiece-chunk, "the second piece holds the rest")
}
