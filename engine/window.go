package engine

import (
	"context"
	"sync"
	"time"
)

// window is the bounded set of master chunks that the reader shares with
// every consumer (targets, the SHA-256 hasher). It holds chunks [lo, hi).
//
// The reader reads ahead up to slots chunks past the slowest consumer.
// While a consumer behind still needs the oldest chunk, the window
// stretches rather than dropping it, and the reader reads on up to slots
// chunks past the leading target: a target a little behind the leader
// keeps its place and takes its chunks from memory, so the master is
// read about once when targets run at similar speeds, and the others
// do not wait for each of the master's reads meanwhile (they would, were
// the reader to read only the chunk one of them already waits for). At
// max chunks the reader waits a little for a consumer that still needs
// the oldest chunk (see patience), and then evicts it all the same. That
// consumer is then "behind" and reads the master itself until it catches
// up with the window again; a buffer it is still writing from is kept
// (an orphan) until it lets go. Past its patience the reader never waits
// for a consumer once a target wants the next chunk, so a target that
// stalls paces the others by at most a twentieth of their time (and a
// second at once); a target that has taken half the chunks the leader
// has, or fewer, is slow and gets no patience at all. The exception is a
// leader that outruns the pack: when fewer than half of the targets in
// the window are near its leading edge, the window stays with the rest,
// and the reader waits for the oldest chunk however slow the pack is, so
// the leader keeps the pack's pace: the batch ends with the pack anyway,
// and the pack does not read the master once each. A pack that hangs
// holds the leader back a second in all, then falls out; one that fails
// after a while has cost the leader the time it was held (at most its
// own copy's time again). A resumed target, skipping ahead past the
// window's end, waits for the reader to get there. Memory is bounded by
// (max + consumers) chunks, whatever the image size.
type window struct {
	mu        sync.Mutex
	chunkSize int
	slots     []*buffer // a ring of max entries
	ahead     int       // chunks read ahead of the slowest consumer, and of the leading target while the window stretches
	pool      []*buffer
	alloc     func(n int) []byte
	lo, hi    int
	err       error           // the reader's failure, sticky
	read      bool            // the reader has read every chunk
	cursors   map[*cursor]int // next chunk each attached consumer needs
	changed   chan struct{}   // closed and replaced on every change
	started   time.Time       // the reader's first chunk
	waited    time.Duration   // how long the reader held a target back in all
	holdLo    int             // the oldest chunk the reader last waited to evict
	holdFrom  time.Time       // since when it waits for that chunk
	// spent: the reader let go of a chunk the pack still held while the
	// leader outran it, so the pack hangs. The reader waits for the pack
	// no more (a target of it hung at a chunk of its own would cost
	// another second each) until the pack moves again (lets go of the
	// oldest chunk) or the leader no longer outruns it.
	spent bool
}

// patience is the share of the job's time so far that the reader may, in
// all, hold a target back at the window's max for a consumer that still
// needs the oldest chunk: a twentieth. Targets of one speed drift apart
// on a busy machine; a target a window behind for a moment would
// otherwise read the master itself for the rest of the job (at the
// others' speed it never catches up), and one such read of the master
// slows every port on a shared bus more than the wait costs. A target
// that stalls for long uses the patience up early, when the job's time is
// short, and falls out as before; it never holds the others back by more
// than the share, nor for more than maxHold at once (a target that hangs
// late in a long job). A truly slow target (half the leader's chunks or
// fewer) gets none of it: it would fall behind again all the same.
const patience = 20

// maxHold is the longest the reader waits for one chunk to be let go of.
const maxHold = time.Second

// patienceLeft is how much longer the reader may wait before it evicts
// chunk lo, which a consumer still needs; w.mu held.
func (w *window) patienceLeft() time.Duration {
	return min(time.Since(w.started)/patience-w.waited, w.holdLeft())
}

// holdLeft is how much longer the reader may wait for chunk lo to be let
// go of, at once; w.mu held.
func (w *window) holdLeft() time.Duration {
	now := time.Now()
	if w.holdFrom.IsZero() || w.holdLo != w.lo {
		w.holdLo, w.holdFrom = w.lo, now
	}
	return maxHold - now.Sub(w.holdFrom)
}

// outrun reports whether the targets near the window's leading edge
// (within the read-ahead of it) are fewer than half of the targets in the
// window: one fast target among slower ones. Following it, the window
// would leave the others behind one by one, and each would read the
// master for itself; the batch ends with them anyway. w.mu held.
func (w *window) outrun() bool {
	in, near := 0, 0
	for c, next := range w.cursors {
		if !c.pulls || next < w.lo || next > w.hi {
			continue // the hasher, a target behind, or one skipping ahead
		}
		in++
		if next > w.hi-w.ahead {
			near++
		}
	}
	return 2*near < in
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

func newWindow(slots, limit, chunkSize int, alloc func(int) []byte) *window {
	return &window{
		chunkSize: chunkSize,
		alloc:     alloc,
		ahead:     slots,
		slots:     make([]*buffer, max(slots, limit)),
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
func (w *window) wait(ctx context.Context) error { return w.waitFor(ctx, 0) }

// waitFor is wait, for at most d when d > 0.
func (w *window) waitFor(ctx context.Context, d time.Duration) error {
	ch := w.changed
	w.mu.Unlock()
	defer w.mu.Lock()
	var timeout <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-ch:
		return nil
	case <-timeout:
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
// a free slot within the read-ahead, a chunk nobody needs any more, or,
// while a consumer behind still needs the oldest chunk, a slot within
// the read-ahead past the leading target (the window stretches up to its
// max; there, for a target waiting for chunk hi, it waits out its
// patience, then evicts its oldest chunk).
func (w *window) reserve(ctx context.Context, idx int) (*buffer, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started.IsZero() {
		w.started = time.Now()
	}
	for w.hi-w.lo >= w.ahead {
		needLo, hasherLo, lead := false, false, -1
		for c, next := range w.cursors {
			if next == w.lo {
				needLo = true
				hasherLo = hasherLo || !c.pulls
			}
			// A target past hi (a resumed copy, skipping what its media
			// already holds) waits for the reader to get there: for
			// chunk hi first, like a leader at the edge. It is not near
			// the edge, though (see outrun): the window stays with the
			// targets that still need what it holds.
			if c.pulls {
				lead = max(lead, min(next, w.hi))
			}
		}
		switch {
		case !needLo:
			w.evictLo()
			continue
		case lead >= 0 && w.hi-lead < w.ahead && w.hi-w.lo < len(w.slots):
			// A consumer behind keeps its place, and the reader still
			// reads ahead of the leading target: reading only the chunk
			// a target already waits for would add the master's read
			// time to each of its writes.
		case lead >= w.hi:
			// A target that has taken half the chunks the leader has,
			// or fewer, is no target drifting a little behind but a
			// slow one: waiting for it would only pace the others, and
			// it would fall behind again all the same. Not so the
			// hasher: out of the window, it would read the master again.
			// Nor a pack the leader outruns: then the leader is the odd
			// one, and the reader waits for the pack, a second at once
			// at most, whatever the patience left; once it has let a
			// chunk of the pack go, not again until the pack moves.
			outrun := w.outrun()
			if !outrun {
				w.spent = false
			}
			outrun = outrun && !w.spent
			slow := !hasherLo && !outrun && 2*w.lo <= w.hi
			var left time.Duration
			if outrun {
				left = w.holdLeft()
			} else {
				left = w.patienceLeft()
			}
			if left > 0 && !slow {
				at := time.Now()
				err := w.waitFor(ctx, left)
				if !outrun {
					w.waited += time.Since(at)
				}
				if err != nil {
					return nil, err
				}
				continue
			}
			w.spent = w.spent || outrun
			w.evictLo()
			continue
		default:
			if err := w.wait(ctx); err != nil {
				return nil, err
			}
			continue
		}
		break
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

// waitRead waits until the reader has read chunk idx (so its hash is
// known), or failed.
func (w *window) waitRead(ctx context.Context, idx int) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for w.hi <= idx {
		if w.err != nil {
			return w.err
		}
		if err := w.wait(ctx); err != nil {
			return err
		}
	}
	return nil
}

// finish notes that the reader has read every chunk: from now on the
// window's buffers that no consumer needs can serve as the ports' own.
func (w *window) finish() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.read = true
}

// borrow returns a chunk buffer the window no longer needs, or nil: only
// once the reader is done (before that the reader would only allocate
// another), from the pool or the oldest chunk no consumer still needs.
func (w *window) borrow() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.read {
		return nil
	}
	for len(w.pool) == 0 && w.lo < w.hi {
		if w.needs(w.lo) {
			return nil // the oldest is still needed
		}
		w.evictLo()
	}
	n := len(w.pool)
	if n == 0 {
		return nil
	}
	b := w.pool[n-1]
	w.pool = w.pool[:n-1]
	return b.data
}

// giveBack puts a port's own buffer in the pool when the port is done.
func (w *window) giveBack(p []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if cap(p) >= w.chunkSize {
		w.pool = append(w.pool, &buffer{data: p[:w.chunkSize]})
	}
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
// When the window evicted that buffer while c still wrote from it, c is
// now behind and will read the master into a buffer of its own: when own
// points to none yet, the evicted buffer becomes it, rather than going to
// the pool beside the one the consumer would make (an image deploy at
// 1 -> 16 otherwise ends with a few chunks more than its budget).
func (w *window) release(c *cursor, b *buffer, next int, own *[]byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if b != nil {
		b.refs--
		if b.refs == 0 && b.orphan {
			b.orphan = false
			if own != nil && *own == nil {
				*own = b.data
			} else {
				w.pool = append(w.pool, b)
			}
		}
	}
	if old, ok := w.cursors[c]; ok {
		w.cursors[c] = next
		if old == w.lo && !w.needs(w.lo) {
			w.spent = false // the pack moves
		}
	}
	w.broadcast()
}

// needs reports whether a consumer still needs chunk i; w.mu held.
func (w *window) needs(i int) bool {
	for _, next := range w.cursors {
		if next == i {
			return true
		}
	}
	return false
}
