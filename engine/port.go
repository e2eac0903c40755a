package engine

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/zeebo/xxh3"
)

// port runs one target of a job on its own goroutine.
type port struct {
	r      *Running
	t      PortTarget
	ctx    context.Context
	cancel context.CancelFunc
	meter  *meter
	own    []byte // private chunk buffer: catching up, the head chunk, verify
	res    PortResult
	start  time.Time
	// settled: the port's PASS has been shown.
	settled bool

	patches []Patch // bytes this target gets instead of the master's
	outside []Patch // the parts of patches outside the plan: written on their own
	resume  int     // chunks [1, resume) already hold the master's bytes
	scratch []byte  // a piece of a chunk: delta's compare, a patched chunk's verify
	cur     *cursor // the port's place in the window, until its walk ends
	// straggling: in its copy, the port's last chunk came from the
	// master, not the window (it fell behind the others).
	straggling bool
	lending    bool // see lend
}

// scratchSize is the piece a port compares, or lays its patches over, at
// a time where it needs a second buffer: a fraction of a chunk, which the
// budget counts a port (see BufferBudget).
const scratchSize = 256 << 10

func (p *port) piece() []byte {
	if p.scratch == nil {
		p.scratch = p.r.alloc(min(scratchSize, p.r.opts.ChunkSize))
	}
	return p.scratch
}

// needsWrite reports whether the target must get data at off: always,
// unless a delta re-sync finds the same bytes there already.
func (p *port) needsWrite(dev Target, data []byte, off int64) bool {
	if !p.r.opts.Delta {
		return true
	}
	buf := p.piece()
	for at := 0; at < len(data); at += len(buf) {
		n := min(len(buf), len(data)-at)
		if readFull(dev, buf[:n], off+int64(at)) != nil || !bytes.Equal(buf[:n], data[at:at+n]) {
			return true // different, or unreadable there: write it
		}
	}
	return false
}

func (r *Running) newPort(t PortTarget) *port {
	ctx, cancel := context.WithCancel(r.ctx)
	p := &port{r: r, t: t, ctx: ctx, cancel: cancel, start: time.Now()}
	p.meter = newMeter(r.opts, t.Port, t.Label, r.plan.Bytes())
	p.res = PortResult{Port: t.Port, Label: t.Label, Offset: -1}
	r.mu.Lock()
	r.ports[t.Port] = p
	r.mu.Unlock()
	return p
}

// precheck fails a target that cannot hold the plan before anything is
// written.
func (p *port) precheck() (PortResult, bool) {
	need, have := p.r.plan.Need, p.t.Dev.Size()
	if have < need {
		return p.fail(PhaseWaiting, CauseTooSmall, -1, tooSmall(have, need, need == p.r.plan.SourceSize)), false
	}
	if p.r.job.Mode.writes() || p.r.job.Mode == VerifyOnly {
		patches, err := p.r.plan.targetPatches(have)
		if err != nil {
			return p.fail(PhaseWaiting, CauseTooSmall, -1, err), false
		}
		for _, pt := range p.t.Patches {
			if pt.Off < 0 || pt.Off > have-int64(len(pt.Data)) {
				return p.fail(PhaseWaiting, CauseTooSmall, -1,
					fmt.Errorf("the target's own bytes at %d+%d lie outside its %d bytes", pt.Off, len(pt.Data), have)), false
			}
		}
		p.patches = append(patches, p.t.Patches...)
		for _, pt := range p.patches {
			p.outside = append(p.outside, outsidePlan(pt, p.r.plan.Extents)...)
		}
		for _, pt := range p.outside {
			p.meter.more(int64(len(pt.Data))) // written and read back beside the plan
		}
	}
	if n := p.r.opts.ResumeFrom[p.t.Port]; n > 1 && p.r.job.Mode.writes() {
		p.resume = p.checkResume(min(n, len(p.r.chunks)))
	}
	return PortResult{}, true
}

// tooSmall says a target holds fewer bytes than a copy needs: the
// master's, or the copy area's when the plan copies less. Sizes that
// round to the same figure are given in bytes.
func tooSmall(have, need int64, master bool) error {
	what := "the copy area's"
	if master {
		what = "master"
	}
	h, n := twoSizes(have, need)
	return fmt.Errorf("target %s < %s %s", h, what, n)
}

// twoSizes formats two sizes to be told apart: in bytes when they would
// round to the same figure.
func twoSizes(a, b int64) (string, string) {
	fa, fb := FormatSize(a), FormatSize(b)
	if fa == fb {
		return fmt.Sprintf("%d bytes", a), fmt.Sprintf("%d bytes", b)
	}
	return fa, fb
}

// checkResume compares the target's chunks [1, n) with the master's and
// returns where writing must start: n when they all match, else the
// first that does not.
func (p *port) checkResume(n int) int {
	r := p.r
	if err := p.t.Dev.DropCaches(); err != nil {
		return 1
	}
	got, want := p.r.allocTemp(r.opts.ChunkSize), p.r.allocTemp(r.opts.ChunkSize)
	for i := 1; i < n; i++ {
		c := r.chunks[i]
		if p.hasPatch(c.off, c.n) {
			return i
		}
		if readFull(p.t.Dev, got[:c.n], c.off) != nil || readFull(r.master, want[:c.n], c.off) != nil ||
			!bytes.Equal(got[:c.n], want[:c.n]) {
			return i
		}
	}
	return n
}

// qualify checks that the target stores what its size says, before the
// master is read at all.
func (p *port) qualify() (PortResult, bool) {
	q := p.r.opts.Qualify
	if q == nil || !p.r.job.Mode.writes() {
		return PortResult{}, true
	}
	p.meter.report(PhaseQualifying, 0, true)
	dev := p.t.Dev.(Target)
	if u, ok := dev.(interface{ Unwrap() Target }); ok {
		dev = u.Unwrap() // a view of a drive: the drive is qualified
	}
	qual, err := Qualify(p.ctx, dev, *q)
	switch {
	case err != nil && p.ctx.Err() != nil:
		return p.stopped(PhaseQualifying, err), false
	case err != nil:
		return p.fail(PhaseQualifying, CauseWrite, offsetOf(err, -1), err), false
	case !qual.OK:
		return p.fail(PhaseQualifying, qual.Cause, -1, fmt.Errorf("%s", qual.Reason)), false
	}
	return PortResult{}, true
}

// outsidePlan returns the parts of a patch that no plan extent covers.
func outsidePlan(pt Patch, extents []Extent) []Patch {
	rest := []Extent{{pt.Off, int64(len(pt.Data))}}
	for _, e := range extents {
		var next []Extent
		for _, r := range rest {
			next = append(next, subtract([]Extent{r}, e)...)
		}
		rest = next
	}
	var out []Patch
	for _, r := range rest {
		out = append(out, Patch{Off: r.Off, Data: pt.Data[r.Off-pt.Off : r.End()-pt.Off]})
	}
	return out
}

// overlay returns the chunk at off as this target must hold it: data, or
// data with the target's patches laid over, in the port's own buffer
// (copied there first unless data already is that buffer).
func (p *port) overlay(data []byte, off int64) []byte {
	end := off + int64(len(data))
	var out []byte
	for _, pt := range p.patches {
		lo, hi := max(off, pt.Off), min(end, pt.Off+int64(len(pt.Data)))
		if lo >= hi {
			continue
		}
		if out == nil {
			out = p.buf()[:len(data)]
			if &out[0] != &data[0] {
				copy(out, data)
			}
		}
		copy(out[lo-off:hi-off], pt.Data[lo-pt.Off:hi-pt.Off])
	}
	if out == nil {
		return data
	}
	return out
}

// patchPiece lays the port's patches over a piece of a chunk read at off.
func (p *port) patchPiece(b []byte, off int64) {
	end := off + int64(len(b))
	for _, pt := range p.patches {
		if lo, hi := max(off, pt.Off), min(end, pt.Off+int64(len(pt.Data))); lo < hi {
			copy(b[lo-off:hi-off], pt.Data[lo-pt.Off:hi-pt.Off])
		}
	}
}

// hasPatch reports whether a patch touches [off, off+n).
func (p *port) hasPatch(off int64, n int) bool {
	for _, pt := range p.patches {
		if off < pt.Off+int64(len(pt.Data)) && pt.Off < off+int64(n) {
			return true
		}
	}
	return false
}

func (p *port) run() PortResult {
	defer p.cancel()
	defer p.leave() // a port that fails before its walk pins no chunk
	var res PortResult
	switch p.r.job.Mode {
	case VerifyOnly:
		res = p.compare()
	default:
		res = p.copy()
		if res.Status == Pass && p.r.job.Mode == CopyVerify {
			res = p.verify()
			if res.Status == Pass && p.r.opts.OnVerified != nil {
				p.r.opts.OnVerified(p.t.Port)
			}
		}
	}
	// A PASS is reported done once the job has read the master again.
	if p.own != nil {
		p.r.win.giveBack(p.own) // for a port still verifying
		p.own = nil
	}
	return res
}

// buf is the port's own chunk buffer: for catching up, the head, a
// patched chunk, the verify. Once the master has been read, it is one the
// window no longer needs, so 16 ports verifying take no more memory than
// the window had.
func (p *port) buf() []byte {
	if p.own == nil {
		if p.own = p.r.win.borrow(); p.own == nil {
			p.own = p.r.alloc(p.r.opts.ChunkSize)
		}
	}
	return p.own
}

// copy writes every chunk; the chunk at offset 0 (LBA 0 and the primary
// partition table) is written last, after everything else is on the media,
// so an interrupted copy never looks like a good disk.
func (p *port) copy() PortResult {
	r := p.r
	dev := p.t.Dev.(Target)
	head := -1
	copyStart := time.Now()
	if r.opts.Clean {
		p.res.Discarded = p.discardGaps(dev)
	}
	if r.opts.Delta {
		if err := dev.DropCaches(); err != nil {
			return p.fail(PhaseCopying, CauseRead, -1, fmt.Errorf("drop caches: %w", err))
		}
	}
	skip := func(i int, c chunk) (bool, *PortResult) {
		if c.off == 0 {
			head = i
		}
		if i > 0 && i < p.resume {
			return true, nil // an interrupted run already put the master's bytes here
		}
		if n := r.opts.CheckpointEvery; r.opts.OnCheckpoint != nil && i > 0 && i%n == 0 {
			if err := dev.Sync(); err != nil {
				res := p.fail(PhaseSyncing, CauseSync, -1, fmt.Errorf("sync: %w", err))
				return false, &res
			}
			r.opts.OnCheckpoint(p.t.Port, i)
		}
		return false, nil
	}
	r.leading.Add(1)
	defer p.straggle(true) // done copying: it leads no more
	// A straggler flushes nothing behind while a port that keeps up
	// still copies: where the targets' media share a disk (loop devices
	// over files) its flushes took the bandwidth the faster ports write
	// with (1.08x to 1.2x their time beside a target throttled to a
	// quarter of their pace, 1.04x without). It ends after them anyway;
	// its Sync before the head flushes the rest.
	behind := startSyncBehind(dev, r.opts.SyncEvery, func() bool {
		return p.straggling && r.leading.Load() > 0
	})
	written, fail := p.walk(PhaseCopying, skip, func(_ int, c chunk, data []byte) *PortResult {
		if c.off == 0 {
			return nil // the head goes last, below
		}
		var err error
		switch {
		case !r.opts.Delta && p.hasPatch(c.off, c.n):
			err = p.writePatched(dev, data, c.off)
		default:
			out := p.overlay(data, c.off)
			if !p.needsWrite(dev, out, c.off) {
				return nil
			}
			err = p.write(dev, out, c.off)
		}
		if err != nil {
			res := p.failWrite(err)
			return &res
		}
		p.res.Written += int64(c.n)
		behind.wrote(int64(c.n))
		return nil
	})
	if err := behind.stop(); err != nil && fail == nil {
		return p.fail(PhaseSyncing, CauseSync, -1, fmt.Errorf("sync: %w", err))
	}
	if fail != nil {
		return *fail
	}
	for _, pt := range p.outside {
		if err := p.write(dev, pt.Data, pt.Off); err != nil {
			return p.failWrite(err)
		}
		written += int64(len(pt.Data))
		p.res.Written += int64(len(pt.Data))
	}
	if head >= 0 {
		if err := dev.Sync(); err != nil {
			return p.fail(PhaseSyncing, CauseSync, -1, fmt.Errorf("sync: %w", err))
		}
		if err := r.readChunk(head, p.buf()); err != nil {
			return p.stopped(PhaseCopying, err)
		}
		if out := p.overlay(p.buf()[:r.chunks[head].n], 0); p.needsWrite(dev, out, 0) {
			if err := p.write(dev, out, 0); err != nil {
				return p.failWrite(err)
			}
			p.res.Written += int64(len(out))
		}
	}
	p.meter.report(PhaseSyncing, written, true)
	if err := dev.Sync(); err != nil {
		return p.fail(PhaseSyncing, CauseSync, -1, fmt.Errorf("sync: %w", err))
	}
	if d := time.Since(copyStart); d > 0 {
		p.res.MBps = float64(written) / d.Seconds() / 1e6
	}
	return p.pass()
}

// syncBehind flushes a target's writes to its media while the copy goes
// on: every few tens of MiB written, a Sync starts on a goroutine of its
// own (one at a time). The Sync before the head and the one at the end
// then find little left to flush, instead of the whole copy standing in
// line for them.
type syncBehind struct {
	dev   Target
	every int64
	hold  func() bool // no Sync starts while it holds
	since int64
	kick  chan struct{}
	done  chan struct{}
	err   error // the first background Sync's failure; read after done
}

func startSyncBehind(dev Target, every int64, hold func() bool) *syncBehind {
	s := &syncBehind{dev: dev, every: every, hold: hold}
	if every <= 0 {
		return s
	}
	s.kick, s.done = make(chan struct{}, 1), make(chan struct{})
	go func() {
		defer close(s.done)
		for range s.kick {
			if err := dev.Sync(); err != nil && s.err == nil {
				s.err = err
			}
		}
	}()
	return s
}

// wrote notes n bytes written and starts a Sync when enough are pending,
// none runs and nothing holds it back.
func (s *syncBehind) wrote(n int64) {
	if s.kick == nil {
		return
	}
	if s.since += n; s.since >= s.every && !s.hold() {
		select {
		case s.kick <- struct{}{}:
			s.since = 0
		default: // one is running: the next write tries again
		}
	}
}

// stop waits for a running Sync and returns the first that failed.
func (s *syncBehind) stop() error {
	if s.kick == nil {
		return nil
	}
	close(s.kick)
	<-s.done
	return s.err
}

// discarder is a target that can discard (TRIM) a range.
type discarder interface {
	Discard(off, length int64, secure bool) error
}

// discardGaps discards what the plan and the patches leave out, when the
// target can; a target that cannot keeps its old contents there. It
// returns the bytes discarded.
func (p *port) discardGaps(dev Target) int64 {
	d, ok := dev.(discarder)
	if !ok {
		return 0
	}
	keep := append([]Extent(nil), p.r.plan.Extents...)
	for _, pt := range p.outside {
		keep = append(keep, Extent{pt.Off, int64(len(pt.Data))})
	}
	slices.SortFunc(keep, func(a, b Extent) int { return cmp.Compare(a.Off, b.Off) })
	var done, at int64
	gaps := []Extent{}
	for _, e := range keep {
		if e.Off > at {
			gaps = append(gaps, Extent{at, e.Off - at})
		}
		at = max(at, e.End())
	}
	if size := dev.Size(); size > at {
		gaps = append(gaps, Extent{at, size - at})
	}
	for _, g := range gaps {
		if err := d.Discard(g.Off, g.Len, false); err != nil {
			return done // not supported, or not here: the rest stays as it was
		}
		done += g.Len
	}
	return done
}

// write writes one chunk, retrying transient errors.
func (p *port) write(dev Target, data []byte, off int64) error {
	return writeRetrying(p.ctx, dev, data, off, p.r.opts)
}

// writePatched writes a chunk that the port's patches touch without a
// copy of the whole chunk: the pieces no patch touches go to the target
// straight from the window's shared buffer, the others through the
// port's scratch piece with the patches laid over. Pieces start on
// scratch-sized steps from the chunk's start, so every write stays
// aligned for direct I/O.
func (p *port) writePatched(dev Target, data []byte, off int64) error {
	piece := p.piece()
	from := 0 // the start of the bytes not yet written, untouched by patches
	for at := 0; at < len(data); at += len(piece) {
		n := min(len(piece), len(data)-at)
		if !p.hasPatch(off+int64(at), n) {
			continue
		}
		if from < at {
			if err := p.write(dev, data[from:at], off+int64(from)); err != nil {
				return err
			}
		}
		b := piece[:n]
		copy(b, data[at:at+n])
		p.patchPiece(b, off+int64(at))
		if err := p.write(dev, b, off+int64(at)); err != nil {
			return err
		}
		from = at + n
	}
	if from < len(data) {
		return p.write(dev, data[from:], off+int64(from))
	}
	return nil
}

// verify reads the whole plan back from the media and checks every chunk
// against the master's chunk hash.
func (p *port) verify() PortResult {
	r := p.r
	dev := p.t.Dev
	if err := dev.DropCaches(); err != nil {
		return p.fail(PhaseVerifying, CauseRead, -1, fmt.Errorf("drop caches: %w", err))
	}
	var verified int64
	p.meter.report(PhaseVerifying, 0, true)
	for i, c := range r.chunks {
		if err := p.ctx.Err(); err != nil {
			return p.stopped(PhaseVerifying, err)
		}
		data := p.buf()[:c.n]
		if err := readFull(dev, data, c.off); err != nil {
			return p.fail(PhaseVerifying, CauseRead, offsetOf(err, c.off), fmt.Errorf("verify: %w", err))
		}
		// The hash of a chunk a resumed copy passed over may not be
		// taken yet; every other chunk the copy took from the reader.
		if i > 0 && i < p.resume {
			if err := r.win.waitRead(p.ctx, i); err != nil {
				return p.stopped(PhaseVerifying, err)
			}
		}
		if p.hasPatch(c.off, c.n) {
			if res, ok := p.checkPatched(i, data); !ok {
				return res
			}
		} else if chunkHash(data) != r.hashes[i] {
			return p.mismatch(i, data)
		}
		verified += int64(c.n)
		p.meter.report(PhaseVerifying, verified, false)
		yield()
	}
	if res, ok := p.verifyOutside(); !ok {
		return res
	}
	for _, pt := range p.outside {
		verified += int64(len(pt.Data))
	}
	p.res.Verified = verified
	return p.pass()
}

// checkPatched checks a chunk that carries patches (every target of a
// GPT master has two: its partition tables): the patches' bytes must be
// there, and the master's everywhere else. The patches' ranges are
// compared with the patches, then filled with the master's bytes of the
// same ranges (a few sectors), so the whole chunk can be checked against
// the reader's hash without a second buffer; then the patches' bytes go
// back. Only when that fails is the master read again in full, to find
// the first differing byte or a master that changed.
func (p *port) checkPatched(i int, got []byte) (PortResult, bool) {
	r := p.r
	c := r.chunks[i]
	if err := r.win.waitRead(p.ctx, i); err != nil {
		return p.stopped(PhaseVerifying, err), false
	}
	end := c.off + int64(c.n)
	type span struct {
		lo, hi int64
		pt     Patch
	}
	var spans []span
	quick := true
	for _, pt := range p.patches {
		lo, hi := max(c.off, pt.Off), min(end, pt.Off+int64(len(pt.Data)))
		if lo >= hi {
			continue
		}
		spans = append(spans, span{lo, hi, pt})
		if !bytes.Equal(got[lo-c.off:hi-c.off], pt.Data[lo-pt.Off:hi-pt.Off]) {
			quick = false // overlapping patches land here too; the full check sorts them out
		}
	}
	if quick {
		for _, s := range spans {
			if err := r.readMaster(got[s.lo-c.off:s.hi-c.off], s.lo); err != nil {
				err = fmt.Errorf("master: %w", err)
				r.sourceFailed(err)
				return p.stopped(PhaseVerifying, err), false
			}
			r.zeroBad(got[s.lo-c.off:s.hi-c.off], s.lo) // as the reader hashed them
		}
		same := chunkHash(got) == r.hashes[i]
		for _, s := range spans {
			copy(got[s.lo-c.off:s.hi-c.off], s.pt.Data[s.lo-s.pt.Off:s.hi-s.pt.Off])
		}
		if same {
			return PortResult{}, true
		}
	}
	return p.checkPatchedFully(i, got)
}

// checkPatchedFully compares a chunk that carries patches byte for byte
// with the master's bytes and the patches laid over them. The master's
// bytes are read a piece at a time (no second chunk buffer a port) and
// checked against the reader's chunk hash as they go.
func (p *port) checkPatchedFully(i int, got []byte) (PortResult, bool) {
	r := p.r
	c := r.chunks[i]
	buf := p.piece()
	h := xxh3.New()
	diff := int64(-1)
	for at := 0; at < c.n; at += len(buf) {
		b := buf[:min(len(buf), c.n-at)]
		off := c.off + int64(at)
		if err := r.readMaster(b, off); err != nil {
			err = fmt.Errorf("master: %w", err)
			r.sourceFailed(err)
			return p.stopped(PhaseVerifying, err), false
		}
		r.zeroBad(b, off)
		h.Write(b)
		if diff < 0 {
			p.patchPiece(b, off)
			if j := firstDiff(got[at:at+len(b)], b); j >= 0 {
				diff = off + int64(j)
			}
		}
	}
	if h.Sum128() != r.hashes[i] {
		err := changed(c)
		r.sourceFailed(err)
		return p.stopped(PhaseVerifying, err), false
	}
	if diff >= 0 {
		return p.fail(PhaseVerifying, CauseMismatch, diff, fmt.Errorf("verify: mismatch at %d", diff)), false
	}
	return PortResult{}, true
}

// verifyOutside reads back the patches written outside the plan.
func (p *port) verifyOutside() (PortResult, bool) {
	for _, pt := range p.outside {
		// A patch may be larger than a chunk (the zeros after a file
		// duplication's partition): it is read back a chunk at a time.
		for at := 0; at < len(pt.Data); {
			want := pt.Data[at:min(len(pt.Data), at+len(p.buf()))]
			got := p.buf()[:len(want)]
			off := pt.Off + int64(at)
			if err := readFull(p.t.Dev, got, off); err != nil {
				return p.fail(PhaseVerifying, CauseRead, offsetOf(err, off), fmt.Errorf("verify: %w", err)), false
			}
			if j := firstDiff(got, want); j >= 0 {
				off += int64(j)
				return p.fail(PhaseVerifying, CauseMismatch, off, fmt.Errorf("verify: mismatch at %d", off)), false
			}
			at += len(want)
		}
	}
	return PortResult{}, true
}

// firstDiff is the index of the first differing byte, or -1.
func firstDiff(a, b []byte) int {
	if bytes.Equal(a, b) {
		return -1
	}
	for j := range a {
		if a[j] != b[j] {
			return j
		}
	}
	return -1
}

// mismatch finds the first differing byte of chunk i by reading the
// master's bytes again, and fails the port there.
func (p *port) mismatch(i int, got []byte) PortResult {
	c := p.r.chunks[i]
	want := p.r.allocTemp(c.n)
	if err := p.r.readChunk(i, want); err != nil {
		return p.stopped(PhaseVerifying, err)
	}
	off := c.off
	if j := firstDiff(got, want); j >= 0 {
		off += int64(j)
	}
	return p.fail(PhaseVerifying, CauseMismatch, off, fmt.Errorf("verify: mismatch at %d", off))
}

// compare is verify-only mode: the target's media against the master's
// bytes, chunk by chunk, nothing written. Where the master cannot be
// read (its bad ranges, under the zero-fill policy) there is nothing to
// compare the target with: those bytes are passed over, and the job's
// result lists the ranges.
func (p *port) compare() PortResult {
	r := p.r
	dev := p.t.Dev
	if err := dev.DropCaches(); err != nil {
		return p.fail(PhaseVerifying, CauseRead, -1, fmt.Errorf("drop caches: %w", err))
	}
	got := r.alloc(r.opts.ChunkSize)
	verified, fail := p.walk(PhaseVerifying, nil, func(_ int, c chunk, data []byte) *PortResult {
		want := p.overlay(data, c.off)
		if err := readFull(dev, got[:c.n], c.off); err != nil {
			res := p.fail(PhaseVerifying, CauseRead, offsetOf(err, c.off), fmt.Errorf("verify: %w", err))
			return &res
		}
		r.passBad(got[:c.n], want, c.off)
		if j := firstDiff(want, got[:c.n]); j >= 0 {
			off := c.off + int64(j)
			res := p.fail(PhaseVerifying, CauseMismatch, off, fmt.Errorf("verify: mismatch at %d", off))
			return &res
		}
		return nil
	})
	if fail != nil {
		return *fail
	}
	if res, ok := p.verifyOutside(); !ok {
		return res
	}
	p.res.Verified = verified
	return p.pass()
}

// walk feeds the plan's chunks to fn in order, each as the master's bytes
// (fn lays the port's patches over them), read once for every port
// through the shared window, and reports the port's progress in phase. A chunk skip
// says to pass over is not fetched (a resumed copy's chunks already on
// the media) but counts as done. It stops at the first failure of skip,
// fn or the window, and returns the bytes done.
func (p *port) walk(phase Phase, skip func(i int, c chunk) (bool, *PortResult), fn func(i int, c chunk, want []byte) *PortResult) (int64, *PortResult) {
	r := p.r
	cur := p.cur // taken before the reader started (see run)
	defer p.leave()
	var done int64
	p.meter.report(phase, 0, true)
	// A copy that is verified next need not check what it reads again
	// from the master (see fetch).
	unchecked := phase == PhaseCopying && r.job.Mode == CopyVerify
	for i, c := range r.chunks {
		if err := p.ctx.Err(); err != nil {
			res := p.stopped(phase, err)
			return done, &res
		}
		if skip != nil {
			pass, fail := skip(i, c)
			if fail != nil {
				return done, fail
			}
			if pass {
				done += int64(c.n)
				continue
			}
		}
		data, b, err := r.fetch(p.ctx, cur, i, p.buf, unchecked)
		if err != nil {
			res := p.stopped(phase, err)
			return done, &res
		}
		if phase == PhaseCopying {
			p.straggle(b == nil)
			p.lend(b == nil)
		}
		fail := fn(i, c, data)
		r.win.release(cur, b, i+1, &p.own)
		if fail != nil {
			return done, fail
		}
		done += int64(c.n)
		p.meter.report(phase, done, false)
		yield()
	}
	return done, nil
}

// straggle notes whether the copying port fell behind the window (its
// chunk came from the master) or keeps up, and counts the ports that
// keep up.
func (p *port) straggle(behind bool) {
	if behind == p.straggling {
		return
	}
	p.straggling = behind
	if behind {
		p.r.leading.Add(-1)
	} else {
		p.r.leading.Add(1)
	}
}

// lend lends the process a P while the port straggles in its copy (see
// lendProc), and takes it back once the port keeps up again.
func (p *port) lend(on bool) {
	if on != p.lending {
		p.lending = on
		lendProc(on)
	}
}

// leave gives up the port's place in the window, and the P it lent.
func (p *port) leave() {
	p.lend(false)
	if p.cur != nil {
		p.r.win.detach(p.cur)
		p.cur = nil
	}
}

func (p *port) pass() PortResult {
	p.res.Status = Pass
	p.res.Phase = PhaseDone
	p.res.Duration = time.Since(p.start)
	return p.res
}

func (p *port) failWrite(err error) PortResult {
	return p.fail(PhaseCopying, CauseWrite, offsetOf(err, -1), err)
}

// stopped ends a port whose context ended or whose master failed.
func (p *port) stopped(phase Phase, err error) PortResult {
	if serr := p.r.sourceErr(); serr != nil {
		return p.fail(phase, masterCause(serr), offsetOf(serr, -1), serr)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return endPort(&p.res, p.meter, p.start, Aborted, phase, CauseAborted, p.res.Offset,
			fmt.Sprintf("port %d: aborted while %s", p.t.Port, phase))
	}
	return p.fail(phase, masterCause(err), offsetOf(err, -1), err)
}

func (p *port) fail(phase Phase, cause Cause, off int64, err error) PortResult {
	return endPort(&p.res, p.meter, p.start, Fail, phase, cause, off, fmt.Sprintf("port %d: %v", p.t.Port, err))
}

// endPort ends a port that did not pass, copy or erase alike: it fills in
// the result and sends the port's last progress.
func endPort(res *PortResult, m *meter, start time.Time, st Status, phase Phase, cause Cause, off int64, reason string) PortResult {
	res.Status, res.Phase, res.Cause, res.Offset, res.Reason = st, phase, cause, off, reason
	res.Duration = time.Since(start)
	m.report(phase, -1, true)
	return *res
}

// offsetError is a write or read that failed at a known offset.
type offsetError struct {
	op  string
	off int64
	err error
}

func (e *offsetError) Error() string { return fmt.Sprintf("%s at %d: %v", e.op, e.off, e.err) }
func (e *offsetError) Unwrap() error { return e.err }
func (e *offsetError) Offset() int64 { return e.off }

// offsetOf returns the offset an error names, or def.
func offsetOf(err error, def int64) int64 {
	var o interface{ Offset() int64 }
	if errors.As(err, &o) {
		return o.Offset()
	}
	return def
}
