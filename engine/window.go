package engine

import (
	"context"
	"sync"
)

// window is the bounded set of master chunks that the reader shares with
// every consumer (targets, the SHA-256 hasher). It holds chunks [lo, hi).
//
// The reader never waits for a slow consumer: when the window is full and
// some consumer already wants a chunk that is not read yet, the oldest
// chunk is evicted even if a slow consumer still needs it. That consumer
// is then "behind" and reads the master itself until the end; a buffer it
// is still writing from is kept (an orphan) until it lets go. So memory is
// bounded by (slots + consumers) chunks, whatever the image size, and a
// slow target never paces the others.
type window struct {
	mu        sync.Mutex
	chunkSize int
	slots     []*buffer
	pool      []*buffer
	alloc     func(n int) []byte
	lo, hi    int
	err       error           // the reader's failure, sticky
	cursors   map[*cursor]int // next chunk each attached consumer needs
	changed   chan struct{}   // closed and replaced on every change
}

type buffer struct {
	data   []byte
	refs   int
	orphan bool
}

// cursor is one consumer's place in the window. A consumer that pulls
// (a target) makes the reader evict for it when the window is full; one
// that does not (the SHA-256 hasher, which is pure CPU and would otherwise
// race ahead of every drive) only keeps up.
type cursor struct{ pulls bool }

func newWindow(slots, chunkSize int, alloc func(int) []byte) *window {
	return &window{
		chunkSize: chunkSize,
		alloc:     alloc,
		slots:     make([]*buffer, slots),
		cursors:   map[*cursor]int{},
		changed:   make(chan struct{}),
	}
}

// broadcast wakes every waiter; w.mu held.
func (w *window) broadcast() {
	close(w.changed)
	w.changed = make(chan struct{})
}

// wait releases w.mu until the window changes or ctx ends, and takes it
// again.
func (w *window) wait(ctx context.Context) error {
	ch := w.changed
	w.mu.Unlock()
	defer w.mu.Lock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// attach adds a consumer that starts at chunk 0.
func (w *window) attach(pulls bool) *cursor {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := &cursor{pulls: pulls}
	w.cursors[c] = 0
	w.broadcast()
	return c
}

// detach removes a consumer: it pins nothing any more.
func (w *window) detach(c *cursor) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.cursors, c)
	w.broadcast()
}

// evictLo drops chunk lo from the window; w.mu held.
func (w *window) evictLo() {
	i := w.lo % len(w.slots)
	b := w.slots[i]
	w.slots[i] = nil
	w.lo++
	if b.refs > 0 {
		b.orphan = true
	} else {
		w.pool = append(w.pool, b)
	}
}

// reserve returns an empty buffer for chunk idx (== hi) once there is room:
// a free slot, a chunk nobody needs any more, or a consumer waiting for
// chunk hi while the window is full.
func (w *window) reserve(ctx context.Context, idx int) (*buffer, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.hi-w.lo >= len(w.slots) {
		needLo, wantHi := false, false
		for c, next := range w.cursors {
			if next == w.lo {
				needLo = true
			}
			if next >= w.hi && c.pulls {
				wantHi = true
			}
		}
		if !needLo || wantHi {
			w.evictLo()
			continue
		}
		if err := w.wait(ctx); err != nil {
			return nil, err
		}
	}
	if n := len(w.pool); n > 0 {
		b := w.pool[n-1]
		w.pool = w.pool[:n-1]
		b.orphan = false
		return b, nil
	}
	return &buffer{data: w.alloc(w.chunkSize)}, nil
}

// publish makes chunk idx (== hi) visible.
func (w *window) publish(idx int, b *buffer) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.slots[idx%len(w.slots)] = b
	w.hi = idx + 1
	w.broadcast()
}

// fail records the reader's failure; consumers waiting for chunks it did
// not read get it.
func (w *window) fail(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = err
	}
	w.broadcast()
}

// get pins chunk idx for c. It returns nil (and no error) when the chunk
// has left the window: the consumer is behind and must read the master
// itself.
func (w *window) get(ctx context.Context, c *cursor, idx int) (*buffer, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cursors[c] != idx {
		w.cursors[c] = idx
		w.broadcast()
	}
	for {
		switch {
		case idx < w.lo:
			return nil, nil
		case idx < w.hi:
			b := w.slots[idx%len(w.slots)]
			b.refs++
			return b, nil
		case w.err != nil:
			return nil, w.err
		}
		if err := w.wait(ctx); err != nil {
			return nil, err
		}
	}
}

// release unpins a buffer that get returned and moves c on to chunk next.
func (w *window) release(c *cursor, b *buffer, next int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if b != nil {
		b.refs--
		if b.refs == 0 && b.orphan {
			b.orphan = false
			w.pool = append(w.pool, b)
		}
	}
	if _, ok := w.cursors[c]; ok {
		w.cursors[c] = next
	}
	w.broadcast()
}
