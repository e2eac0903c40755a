//go:build linux

package blockdev

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/clonebay/clonebay/hal"
)

// Drive is an open block device or image file.
type Drive struct {
	info    hal.DriveInfo
	storage Storage
	block   bool     // a block device, not a file
	f       *os.File // buffered I/O
	direct  *os.File // O_DIRECT, when the device allows it
	write   bool
	align   int64 // direct I/O alignment: the logical sector size (>= 512)

	mu     sync.Mutex
	closed bool
	roWas  *bool  // BLKRO before WriteBlock, to restore
	roDev  string // the write-block's ledger entry (see ledger.go)
}

var (
	_ hal.Drive     = (*Drive)(nil)
	_ hal.Discarder = (*Drive)(nil)
)

// Opener opens drives by node for the firmware.
type Opener struct{}

var _ hal.DriveOpener = Opener{}

func (Opener) OpenRead(node string) (hal.DriveReader, error) { return OpenRead(node) }
func (Opener) OpenWrite(node string) (hal.Drive, error)      { return OpenWrite(node) }

// OpenRead opens a drive read-only, as a master (see OpenMaster) or to
// probe or verify it. A block device is opened
// exclusively too, so a mounted drive (whose content may change under the
// copy) is refused. A file gets a shared lock: other jobs may read it too,
// none may write it while it is open.
func OpenRead(node string) (*Drive, error) { return open(node, false) }

// OpenWrite opens a drive for writing, as a target. A block device is
// opened exclusively: a mounted or busy device is refused. A file gets an
// exclusive lock: no other job reads or writes it while it is open.
func OpenWrite(node string) (*Drive, error) { return open(node, true) }

func open(node string, write bool) (*Drive, error) {
	st, err := os.Stat(node)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", node, err)
	}
	block := st.Mode()&os.ModeDevice != 0 && st.Mode()&os.ModeCharDevice == 0
	if !block && !st.Mode().IsRegular() {
		return nil, fmt.Errorf("open %s: %w", node, errNotADrive)
	}
	flags := unix.O_CLOEXEC
	if write {
		flags |= unix.O_RDWR
	} else {
		flags |= unix.O_RDONLY
	}
	if block {
		flags |= unix.O_EXCL
	}
	fd, err := unix.Open(node, flags, 0)
	if err != nil {
		switch {
		case errors.Is(err, unix.EBUSY):
			return nil, fmt.Errorf("open %s: %w: it is mounted or in use by another program", node, hal.ErrBusy)
		case errors.Is(err, unix.EROFS) || (write && errors.Is(err, unix.EACCES) && block):
			return nil, fmt.Errorf("open %s for writing: %w", node, hal.ErrReadOnly)
		}
		return nil, fmt.Errorf("open %s: %w", node, err)
	}
	d := &Drive{f: os.NewFile(uintptr(fd), node), block: block, write: write}
	if !block {
		if err := lockFile(fd, node, write); err != nil {
			d.f.Close()
			return nil, err
		}
	}
	if err := d.probe(node); err != nil {
		d.f.Close()
		return nil, err
	}
	if write && d.info.ReadOnly {
		d.f.Close()
		return nil, fmt.Errorf("open %s for writing: %w", node, hal.ErrReadOnly)
	}
	// A second descriptor for direct I/O. Some file systems (tmpfs) refuse
	// O_DIRECT: then every access goes through the buffered descriptor and
	// DropCaches does the work of keeping verification honest.
	dfd, err := unix.Open(fmt.Sprintf("/proc/self/fd/%d", fd), (flags&^unix.O_EXCL)|unix.O_DIRECT, 0)
	if err == nil {
		d.direct = os.NewFile(uintptr(dfd), node)
	}
	return d, nil
}

// lockFile takes a lock on an image file for the drive's open file
// description: shared for a master, exclusive for a target. It is
// released when the file is closed. Another job's lock makes it busy.
func lockFile(fd int, node string, write bool) error {
	how := unix.LOCK_SH
	if write {
		how = unix.LOCK_EX
	}
	err := unix.Flock(fd, how|unix.LOCK_NB)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.EWOULDBLOCK):
		if write {
			return fmt.Errorf("open %s: %w: another job is reading or writing it", node, hal.ErrBusy)
		}
		return fmt.Errorf("open %s: %w: another job is writing it", node, hal.ErrBusy)
	}
	return fmt.Errorf("open %s: %w", node, os.NewSyscallError("flock", err))
}

// probe reads size, sector sizes, read-only state and identity.
func (d *Drive) probe(node string) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(d.f.Fd()), &st); err != nil {
		return fmt.Errorf("open %s: %w", node, os.NewSyscallError("fstat", err))
	}
	storage, err := sysfs{root: "/sys"}.fromStat(node, &st)
	if err != nil {
		return fmt.Errorf("open %s: %w", node, err)
	}
	d.storage = storage
	d.info = hal.DriveInfo{Node: node, LogicalSectorSize: 512, PhysicalSectorSize: 512, Bus: hal.Bus("file")}
	if !d.block {
		d.info.Size = st.Size
		d.info.Path = node
		d.align = 512
		return nil
	}
	major, minor := unix.Major(uint64(st.Rdev)), unix.Minor(uint64(st.Rdev))
	fd := int(d.f.Fd())
	size, err := ioctlUint64(fd, unix.BLKGETSIZE64)
	if err != nil {
		return fmt.Errorf("open %s: size: %w", node, os.NewSyscallError("BLKGETSIZE64", err))
	}
	d.info.Size = int64(size)
	if n, err := unix.IoctlGetInt(fd, unix.BLKSSZGET); err == nil && n >= 512 {
		d.info.LogicalSectorSize = n
	}
	if n, err := unix.IoctlGetUint32(fd, unix.BLKPBSZGET); err == nil && int(n) >= d.info.LogicalSectorSize {
		d.info.PhysicalSectorSize = int(n)
	}
	ro, err := unix.IoctlGetInt(fd, unix.BLKROGET)
	if err == nil {
		d.info.ReadOnly = ro != 0
	}
	d.align = int64(d.info.LogicalSectorSize)
	sys := fmt.Sprintf("/sys/dev/block/%d:%d", major, minor)
	d.info.Removable = readSys(sys, "removable") == "1"
	d.info.Vendor = readSys(sys, "device/vendor")
	d.info.Model = readSys(sys, "device/model")
	d.info.Serial = readSys(sys, "device/serial")
	d.info.CID = hal.CardID(readSys(sys, "device/cid"))
	if real, err := filepath.EvalSymlinks(sys); err == nil {
		d.info.Path = strings.TrimPrefix(real, "/sys")
	}
	d.info.Bus = hal.GuessBus(d.info.Path, filepath.Base(node))
	return nil
}

func readSys(dir, name string) string {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func ioctlUint64(fd int, req uint) (uint64, error) {
	var v uint64
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(unsafe.Pointer(&v)))
	if errno != 0 {
		return 0, errno
	}
	return v, nil
}

// Info returns the drive's identity as the kernel reports it. The port
// fields are the board's to fill in.
func (d *Drive) Info() hal.DriveInfo { return d.info }

func (d *Drive) Size() int64 { return d.info.Size }

// SectorSize is the logical sector size: the unit partition tables count in.
func (d *Drive) SectorSize() int { return d.info.LogicalSectorSize }

// ID names the drive's storage (Storage.Key): the same for every name of
// one file or disk, a loop device on a file included.
func (d *Drive) ID() string { return d.storage.Key() }

// Storage is the media the open drive stands for.
func (d *Drive) Storage() Storage { return d.storage }

func (d *Drive) check(op string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return fmt.Errorf("%s %s: %w", op, d.info.Node, hal.ErrClosed)
	}
	return nil
}

// aligned reports whether an access can go through direct I/O.
func (d *Drive) aligned(p []byte, off int64) bool {
	if d.direct == nil || len(p) == 0 {
		return false
	}
	return off%d.align == 0 && int64(len(p))%d.align == 0 &&
		uintptr(unsafe.Pointer(unsafe.SliceData(p)))%uintptr(d.align) == 0
}

// ReadAt reads the media at off; aligned reads use direct I/O.
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
	n, err := readFull(f, want, off)
	if err != nil {
		return n, &hal.IOError{Op: "read", Node: d.info.Node, Off: off + int64(n), Err: d.cause(errnoOf(err))}
	}
	if len(want) < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func readFull(f *os.File, p []byte, off int64) (int, error) {
	done := 0
	for done < len(p) {
		n, err := f.ReadAt(p[done:], off+int64(done))
		done += n
		if err != nil {
			if errors.Is(err, io.EOF) && done == len(p) {
				return done, nil
			}
			return done, err
		}
	}
	return done, nil
}

// WriteAt writes at off; aligned writes use direct I/O, so progress is the
// media's and not the page cache's.
func (d *Drive) WriteAt(p []byte, off int64) (int, error) {
	if err := d.check("write"); err != nil {
		return 0, err
	}
	if !d.write {
		return 0, fmt.Errorf("write %s: opened read-only: %w", d.info.Node, hal.ErrReadOnly)
	}
	// Files do not grow either: a target is as big as it was made.
	if off < 0 || off+int64(len(p)) > d.info.Size {
		return 0, fmt.Errorf("write %s at %d+%d (size %d): %w", d.info.Node, off, len(p), d.info.Size, hal.ErrOutOfRange)
	}
	f := d.f
	if d.aligned(p, off) {
		f = d.direct
	}
	n, err := f.WriteAt(p, off)
	if err != nil {
		return n, &hal.IOError{Op: "write", Node: d.info.Node, Off: off + int64(n), Err: d.cause(errnoOf(err))}
	}
	return n, nil
}

// cause is err, or hal.ErrRemoved beside it when the block device is gone:
// a drive pulled mid-write fails with whatever the kernel returns then
// (ENODEV, EIO, or ENOSPC once its size is 0), and the operator should
// read that the drive was removed.
func (d *Drive) cause(err error) error {
	if !d.block {
		return err
	}
	return removedCause(err, d.gone)
}

// removedCause is err, or hal.ErrRemoved beside it when the drive left.
// ENODEV and ENXIO from a block device that was there when it was opened
// say that much on their own: the kernel has torn the disk down (or taken
// it offline), though its size may not read 0 yet, as a USB drive's
// teardown runs beside the I/O that fails. Any other error asks gone.
func removedCause(err error, gone func() bool) error {
	if errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENXIO) || gone() {
		return fmt.Errorf("%w (%w)", hal.ErrRemoved, err)
	}
	return err
}

// gone reports whether the block device left: its size reads 0, or
// cannot be read, where it was not 0 when it was opened.
func (d *Drive) gone() bool {
	if d.info.Size == 0 {
		return false
	}
	size, err := ioctlUint64(int(d.f.Fd()), unix.BLKGETSIZE64)
	return err != nil || size == 0
}

func errnoOf(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Sync makes every write durable.
func (d *Drive) Sync() error {
	if err := d.check("sync"); err != nil {
		return err
	}
	if err := d.f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", d.info.Node, d.cause(errnoOf(err)))
	}
	return nil
}

// DropCaches drops the kernel's cached pages of the drive (BLKFLSBUF for a
// block device, POSIX_FADV_DONTNEED for a file), so the next reads come
// from the media.
func (d *Drive) DropCaches() error {
	if err := d.check("drop caches"); err != nil {
		return err
	}
	fd := int(d.f.Fd())
	if d.block {
		if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.BLKFLSBUF, 0); errno != 0 {
			return fmt.Errorf("drop caches %s: %w", d.info.Node, os.NewSyscallError("BLKFLSBUF", errno))
		}
		return nil
	}
	if err := unix.Fdatasync(fd); err != nil {
		return fmt.Errorf("drop caches %s: %w", d.info.Node, os.NewSyscallError("fdatasync", err))
	}
	if err := unix.Fadvise(fd, 0, 0, unix.FADV_DONTNEED); err != nil {
		return fmt.Errorf("drop caches %s: %w", d.info.Node, os.NewSyscallError("fadvise", err))
	}
	return nil
}

// Discard discards (or securely discards) a range of a block device.
func (d *Drive) Discard(off, length int64, secure bool) error {
	if err := d.check("discard"); err != nil {
		return err
	}
	if !d.block || !d.write {
		return fmt.Errorf("discard %s: %w", d.info.Node, hal.ErrNoDiscard)
	}
	req, name := uint(unix.BLKDISCARD), "BLKDISCARD"
	if secure {
		req, name = unix.BLKSECDISCARD, "BLKSECDISCARD"
	}
	rng := [2]uint64{uint64(off), uint64(length)}
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, d.f.Fd(), uintptr(req), uintptr(unsafe.Pointer(&rng)))
	switch {
	case errno == 0:
		return nil
	case errno == unix.EOPNOTSUPP || errno == unix.ENOTTY || errno == unix.EINVAL:
		return fmt.Errorf("discard %s: %w (%s: %v)", d.info.Node, hal.ErrNoDiscard, name, errno)
	}
	return fmt.Errorf("discard %s at %d+%d: %w", d.info.Node, off, length, os.NewSyscallError(name, errno))
}

// WriteBlock makes the block device read-only in the kernel (BLKROSET)
// until Unblock or Close, so nothing, on this box or in this process, can
// write to the master during a job.
func (d *Drive) WriteBlock() error {
	if err := d.check("write-block"); err != nil {
		return err
	}
	if !d.block {
		return nil // a file master is opened read-only; there is no BLKRO
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.roWas != nil {
		return nil
	}
	wasRO, dev, err := noteBlock(d.f, d.info.Node)
	if err != nil {
		return fmt.Errorf("write-block %s: %w", d.info.Node, err)
	}
	if err := setRO(int(d.f.Fd()), 1); err != nil {
		_ = forgetBlock(dev) // nothing was changed
		return fmt.Errorf("write-block %s: %w", d.info.Node, err)
	}
	d.roWas, d.roDev = &wasRO, dev
	return nil
}

// Unblock restores the read-only state the device had before WriteBlock.
func (d *Drive) Unblock() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.unblockLocked()
}

func (d *Drive) unblockLocked() error {
	if d.roWas == nil {
		return nil
	}
	v := 0
	if *d.roWas {
		v = 1
	}
	if err := setRO(int(d.f.Fd()), v); err != nil {
		return fmt.Errorf("restore write access %s: %w", d.info.Node, err)
	}
	d.roWas = nil
	return forgetBlock(d.roDev)
}

func setRO(fd, v int) error {
	if err := unix.IoctlSetPointerInt(fd, unix.BLKROSET, v); err != nil {
		return os.NewSyscallError("BLKROSET", err)
	}
	return nil
}

// Close restores a write-blocked device and closes it.
func (d *Drive) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return fmt.Errorf("close %s: %w", d.info.Node, hal.ErrClosed)
	}
	d.closed = true
	errs := []error{d.unblockLocked()}
	if d.direct != nil {
		errs = append(errs, d.direct.Close())
	}
	errs = append(errs, d.f.Close())
	return errors.Join(errs...)
}

// Sectors is how many logical sectors the drive has.
func (d *Drive) Sectors() int64 { return d.info.Size / int64(d.info.LogicalSectorSize) }
