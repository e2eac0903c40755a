package engine

import "unsafe"

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
