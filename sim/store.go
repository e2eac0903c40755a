package sim

import (
	"bytes"
	"fmt"
	"os"
	"sync"
)

// store holds a virtual drive's media contents.
type store interface {
	readAt(p []byte, off int64) error
	writeAt(p []byte, off int64) error
	close() error
}

const pageSize = 64 << 10

// memStore is a sparse in-memory store: pages that were never written read
// as zeros and cost nothing, so a 64 GB virtual stick fits in a laptop.
type memStore struct {
	mu    sync.RWMutex
	pages map[int64]*[pageSize]byte
}

func newMemStore() *memStore { return &memStore{pages: map[int64]*[pageSize]byte{}} }

func (m *memStore) readAt(p []byte, off int64) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for len(p) > 0 {
		idx, in := off/pageSize, off%pageSize
		n := min(int64(len(p)), pageSize-in)
		if pg := m.pages[idx]; pg != nil {
			copy(p[:n], pg[in:in+n])
		} else {
			clear(p[:n])
		}
		p, off = p[n:], off+n
	}
	return nil
}

func (m *memStore) writeAt(p []byte, off int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for len(p) > 0 {
		idx, in := off/pageSize, off%pageSize
		n := min(int64(len(p)), pageSize-in)
		pg := m.pages[idx]
		if pg == nil {
			if isZero(p[:n]) {
				p, off = p[n:], off+n
				continue
			}
			pg = new([pageSize]byte)
			m.pages[idx] = pg
		}
		copy(pg[in:in+n], p[:n])
		p, off = p[n:], off+n
	}
	return nil
}

func (m *memStore) close() error { return nil }

// zeroPage is what a page that was never written holds; isZero compares
// with it in one call rather than a byte at a time (a loop the race
// detector would check byte by byte).
var zeroPage [pageSize]byte

func isZero(p []byte) bool {
	for len(p) > 0 {
		n := min(len(p), pageSize)
		if !bytes.Equal(p[:n], zeroPage[:n]) {
			return false
		}
		p = p[n:]
	}
	return true
}

// fileStore keeps the media in a sparse file.
type fileStore struct{ f *os.File }

func newFileStore(path string, size int64) (*fileStore, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("sim drive backing file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("sim drive backing file: %w", err)
	}
	if st.Size() < size {
		if err := f.Truncate(size); err != nil {
			f.Close()
			return nil, fmt.Errorf("sim drive backing file: %w", err)
		}
	}
	return &fileStore{f: f}, nil
}

func (s *fileStore) readAt(p []byte, off int64) error {
	n, err := s.f.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	return err
}

func (s *fileStore) writeAt(p []byte, off int64) error {
	_, err := s.f.WriteAt(p, off)
	return err
}

func (s *fileStore) close() error { return s.f.Close() }
