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
	parts := partitions(r, size, sectorSize)
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

// diskSource is a build's whole disk as the engine reads it: the
// volume's structures from the built image file, and every file's bytes
// from the set, where the layout puts them. Everything else reads as
// zeros: each target's partition tables are its own (member patches).
type diskSource struct {
	lay      Layout
	vol      *os.File
	meta     int64    // the volume's structures: its first bytes
	files    []placed // sorted by off
	src      *openFiles
	manifest *Manifest
	id       string
}

// openFiles keeps the set's files open for a job's builds, which read
// them in the same order at about the same time: a file is opened once,
// not once a build (or once a target that reads the set itself).
type openFiles struct {
	fs   fs.FS
	mu   sync.Mutex
	open map[string]*openFile
	tick int64
}

// keepOpen is how many files openFiles keeps open.
const keepOpen = 64

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
	end := off + int64(n)
	over := func(lo, hi int64) (int64, int64, bool) {
		return max(lo, off), min(hi, end), max(lo, off) < min(hi, end)
	}
	// The files' bytes first, zeros between them; then the structures,
	// which lie where no file does. The volume image is read only where
	// its structures are: the rest of it is a hole.
	pos := off
	i := sort.Search(len(d.files), func(i int) bool { return d.files[i].off+d.files[i].size > off })
	for ; i < len(d.files) && d.files[i].off < end; i++ {
		f := d.files[i]
		lo, hi, ok := over(f.off, f.off+f.size)
		if !ok {
			continue
		}
		clear(q[pos-off : lo-off])
		if err := d.src.read(f, q[lo-off:hi-off], lo-f.off); err != nil {
			return 0, err
		}
		pos = hi
	}
	clear(q[pos-off:])
	if lo, hi, ok := over(d.lay.PartStart, d.lay.PartStart+d.meta); ok {
		if _, err := d.vol.ReadAt(q[lo-off:hi-off], lo-d.lay.PartStart); err != nil && !errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("volume image: %w", err)
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// read reads a set file's bytes, keeping the files read last open.
func (d *openFiles) read(f placed, p []byte, at int64) error {
	d.mu.Lock()
	o := d.open[f.path]
	if o == nil {
		if len(d.open) >= keepOpen {
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
		fl, err := d.fs.Open(f.path)
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
func (d *openFiles) close() {
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
