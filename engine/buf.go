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

// slab hands a job's buffers out of one allocation of the job's budget,
// made when the first buffer is asked for. Fresh memory is paid for when
// it is first written, a page fault every 4 KiB, and a job's tens of MiB
// of buffers took a 1 -> 8 copy a tenth of its time on a VM where faults
// are dear. One allocation can ask the kernel for huge pages instead
// (adviseHuge): a fault every 2 MiB, and 32 MiB faulted in about 20
// times faster there. Pages of the slab no buffer is cut from are never
// written, so they take no memory in a fresh process (the heap counts
// them all the same). The job's buffers are made once and reused, so
// nothing is handed back: the slab lives as long as any of its buffers.
// A buffer the budget did not foresee comes from the heap as before.
type slab struct {
	mu   sync.Mutex
	size int    // bytes to make the slab with
	made bool   // the slab was made
	free []byte // what is left of it
	huge []byte // the part advised to huge pages
}

// take returns n aligned bytes from the slab, or from the heap once the
// slab is used up.
func (s *slab) take(n int) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.made && s.size >= n {
		s.made = true
		s.free = alignedBuf(s.size)
		s.huge = adviseHuge(s.free)
	}
	cut := (n + bufAlign - 1) / bufAlign * bufAlign
	if cut > len(s.free) {
		return alignedBuf(n)
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
	forgetHuge(s.huge)
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
