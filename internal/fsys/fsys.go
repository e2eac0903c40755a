// Package fsys is the handful of file operations the appliance's
// crash-safe writers use (the production record and its head, the
// settings, the job journal, the image library's small files), behind an
// interface, so that a test can cut the power: the double in fsystest
// forgets every write that was not synced, which a killed process (whose
// writes the kernel's cache still holds) cannot show.
//
// fsys imports only the standard library.
package fsys

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// File is an open file.
type File interface {
	io.Reader
	io.Writer
	io.Seeker
	Name() string
	Truncate(size int64) error
	// Sync makes the file's content durable; its name in its folder is
	// durable only once the folder is synced too (FS.SyncDir).
	Sync() error
	Close() error
}

// FS is a file system.
type FS interface {
	OpenFile(name string, flag int, perm fs.FileMode) (File, error)
	ReadFile(name string) ([]byte, error)
	Stat(name string) (fs.FileInfo, error)
	Rename(oldpath, newpath string) error
	Remove(name string) error
	MkdirAll(path string, perm fs.FileMode) error
	ReadDir(name string) ([]fs.DirEntry, error)
	// SyncDir makes the folder's entries durable: the files created,
	// renamed into or removed from it.
	SyncDir(dir string) error
}

// OS is the machine's own file system.
var OS FS = osFS{}

type osFS struct{}

func (osFS) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err // a nil *os.File must not become a non-nil File
	}
	return f, nil
}

func (osFS) ReadFile(name string) ([]byte, error)         { return os.ReadFile(name) }
func (osFS) Stat(name string) (fs.FileInfo, error)        { return os.Stat(name) }
func (osFS) Rename(oldpath, newpath string) error         { return os.Rename(oldpath, newpath) }
func (osFS) Remove(name string) error                     { return os.Remove(name) }
func (osFS) MkdirAll(path string, perm fs.FileMode) error { return os.MkdirAll(path, perm) }
func (osFS) ReadDir(name string) ([]fs.DirEntry, error)   { return os.ReadDir(name) }

func (osFS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil && syncDirUnsupported(err) {
		return nil // Windows cannot open a folder for syncing; NTFS journals renames itself
	}
	return err
}

// WriteFileAtomic replaces path with data so that a power cut at any
// moment leaves either the old file or the new one, never a mix and never
// nothing: write a temporary file with a unique name in the same folder,
// sync it, rename it over path, sync the folder. perm applies to a new
// file (less the process's umask).
func WriteFileAtomic(fsys FS, path string, data []byte, perm fs.FileMode) (err error) {
	dir := filepath.Dir(path)
	if err := fsys.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var f File
	for range 10 {
		f, err = fsys.OpenFile(tempName(path), os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
		if !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = fsys.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := fsys.Rename(tmp, path); err != nil {
		return err
	}
	if err := fsys.SyncDir(dir); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// tempName is a fresh name beside path: ".NAME.RANDOM.tmp".
func tempName(path string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+"."+hex.EncodeToString(b[:])+".tmp")
}

// IsTemp reports whether name (a base name) is a temporary file
// WriteFileAtomic left behind when the power went.
func IsTemp(name string) bool {
	return len(name) > 5 && name[0] == '.' && filepath.Ext(name) == ".tmp"
}

// ReadRegular reads the file at name as ReadFile does, but refuses
// anything other than a regular file, saying what it is: a FIFO would
// keep the reader waiting for a writer for ever, and a device or a
// folder is never an input file the user meant.
func ReadRegular(fsys FS, name string) ([]byte, error) {
	st, err := fsys.Stat(name)
	if err != nil {
		return nil, err
	}
	if err := Regular(name, st); err != nil {
		return nil, err
	}
	return fsys.ReadFile(name)
}

// Regular returns nil for a regular file's info, else an error that
// names the file and what it is instead.
func Regular(name string, st fs.FileInfo) error {
	m := st.Mode()
	if m.IsRegular() {
		return nil
	}
	what := "not a plain file"
	switch {
	case m.IsDir():
		what = "a folder"
	case m&fs.ModeNamedPipe != 0:
		what = "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		what = "a socket"
	case m&fs.ModeDevice != 0:
		what = "a device"
	}
	return fmt.Errorf("%s: %w: it is %s", name, ErrNotRegular, what)
}

// ErrNotRegular is returned (wrapped) for an input that is not a regular
// file.
var ErrNotRegular = errors.New("not a regular file")
