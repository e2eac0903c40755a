package images

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"syscall"

	"github.com/cespare/xxhash/v2"
	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/internal/filelock"
	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/klauspost/compress/zstd"
)

// builder writes a new image into a hidden partial folder: frames are
// compressed in parallel and written in order; commit adds the manifest
// and renames the folder into place, so an image appears whole or not at
// all.
type builder struct {
	l         *Library
	name, tmp string
	f         *os.File
	// lock holds the partial folder (see claim) until the image is in
	// place or thrown away; f, the data file written, closes before that.
	lock      *os.File
	bw        *bufio.Writer
	fw        *frameWriter
	frameSize int
	hashes    []string
	sha       hash.Hash

	queue chan *pending
	sem   chan struct{}
	done  chan error
	werr  atomic.Pointer[error] // the first write error, seen by add

	// describe, when set, summarizes the partitions of the content once
	// the data file is complete, for the manifest.
	describe func(*Manifest) []string
}

type pending struct {
	data []byte
	out  chan []byte
}

// create starts a new image in its partial folder, which it holds (see
// claim) until commit or abort.
func (l *Library) create(name string) (*builder, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	tmp, lock, err := l.claim(name)
	if err != nil {
		return nil, err
	}
	release := func() { drop(tmp, lock) }
	// Checked with the partial folder held, so an image of that name
	// committed by another capture just before is seen.
	if l.shelf.Has(name) {
		release()
		return nil, fmt.Errorf("an image named %q already exists: delete it first or pick another name", name)
	}
	// What an interrupted write left in the folder goes; the data file is
	// emptied as it is opened.
	ents, err := os.ReadDir(tmp)
	for _, e := range ents {
		if err == nil && e.Name() != dataFile {
			err = os.RemoveAll(filepath.Join(tmp, e.Name()))
		}
	}
	if err != nil {
		release()
		return nil, fmt.Errorf("image library: clearing what an interrupted write of %q left: %w", name, err)
	}
	f, err := os.OpenFile(filepath.Join(tmp, dataFile), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		release()
		return nil, fmt.Errorf("image library: %w", err)
	}
	b := &builder{
		l: l, name: name, tmp: tmp, f: f, lock: lock,
		bw:        bufio.NewWriterSize(f, 1<<20),
		frameSize: DefaultFrameSize,
		sha:       sha256.New(),
	}
	b.fw, err = newFrameWriter(b.bw, zstd.SpeedDefault)
	if err != nil {
		b.abort()
		return nil, err
	}
	workers := max(1, engine.Procs())
	b.queue = make(chan *pending, 2*workers)
	b.sem = make(chan struct{}, workers)
	b.done = make(chan error, 1)
	go b.writeLoop(b.queue)
	return b, nil
}

// claim takes the partial folder an image of that name is written in,
// for this builder alone: it returns the folder and its data file opened
// and locked. The lock tells a second capture or import of the same name
// (in this process or another) to stop at once, and OpenLibrary
// elsewhere that the folder is not a leftover; it is held until the image
// is renamed into place or thrown away. A folder whose lock nobody holds
// was left by an interrupted write: it is taken over.
func (l *Library) claim(name string) (string, *os.File, error) {
	tmp := l.shelf.Partial(name, "")
	data := filepath.Join(tmp, dataFile)
	for range 10 {
		if err := os.Mkdir(tmp, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return "", nil, fmt.Errorf("image library: %w", err)
		}
		f, err := os.OpenFile(data, os.O_RDWR|os.O_CREATE, 0o644)
		if errors.Is(err, fs.ErrNotExist) {
			continue // the folder went as it was opened: renamed into place, or cleared
		}
		if err != nil {
			return "", nil, fmt.Errorf("image library: %w", err)
		}
		if err := filelock.Lock(f, true); err != nil {
			f.Close()
			if errors.Is(err, filelock.ErrLocked) {
				return "", nil, fmt.Errorf("image %q: %w", name, ErrInProgress)
			}
			return "", nil, fmt.Errorf("image library: %w", err)
		}
		// The writer before may have renamed the folder into place, or
		// thrown it away, between the open and the lock: the lock holds
		// the folder only while its file is still the one in it.
		held, err := f.Stat()
		if err == nil {
			var now os.FileInfo
			if now, err = os.Stat(data); err == nil && os.SameFile(held, now) {
				return tmp, f, nil
			}
		}
		f.Close()
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", nil, fmt.Errorf("image library: %w", err)
		}
	}
	return "", nil, fmt.Errorf("image %q: its partial folder %s keeps being replaced by other writers", name, tmp)
}

// writeLoop writes compressed frames in the order they were added. After
// a failure it keeps draining so add never blocks for ever.
func (b *builder) writeLoop(queue <-chan *pending) {
	var err error
	for p := range queue {
		c := <-p.out
		if err == nil {
			if err = b.fw.writeFrame(p.data, c); err != nil {
				b.werr.Store(&err)
			}
		}
	}
	b.done <- err
}

// add appends a frame of content; the builder keeps data.
func (b *builder) add(data []byte) error {
	if err := b.werr.Load(); err != nil {
		return spaceErr(*err)
	}
	b.hashes = append(b.hashes, hashHex(xxhash.Sum64(data)))
	p := &pending{data: data, out: make(chan []byte, 1)}
	b.sem <- struct{}{}
	go func() {
		p.out <- b.fw.compress(data, nil)
		<-b.sem
	}()
	b.queue <- p
	return nil
}

// drain waits until every frame is written.
func (b *builder) drain() error {
	close(b.queue)
	b.queue = nil
	return spaceErr(<-b.done)
}

// finish seals the data file with the manifest's binding, writes the
// seek table and closes the file through to the media.
func (b *builder) finish(seal [32]byte) error {
	err := b.fw.close(seal)
	if err == nil {
		err = b.bw.Flush()
	}
	if err == nil {
		err = b.f.Sync()
	}
	if cerr := b.f.Close(); err == nil {
		err = cerr
	}
	b.f = nil
	return spaceErr(err)
}

// commit completes the manifest, seals the data with it, writes it and
// puts the image in place.
func (b *builder) commit(m *Manifest) error {
	if err := b.drain(); err != nil {
		b.abort()
		return err
	}
	m.Format = FormatVersion
	m.Name = b.name
	m.Created = b.l.now().UTC().Truncate(1e9)
	m.FrameSize = b.frameSize
	m.FrameHashes = b.hashes
	m.SHA256 = hex.EncodeToString(b.sha.Sum(nil))
	m.Compression = "zstd"
	m.Stored = b.fw.written + b.fw.tailSize()
	m.Bytes = 0
	for _, r := range m.Used {
		m.Bytes += r.Len
	}
	if m.SectorSize == 0 {
		m.SectorSize = 512
	}
	if err := m.check(); err != nil {
		b.abort()
		return fmt.Errorf("image %s: %w", b.name, err)
	}
	if err := b.finish(m.binding()); err != nil {
		b.abort()
		return err
	}
	if b.describe != nil {
		m.Partitions = b.describe(m)
	}
	js, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		b.abort()
		return err
	}
	if err := fsys.WriteFileAtomic(fsys.OS, b.tmp+"/"+manifestFile, append(js, '\n'), 0o644); err != nil {
		b.abort()
		return spaceErr(err)
	}
	// The image counts as checked: it was hashed as it was written.
	if err := writeStamp(filepath.Join(b.tmp, checkedFile), filepath.Join(b.tmp, dataFile), m, m.Created); err != nil {
		b.abort()
		return spaceErr(err)
	}
	if openFilesPinFolders {
		b.lock.Close()
	}
	if err := os.Rename(b.tmp, b.l.path(b.name)); err != nil {
		b.abort()
		return fmt.Errorf("image library: %w", err)
	}
	b.lock.Close()
	b.lock = nil
	if d, err := os.Open(b.l.Dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// abort throws the partial image away.
func (b *builder) abort() {
	if b.queue != nil {
		close(b.queue)
		b.queue = nil
		<-b.done
	}
	if b.f != nil {
		b.f.Close()
		b.f = nil
	}
	if b.lock != nil {
		drop(b.tmp, b.lock)
		b.lock = nil
	} else {
		os.RemoveAll(b.tmp)
	}
}

// openFilesPinFolders: Windows neither deletes a file nor renames the
// folder it is in while the file is open, so there a partial folder's
// lock ends just before it is removed or renamed into place, and another
// writer may take the folder over in that moment.
const openFilesPinFolders = runtime.GOOS == "windows"

// drop removes a partial folder this builder holds, then lets its lock
// go, so nobody takes over a folder half removed.
func drop(tmp string, lock *os.File) {
	if openFilesPinFolders {
		lock.Close()
	}
	os.RemoveAll(tmp)
	lock.Close()
}

// ErrInProgress is returned (wrapped) when another capture or import of
// the same name is writing its image.
var ErrInProgress = errors.New("another capture or import of that name is in progress")

// spaceErr names a full library plainly.
func spaceErr(err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		return fmt.Errorf("%w: the library filled up while writing; nothing was kept", ErrNoSpace)
	}
	return err
}
