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

// frameReader reads a seekable zstd file at any offset. It keeps the
// last few decompressed frames, so the targets of a deploy reading the
// same region share the work; it is safe for concurrent use.
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

	mu      sync.Mutex
	cache   []*cached
	free    [][]byte // decompressed frames' buffers, to decompress into again
	comp    [][]byte // buffers for compressed frames
	tick    uint64
	decoded atomic.Int64 // frames decompressed, cache misses
}

// cached is a decompressed frame. A frame being copied out is pinned: its
// buffer is reused only once nobody reads from it.
type cached struct {
	i       int
	data    []byte
	used    uint64
	refs    int
	evicted bool
}

// cacheFrames is how many decompressed frames a reader keeps. The job's
// window holds what the targets share, so the cache serves the frames a
// read straddles and a target reading behind the window; a deploy's
// memory stays bounded however many targets it has.
const cacheFrames = 6

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
	fr := &frameReader{r: r, frames: make([]frame, n)}
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
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(256<<20))
	if err != nil {
		return nil, err
	}
	fr.dec = dec
	return fr, nil
}

func (fr *frameReader) close() { fr.dec.Close() }

// frameAt finds the frame holding offset off.
func (fr *frameReader) frameAt(off int64) int {
	return sort.Search(len(fr.frames), func(i int) bool { return fr.frames[i].uOff+int64(fr.frames[i].uLen) > off })
}

// load returns frame i decompressed and checked against its checksum,
// pinned: the caller unpins it with unpin once it has copied from it.
func (fr *frameReader) load(i int) (*cached, error) {
	fr.mu.Lock()
	fr.tick++
	for _, c := range fr.cache {
		if c.i == i {
			c.used = fr.tick
			c.refs++
			fr.mu.Unlock()
			return c, nil
		}
	}
	fr.mu.Unlock()

	d, err := fr.decode(i)
	if err != nil {
		return nil, err
	}
	fr.mu.Lock()
	defer fr.mu.Unlock()
	fr.tick++
	c := &cached{i: i, data: d, used: fr.tick, refs: 1}
	if len(fr.cache) < cacheFrames {
		fr.cache = append(fr.cache, c)
		return c, nil
	}
	old := 0
	for k := range fr.cache {
		if fr.cache[k].used < fr.cache[old].used {
			old = k
		}
	}
	if o := fr.cache[old]; o.refs == 0 {
		fr.recycle(o.data)
	} else {
		o.evicted = true // its last reader recycles it
	}
	fr.cache[old] = c
	return c, nil
}

// unpin lets go of a frame load returned.
func (fr *frameReader) unpin(c *cached) {
	fr.mu.Lock()
	defer fr.mu.Unlock()
	if c.refs--; c.refs == 0 && c.evicted {
		fr.recycle(c.data)
	}
}

// release gives back the buffer of a frame decode returned, once it is
// no longer read.
func (fr *frameReader) release(d []byte) {
	fr.mu.Lock()
	defer fr.mu.Unlock()
	fr.recycle(d)
}

// recycle keeps a frame's buffer for the next decompression; fr.mu held.
func (fr *frameReader) recycle(b []byte) {
	if len(fr.free) < 4 {
		fr.free = append(fr.free, b[:0])
	}
}

// buffers takes a buffer for a decompressed frame and one for a
// compressed one, reused when there are.
func (fr *frameReader) buffers() (d, comp []byte) {
	fr.mu.Lock()
	defer fr.mu.Unlock()
	if n := len(fr.free); n > 0 {
		d, fr.free = fr.free[n-1], fr.free[:n-1]
	}
	if n := len(fr.comp); n > 0 {
		comp, fr.comp = fr.comp[n-1], fr.comp[:n-1]
	}
	return d, comp
}

// decode decompresses frame i without the cache.
func (fr *frameReader) decode(i int) ([]byte, error) {
	fr.decoded.Add(1)
	f := fr.frames[i]
	d, comp := fr.buffers()
	if cap(comp) < f.cLen {
		comp = make([]byte, f.cLen)
	}
	comp = comp[:f.cLen]
	defer func() {
		fr.mu.Lock()
		if len(fr.comp) < 4 {
			fr.comp = append(fr.comp, comp)
		}
		fr.mu.Unlock()
	}()
	if _, err := fr.r.ReadAt(comp, f.cOff); err != nil {
		return nil, fmt.Errorf("reading frame %d at byte %d of the data file: %w", i, f.cOff, err)
	}
	if cap(d) < f.uLen {
		d = make([]byte, 0, f.uLen)
	}
	d, err := fr.dec.DecodeAll(comp, d[:0])
	if err != nil {
		return nil, damaged("frame %d (at byte %d of the data file): %v", i, f.cOff, err)
	}
	if len(d) != f.uLen {
		return nil, damaged("frame %d holds %d bytes, the seek table says %d", i, len(d), f.uLen)
	}
	sum := xxhash.Sum64(d)
	if uint32(sum) != f.sum {
		return nil, damaged("frame %d (at byte %d of the data file) fails its checksum", i, f.cOff)
	}
	if fr.want != nil && (i >= len(fr.want) || sum != fr.want[i]) {
		return nil, damaged("frame %d (bytes %d..%d) does not match the manifest's hash", i, f.uOff, f.uOff+int64(f.uLen))
	}
	return d, nil
}

// ReadAt reads the uncompressed stream at off.
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
		c, err := fr.load(i)
		if err != nil {
			return n, err
		}
		n += copy(p[n:], c.data[at-fr.frames[i].uOff:])
		fr.unpin(c)
	}
	return n, nil
}
