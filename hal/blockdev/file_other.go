//go:build !linux

package blockdev

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"unsafe"

	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/internal/filelock"
)

// Drive is an open image file. Outside Linux the command line copies onto
// and from image files only; the appliance itself runs on Linux.
type Drive struct {
	info    hal.DriveInfo
	storage Storage
	f       *os.File // buffered I/O
	direct  *os.File // past the operating system's cache (see openDirect); nil when it cannot be
	write   bool

	mu     sync.Mutex
	closed bool
}

var _ hal.Drive = (*Drive)(nil)

// directAlign is what reads and writes past the cache must be aligned to:
// Windows' unbuffered I/O wants whole sectors, at sector-aligned offsets
// and addresses; 4096 covers 512-byte and 4K sectors.
const directAlign = 4096

// Opener opens drives by node for the firmware.
type Opener struct{}

var _ hal.DriveOpener = Opener{}

func (Opener) OpenRead(node string) (hal.DriveReader, error) { return OpenRead(node) }
func (Opener) OpenWrite(node string) (hal.Drive, error)      { return OpenWrite(node) }

// OpenRead opens an image file read-only, as a master.
func OpenRead(node string) (*Drive, error) { return open(node, false) }

// OpenWrite opens an image file for writing, as a target.
func OpenWrite(node string) (*Drive, error) { return open(node, true) }

func open(node string, write bool) (*Drive, error) {
	st, err := os.Stat(node)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", node, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("open %s: not an image file (drives are opened on Linux only; this is %s)", node, runtime.GOOS)
	}
	flag := os.O_RDONLY
	if write {
		flag = os.O_RDWR
	}
	f, err := os.OpenFile(node, flag, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", node, err)
	}
	id, err := fileID(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open %s: %w", node, err)
	}
	// A master is shared with other readers; a target is this job's alone.
	if err := filelock.Lock(f, write); err != nil {
		f.Close()
		if errors.Is(err, filelock.ErrLocked) {
			return nil, fmt.Errorf("open %s: %w: another job reads or writes it", node, hal.ErrBusy)
		}
		return nil, fmt.Errorf("open %s: %w", node, err)
	}
	d := &Drive{f: f, storage: Storage{Name: node, keys: []string{id}}, write: write, info: hal.DriveInfo{Node: node, Path: node, Bus: hal.Bus("file"),
		Size: st.Size(), LogicalSectorSize: 512, PhysicalSectorSize: 512}}
	d.direct, _ = openDirect(node, write) // without it, DropCaches says why verification cannot be trusted
	return d, nil
}

func (d *Drive) Info() hal.DriveInfo { return d.info }

func (d *Drive) Size() int64 { return d.info.Size }

// SectorSize is the logical sector size.
func (d *Drive) SectorSize() int { return d.info.LogicalSectorSize }

// ID names the file (volume and file number), whatever path reached it.
func (d *Drive) ID() string { return d.storage.Key() }

// Storage is the media the drive is.
func (d *Drive) Storage() Storage { return d.storage }

func (d *Drive) check(op string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return fmt.Errorf("%s %s: %w", op, d.info.Node, hal.ErrClosed)
	}
	return nil
}

func (d *Drive) aligned(p []byte, off int64) bool {
	return d.direct != nil && len(p) > 0 && off%directAlign == 0 && len(p)%directAlign == 0 &&
		uintptr(unsafe.Pointer(unsafe.SliceData(p)))%directAlign == 0
}

// ReadAt reads at off; aligned reads go past the cache.
func (d *Drive) ReadAt(p []byte, off int64) (int, error) {
	if err := d.check("read"); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, fmt.Errorf("read %s at %d: %w", d.info.Node, off, hal.ErrOutOfRange)
	}
	if off >= d.info.Size {
		return 0, io.EOF
	}
	want := p
	if rest := d.info.Size - off; int64(len(p)) > rest {
		want = p[:rest]
	}
	f := d.f
	if d.aligned(want, off) {
		f = d.direct
	}
	n, err := f.ReadAt(want, off)
	if err != nil && !(errors.Is(err, io.EOF) && n == len(want)) {
		return n, &hal.IOError{Op: "read", Node: d.info.Node, Off: off + int64(n), Err: err}
	}
	if len(want) < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// WriteAt writes at off; aligned writes go past the cache.
func (d *Drive) WriteAt(p []byte, off int64) (int, error) {
	if err := d.check("write"); err != nil {
		return 0, err
	}
	if !d.write {
		return 0, fmt.Errorf("write %s: opened read-only: %w", d.info.Node, hal.ErrReadOnly)
	}
	if off < 0 || off+int64(len(p)) > d.info.Size {
		return 0, fmt.Errorf("write %s at %d+%d (size %d): %w", d.info.Node, off, len(p), d.info.Size, hal.ErrOutOfRange)
	}
	f := d.f
	if d.aligned(p, off) {
		f = d.direct
	}
	n, err := f.WriteAt(p, off)
	if err != nil {
		return n, &hal.IOError{Op: "write", Node: d.info.Node, Off: off + int64(n), Err: err}
	}
	return n, nil
}

// Sync makes every write durable.
func (d *Drive) Sync() error {
	if err := d.check("sync"); err != nil {
		return err
	}
	errs := []error{d.f.Sync()}
	if d.direct != nil && d.write {
		errs = append(errs, d.direct.Sync())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sync %s: %w", d.info.Node, err)
	}
	return nil
}

// DropCaches makes the next aligned reads come from the media: they go
// through the descriptor that bypasses the cache. Without one it fails,
// saying so, rather than let a verify read what a cache remembers.
func (d *Drive) DropCaches() error {
	if err := d.check("drop caches"); err != nil {
		return err
	}
	if d.direct == nil {
		return fmt.Errorf("drop caches %s: this system (%s) cannot read the file past its cache, so a verify could not be trusted", d.info.Node, runtime.GOOS)
	}
	return d.Sync()
}

// WriteBlock does nothing for an image file: a master is opened
// read-only, and there is no kernel write-block for files.
func (d *Drive) WriteBlock() error { return d.check("write-block") }

// Unblock does nothing for an image file.
func (d *Drive) Unblock() error { return nil }

// Close closes the file.
func (d *Drive) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return fmt.Errorf("close %s: %w", d.info.Node, hal.ErrClosed)
	}
	d.closed = true
	errs := []error{d.f.Close()}
	if d.direct != nil {
		errs = append(errs, d.direct.Close())
	}
	return errors.Join(errs...)
}

// Sectors is how many logical sectors the drive has.
func (d *Drive) Sectors() int64 { return d.info.Size / int64(d.info.LogicalSectorSize) }

// SystemDisks is empty outside Linux: only image files are opened there.
func SystemDisks() (map[string]bool, error) { return map[string]bool{}, nil }

// IsSystemDisk is false for an image file.
func (d *Drive) IsSystemDisk(map[string]bool) bool { return false }

// SystemCheck refuses every device node outside Linux: the appliance's
// drives are found on Linux only.
func SystemCheck() (func(node string) bool, error) {
	return func(string) bool { return true }, nil
}

// RestoreStale has nothing to do where there is no BLKRO: a master is
// only ever opened read-only.
func RestoreStale() ([]string, error) { return nil, nil }
