// Package filelock holds advisory whole-file locks that other processes
// on the machine see: flock on Unix, LockFileEx on Windows. A lock belongs
// to the open file and ends when the file is closed. It also says how much
// space a folder's file system has left, the other question the image
// library and the command line ask the operating system in one way per
// platform.
package filelock

import (
	"errors"
	"os"
)

// ErrLocked says another open file holds a conflicting lock.
var ErrLocked = errors.New("locked by another program")

// Lock takes a lock on f without waiting: exclusive for a writer, shared
// for a reader (many readers, never a reader beside a writer). It returns
// an error wrapping ErrLocked when another open file holds a conflicting
// lock.
func Lock(f *os.File, exclusive bool) error { return lock(f, exclusive) }

// Unlock releases f's lock; closing f does too.
func Unlock(f *os.File) error { return unlock(f) }

// Free is the space, in bytes, that an unprivileged writer may still use
// on the file system holding dir.
func Free(dir string) (int64, error) { return free(dir) }
