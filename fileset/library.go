package fileset

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/internal/shelf"
)

// SetsFolder is the folder inside the image library that holds the file
// sets: hidden, so the image library never lists it as an image.
const SetsFolder = ".sets"

// Names inside a set's folder.
const (
	manifestFile = "manifest.json"
	checkedFile  = "checked" // when the files last matched the manifest
	filesDir     = "files"
	lockFile     = "lock"
)

// IsSetFolder reports whether dir is the folder of a stored file set: its
// manifest beside its files folder. A command told of no library uses it
// to refuse writing into one all the same.
func IsSetFolder(dir string) bool {
	m, err := os.Stat(filepath.Join(dir, manifestFile))
	if err != nil || !m.Mode().IsRegular() {
		return false
	}
	f, err := os.Stat(filepath.Join(dir, filesDir))
	return err == nil && f.IsDir()
}

// Errors of the library, wrapped with the details.
var (
	ErrNotFound = errors.New("no such file set")
	ErrExists   = errors.New("a file set of that name already exists")
	ErrDamaged  = errors.New("the file set does not match its manifest")
	ErrNoSpace  = errors.New("not enough free space in the library")
)

// Library is the file sets beside the image library: one folder a set,
// NAME/manifest.json and NAME/files/..., built in a hidden ".NAME.partial"
// folder and renamed into place, so a set appears whole or not at all.
type Library struct {
	Dir string
	// Now is the clock; time.Now when nil.
	Now   func() time.Time
	shelf *shelf.Shelf
}

// OpenLibrary opens the sets of the image library in imagesDir, making
// the folder when it is missing and clearing what an interrupted import
// or job left behind.
func OpenLibrary(imagesDir string) (*Library, error) {
	dir := filepath.Join(imagesDir, SetsFolder)
	s, err := shelf.Open(dir, "file set library", lockFile)
	if err != nil {
		return nil, err
	}
	return &Library{Dir: dir, shelf: s}, nil
}

func (l *Library) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

func (l *Library) path(name string, file ...string) string { return l.shelf.Path(name, file...) }

// Info is one set as listed.
type Info struct {
	Name     string
	Manifest *Manifest // nil when Err says why it cannot be read
	Checked  time.Time // zero when never checked
	Err      error
}

// List returns the sets, sorted by name. A set whose manifest cannot be
// read is listed with Err set, so it can still be deleted.
func (l *Library) List() ([]Info, error) {
	ents, err := os.ReadDir(l.Dir)
	if err != nil {
		return nil, fmt.Errorf("file set library: %w", err)
	}
	var out []Info
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, l.info(e.Name()))
		}
	}
	return out, nil
}

// Info returns one set's entry.
func (l *Library) Info(name string) (Info, error) {
	if err := l.exists(name); err != nil {
		return Info{}, err
	}
	return l.info(name), nil
}

func (l *Library) info(name string) Info {
	in := Info{Name: name}
	data, err := os.ReadFile(l.path(name, manifestFile))
	if err == nil {
		in.Manifest, err = readManifest(data)
	}
	in.Err = err
	if b, err := os.ReadFile(l.path(name, checkedFile)); err == nil {
		in.Checked, _ = time.Parse(time.RFC3339, strings.TrimSpace(string(b)))
	}
	return in
}

func (l *Library) exists(name string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	if !l.shelf.Has(name) {
		return fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	return nil
}

// Has reports whether the library holds a set of that name.
func (l *Library) Has(name string) bool { return l.exists(name) == nil }

// Remove deletes a set; a power loss halfway leaves no half set.
func (l *Library) Remove(name string) error {
	if err := l.exists(name); err != nil {
		return err
	}
	return l.shelf.Remove(name)
}

// Free is the space left in the library, in bytes.
func (l *Library) Free() (int64, error) { return l.shelf.Free() }

// Import stores a source's files as a new set: from a folder (os.DirFS)
// or a stick's FAT or exFAT volume (see OpenVolume). Every name and file
// type is checked before anything is stored (Scan); each file is hashed
// as it is copied and must stay as listed while it is read; the source is
// listed again at the end, so a file added, removed or changed during the
// import fails it. Nothing is kept from a failed import.
func (l *Library) Import(ctx context.Context, name string, src fs.FS, origin string, progress Progress) (*Manifest, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	if _, err := os.Stat(l.path(name)); err == nil {
		return nil, fmt.Errorf("%w: %q: delete it first or pick another name", ErrExists, name)
	}
	entries, err := Scan(ctx, src)
	if err != nil {
		return nil, err
	}
	m := &Manifest{Name: name, Origin: origin, Created: l.now().UTC().Truncate(time.Second), Entries: entries}
	m.complete()
	if free, err := l.Free(); err == nil && m.Bytes+int64(len(entries))*4096 > free {
		return nil, fmt.Errorf("%w: the set needs %s, the library has %s free", ErrNoSpace, engine.FormatSize(m.Bytes), engine.FormatSize(free))
	}
	tmp := l.shelf.Partial(name, "")
	os.RemoveAll(tmp)
	if err := os.MkdirAll(filepath.Join(tmp, filesDir), 0o755); err != nil {
		return nil, fmt.Errorf("file set library: %w", err)
	}
	lock, err := l.shelf.Lock(tmp)
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	defer func() {
		lock.Close()
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	root := filepath.Join(tmp, filesDir)
	for _, e := range m.Entries {
		if e.Dir {
			if err = os.Mkdir(filepath.Join(root, filepath.FromSlash(e.Path)), 0o755); err != nil {
				return nil, spaceErr(err)
			}
		}
	}
	err = hashAll(ctx, src, m, func(e Entry) (io.WriteCloser, error) {
		f, err := os.OpenFile(filepath.Join(root, filepath.FromSlash(e.Path)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return nil, err
		}
		return &syncCloser{f, e.ModTime}, nil
	}, progress)
	if err != nil {
		return nil, spaceErr(err)
	}
	if err = rescan(ctx, src, m); err != nil {
		return nil, err
	}
	// Folders' times last: creating what they hold changed them.
	for i := len(m.Entries) - 1; i >= 0; i-- {
		if e := m.Entries[i]; e.Dir {
			p := filepath.Join(root, filepath.FromSlash(e.Path))
			if err = os.Chtimes(p, e.ModTime, e.ModTime); err != nil {
				return nil, err
			}
			if err = fsys.OS.SyncDir(p); err != nil {
				return nil, err
			}
		}
	}
	if err = fsys.OS.SyncDir(root); err != nil {
		return nil, err
	}
	m.complete()
	js, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if err = fsys.WriteFileAtomic(fsys.OS, filepath.Join(tmp, manifestFile), append(js, '\n'), 0o644); err != nil {
		return nil, spaceErr(err)
	}
	// The set counts as checked: it was hashed as it was stored.
	if err = fsys.WriteFileAtomic(fsys.OS, filepath.Join(tmp, checkedFile), []byte(m.Created.Format(time.RFC3339)+"\n"), 0o644); err != nil {
		return nil, spaceErr(err)
	}
	if err = os.Rename(tmp, l.path(name)); err != nil {
		return nil, fmt.Errorf("file set library: %w", err)
	}
	os.Remove(l.path(name, lockFile))
	if err = fsys.OS.SyncDir(l.Dir); err != nil {
		return nil, err
	}
	return m, nil
}

// syncCloser makes a stored file durable and gives it its time on Close.
type syncCloser struct {
	f   *os.File
	mod time.Time
}

func (s *syncCloser) Write(p []byte) (int, error) { return s.f.Write(p) }

func (s *syncCloser) Close() error {
	err := s.f.Sync()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chtimes(s.f.Name(), s.mod, s.mod)
	}
	return err
}

// spaceErr names a full library plainly.
func spaceErr(err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		return fmt.Errorf("%w: the library filled up while storing the set; nothing was kept", ErrNoSpace)
	}
	return err
}

// Set is an open set: its manifest and its files.
type Set struct {
	Name     string
	Manifest *Manifest
	Files    fs.FS // the stored files; each opens as an io.ReaderAt
	dir      string
}

// Open opens a set for reading.
func (l *Library) Open(name string) (*Set, error) {
	if err := l.exists(name); err != nil {
		return nil, err
	}
	return l.set(name, l.info(name))
}

// set is a set whose manifest has been read.
func (l *Library) set(name string, in Info) (*Set, error) {
	if in.Err != nil {
		return nil, fmt.Errorf("file set %s: %w: %w", name, ErrDamaged, in.Err)
	}
	dir := l.path(name, filesDir)
	return &Set{Name: name, Manifest: in.Manifest, Files: os.DirFS(dir), dir: dir}, nil
}

// Check reads every stored file and compares it with the manifest: each
// file's size and SHA-256, and nothing more or less stored than listed.
// A good check is remembered with its time.
func (l *Library) Check(ctx context.Context, name string, progress Progress) error {
	s, err := l.Open(name)
	if err != nil {
		return err
	}
	stored, err := Scan(ctx, s.Files)
	if err != nil && !errors.Is(err, ErrEmpty) {
		return fmt.Errorf("file set %s: %w: %w", name, ErrDamaged, err)
	}
	want := map[string]Entry{}
	for _, e := range s.Manifest.Entries {
		want[e.Path] = e
	}
	for _, e := range stored {
		w, ok := want[e.Path]
		switch {
		case !ok:
			return fmt.Errorf("file set %s: %w: %s is stored but not listed", name, ErrDamaged, e.Path)
		case w.Dir != e.Dir || w.Size != e.Size:
			return fmt.Errorf("file set %s: %w: %s is stored with %d bytes, listed with %d", name, ErrDamaged, e.Path, e.Size, w.Size)
		}
		delete(want, e.Path)
	}
	for p := range want {
		return fmt.Errorf("file set %s: %w: %s is listed but not stored", name, ErrDamaged, p)
	}
	var total, done int64
	for _, e := range s.Manifest.Entries {
		total += e.Size
	}
	buf := make([]byte, 1<<20)
	for _, e := range s.Manifest.Entries {
		if e.Dir {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		sum, err := fileSHA(s.Files, e.Path, buf, func(n int64) {
			done += n
			if progress != nil {
				progress(done, total)
			}
		})
		if err != nil {
			return fmt.Errorf("file set %s: %s: %w", name, e.Path, err)
		}
		if sum != e.SHA256 {
			return fmt.Errorf("file set %s: %w: %s hashes to %s…, the manifest says %s…", name, ErrDamaged, e.Path, sum[:12], e.SHA256[:12])
		}
	}
	return fsys.WriteFileAtomic(fsys.OS, l.path(name, checkedFile), []byte(l.now().UTC().Format(time.RFC3339)+"\n"), 0o644)
}

// CheckedToday reports whether the set matched its manifest earlier on
// the local calendar day.
func (l *Library) CheckedToday(name string) bool {
	in, err := l.Info(name)
	return err == nil && l.today(in.Checked)
}

// today reports whether t is on the local calendar day.
func (l *Library) today(t time.Time) bool {
	if t.IsZero() {
		return false
	}
	y1, m1, d1 := t.Local().Date()
	y2, m2, d2 := l.now().Local().Date()
	return y1 == y2 && m1 == m2 && d1 == d2
}

// OpenForJob opens a set as the source of a job. Before its first job of
// the day every file is checked against the manifest; a damaged set is
// refused.
func (l *Library) OpenForJob(ctx context.Context, name string, progress Progress) (*Set, error) {
	if err := l.exists(name); err != nil {
		return nil, err
	}
	if in := l.info(name); in.Err == nil && l.today(in.Checked) {
		return l.set(name, in) // the manifest read once
	}
	if err := l.Check(ctx, name, progress); err != nil {
		return nil, fmt.Errorf("%w; it will not be copied", err)
	}
	return l.Open(name)
}

// Source is the set as a job's source.
func (s *Set) Source() Source {
	return Source{Manifest: s.Manifest, Files: s.Files, ID: "set:" + s.dir}
}
