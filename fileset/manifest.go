package fileset

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/clonebay/clonebay/engine/fatfs"
)

// FormatVersion is the manifest format this firmware writes and reads.
const FormatVersion = 1

// Entry is one folder or file of a set.
type Entry struct {
	Path    string    `json:"path"` // slash-separated, from the set's root
	Dir     bool      `json:"dir,omitempty"`
	Size    int64     `json:"size,omitempty"`
	ModTime time.Time `json:"mtime"`
	SHA256  string    `json:"sha256,omitempty"` // files only
}

// Manifest says what a set holds.
type Manifest struct {
	Format  int       `json:"format"`
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
	Origin  string    `json:"origin"` // the folder or stick it came from
	// Entries are the folders and files, sorted by path (a folder before
	// what it holds).
	Entries []Entry `json:"entries"`
	Files   int     `json:"files"`
	Folders int     `json:"folders"`
	Bytes   int64   `json:"bytes"` // of all files
	Largest Entry   `json:"largest"`
	// SHA256 is the SHA-256 of the listing (see ListingSHA256): what the
	// production record names the set's content by.
	SHA256 string `json:"sha256"`
}

// ListingSHA256 is the SHA-256 of a set's listing, one line an entry in
// path order: "d PATH" for a folder, "f PATH SIZE SHA256" for a file
// (tab-separated). Times are left out: the same files imported twice have
// the same sum.
func ListingSHA256(entries []Entry) string {
	h := sha256.New()
	for _, e := range entries {
		if e.Dir {
			fmt.Fprintf(h, "d\t%s\n", e.Path)
		} else {
			fmt.Fprintf(h, "f\t%s\t%d\t%s\n", e.Path, e.Size, e.SHA256)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// complete fills in the totals and the listing's sum.
func (m *Manifest) complete() {
	m.Format = FormatVersion
	m.Files, m.Folders, m.Bytes, m.Largest = 0, 0, 0, Entry{}
	for _, e := range m.Entries {
		if e.Dir {
			m.Folders++
			continue
		}
		m.Files++
		m.Bytes += e.Size
		if e.Size > m.Largest.Size || m.Largest.Path == "" {
			m.Largest = e
		}
	}
	m.SHA256 = ListingSHA256(m.Entries)
}

// check tells a manifest that cannot be right from one that may be.
func (m *Manifest) check() error {
	switch {
	case m.Format != FormatVersion:
		return fmt.Errorf("manifest format %d: this firmware reads format %d", m.Format, FormatVersion)
	case m.Files == 0:
		return fmt.Errorf("manifest: %w", ErrEmpty)
	}
	var bytes int64
	prev := ""
	for i, e := range m.Entries {
		if err := checkPath(e.Path); err != nil {
			return fmt.Errorf("manifest entry %d: %w", i, err)
		}
		if i > 0 && e.Path <= prev {
			return fmt.Errorf("manifest entry %d (%s): out of order", i, e.Path)
		}
		prev = e.Path
		if !e.Dir {
			if e.Size < 0 || len(e.SHA256) != 64 {
				return fmt.Errorf("manifest entry %d (%s): size %d, SHA-256 %q", i, e.Path, e.Size, e.SHA256)
			}
			bytes += e.Size
		}
	}
	if bytes != m.Bytes || ListingSHA256(m.Entries) != m.SHA256 {
		return fmt.Errorf("manifest: its totals or sum do not match its entries")
	}
	return nil
}

func checkPath(p string) error {
	if !fs.ValidPath(p) || p == "." {
		return fmt.Errorf("%q is not a path inside the set", p)
	}
	for _, part := range strings.Split(p, "/") {
		if err := fatfs.ValidName(part); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	return nil
}

// Errors of building a set, wrapped with the details.
var (
	ErrEmpty   = errors.New("the set holds no files")
	ErrChanged = errors.New("the source changed while the set was being built")
	ErrSource  = errors.New("the source holds what FAT32 and exFAT cannot")
)

// Problem is one path of a source that cannot go into a set.
type Problem struct {
	Path   string
	Reason string
}

// ProblemsError lists every path that cannot go into a set: nothing is
// written while there is one.
type ProblemsError struct{ Problems []Problem }

func (e *ProblemsError) Error() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%v: %d paths", ErrSource, len(e.Problems))
	for i, p := range e.Problems {
		if i == 10 {
			fmt.Fprintf(&sb, "; and %d more", len(e.Problems)-i)
			break
		}
		fmt.Fprintf(&sb, "; %s: %s", p.Path, p.Reason)
	}
	return sb.String()
}

func (e *ProblemsError) Unwrap() error { return ErrSource }

// maxEntries bounds a source's folders and files.
const maxEntries = 1_000_000

// Scan lists a source (os.DirFS of a folder, a stick's volume) for a set:
// every folder and file, sorted by path, without hashes. Names FAT32 and
// exFAT cannot hold (reserved characters, control characters, trailing
// dots or spaces, too long, two names in a folder equal once case is
// ignored) and what is neither a folder nor a regular file (symbolic
// links, devices, sockets, pipes) are refused: all of them are listed in
// a *ProblemsError. A source without files is refused too.
func Scan(ctx context.Context, src fs.FS) ([]Entry, error) {
	var out []Entry
	var probs []Problem
	folds := map[string]map[string]string{} // folder -> folded name -> name
	err := fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if p == "." {
			return nil
		}
		if len(out)+len(probs) >= maxEntries {
			return fmt.Errorf("more than %d folders and files", maxEntries)
		}
		dir, name := path.Split(p)
		dir = strings.TrimSuffix(dir, "/")
		if err := fatfs.ValidName(name); err != nil {
			probs = append(probs, Problem{p, strings.TrimPrefix(err.Error(), fatfs.ErrBadName.Error()+": ")})
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if folds[dir] == nil {
			folds[dir] = map[string]string{}
		}
		key := fatfs.FoldName(name)
		if other, ok := folds[dir][key]; ok {
			probs = append(probs, Problem{p, fmt.Sprintf("the same name as %q once case is ignored", other)})
			return nil
		}
		folds[dir][key] = name
		switch t := d.Type(); {
		case t.IsDir():
			info, err := d.Info()
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			out = append(out, Entry{Path: p, Dir: true, ModTime: info.ModTime().UTC()})
		case t.IsRegular():
			info, err := d.Info()
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			out = append(out, Entry{Path: p, Size: info.Size(), ModTime: info.ModTime().UTC()})
		default:
			probs = append(probs, Problem{p, kindOf(t) + ": FAT32 and exFAT cannot hold it"})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(probs) > 0 {
		return nil, &ProblemsError{probs}
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
	if !slices.ContainsFunc(out, func(e Entry) bool { return !e.Dir }) {
		return nil, ErrEmpty
	}
	return out, nil
}

func kindOf(t fs.FileMode) string {
	switch {
	case t&fs.ModeSymlink != 0:
		return "a symbolic link"
	case t&fs.ModeSocket != 0:
		return "a socket"
	case t&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case t&fs.ModeDevice != 0:
		return "a device file"
	}
	return "not a regular file"
}

// Progress reports bytes done of a total during a long operation.
type Progress func(done, total int64)

// hashInto copies a source file to w (nil: nowhere) and returns its
// SHA-256; the file must still be what Scan saw, before and after.
func hashInto(src fs.FS, e Entry, w io.Writer, count func(int64)) (string, error) {
	f, err := src.Open(e.Path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	before, err := f.Stat()
	if err != nil {
		return "", err
	}
	if err := same(e, before); err != nil {
		return "", err
	}
	h := sha256.New()
	dst := io.Writer(h)
	if w != nil {
		dst = io.MultiWriter(h, w) // both must take every byte: the first failure ends the copy
	}
	n, err := io.CopyBuffer(dst, &counting{f, count}, make([]byte, 1<<20))
	if err != nil {
		return "", err
	}
	after, err := f.Stat()
	if err != nil {
		return "", err
	}
	if n != e.Size {
		return "", fmt.Errorf("%w: %s: %d bytes were read, the listing said %d", ErrChanged, e.Path, n, e.Size)
	}
	if err := same(e, after); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// same checks that a file is still as it was listed.
func same(e Entry, fi fs.FileInfo) error {
	if !fi.Mode().IsRegular() || fi.Size() != e.Size || !fi.ModTime().Equal(e.ModTime) {
		return fmt.Errorf("%w: %s: now %d bytes of %s, listed as %d bytes of %s", ErrChanged, e.Path,
			fi.Size(), fi.ModTime().UTC().Format(time.RFC3339Nano), e.Size, e.ModTime.Format(time.RFC3339Nano))
	}
	return nil
}

type counting struct {
	r     io.Reader
	count func(int64)
}

func (c *counting) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.count != nil && n > 0 {
		c.count(int64(n))
	}
	return n, err
}

// Hash lists and hashes a source in place, without storing it: the set
// of a job straight from a folder or a master's volume. The source is
// listed again at the end: a file added, removed or changed meanwhile is
// caught.
func Hash(ctx context.Context, src fs.FS, origin string, progress Progress) (*Manifest, error) {
	entries, err := Scan(ctx, src)
	if err != nil {
		return nil, err
	}
	m := &Manifest{Name: path.Base(origin), Origin: origin, Entries: entries}
	if err := hashAll(ctx, src, m, nil, progress); err != nil {
		return nil, err
	}
	if err := rescan(ctx, src, m); err != nil {
		return nil, err
	}
	m.complete()
	return m, nil
}

// hashAll hashes every file of m, copying each through copyTo when set.
func hashAll(ctx context.Context, src fs.FS, m *Manifest, copyTo func(e Entry) (io.WriteCloser, error), progress Progress) error {
	var total, done int64
	for _, e := range m.Entries {
		total += e.Size
	}
	count := func(n int64) {
		done += n
		if progress != nil {
			progress(done, total)
		}
	}
	for i, e := range m.Entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.Dir {
			continue
		}
		var w io.WriteCloser
		if copyTo != nil {
			var err error
			if w, err = copyTo(e); err != nil {
				return err
			}
		}
		sum, err := hashInto(src, e, w, count)
		if w != nil {
			if cerr := w.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			return fmt.Errorf("%s: %w", e.Path, unwrapPath(err))
		}
		m.Entries[i].SHA256 = sum
	}
	return nil
}

// unwrapPath drops an fs.PathError's own path, which repeats the entry's.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && !errors.Is(err, ErrChanged) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

// rescan lists the source again and compares it with the manifest.
func rescan(ctx context.Context, src fs.FS, m *Manifest) error {
	again, err := Scan(ctx, src)
	if err != nil {
		return fmt.Errorf("%w: listing it again: %w", ErrChanged, err)
	}
	byPath := map[string]Entry{}
	for _, e := range again {
		byPath[e.Path] = e
	}
	for _, e := range m.Entries {
		a, ok := byPath[e.Path]
		switch {
		case !ok:
			return fmt.Errorf("%w: %s is gone", ErrChanged, e.Path)
		case a.Dir != e.Dir || a.Size != e.Size || (!e.Dir && !a.ModTime.Equal(e.ModTime)):
			return fmt.Errorf("%w: %s changed", ErrChanged, e.Path)
		}
		delete(byPath, e.Path)
	}
	for p := range byPath {
		return fmt.Errorf("%w: %s was added", ErrChanged, p)
	}
	return nil
}

// nameRE is what a set's name may be.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$`)

// CheckName checks a set's name.
func CheckName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("file set name %q: use 1 to 40 letters, digits, '.', '-' or '_', starting with a letter or digit", name)
	}
	return nil
}

func readManifest(data []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return &m, nil
}
