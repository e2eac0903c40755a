package fileset

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync/atomic"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/engine/fatfs"
)

// shrunk is a FAT32 target smaller than its group's build, as the engine
// sees it: the build's disk, laid onto a volume of the target's own size
// whose FATs are only as long as its clusters need. The build's bytes
// before its first FAT keep their place; each FAT keeps its first bytes
// and moves down by what the FATs before it lost; the cluster heap moves
// down by what both lost; the build's bytes past the target's volume and
// the FATs' cut ends, free entries all, have no place on it and must be
// zeros; and the target's own end (after its partition) is seen past the
// build's. So one build, read once, serves FAT32 targets of any size
// with its cluster size, and each gets the file system a format of its
// own size would give it.
type shrunk struct {
	engine.Target // the drive
	size          int64
	segs          []segment // in order, from 0 to size
	// dropped is the bytes of the engine's writes that had no place on
	// the drive, counted only for writes that succeeded whole, as the
	// engine counts what it wrote: a failed or retried write is not.
	dropped atomic.Int64
}

// segment maps [off, end) as the engine sees it onto the drive from to;
// to < 0: nowhere, the bytes are zeros.
type segment struct {
	off, end, to int64
}

// shrink maps a build of layout built (its volume's geometry g) onto a
// smaller target of layout l, with FATs of fatLen bytes. It fails with
// fatfs.ErrNoSpace when the build's files reach past the end of the
// target's volume (need is where they end), or when the bounds are not
// whole sectors of the drive, which direct I/O needs of every piece of a
// request.
func shrink(dev engine.Target, built, l Layout, g fatfs.Geometry, fatLen, need int64) (*shrunk, error) {
	fat := l.PartStart + g.FATOffset
	cut := g.FATLength - fatLen
	heap := l.PartStart + g.Heap
	own := heap - int64(g.FATs)*cut // the target's cluster 2
	data := l.PartEnd() - own       // the target's heap
	if need > heap+data {
		return nil, fmt.Errorf("%w: the set reaches %d, the %s target's volume holds up to %d", fatfs.ErrNoSpace, need, engine.FormatSize(l.DiskSize), heap+data)
	}
	segs := []segment{{0, fat, 0}}
	for i := range int64(g.FATs) {
		at := fat + i*g.FATLength
		segs = append(segs, segment{at, at + fatLen, fat + i*fatLen}, segment{at + fatLen, at + g.FATLength, -1})
	}
	segs = append(segs, segment{heap, heap + data, own}, segment{heap + data, built.DiskSize, -1},
		segment{built.DiskSize, built.DiskSize + l.DiskSize - l.PartEnd(), l.PartEnd()})
	align := int64(sector)
	if ss, ok := dev.(sectorSizer); ok {
		align = max(align, int64(ss.SectorSize()))
	}
	var kept []segment
	for _, s := range segs {
		if s.off%align != 0 || s.end%align != 0 || s.to >= 0 && s.to%align != 0 {
			return nil, fmt.Errorf("%w: the build's areas at %d-%d are not whole %d-byte sectors", fatfs.ErrNoSpace, s.off, s.end, align)
		}
		if s.end > s.off {
			kept = append(kept, s)
		}
	}
	return &shrunk{Target: dev, size: built.DiskSize + l.DiskSize - l.PartEnd(), segs: kept}, nil
}

// tail is where the engine sees the target's bytes after its partition.
func (s *shrunk) tail() int64 { return s.segs[len(s.segs)-1].off }

// place maps an offset the engine sees onto the drive; -1 when it has
// no place there.
func (s *shrunk) place(off int64) int64 {
	_, to := s.locate(off)
	return to
}

// locate finds the segment that holds off and where off lies on the
// drive (-1: nowhere, or past the view's end, where there is no segment).
func (s *shrunk) locate(off int64) (segment, int64) {
	i := sort.Search(len(s.segs), func(i int) bool { return s.segs[i].end > off })
	if i == len(s.segs) {
		return segment{}, -1
	}
	sg := s.segs[i]
	if sg.to < 0 {
		return sg, -1
	}
	return sg, sg.to + off - sg.off
}

func (s *shrunk) Size() int64 { return s.size }

// Unwrap is the drive, which the engine qualifies.
func (s *shrunk) Unwrap() engine.Target { return s.Target }

// SectorSize is the drive's.
func (s *shrunk) SectorSize() int {
	if ss, ok := s.Target.(sectorSizer); ok {
		return ss.SectorSize()
	}
	return sector
}

func (s *shrunk) ReadAt(p []byte, off int64) (int, error) {
	return s.each(p, off, func(q []byte, to, at int64) (int, error) {
		if to < 0 {
			clear(q)
			return len(q), nil
		}
		n, err := s.Target.ReadAt(q, to)
		if n == len(q) && errors.Is(err, io.EOF) {
			err = nil // the drive's last bytes, all there
		}
		return n, onDrive(err, to+int64(n))
	})
}

func (s *shrunk) WriteAt(p []byte, off int64) (int, error) {
	var dropped int64
	n, err := s.each(p, off, func(q []byte, to, at int64) (int, error) {
		if to >= 0 {
			n, err := s.Target.WriteAt(q, to)
			return n, onDrive(err, to+int64(n))
		}
		if i := nonZero(q); i >= 0 {
			return i, &placeError{off: at + int64(i)}
		}
		dropped += int64(len(q))
		return len(q), nil
	})
	if err == nil {
		s.dropped.Add(dropped)
	}
	return n, err
}

// nowhere is how many bytes of the extents have no place on the drive.
func (s *shrunk) nowhere(ex []engine.Extent) int64 {
	var n int64
	for _, e := range ex {
		for _, sg := range s.segs {
			if lo, hi := max(e.Off, sg.off), min(e.End(), sg.end); lo < hi && sg.to < 0 {
				n += hi - lo
			}
		}
	}
	return n
}

// zeros64k is what nonZero compares with.
var zeros64k = make([]byte, 64<<10)

// nonZero is the index of p's first byte that is not zero, or -1.
func nonZero(p []byte) int {
	for at := 0; at < len(p); at += len(zeros64k) {
		q := p[at:min(len(p), at+len(zeros64k))]
		if bytes.Equal(q, zeros64k[:len(q)]) {
			continue
		}
		for i, b := range q {
			if b != 0 {
				return at + i
			}
		}
	}
	return -1
}

// Discard discards the parts of a range that are on the drive.
func (s *shrunk) Discard(off, length int64, secure bool) error {
	d, ok := s.Target.(interface {
		Discard(off, length int64, secure bool) error
	})
	if !ok {
		return errors.ErrUnsupported
	}
	for _, sg := range s.segs {
		lo, hi := max(off, sg.off), min(off+length, sg.end)
		if lo >= hi || sg.to < 0 {
			continue
		}
		if err := d.Discard(sg.to+lo-sg.off, hi-lo, secure); err != nil {
			return err
		}
	}
	return nil
}

// each hands fn the pieces of p at off, segment by segment, with where
// each lies on the drive (-1: nowhere) and as the engine sees it; fn
// returns how much of its piece it moved. The count returned includes
// the failing piece's first bytes, as a drive's own would.
func (s *shrunk) each(p []byte, off int64, fn func(q []byte, to, at int64) (int, error)) (int, error) {
	if off < 0 || off > s.size {
		return 0, fmt.Errorf("offset %d outside the %d bytes", off, s.size)
	}
	n := 0
	for n < len(p) {
		at := off + int64(n)
		if at >= s.size {
			return n, io.EOF
		}
		sg, to := s.locate(at)
		q := p[n : n+int(min(int64(len(p)-n), sg.end-at))]
		m, err := fn(q, to, at)
		if err != nil {
			return n + m, err
		}
		n += len(q)
	}
	return n, nil
}

// onDrive gives a drive's error the offset on the drive where it
// failed (to), where it has none of its own: the engine reports a failed
// read or write there, not where the view put it.
func onDrive(err error, to int64) error {
	var o interface{ Offset() int64 }
	if err == nil || errors.As(err, &o) {
		return err
	}
	return &driveError{off: to, err: err}
}

type driveError struct {
	off int64
	err error
}

func (e *driveError) Error() string { return fmt.Sprintf("at %d on the drive: %v", e.off, e.err) }
func (e *driveError) Unwrap() error { return e.err }
func (e *driveError) Offset() int64 { return e.off }

// placeError: the build has bytes other than zeros where the target has
// no place for them (a file past its volume's end, or a FAT entry in use
// past its clusters). A build that serves a target never has.
type placeError struct{ off int64 }

func (e *placeError) Error() string {
	return fmt.Sprintf("the build's bytes at %d have no place on this smaller target", e.off)
}

// Offset is none on the drive.
func (e *placeError) Offset() int64 { return -1 }
