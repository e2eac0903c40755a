package fileset

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"sync"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/engine/disk"
	"github.com/clonebay/clonebay/engine/fatfs"
)

// Source is what a job copies: a manifest and where its files are read
// from (a stored set, a folder, a master's volume). Each file Files opens
// must be an io.ReaderAt.
type Source struct {
	Manifest *Manifest
	Files    fs.FS
	// ID names the source uniquely (a folder, a set, a drive), so a job
	// whose target is its own source is refused.
	ID string
}

// OpenVolume finds the FAT or exFAT file system on a stick or a master
// drive of size bytes: in its first partition that holds one (MBR or
// GPT), or on the whole drive (a "superfloppy"). The volume is a read-only
// fs.FS whose files are io.ReaderAt. NTFS and ext4 sticks are read by
// OpenForeign.
func OpenVolume(r io.ReaderAt, size int64, sectorSize int) (*fatfs.Volume, error) {
	if sectorSize < 512 {
		sectorSize = 512
	}
	var parts []disk.Extent
	if g, err := disk.ReadGPT(r, size, sectorSize); err == nil {
		for _, p := range g.Partitions {
			parts = append(parts, disk.Extent{Off: int64(p.FirstLBA) * int64(sectorSize), Len: int64(p.LastLBA-p.FirstLBA+1) * int64(sectorSize)})
		}
	} else if m, err := disk.ReadMBR(r, size, sectorSize); err == nil {
		for _, p := range m.Partitions {
			if !p.IsExtended() && p.Type != 0xee {
				parts = append(parts, disk.Extent{Off: p.Start, Len: p.Size})
			}
		}
	}
	var first error
	for _, p := range parts {
		v, err := fatfs.Open(r, p.Off, p.Len)
		if err == nil {
			return v, nil
		}
		if first == nil && !errors.Is(err, fatfs.ErrNotFAT) {
			first = fmt.Errorf("partition at %d: %w", p.Off, err)
		}
	}
	if v, err := fatfs.Open(r, 0, size); err == nil {
		return v, nil
	}
	if first != nil {
		return nil, first
	}
	return nil, fmt.Errorf("%w: no partition holds FAT12/16/32 or exFAT", fatfs.ErrNotFAT)
}

// fileSHA hashes one file of a source.
func fileSHA(src fs.FS, p string, buf []byte, count func(int64)) (string, error) {
	f, err := src.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyBuffer(h, &counting{f, count}, buf); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// placed is where one file's bytes go on a target.
type placed struct {
	off  int64 // on the disk
	size int64
	path string
}

// diskSource is one target size's whole disk as the engine reads it: the
// partition tables, the volume's structures from the built image file,
// and every file's bytes from the set, where the layout puts them.
// Everything else reads as zeros.
type diskSource struct {
	lay      Layout
	head     []byte
	tail     []byte
	vol      *os.File
	files    []placed // sorted by off
	src      fs.FS
	manifest *Manifest
	id       string

	mu   sync.Mutex
	open map[string]*openFile
	tick int64
}

type openFile struct {
	f       fs.File
	ra      io.ReaderAt
	used    int64
	refs    int  // reads in progress
	evicted bool // out of the cache: closed by its last reader
}

var _ engine.Source = (*diskSource)(nil)

func (d *diskSource) Size() int64     { return d.lay.DiskSize }
func (d *diskSource) ID() string      { return d.id }
func (d *diskSource) SectorSize() int { return sector }

// ReadAt composes the disk's bytes at off.
func (d *diskSource) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= d.lay.DiskSize {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), d.lay.DiskSize-off))
	q := p[:n]
	clear(q)
	end := off + int64(n)
	over := func(lo, hi int64) (int64, int64, bool) {
		return max(lo, off), min(hi, end), max(lo, off) < min(hi, end)
	}
	if lo, hi, ok := over(0, int64(len(d.head))); ok {
		copy(q[lo-off:hi-off], d.head[lo:hi])
	}
	if lo, hi, ok := over(d.lay.PartStart, d.lay.PartEnd()); ok {
		if _, err := d.vol.ReadAt(q[lo-off:hi-off], lo-d.lay.PartStart); err != nil && !errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("volume image: %w", err)
		}
	}
	tailStart := d.lay.DiskSize - int64(len(d.tail))
	if lo, hi, ok := over(tailStart, d.lay.DiskSize); ok {
		copy(q[lo-off:hi-off], d.tail[lo-tailStart:hi-tailStart])
	}
	i := sort.Search(len(d.files), func(i int) bool { return d.files[i].off+d.files[i].size > off })
	for ; i < len(d.files) && d.files[i].off < end; i++ {
		f := d.files[i]
		lo, hi, ok := over(f.off, f.off+f.size)
		if !ok {
			continue
		}
		if err := d.readFile(f, q[lo-off:hi-off], lo-f.off); err != nil {
			return 0, err
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// readFile reads a set file's bytes, keeping a few files open.
func (d *diskSource) readFile(f placed, p []byte, at int64) error {
	d.mu.Lock()
	o := d.open[f.path]
	if o == nil {
		if len(d.open) >= 16 {
			var old string
			for k, v := range d.open {
				if old == "" || v.used < d.open[old].used {
					old = k
				}
			}
			// A file another goroutine reads right now is closed by it.
			if e := d.open[old]; e.refs == 0 {
				e.f.Close()
			} else {
				e.evicted = true
			}
			delete(d.open, old)
		}
		fl, err := d.src.Open(f.path)
		if err != nil {
			d.mu.Unlock()
			return fmt.Errorf("set file %s: %w", f.path, err)
		}
		ra, ok := fl.(io.ReaderAt)
		if !ok {
			fl.Close()
			d.mu.Unlock()
			return fmt.Errorf("set file %s: cannot be read at an offset", f.path)
		}
		o = &openFile{f: fl, ra: ra}
		d.open[f.path] = o
	}
	d.tick++
	o.used = d.tick
	o.refs++
	d.mu.Unlock()
	n, err := o.ra.ReadAt(p, at)
	d.mu.Lock()
	if o.refs--; o.refs == 0 && o.evicted {
		o.f.Close()
	}
	d.mu.Unlock()
	if n == len(p) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: set file %s ends at %d, the manifest says %d bytes", ErrChanged, f.path, at+int64(n), f.size)
	}
	return fmt.Errorf("set file %s at %d: %w", f.path, at+int64(n), err)
}

// close closes the open set files.
func (d *diskSource) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k, o := range d.open {
		if o.refs == 0 {
			o.f.Close()
		} else {
			o.evicted = true
		}
		delete(d.open, k)
	}
}
