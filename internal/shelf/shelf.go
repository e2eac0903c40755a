// Package shelf is a folder of named entries, each a folder of its own
// (the image library's images, its file sets), kept crash-safe: an entry
// is built in a hidden ".NAME.partial" folder, which a lock on one of its
// files marks as being written, and renamed into place whole; it is
// removed by renaming it to a partial folder first. A partial folder whose
// lock nobody holds is what an interrupted write or removal left, and
// Open clears it.
package shelf

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/clonebay/clonebay/internal/filelock"
)

// PartialExt ends the name of a folder being written or removed.
const PartialExt = ".partial"

// Shelf is one folder of entries.
type Shelf struct {
	Dir  string
	What string // how errors name it: "image library", "file set library"
	// LockFile is the file, inside a partial folder, whose lock says the
	// folder is being written.
	LockFile string
}

// Open makes the folder when it is missing and clears what an interrupted
// write or removal left behind (a partial folder being written by another
// process, the command line beside the appliance, is left alone).
func Open(dir, what, lockFile string) (*Shelf, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	s := &Shelf{Dir: dir, What: what, LockFile: lockFile}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		if strings.HasPrefix(e.Name(), ".") && strings.HasSuffix(e.Name(), PartialExt) && !s.inUse(p) {
			os.RemoveAll(p)
		}
	}
	return s, nil
}

// Path is a file of an entry, or the entry's folder.
func (s *Shelf) Path(name string, file ...string) string {
	return filepath.Join(append([]string{s.Dir, name}, file...)...)
}

// Partial is the hidden folder an entry is written in; stage tells
// several apart (".update", ".old"). The stage follows a "~", which no
// entry name holds: names may hold dots, and the stage ".update" of
// "a" must not be the folder of an entry named "a.update".
func (s *Shelf) Partial(name, stage string) string {
	if stage != "" {
		stage = "~" + strings.TrimPrefix(stage, ".")
	}
	return s.Path("." + name + stage + PartialExt)
}

// Has reports whether an entry of that name is on the shelf.
func (s *Shelf) Has(name string) bool {
	st, err := os.Stat(s.Path(name))
	return err == nil && st.IsDir()
}

// Remove deletes an entry: renamed first, so a power loss halfway leaves
// a partial folder the next Open clears, never half an entry.
func (s *Shelf) Remove(name string) error {
	tmp := s.Partial(name, ".deleting")
	if err := os.Rename(s.Path(name), tmp); err != nil {
		return fmt.Errorf("deleting %s: %w", name, err)
	}
	return os.RemoveAll(tmp)
}

// Free is the space left on the shelf's file system, in bytes.
func (s *Shelf) Free() (int64, error) {
	n, err := filelock.Free(s.Dir)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", s.What, err)
	}
	return n, nil
}

// Lock takes the lock that marks the partial folder dir as being written
// by this process, on its LockFile (made when missing); it ends when the
// returned file is closed.
func (s *Shelf) Lock(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, s.LockFile), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := filelock.Lock(f, true); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s is being written by another process", dir)
	}
	return f, nil
}

// inUse reports whether another process holds a partial folder's lock.
func (s *Shelf) inUse(dir string) bool {
	f, err := os.OpenFile(filepath.Join(dir, s.LockFile), os.O_RDWR, 0)
	if err != nil {
		return !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrPermission)
	}
	defer f.Close()
	if err := filelock.Lock(f, true); err != nil {
		return true
	}
	_ = filelock.Unlock(f)
	return false
}
