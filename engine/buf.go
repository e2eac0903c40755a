package engine

import (
	"sync"
	"unsafe"
)

// bufAlign is the alignment of every buffer the engine does I/O with, so
// drives can use direct I/O (O_DIRECT needs the logical sector size; 4096
// covers 512e and 4Kn drives).
const bufAlign = 4096

// alignedBuf returns n bytes starting at a multiple of bufAlign.
func alignedBuf(n int) []byte {
	raw := make([]byte, n+bufAlign)
	skip := (bufAlign - int(uintptr(unsafe.Pointer(unsafe.SliceData(raw)))%bufAlign)) % bufAlign
	return raw[skip : skip+n : skip+n]
}

// slab hands a job's buffers out of pieces of a few MiB, made as the job
// needs them, up to the job's budget. Fresh memory is paid for when it is
// first written, a page fault every 4 KiB, and a job's tens of MiB of
// buffers took a 1 -> 8 copy a tenth of its time on a VM where faults are
// dear. A piece can ask the kernel for huge pages instead (adviseHuge): a
// fault every 2 MiB, and 32 MiB faulted in about 20 times faster there.
// Pieces rather than one slab of the whole budget: the heap zeroes (and
// so writes) all of an allocation it reuses, and a long-lived process
// would hold the budget where the job used half. The job's buffers are
// made once and reused, so nothing is handed back: a piece lives as long
// as any of its buffers. A buffer past the budget comes from the heap as
// before.
type slab struct {
	mu   sync.Mutex
	left int      // budget bytes not yet made into pieces
	free []byte   // what is left of the last piece
	huge [][]byte // the parts advised to huge pages
}

// slabPiece is the size of a slab's piece: four huge pages, of which an
// allocation at any 8 KiB boundary holds at least three whole ones.
const slabPiece = 8 << 20

// take returns n aligned bytes from the slab, or from the heap once the
// budget is used up.
func (s *slab) take(n int) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	cut := (n + bufAlign - 1) / bufAlign * bufAlign
	if cut > len(s.free) {
		size := min(max(slabPiece, cut), s.left)
		if size < cut {
			return alignedBuf(n)
		}
		s.left -= size
		s.free = alignedBuf(size)
		if h := adviseHuge(s.free); h != nil {
			s.huge = append(s.huge, h)
		}
	}
	b := s.free[:n:n]
	s.free = s.free[cut:]
	return b
}

// done takes the huge page advice back when the job is over (see
// forgetHuge).
func (s *slab) done() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range s.huge {
		forgetHuge(h)
	}
	s.huge = nil
}

// hugeSpan is the part of n bytes at addr that whole huge pages of h
// bytes cover, as offsets from addr; start == end when none does.
func hugeSpan(addr uintptr, n, h int) (start, end int) {
	start = (h - int(addr%uintptr(h))) % h
	if n-start < h {
		return 0, 0
	}
	return start, start + (n-start)/h*h
}
