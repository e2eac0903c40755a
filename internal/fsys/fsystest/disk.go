// Package fsystest holds a test double of fsys.FS whose power can be cut:
// Disk keeps every file in memory, remembers what was made durable (a
// file's synced content, a folder's synced entries), and Cut returns the
// disk as it comes back after the power went: everything that was not
// synced is gone. A writer that leaves out one fsync loses data in a test
// that cuts the power, which a killed process (whose writes the kernel's
// cache still holds) cannot show.
package fsystest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/clonebay/clonebay/internal/fsys"
)

// ErrPowerOff is returned by a disk (and its open files) after Cut.
var ErrPowerOff = errors.New("the power is off")

// inode is a file's content.
type inode struct {
	data   []byte
	synced []byte
	mode   fs.FileMode
}

// Disk is an in-memory fsys.FS with a power switch. Folders are always
// durable (a simplification: the appliance makes its folders once);
// files and folder entries are durable only once synced.
type Disk struct {
	mu      sync.Mutex
	off     bool
	dirs    map[string]bool
	view    map[string]*inode // what a program sees
	durable map[string]*inode // what survives a power cut
	syncs   int
	budget  int // operations left before the power goes by itself; < 0 is no limit
}

var _ fsys.FS = (*Disk)(nil)

// NewDisk makes an empty disk.
func NewDisk() *Disk {
	return &Disk{dirs: map[string]bool{"/": true, ".": true}, view: map[string]*inode{}, durable: map[string]*inode{}, budget: -1}
}

// PowerOffAfter makes the power go by itself once n more operations
// (opens, reads, writes, syncs, renames, ...) have run: the n+1st fails
// with ErrPowerOff, and Cut gives the disk as it comes back. A test walks
// n over every point of a write this way.
func (d *Disk) PowerOffAfter(n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.budget = n
}

// Syncs counts the file and folder syncs so far.
func (d *Disk) Syncs() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.syncs
}

// Cut turns the power off: the disk and its open files fail from now on
// with ErrPowerOff, and the returned disk holds what was durable. With
// torn set, a file whose unsynced content extends its synced content (an
// append) keeps a random part of the new bytes, as a disk that wrote some
// sectors of an unsynced write would; otherwise every unsynced byte is
// lost.
func (d *Disk) Cut(torn *rand.Rand) *Disk {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.off = true
	next := NewDisk()
	for k := range d.dirs {
		next.dirs[k] = true
	}
	copied := map[*inode]*inode{}
	for name, ino := range d.durable {
		n, ok := copied[ino]
		if !ok {
			content := ino.synced
			if torn != nil && len(ino.data) > len(ino.synced) && bytes.HasPrefix(ino.data, ino.synced) {
				content = ino.data[:len(ino.synced)+torn.IntN(len(ino.data)-len(ino.synced)+1)]
			}
			n = &inode{data: slices.Clone(content), synced: slices.Clone(content), mode: ino.mode}
			copied[ino] = n
		}
		next.view[name] = n
		next.durable[name] = n
	}
	return next
}

// Files lists the files a program sees, sorted.
func (d *Disk) Files() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for name := range d.view {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

func (d *Disk) check(op, name string) error {
	if d.budget == 0 {
		d.off = true
	}
	if d.budget > 0 {
		d.budget--
	}
	if d.off {
		return &fs.PathError{Op: op, Path: name, Err: ErrPowerOff}
	}
	return nil
}

func clean(name string) string { return filepath.Clean(name) }

// OpenFile implements fsys.FS for the flags the writers use: O_RDONLY,
// O_WRONLY, O_RDWR, O_CREATE, O_EXCL, O_TRUNC, O_APPEND.
func (d *Disk) OpenFile(name string, flag int, perm fs.FileMode) (fsys.File, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	name = clean(name)
	if err := d.check("open", name); err != nil {
		return nil, err
	}
	if !d.dirs[filepath.Dir(name)] {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	ino, ok := d.view[name]
	switch {
	case ok && flag&os.O_CREATE != 0 && flag&os.O_EXCL != 0:
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrExist}
	case !ok && flag&os.O_CREATE == 0:
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	case !ok:
		ino = &inode{mode: perm}
		d.view[name] = ino
	}
	writable := flag&(os.O_WRONLY|os.O_RDWR) != 0
	if flag&os.O_TRUNC != 0 && writable {
		ino.data = nil
	}
	return &file{d: d, name: name, ino: ino, read: flag&os.O_WRONLY == 0, write: writable, appendOnly: flag&os.O_APPEND != 0}, nil
}

// ReadFile implements fsys.FS.
func (d *Disk) ReadFile(name string) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	name = clean(name)
	if err := d.check("read", name); err != nil {
		return nil, err
	}
	ino, ok := d.view[name]
	if !ok {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fs.ErrNotExist}
	}
	return slices.Clone(ino.data), nil
}

// Stat implements fsys.FS.
func (d *Disk) Stat(name string) (fs.FileInfo, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	name = clean(name)
	if err := d.check("stat", name); err != nil {
		return nil, err
	}
	if d.dirs[name] {
		return fileInfo{name: filepath.Base(name), mode: fs.ModeDir | 0o755}, nil
	}
	ino, ok := d.view[name]
	if !ok {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
	}
	return fileInfo{name: filepath.Base(name), size: int64(len(ino.data)), mode: ino.mode}, nil
}

// Rename implements fsys.FS: atomic, durable once both folders are
// synced.
func (d *Disk) Rename(oldpath, newpath string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	oldpath, newpath = clean(oldpath), clean(newpath)
	if err := d.check("rename", oldpath); err != nil {
		return err
	}
	ino, ok := d.view[oldpath]
	if !ok {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: fs.ErrNotExist}
	}
	if !d.dirs[filepath.Dir(newpath)] {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: fs.ErrNotExist}
	}
	delete(d.view, oldpath)
	d.view[newpath] = ino
	return nil
}

// Remove implements fsys.FS.
func (d *Disk) Remove(name string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	name = clean(name)
	if err := d.check("remove", name); err != nil {
		return err
	}
	if _, ok := d.view[name]; !ok {
		return &fs.PathError{Op: "remove", Path: name, Err: fs.ErrNotExist}
	}
	delete(d.view, name)
	return nil
}

// MkdirAll implements fsys.FS.
func (d *Disk) MkdirAll(path string, _ fs.FileMode) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	path = clean(path)
	if err := d.check("mkdir", path); err != nil {
		return err
	}
	for p := path; !d.dirs[p]; p = filepath.Dir(p) {
		if _, ok := d.view[p]; ok {
			return &fs.PathError{Op: "mkdir", Path: p, Err: errors.New("not a directory")}
		}
		d.dirs[p] = true
	}
	return nil
}

// ReadDir implements fsys.FS: the files and folders in a folder, sorted.
func (d *Disk) ReadDir(name string) ([]fs.DirEntry, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	name = clean(name)
	if err := d.check("readdir", name); err != nil {
		return nil, err
	}
	if !d.dirs[name] {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	var out []fs.DirEntry
	for p := range d.dirs {
		if p != name && filepath.Dir(p) == name {
			out = append(out, fs.FileInfoToDirEntry(fileInfo{name: filepath.Base(p), mode: fs.ModeDir | 0o755}))
		}
	}
	for p, ino := range d.view {
		if filepath.Dir(p) == name {
			out = append(out, fs.FileInfoToDirEntry(fileInfo{name: filepath.Base(p), size: int64(len(ino.data)), mode: ino.mode}))
		}
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}

// SyncDir implements fsys.FS: the folder's entries as a program sees them
// become the ones that survive a power cut.
func (d *Disk) SyncDir(dir string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	dir = clean(dir)
	if err := d.check("sync", dir); err != nil {
		return err
	}
	if !d.dirs[dir] {
		return &fs.PathError{Op: "sync", Path: dir, Err: fs.ErrNotExist}
	}
	for name := range d.durable {
		if filepath.Dir(name) == dir {
			delete(d.durable, name)
		}
	}
	for name, ino := range d.view {
		if filepath.Dir(name) == dir {
			d.durable[name] = ino
		}
	}
	d.syncs++
	return nil
}

// file is an open file of a Disk.
type file struct {
	d           *Disk
	name        string
	ino         *inode
	off         int64
	read, write bool
	appendOnly  bool
	closed      bool
}

func (f *file) Name() string { return f.name }

func (f *file) use(op string) error {
	if f.closed {
		return &fs.PathError{Op: op, Path: f.name, Err: fs.ErrClosed}
	}
	return f.d.check(op, f.name)
}

func (f *file) Read(p []byte) (int, error) {
	f.d.mu.Lock()
	defer f.d.mu.Unlock()
	if err := f.use("read"); err != nil {
		return 0, err
	}
	if !f.read {
		return 0, &fs.PathError{Op: "read", Path: f.name, Err: fs.ErrPermission}
	}
	if f.off >= int64(len(f.ino.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.ino.data[f.off:])
	f.off += int64(n)
	return n, nil
}

func (f *file) Write(p []byte) (int, error) {
	f.d.mu.Lock()
	defer f.d.mu.Unlock()
	if err := f.use("write"); err != nil {
		return 0, err
	}
	if !f.write {
		return 0, &fs.PathError{Op: "write", Path: f.name, Err: fs.ErrPermission}
	}
	if f.appendOnly {
		f.off = int64(len(f.ino.data))
	}
	if end := f.off + int64(len(p)); end > int64(len(f.ino.data)) {
		f.ino.data = append(f.ino.data, make([]byte, end-int64(len(f.ino.data)))...)
	}
	copy(f.ino.data[f.off:], p)
	f.off += int64(len(p))
	return len(p), nil
}

func (f *file) Seek(offset int64, whence int) (int64, error) {
	f.d.mu.Lock()
	defer f.d.mu.Unlock()
	if err := f.use("seek"); err != nil {
		return 0, err
	}
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += f.off
	case io.SeekEnd:
		offset += int64(len(f.ino.data))
	default:
		return 0, fmt.Errorf("seek %s: whence %d", f.name, whence)
	}
	if offset < 0 {
		return 0, fmt.Errorf("seek %s: negative offset", f.name)
	}
	f.off = offset
	return offset, nil
}

func (f *file) Truncate(size int64) error {
	f.d.mu.Lock()
	defer f.d.mu.Unlock()
	if err := f.use("truncate"); err != nil {
		return err
	}
	if !f.write {
		return &fs.PathError{Op: "truncate", Path: f.name, Err: fs.ErrPermission}
	}
	if size < int64(len(f.ino.data)) {
		f.ino.data = f.ino.data[:size]
	} else {
		f.ino.data = append(f.ino.data, make([]byte, size-int64(len(f.ino.data)))...)
	}
	return nil
}

func (f *file) Sync() error {
	f.d.mu.Lock()
	defer f.d.mu.Unlock()
	if err := f.use("sync"); err != nil {
		return err
	}
	f.ino.synced = slices.Clone(f.ino.data)
	f.d.syncs++
	return nil
}

func (f *file) Close() error {
	f.d.mu.Lock()
	defer f.d.mu.Unlock()
	if f.closed {
		return &fs.PathError{Op: "close", Path: f.name, Err: fs.ErrClosed}
	}
	f.closed = true
	return nil
}

type fileInfo struct {
	name string
	size int64
	mode fs.FileMode
}

func (i fileInfo) Name() string       { return i.name }
func (i fileInfo) Size() int64        { return i.size }
func (i fileInfo) Mode() fs.FileMode  { return i.mode }
func (i fileInfo) ModTime() time.Time { return time.Time{} }
func (i fileInfo) IsDir() bool        { return i.mode.IsDir() }
func (i fileInfo) Sys() any           { return nil }
