package fileset

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gatedFS's files hold every read of "slow" until gate is closed, and
// fail a read after Close, as an *os.File does.
type gatedFS struct {
	fstest.MapFS
	gate    chan struct{}
	reading chan struct{}
}

type gatedFile struct {
	fs.File
	name   string
	g      *gatedFS
	mu     sync.Mutex
	closed bool
}

func (g *gatedFS) Open(name string) (fs.File, error) {
	f, err := g.MapFS.Open(name)
	if err != nil {
		return nil, err
	}
	return &gatedFile{File: f, name: name, g: g}, nil
}

func (f *gatedFile) ReadAt(p []byte, off int64) (int, error) {
	if f.name == "slow" {
		close(f.g.reading)
		<-f.g.gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return 0, os.ErrClosed
	}
	return f.File.(interface {
		ReadAt([]byte, int64) (int, error)
	}).ReadAt(p, off)
}

func (f *gatedFile) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

// A file the source's small cache of open files evicts while another
// target's read is still in it stays open until that read ends.
func TestEvictingAFileBeingReadLeavesItOpen(t *testing.T) {
	g := &gatedFS{MapFS: fstest.MapFS{"slow": {Data: []byte("slow data")}}, gate: make(chan struct{}), reading: make(chan struct{})}
	var files []placed
	for i := range keepOpen + 4 {
		name := fmt.Sprintf("f%03d", i)
		g.MapFS[name] = &fstest.MapFile{Data: []byte("x")}
		files = append(files, placed{off: int64(100 + i), size: 1, path: name})
	}
	files = append([]placed{{off: 0, size: 9, path: "slow"}}, files...)
	vol, err := os.Create(filepath.Join(t.TempDir(), "vol"))
	require.NoError(t, err)
	defer vol.Close()
	d := &diskSource{lay: Layout{DiskSize: 4096, PartStart: 4096}, vol: vol, files: files, src: &openFiles{fs: g, open: map[string]*openFile{}}}

	done := make(chan error, 1)
	go func() {
		p := make([]byte, 9)
		_, err := d.ReadAt(p, 0)
		done <- err
	}()
	select {
	case <-g.reading:
	case <-time.After(10 * time.Second):
		t.Fatal("the first read never started")
	}
	p := make([]byte, keepOpen+4) // every other file: "slow" leaves the cache
	_, err = d.ReadAt(p, 100)
	require.NoError(t, err)
	close(g.gate)
	err = <-done
	assert.NoError(t, err, "the slow read's file was closed under it")
	assert.False(t, errors.Is(err, os.ErrClosed))
}
