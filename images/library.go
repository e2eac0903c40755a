package images

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/engine/disk"
	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/internal/shelf"
)

// File names inside an image's folder.
const (
	dataFile     = "image.zst"
	manifestFile = "manifest.json"
	checkedFile  = "checked" // when the data last matched the manifest: a stamp
)

// ErrNotFound is returned (wrapped) for a name the library does not hold.
var ErrNotFound = errors.New("no such image")

// IsImageFolder reports whether dir is the folder of a stored image: its
// manifest beside its data. A command told of no library uses it to
// refuse writing into one all the same.
func IsImageFolder(dir string) bool {
	return isRegular(filepath.Join(dir, manifestFile)) && isRegular(filepath.Join(dir, dataFile))
}

func isRegular(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// ErrNoSpace is returned (wrapped) when an image does not fit.
var ErrNoSpace = errors.New("not enough free space in the image library")

// Library is a folder of images on the appliance's own storage: one
// sub-folder per image with its data and manifest. Images being written
// live in hidden ".NAME.partial" folders and appear only once complete.
type Library struct {
	Dir string
	// Now is the clock; time.Now when nil.
	Now   func() time.Time
	shelf *shelf.Shelf
}

// OpenLibrary makes the folder when it is missing and clears what an
// interrupted capture or import left behind. A partial image is being
// written while its writer holds a lock on the data file.
func OpenLibrary(dir string) (*Library, error) {
	s, err := shelf.Open(dir, "image library", dataFile)
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

// Entry is one image as listed.
type Entry struct {
	Name     string
	Manifest *Manifest // nil when Err says why it cannot be read
	Checked  time.Time // zero when never checked
	Err      error
}

// List returns the images, sorted by name. An image whose manifest cannot
// be read is listed with Err set, so it can still be deleted.
func (l *Library) List() ([]Entry, error) {
	ents, err := os.ReadDir(l.Dir)
	if err != nil {
		return nil, fmt.Errorf("image library: %w", err)
	}
	var out []Entry
	for _, e := range ents {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		out = append(out, l.entry(e.Name()))
	}
	return out, nil
}

// Info returns one image's entry.
func (l *Library) Info(name string) (Entry, error) {
	if err := l.exists(name); err != nil {
		return Entry{}, err
	}
	return l.entry(name), nil
}

func (l *Library) entry(name string) Entry {
	e := Entry{Name: name}
	e.Manifest, e.Err = readManifest(l.path(name, manifestFile))
	if e.Manifest != nil {
		e.Checked = readStamp(l.path(name, checkedFile), l.path(name, dataFile), e.Manifest)
	}
	return e
}

// stamp is what the checked file holds: when the image last matched its
// manifest, and what both were then (the manifest's binding and the data
// file's identity). A stamp whose manifest or data file has changed since
// is void: the image is checked again before it is deployed.
type stamp struct {
	Checked  time.Time `json:"checked"`
	Manifest string    `json:"manifest"`
	Data     fileID    `json:"data"`
}

// fileID tells a file apart from any changed version of it: a write moves
// its change time, which no program can set back.
type fileID struct {
	Size       int64  `json:"size"`
	ModTime    int64  `json:"mtime_ns"`
	ChangeTime int64  `json:"ctime_ns"`
	Inode      uint64 `json:"inode"`
	Device     uint64 `json:"device"`
}

func identify(fi os.FileInfo) fileID {
	id := fileID{Size: fi.Size(), ModTime: fi.ModTime().UnixNano()}
	id.Inode, id.Device, id.ChangeTime, _ = inode(fi)
	return id
}

// writeStamp records that the data file at data matched m at when.
func writeStamp(path, data string, m *Manifest, when time.Time) error {
	fi, err := os.Stat(data)
	if err != nil {
		return err
	}
	return writeStampID(path, identify(fi), m, when)
}

func writeStampID(path string, id fileID, m *Manifest, when time.Time) error {
	b := m.binding()
	js, err := json.Marshal(stamp{Checked: when.UTC(), Manifest: hex.EncodeToString(b[:]), Data: id})
	if err != nil {
		return err
	}
	// File times tick with the kernel's coarse clock: a write to the data
	// file in the same tick as the one recorded would leave its change
	// time as it is. So the stamp is written again, a tick later, until
	// its own time is past the recorded one; a write to the data file
	// after that moves its change time past it too. Without a tick (the
	// clock stopped), readStamp holds the stamp void.
	for range 100 {
		if err := fsys.WriteFileAtomic(fsys.OS, path, append(js, '\n'), 0o644); err != nil {
			return err
		}
		if fi, err := os.Stat(path); err != nil || fi.ModTime().UnixNano() > id.ChangeTime {
			return err
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// readStamp returns when the image was last found to match m, or zero
// when it never was, or its manifest or data file changed since (or may
// have, in the clock tick the stamp was written in).
func readStamp(path, data string, m *Manifest) time.Time {
	b, err := os.ReadFile(path)
	if err != nil {
		return time.Time{}
	}
	var s stamp
	if json.Unmarshal(b, &s) != nil { // a stamp of an older firmware, or damaged
		return time.Time{}
	}
	fi, err := os.Stat(data)
	if err != nil || s.Data != identify(fi) {
		return time.Time{}
	}
	if bind := m.binding(); s.Manifest != hex.EncodeToString(bind[:]) {
		return time.Time{}
	}
	if sf, err := os.Stat(path); err != nil || sf.ModTime().UnixNano() <= s.Data.ChangeTime {
		return time.Time{}
	}
	return s.Checked
}

// clearStamp forgets that an image was checked.
func (l *Library) clearStamp(name string) error {
	if err := os.Remove(l.path(name, checkedFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("image %s: clearing its check stamp: %w", name, err)
	}
	return nil
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

// Remove deletes an image; a power loss halfway leaves no half image.
func (l *Library) Remove(name string) error {
	if err := l.exists(name); err != nil {
		return err
	}
	return l.shelf.Remove(name)
}

// OpenStored opens an image's data file as it is stored (seekable zstd,
// which the zstd tool also reads), for a download of the image.
func (l *Library) OpenStored(name string) (*os.File, error) {
	if err := l.exists(name); err != nil {
		return nil, err
	}
	f, err := os.Open(l.path(name, dataFile))
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", name, err)
	}
	return f, nil
}

// Free is the space left for images, in bytes.
func (l *Library) Free() (int64, error) { return l.shelf.Free() }

// Image is an open image: a master a job reads at any offset. It holds
// the manifest's used ranges; everything else reads as zeros.
type Image struct {
	name string
	m    *Manifest
	f    *os.File
	fr   *frameReader
	id   string
}

// Open opens an image and checks that its data file agrees with its
// manifest in shape (sizes, frame count). Check compares the contents.
func (l *Library) Open(name string) (*Image, error) {
	if err := l.exists(name); err != nil {
		return nil, err
	}
	m, err := readManifest(l.path(name, manifestFile))
	if err != nil {
		return nil, fmt.Errorf("image %s: %w: %w", name, ErrDamaged, err)
	}
	f, err := os.Open(l.path(name, dataFile))
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", name, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	fr, err := openFrames(f, st.Size())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("image %s: %w", name, err)
	}
	bad := ""
	switch {
	case fr.size != m.Size:
		bad = fmt.Sprintf("the data holds %d bytes, the manifest says %d", fr.size, m.Size)
	case len(fr.frames) != m.Frames():
		bad = fmt.Sprintf("the data has %d frames, the manifest says %d", len(fr.frames), m.Frames())
	case st.Size() != m.Stored:
		bad = fmt.Sprintf("the data file is %d bytes, the manifest says %d", st.Size(), m.Stored)
	}
	if bad == "" {
		for i, fm := range fr.frames {
			if fm.uOff != int64(i)*int64(m.FrameSize) {
				bad = fmt.Sprintf("frame %d starts at %d, not at a multiple of the frame size %d", i, fm.uOff, m.FrameSize)
				break
			}
		}
	}
	// The data file, not the manifest, says whether the image is sealed:
	// a manifest that claims an older format is bound to a sealed data
	// file all the same, or editing "format" would unseal any image.
	if bad == "" && (m.Format >= 2 || fr.seal != nil) {
		seal := m.binding()
		switch {
		case fr.seal == nil:
			bad = "its data file carries no seal of its manifest"
		case m.Format < 2:
			bad = fmt.Sprintf("its manifest says format %d, which has no seal, but its data file carries one: the manifest was edited after the image was made", m.Format)
		case !bytes.Equal(fr.seal, seal[:]):
			bad = "its manifest is not the one its data was written with (edited after the image was made?)"
		}
	}
	if bad == "" {
		// Each frame is checked against the manifest as it is decompressed,
		// before any of its bytes leave the image.
		fr.want = make([]uint64, len(m.FrameHashes))
		for i, h := range m.FrameHashes {
			v, err := strconv.ParseUint(h, 16, 64)
			if err != nil || len(h) != 16 {
				bad = fmt.Sprintf("frame hash %d %q is not 16 hex digits", i, h)
				break
			}
			fr.want[i] = v
		}
	}
	if bad != "" {
		fr.close()
		f.Close()
		return nil, fmt.Errorf("image %s: %w: %s", name, ErrDamaged, bad)
	}
	id := "image:" + name
	if ino, dev, _, ok := inode(st); ok {
		id = fmt.Sprintf("image:%d:%d", dev, ino)
	}
	return &Image{name: name, m: m, f: f, fr: fr, id: id}, nil
}

// Name is the image's name.
func (im *Image) Name() string { return im.name }

// Manifest is what the image says it holds.
func (im *Image) Manifest() *Manifest { return im.m }

// Size is the size of the content.
func (im *Image) Size() int64 { return im.m.Size }

// ID names the data file (device and inode).
func (im *Image) ID() string { return im.id }

// SectorSize is the logical sector size of the master it was taken from.
func (im *Image) SectorSize() int { return im.m.SectorSize }

// ReadAt reads the content at any offset, decompressing only the frames
// it needs.
func (im *Image) ReadAt(p []byte, off int64) (int, error) { return im.fr.ReadAt(p, off) }

// Decoded counts the frames decompressed so far: the work of reading an
// image, which the targets of a deploy share.
func (im *Image) Decoded() int64 { return im.fr.decoded.Load() }

// BufferBound is the most memory the image's own buffers take however it
// is read (a decompressed frame for reads of part of one, a spare, and a
// compressed frame per decompression running at once): a job counts it
// in its budget (engine.BufferedSource).
func (im *Image) BufferBound() int64 { return im.fr.bufferBound() }

// BufferBytes is the memory the image's buffers took so far.
func (im *Image) BufferBytes() int64 { return im.fr.bufBytes.Load() }

var _ engine.BufferedSource = (*Image)(nil)

// Frames is how many frames the image holds.
func (im *Image) Frames() int { return len(im.fr.frames) }

// Close closes the data file.
func (im *Image) Close() error {
	im.fr.close()
	return im.f.Close()
}

// ProvenSHA256 is the manifest's SHA-256 when a job copies exactly the
// image's used ranges: the image was checked against its sealed manifest
// before it could be deployed, and every frame a deploy reads is checked
// against the manifest's frame hash as it is decompressed, so the bytes
// the job copies are the bytes whose SHA-256 the check proved. The engine
// reports this sum instead of hashing the content again.
func (im *Image) ProvenSHA256(p engine.Plan) (string, bool) {
	var used []Range
	for _, r := range im.m.Used {
		if r.Len > 0 {
			used = append(used, r)
		}
	}
	if len(p.Extents) != len(used) {
		return "", false
	}
	for i, e := range p.Extents {
		if e.Off != used[i].Off || e.Len != used[i].Len {
			return "", false
		}
	}
	return im.m.SHA256, true
}

// Area is the copy area an image is deployed with: its used ranges, and
// its GPT rebuilt for each target.
func (im *Image) Area() engine.Area { return imageArea{im} }

type imageArea struct{ im *Image }

func (a imageArea) Name() string { return a.im.m.Area }

func (a imageArea) Plan(src engine.Source) (engine.Plan, error) {
	m := a.im.m
	p := engine.Plan{Area: m.Area, Need: m.Need, SourceSize: m.Size}
	for _, r := range m.Used {
		p.Extents = append(p.Extents, engine.Extent{Off: r.Off, Len: r.Len})
	}
	p.Notes = append(p.Notes, fmt.Sprintf("image %s: %s of %s (%s)", a.im.name, engine.FormatSize(m.Bytes), engine.FormatSize(m.Size), m.Area))
	if g, err := disk.ReadGPT(src, m.Size, m.SectorSize); err == nil {
		p.GPT = g
		if g.PrimaryErr != nil {
			p.Notes = append(p.Notes, fmt.Sprintf("the primary GPT is damaged (%v); the backup GPT was used, and each target gets a good primary", g.PrimaryErr))
		}
	}
	return p, nil
}

// Progress reports bytes done of a total during a long operation.
type Progress func(done, total int64)

// Check reads the whole image and compares it with its manifest: every
// frame's checksums and hash, and the SHA-256 of the used ranges. A good
// check is stamped with its time and what the image was then; a failed
// one clears the stamp, so the image is never deployed on an earlier
// check.
func (l *Library) Check(ctx context.Context, name string, progress Progress) (err error) {
	if err := l.exists(name); err != nil {
		return err
	}
	defer func() {
		if err != nil && ctx.Err() == nil {
			if cerr := l.clearStamp(name); cerr != nil {
				err = fmt.Errorf("%w; %w", err, cerr)
			}
		}
	}()
	im, err := l.Open(name)
	if err != nil {
		return err
	}
	defer im.Close()
	before, err := im.f.Stat()
	if err != nil {
		return fmt.Errorf("image %s: %w", name, err)
	}
	m := im.m
	sha := sha256.New()
	used := m.Used
	buf := make([]byte, im.fr.maxU)
	for i, f := range im.fr.frames {
		if err := ctx.Err(); err != nil {
			return err
		}
		d := buf[:f.uLen]
		if err := im.fr.decodeInto(i, d); err != nil {
			return fmt.Errorf("image %s: %w", name, err)
		}
		start := int64(i) * int64(m.FrameSize)
		end := start + int64(len(d))
		used, _ = eachPart(used, start, end, func(lo, hi int64, _ bool) error {
			sha.Write(d[lo-start : hi-start])
			return nil
		})
		if progress != nil {
			progress(end, m.Size)
		}
	}
	if got := hex.EncodeToString(sha.Sum(nil)); got != m.SHA256 {
		return fmt.Errorf("image %s: %w: its used area hashes to %s…, the manifest says %s…", name, ErrDamaged, got[:12], m.SHA256[:12])
	}
	after, err := im.f.Stat()
	if err != nil {
		return fmt.Errorf("image %s: %w", name, err)
	}
	if identify(after) != identify(before) {
		return fmt.Errorf("image %s: its data file changed while it was being checked", name)
	}
	return writeStampID(l.path(name, checkedFile), identify(before), m, l.now())
}

// CheckedToday reports whether the image matched its manifest earlier on
// the local calendar day, and neither has changed since.
func (l *Library) CheckedToday(name string) bool {
	e, err := l.Info(name)
	if err != nil || e.Checked.IsZero() {
		return false
	}
	y1, m1, d1 := e.Checked.Local().Date()
	y2, m2, d2 := l.now().Local().Date()
	return y1 == y2 && m1 == m2 && d1 == d2
}

// OpenForDeploy opens an image as a master. Unless it was checked today
// and neither its manifest nor its data file changed since, the whole
// image is checked against its manifest first; a damaged one is refused
// before anything is written.
func (l *Library) OpenForDeploy(ctx context.Context, name string, progress Progress) (*Image, error) {
	if !l.CheckedToday(name) {
		if err := l.Check(ctx, name, progress); err != nil {
			return nil, fmt.Errorf("%w; it will not be deployed", err)
		}
	}
	return l.Open(name)
}

// Names returns the names of the images that can be read, sorted.
func (l *Library) Names() []string {
	ents, _ := l.List()
	var out []string
	for _, e := range ents {
		if e.Err == nil {
			out = append(out, e.Name)
		}
	}
	slices.Sort(out)
	return out
}

func hashHex(v uint64) string { return fmt.Sprintf("%016x", v) }
