package images

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
	"github.com/klauspost/compress/zstd"
)

// An image's data is a zstd stream in the seekable format of the zstd
// project (contrib/seekable_format): independent frames of FrameSize
// uncompressed bytes each, followed by a skippable frame holding a seek
// table (compressed size, uncompressed size and XXH64 checksum of every
// frame). Any zstd tool decompresses the file as a plain stream; Clonebay
// reads it at any offset by decompressing only the frames it needs.
//
// Between the last frame and the seek table, an image written by this
// firmware carries the seal: a skippable frame of its own with the
// SHA-256 of the manifest it was written with (Manifest.binding), so a
// manifest edited afterwards no longer matches its data. Readers of the
// seekable format locate frames from the seek table and the start of the
// file, and zstd skips skippable frames, so both still read the file.
const (
	skippableMagic = 0x184D2A5E
	seekableMagic  = 0x8F92EAB1
	footerSize     = 9
	entrySize      = 12 // with checksums
	checksumFlag   = 0x80
	maxFrames      = 1 << 26
	maxFrameSize   = 64 << 20 // uncompressed; a compressed frame is at most about as long

	sealMagic     = 0x184D2A5B
	sealTag       = "CBMF" // Clonebay manifest
	sealFrameSize = 8 + len(sealTag) + 32
)

// ErrDamaged is returned (wrapped) for an image whose bytes do not match
// what it says it holds.
var ErrDamaged = errors.New("image damaged")

func damaged(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrDamaged, fmt.Sprintf(format, args...))
}

// frameWriter writes the seekable format.
type frameWriter struct {
	w       io.Writer
	enc     *zstd.Encoder
	entries []byte
	n       int
	written int64
}

func newFrameWriter(w io.Writer, level zstd.EncoderLevel) (*frameWriter, error) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(level), zstd.WithEncoderCRC(true),
		zstd.WithZeroFrames(true), zstd.WithEncoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	return &frameWriter{w: w, enc: enc}, nil
}

// compress makes one frame; it is safe for concurrent use.
func (fw *frameWriter) compress(data, dst []byte) []byte {
	return fw.enc.EncodeAll(data, dst[:0])
}

// writeFrame appends a frame compressed by compress from data.
func (fw *frameWriter) writeFrame(data, compressed []byte) error {
	if _, err := fw.w.Write(compressed); err != nil {
		return err
	}
	fw.entries = binary.LittleEndian.AppendUint32(fw.entries, uint32(len(compressed)))
	fw.entries = binary.LittleEndian.AppendUint32(fw.entries, uint32(len(data)))
	fw.entries = binary.LittleEndian.AppendUint32(fw.entries, uint32(xxhash.Sum64(data)))
	fw.n++
	fw.written += int64(len(compressed))
	return nil
}

// tailSize is what close adds after the frames: the seal and the seek
// table.
func (fw *frameWriter) tailSize() int64 {
	return int64(sealFrameSize + 8 + len(fw.entries) + footerSize)
}

// close writes the seal (the manifest's binding hash) and the seek table.
func (fw *frameWriter) close(seal [32]byte) error {
	defer fw.enc.Close()
	var t []byte
	t = binary.LittleEndian.AppendUint32(t, sealMagic)
	t = binary.LittleEndian.AppendUint32(t, uint32(len(sealTag)+len(seal)))
	t = append(t, sealTag...)
	t = append(t, seal[:]...)
	t = binary.LittleEndian.AppendUint32(t, skippableMagic)
	t = binary.LittleEndian.AppendUint32(t, uint32(len(fw.entries)+footerSize))
	t = append(t, fw.entries...)
	t = binary.LittleEndian.AppendUint32(t, uint32(fw.n))
	t = append(t, checksumFlag)
	t = binary.LittleEndian.AppendUint32(t, seekableMagic)
	_, err := fw.w.Write(t)
	fw.written += int64(len(t))
	return err
}

// frame is one entry of the seek table.
type frame struct {
	cOff, uOff int64
	cLen, uLen int
	sum        uint32
}

// frameReader reads a seekable zstd file at any offset; it is safe for
// concurrent use. A read that covers whole frames (a deploy's chunks:
// frames and chunks are both 1 MiB and aligned) decompresses them straight
// into the caller's buffer, so the job's window is the only copy of what
// the targets share and a target behind it decompresses into its own
// chunk buffer: no frame buffer, no garbage. Only reads of part of a frame
// (the plan's edges, a partition table, a patched chunk checked a piece at
// a time) go through a small cache of decompressed frames.
type frameReader struct {
	r      io.ReaderAt
	frames []frame
	size   int64 // uncompressed
	dec    *zstd.Decoder
	// seal is the manifest binding the data file carries; nil in a file
	// written before images were sealed.
	seal []byte
	// want are the manifest's XXH64 of each frame, checked as each frame
	// is decompressed; nil before the manifest is known.
	want []uint64
	// maxU and maxC are the largest frame, decompressed and compressed.
	maxU, maxC int

	// input holds one buffer for compressed bytes per decoder: a
	// decompression takes one for its whole run, so no more than
	// decoders compressed frames are ever in memory.
	input chan []byte

	// The last frame read in part, and a spare buffer to decompress the
	// next one into; partial reads take turns (they are few: the plan's
	// edges, partition tables, a patched chunk checked a piece at a time).
	mu       sync.Mutex
	last     int // frame held in cache; -1 when none
	cache    []byte
	spare    []byte
	decoded  atomic.Int64 // frames decompressed
	bufBytes atomic.Int64 // buffers made, decompressed and compressed
}

// cacheFrames is how many decompressed frames a reader keeps for reads of
// part of a frame: the last one, so small reads close together (a
// partition table, a patched chunk checked a piece at a time) decompress
// it once. Whole chunks bypass it: the window holds what the targets
// share, and a target that fell out of the window reads whole chunks,
// decompressed into its own buffer, so nothing it reads is read again.
const cacheFrames = 1

// decoders is how many frames are decompressed at once: one for the
// job's reader, one for the targets behind it. Each holds a compressed
// frame's buffer and the decoder's tables.
const decoders = 2

func openFrames(r io.ReaderAt, fileSize int64) (*frameReader, error) {
	if fileSize < footerSize+8 {
		return nil, damaged("the data file is %d bytes: too short to hold a seek table (truncated?)", fileSize)
	}
	foot := make([]byte, footerSize)
	if _, err := r.ReadAt(foot, fileSize-footerSize); err != nil {
		return nil, fmt.Errorf("reading the seek table: %w", err)
	}
	if binary.LittleEndian.Uint32(foot[5:]) != seekableMagic {
		return nil, damaged("no seek table at the end of the data file (truncated, or not a seekable zstd file)")
	}
	n := int64(binary.LittleEndian.Uint32(foot[0:]))
	if foot[4]&checksumFlag == 0 || foot[4]&0x7f != 0 {
		return nil, damaged("seek table descriptor %#x: frames without checksums are not accepted", foot[4])
	}
	if n > maxFrames {
		return nil, damaged("seek table claims %d frames", n)
	}
	tableLen := n*entrySize + footerSize
	start := fileSize - tableLen - 8
	if start < 0 {
		return nil, damaged("seek table of %d frames is longer than the %d-byte file", n, fileSize)
	}
	table := make([]byte, tableLen+8)
	if _, err := r.ReadAt(table, start); err != nil {
		return nil, fmt.Errorf("reading the seek table: %w", err)
	}
	if binary.LittleEndian.Uint32(table) != skippableMagic || int64(binary.LittleEndian.Uint32(table[4:])) != tableLen {
		return nil, damaged("the seek table's frame header is wrong (truncated or overwritten)")
	}
	fr := &frameReader{r: r, frames: make([]frame, n), last: -1}
	var cOff, uOff int64
	for i := range fr.frames {
		e := table[8+int64(i)*entrySize:]
		// As int64 first: an int is 32 bits on ARM, where a length of 2^31
		// or more would turn negative.
		cLen, uLen := int64(binary.LittleEndian.Uint32(e)), int64(binary.LittleEndian.Uint32(e[4:]))
		if cLen == 0 || cLen > 2*maxFrameSize || uLen > maxFrameSize {
			return nil, damaged("seek table entry %d is impossible (%d bytes compressed, %d uncompressed)", i, cLen, uLen)
		}
		f := frame{cOff: cOff, uOff: uOff, cLen: int(cLen), uLen: int(uLen), sum: binary.LittleEndian.Uint32(e[8:])}
		fr.frames[i] = f
		cOff += int64(f.cLen)
		uOff += int64(f.uLen)
	}
	switch gap := start - cOff; {
	case gap == int64(sealFrameSize):
		seal := make([]byte, sealFrameSize)
		if _, err := r.ReadAt(seal, cOff); err != nil {
			return nil, fmt.Errorf("reading the seal: %w", err)
		}
		if binary.LittleEndian.Uint32(seal) != sealMagic || binary.LittleEndian.Uint32(seal[4:]) != uint32(sealFrameSize-8) || string(seal[8:12]) != sealTag {
			return nil, damaged("the %d bytes between the frames and the seek table are not a seal", gap)
		}
		fr.seal = seal[12:]
	case gap != 0:
		return nil, damaged("the frames take %d bytes but the seek table starts at %d (truncated or padded)", cOff, start)
	}
	fr.size = uOff
	for _, f := range fr.frames {
		fr.maxU, fr.maxC = max(fr.maxU, f.uLen), max(fr.maxC, f.cLen)
	}
	// DecodeAll never grows a buffer past its capacity: a frame that
	// decompresses to more than the seek table says fails instead of
	// spilling into a new allocation (or out of the caller's buffer).
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(decoders), zstd.WithDecoderMaxMemory(256<<20),
		zstd.WithDecodeAllCapLimit(true))
	if err != nil {
		return nil, err
	}
	fr.dec = dec
	fr.input = make(chan []byte, decoders)
	for range decoders {
		fr.input <- nil // made on first use, at the largest frame's size
	}
	return fr, nil
}

func (fr *frameReader) close() { fr.dec.Close() }

// frameAt finds the frame holding offset off.
func (fr *frameReader) frameAt(off int64) int {
	return sort.Search(len(fr.frames), func(i int) bool { return fr.frames[i].uOff+int64(fr.frames[i].uLen) > off })
}

// bufferBound is the most memory the reader's buffers take, whatever is
// read: the cached frame and its spare, and a compressed frame per
// decoder.
func (fr *frameReader) bufferBound() int64 {
	return int64(cacheFrames+1)*int64(fr.maxU) + int64(decoders)*int64(fr.maxC)
}

// readPart copies the part of frame i at off into p, from the cached
// frame or after decompressing it into the spare buffer, which then
// becomes the cached one.
func (fr *frameReader) readPart(p []byte, i int, off int64) (int, error) {
	fr.mu.Lock()
	defer fr.mu.Unlock()
	f := fr.frames[i]
	if fr.last != i {
		if fr.spare == nil {
			fr.spare = make([]byte, fr.maxU)
			fr.bufBytes.Add(int64(fr.maxU))
		}
		fr.last = -1
		if err := fr.decodeInto(i, fr.spare[:f.uLen]); err != nil {
			return 0, err
		}
		fr.cache, fr.spare = fr.spare[:f.uLen], fr.cache
		fr.last = i
	}
	return copy(p, fr.cache[off-f.uOff:]), nil
}

// copyCached copies frame i into p when it is the cached one.
func (fr *frameReader) copyCached(p []byte, i int) bool {
	fr.mu.Lock()
	defer fr.mu.Unlock()
	if fr.last != i {
		return false
	}
	copy(p, fr.cache)
	return true
}

// decodeInto decompresses frame i into dst, which is exactly the frame's
// length, and checks it against its checksum and the manifest's hash.
func (fr *frameReader) decodeInto(i int, dst []byte) error {
	fr.decoded.Add(1)
	f := fr.frames[i]
	comp := <-fr.input
	defer func() { fr.input <- comp }()
	if cap(comp) < f.cLen {
		comp = make([]byte, fr.maxC)
		fr.bufBytes.Add(int64(fr.maxC))
	}
	comp = comp[:f.cLen]
	if _, err := fr.r.ReadAt(comp, f.cOff); err != nil {
		return fmt.Errorf("reading frame %d at byte %d of the data file: %w", i, f.cOff, err)
	}
	d, err := fr.dec.DecodeAll(comp, dst[:0:len(dst)])
	if err != nil {
		return damaged("frame %d (at byte %d of the data file): %v", i, f.cOff, err)
	}
	if len(d) != f.uLen {
		return damaged("frame %d holds %d bytes, the seek table says %d", i, len(d), f.uLen)
	}
	if len(d) > 0 && &d[0] != &dst[0] {
		copy(dst, d) // not expected with the cap limit; correct either way
	}
	sum := xxhash.Sum64(dst)
	if uint32(sum) != f.sum {
		return damaged("frame %d (at byte %d of the data file) fails its checksum", i, f.cOff)
	}
	if fr.want != nil && (i >= len(fr.want) || sum != fr.want[i]) {
		return damaged("frame %d (bytes %d..%d) does not match the manifest's hash", i, f.uOff, f.uOff+int64(f.uLen))
	}
	return nil
}

// ReadAt reads the uncompressed stream at off. Whole frames are
// decompressed straight into p (or copied from the cache when it holds
// them); parts of frames come through the cache.
func (fr *frameReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("read at negative offset %d", off)
	}
	n := 0
	for n < len(p) {
		at := off + int64(n)
		if at >= fr.size {
			return n, io.EOF
		}
		i := fr.frameAt(at)
		f := fr.frames[i]
		if at == f.uOff && len(p)-n >= f.uLen {
			dst := p[n : n+f.uLen]
			if !fr.copyCached(dst, i) {
				if err := fr.decodeInto(i, dst); err != nil {
					return n, err
				}
			}
			n += f.uLen
			continue
		}
		k, err := fr.readPart(p[n:], i, at)
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
