package fatfs

import (
	"errors"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
)

// The volume is a read-only fs.FS; its files are io.ReaderAt too.
var (
	_ fs.FS        = (*Volume)(nil)
	_ fs.ReadDirFS = (*Volume)(nil)
	_ fs.StatFS    = (*Volume)(nil)
	_ io.ReaderAt  = (*File)(nil)
)

// maxDepth bounds how deep folders nest: a damaged volume whose folders
// point back at their ancestors would otherwise never end.
const maxDepth = 64

// lookup finds a node by its slash-separated path ("." is the root), and
// the first clusters of the folders on the way to it.
func (v *Volume) lookup(op, name string) (*node, map[uint32]bool, error) {
	if !fs.ValidPath(name) {
		return nil, nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	n, err := v.readRoot()
	if err != nil {
		return nil, nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	above := map[uint32]bool{}
	if name == "." {
		return n, above, nil
	}
	parts := strings.Split(name, "/")
	if len(parts) > maxDepth {
		return nil, nil, &fs.PathError{Op: op, Path: name, Err: damaged("folders nest more than %d deep", maxDepth)}
	}
	for _, part := range parts {
		if !n.dir {
			return nil, nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
		kids, err := v.children(n, above)
		if err != nil {
			return nil, nil, &fs.PathError{Op: op, Path: name, Err: err}
		}
		above[n.first] = true
		var found *node
		for _, k := range kids {
			if k.name == part {
				found = k
				break
			}
		}
		if found == nil {
			return nil, nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
		n = found
	}
	return n, above, nil
}

// children lists a folder for the file-system view: through a small
// cache, and without subfolders that point back at the folder or one
// above it (a damaged volume's loop; Check reports them).
func (v *Volume) children(n *node, above map[uint32]bool) ([]*node, error) {
	v.mu.Lock()
	kids, ok := v.lists[n]
	v.mu.Unlock()
	if !ok {
		var err error
		if kids, _, err = v.listNode(n); err != nil {
			return nil, err
		}
		v.mu.Lock()
		if len(v.lists) >= 32 {
			clear(v.lists)
		}
		v.lists[n] = kids
		v.mu.Unlock()
	}
	out := make([]*node, 0, len(kids))
	for _, k := range kids {
		if k.dir && (k.first == n.first || above[k.first]) {
			continue
		}
		out = append(out, k)
	}
	return out, nil
}

// Open opens a file or folder.
func (v *Volume) Open(name string) (fs.File, error) {
	n, _, err := v.lookup("open", name)
	if err != nil {
		return nil, err
	}
	return &File{v: v, n: n, path: name}, nil
}

// ReadDir lists a folder, sorted by name.
func (v *Volume) ReadDir(name string) ([]fs.DirEntry, error) {
	n, above, err := v.lookup("readdir", name)
	if err != nil {
		return nil, err
	}
	if !n.dir {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a folder")}
	}
	kids, err := v.children(n, above)
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
	}
	out := make([]fs.DirEntry, 0, len(kids))
	for _, k := range kids {
		out = append(out, info{k})
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}

// Stat describes a file or folder.
func (v *Volume) Stat(name string) (fs.FileInfo, error) {
	n, _, err := v.lookup("stat", name)
	if err != nil {
		return nil, err
	}
	return info{n}, nil
}

// Walk calls fn for every folder and file on the volume, a folder before
// what it holds, in one pass: p is the path as the fs.FS view names it,
// and a file's extents are those FileExtents gives. It stops at fn's
// first error, and at a folder it cannot list.
func (v *Volume) Walk(fn func(p string, dir bool, size int64, ex []Extent) error) error {
	root, err := v.readRoot()
	if err != nil {
		return err
	}
	above := map[uint32]bool{}
	var walk func(n *node, dir string, depth int) error
	walk = func(n *node, dir string, depth int) error {
		if depth > maxDepth {
			return &fs.PathError{Op: "walk", Path: dir, Err: damaged("folders nest more than %d deep", maxDepth)}
		}
		kids, err := v.children(n, above)
		if err != nil {
			return &fs.PathError{Op: "walk", Path: dir, Err: err}
		}
		above[n.first] = true
		defer delete(above, n.first)
		for _, k := range kids {
			p := path.Join(dir, k.name)
			if k.dir {
				if err := fn(p, true, 0, nil); err != nil {
					return err
				}
				if err := walk(k, p, depth+1); err != nil {
					return err
				}
				continue
			}
			rs, err := v.runsOf(k)
			if err != nil {
				return &fs.PathError{Op: "walk", Path: p, Err: err}
			}
			if err := fn(p, false, k.size, v.extents(rs, k.size)); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(root, ".", 0)
}

// FileExtents returns where a file's bytes lie on the device the volume
// is read from, in file order.
func (v *Volume) FileExtents(name string) ([]Extent, error) {
	n, _, err := v.lookup("extents", name)
	if err != nil {
		return nil, err
	}
	if n.dir {
		return nil, &fs.PathError{Op: "extents", Path: name, Err: errors.New("a folder")}
	}
	rs, err := v.runsOf(n)
	if err != nil {
		return nil, &fs.PathError{Op: "extents", Path: name, Err: err}
	}
	return v.extents(rs, n.size), nil
}

// info is a node as an fs.FileInfo and fs.DirEntry.
type info struct{ n *node }

func (i info) Name() string {
	if i.n.root {
		return "."
	}
	return i.n.name
}
func (i info) Size() int64 {
	if i.n.dir {
		return 0
	}
	return i.n.size
}
func (i info) Mode() fs.FileMode {
	if i.n.dir {
		return fs.ModeDir | 0o555
	}
	if i.n.attr&0x01 != 0 {
		return 0o444
	}
	return 0o644
}
func (i info) Type() fs.FileMode          { return i.Mode().Type() }
func (i info) ModTime() time.Time         { return i.n.mod }
func (i info) IsDir() bool                { return i.n.dir }
func (i info) Sys() any                   { return nil }
func (i info) Info() (fs.FileInfo, error) { return i, nil }

// File is an open file or folder of a volume.
type File struct {
	v    *Volume
	n    *node
	path string
	pos  int64
	once sync.Once // ReadAt may be called in parallel (io.ReaderAt)
	ext  []Extent  // the file's bytes on the device, once known
	err  error
	kids []fs.DirEntry
	read bool // kids listed
}

func (f *File) Stat() (fs.FileInfo, error) { return info{f.n}, nil }
func (f *File) Close() error               { return nil }

func (f *File) Read(p []byte) (int, error) {
	n, err := f.ReadAt(p, f.pos)
	f.pos += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// ReadAt reads the file's bytes at off. Bytes past exFAT's valid data
// length read as zeros.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	if f.n.dir {
		return 0, &fs.PathError{Op: "read", Path: f.path, Err: errors.New("is a folder")}
	}
	if off < 0 {
		return 0, &fs.PathError{Op: "read", Path: f.path, Err: fs.ErrInvalid}
	}
	f.once.Do(func() {
		rs, err := f.v.runsOf(f.n)
		f.ext, f.err = f.v.extents(rs, f.n.size), err
	})
	if f.err != nil {
		return 0, &fs.PathError{Op: "read", Path: f.path, Err: f.err}
	}
	if off >= f.n.size {
		return 0, io.EOF
	}
	want := min(int64(len(p)), f.n.size-off)
	done := int64(0)
	pos := int64(0) // file offset of the extent
	for _, e := range f.ext {
		if done == want {
			break
		}
		at := off + done
		if at >= pos+e.Len {
			pos += e.Len
			continue
		}
		k := min(pos+e.Len-at, want-done)
		q := p[done : done+k]
		if err := readAt(f.v.r, q, e.Off+at-pos); err != nil {
			return int(done), &fs.PathError{Op: "read", Path: f.path, Err: err}
		}
		// exFAT: what lies past the valid data length was never written.
		if at+k > f.n.valid {
			clear(q[max(0, f.n.valid-at):])
		}
		done += k
		pos += e.Len
	}
	if done < want {
		return int(done), &fs.PathError{Op: "read", Path: f.path, Err: damaged("the clusters end before the file's %d bytes", f.n.size)}
	}
	if want < int64(len(p)) {
		return int(done), io.EOF
	}
	return int(done), nil
}

// ReadDir lists a folder in name order, n entries at a time (all when
// n <= 0).
func (f *File) ReadDir(n int) ([]fs.DirEntry, error) {
	if !f.n.dir {
		return nil, &fs.PathError{Op: "readdir", Path: f.path, Err: errors.New("not a folder")}
	}
	if !f.read {
		kids, err := f.v.ReadDir(f.path)
		if err != nil {
			return nil, err
		}
		f.kids, f.read = kids, true
	}
	if n <= 0 {
		out := f.kids
		f.kids = nil
		return out, nil
	}
	if len(f.kids) == 0 {
		return nil, io.EOF
	}
	k := min(n, len(f.kids))
	out := f.kids[:k]
	f.kids = f.kids[k:]
	return out, nil
}
