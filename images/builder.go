package images

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"syscall"

	"github.com/cespare/xxhash/v2"
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

func (l *Library) create(name string) (*builder, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	if _, err := os.Stat(l.path(name)); err == nil {
		return nil, fmt.Errorf("an image named %q already exists: delete it first or pick another name", name)
	}
	tmp := l.shelf.Partial(name, "")
	os.RemoveAll(tmp)
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("image library: %w", err)
	}
	f, err := os.Create(tmp + "/" + dataFile)
	if err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("image library: %w", err)
	}
	// The lock tells OpenLibrary elsewhere that this partial image is
	// being written, not left over; it ends when the file is closed.
	if err := filelock.Lock(f, true); err != nil {
		f.Close()
		return nil, fmt.Errorf("image library: %s is being written by another process", name)
	}
	b := &builder{
		l: l, name: name, tmp: tmp, f: f,
		bw:        bufio.NewWriterSize(f, 1<<20),
		frameSize: DefaultFrameSize,
		sha:       sha256.New(),
	}
	b.fw, err = newFrameWriter(b.bw, zstd.SpeedDefault)
	if err != nil {
		b.abort()
		return nil, err
	}
	workers := max(1, runtime.GOMAXPROCS(0))
	b.queue = make(chan *pending, 2*workers)
	b.sem = make(chan struct{}, workers)
	b.done = make(chan error, 1)
	go b.writeLoop(b.queue)
	return b, nil
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
	if err := os.Rename(b.tmp, b.l.path(b.name)); err != nil {
		b.abort()
		return fmt.Errorf("image library: %w", err)
	}
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
	os.RemoveAll(b.tmp)
}

// spaceErr names a full library plainly.
func spaceErr(err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		return fmt.Errorf("%w: the library filled up while writing; nothing was kept", ErrNoSpace)
	}
	return err
}
