package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"
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
		return p.fail(PhaseWaiting, CauseTooSmall, -1,
			fmt.Errorf("target %s < master %s", FormatSize(have), FormatSize(need))), false
	}
	return PortResult{}, true
}

func (p *port) run() PortResult {
	defer p.cancel()
	var res PortResult
	switch p.r.job.Mode {
	case VerifyOnly:
		res = p.compare()
	default:
		res = p.copy()
		if res.Status == Pass && p.r.job.Mode == CopyVerify {
			res = p.verify()
		}
	}
	if res.Status == Pass {
		p.meter.report(PhaseDone, p.r.plan.Bytes(), true)
	}
	return res
}

func (p *port) buf() []byte {
	if p.own == nil {
		p.own = p.r.alloc(p.r.opts.ChunkSize)
	}
	return p.own
}

// copy writes every chunk; the chunk at offset 0 (LBA 0 and the primary
// partition table) is written last, after everything else is on the media,
// so an interrupted copy never looks like a good disk.
func (p *port) copy() PortResult {
	r := p.r
	dev := p.t.Dev.(Target)
	cur := r.win.attach(true)
	defer r.win.detach(cur)
	head := -1
	var written int64
	copyStart := time.Now()
	p.meter.report(PhaseCopying, 0, true)
	for i, c := range r.chunks {
		if err := p.ctx.Err(); err != nil {
			return p.stopped(PhaseCopying, err)
		}
		data, b, err := r.fetch(p.ctx, cur, i, p.buf)
		if err != nil {
			return p.stopped(PhaseCopying, err)
		}
		if c.off == 0 {
			head = i
		} else if err := p.write(dev, data, c.off); err != nil {
			r.win.release(cur, b, i+1)
			return p.failWrite(err)
		}
		r.win.release(cur, b, i+1)
		written += int64(c.n)
		p.meter.report(PhaseCopying, written, false)
		yield()
	}
	r.win.detach(cur)
	if head >= 0 {
		if err := dev.Sync(); err != nil {
			return p.fail(PhaseSyncing, CauseSync, -1, fmt.Errorf("sync: %w", err))
		}
		if err := r.readChunk(head, p.buf()); err != nil {
			return p.stopped(PhaseCopying, err)
		}
		if err := p.write(dev, p.buf()[:r.chunks[head].n], 0); err != nil {
			return p.failWrite(err)
		}
	}
	p.meter.report(PhaseSyncing, written, true)
	if err := dev.Sync(); err != nil {
		return p.fail(PhaseSyncing, CauseSync, -1, fmt.Errorf("sync: %w", err))
	}
	p.res.Written = written
	if d := time.Since(copyStart); d > 0 {
		p.res.MBps = float64(written) / d.Seconds() / 1e6
	}
	return p.pass()
}

// write writes one chunk, retrying transient errors.
func (p *port) write(dev Target, data []byte, off int64) error {
	var first error // the first failure says most: later ones may only echo it
	for attempt := 0; ; attempt++ {
		n, err := dev.WriteAt(data, off)
		if err == nil && n == len(data) {
			return nil
		}
		if err == nil {
			err = io.ErrShortWrite
		}
		if first == nil {
			first = &offsetError{op: "write", off: offsetOf(err, off+int64(n)), err: unwrapOp(err)}
		}
		err = first
		if attempt >= p.r.opts.WriteRetries || p.ctx.Err() != nil {
			return err
		}
		select {
		case <-time.After(p.r.opts.RetryDelay):
		case <-p.ctx.Done():
			return err
		}
	}
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
		if chunkHash(data) != r.hashes[i] {
			return p.mismatch(i, data)
		}
		verified += int64(c.n)
		p.meter.report(PhaseVerifying, verified, false)
		yield()
	}
	p.res.Verified = verified
	return p.pass()
}

// mismatch finds the first differing byte of chunk i by reading the
// master's bytes again, and fails the port there.
func (p *port) mismatch(i int, got []byte) PortResult {
	c := p.r.chunks[i]
	want := p.r.alloc(c.n)
	if err := p.r.readChunk(i, want); err != nil {
		return p.stopped(PhaseVerifying, err)
	}
	off := c.off
	for j := range got {
		if got[j] != want[j] {
			off = c.off + int64(j)
			break
		}
	}
	return p.fail(PhaseVerifying, CauseMismatch, off, fmt.Errorf("verify: mismatch at %d", off))
}

// compare is verify-only mode: the target's media against the master's
// bytes, chunk by chunk, nothing written.
func (p *port) compare() PortResult {
	r := p.r
	dev := p.t.Dev
	if err := dev.DropCaches(); err != nil {
		return p.fail(PhaseVerifying, CauseRead, -1, fmt.Errorf("drop caches: %w", err))
	}
	cur := r.win.attach(true)
	defer r.win.detach(cur)
	got := r.alloc(r.opts.ChunkSize)
	var verified int64
	p.meter.report(PhaseVerifying, 0, true)
	for i, c := range r.chunks {
		want, b, err := r.fetch(p.ctx, cur, i, p.buf)
		if err != nil {
			return p.stopped(PhaseVerifying, err)
		}
		if err := readFull(dev, got[:c.n], c.off); err != nil {
			r.win.release(cur, b, i+1)
			return p.fail(PhaseVerifying, CauseRead, offsetOf(err, c.off), fmt.Errorf("verify: %w", err))
		}
		if !bytes.Equal(want, got[:c.n]) {
			off := c.off
			for j := range want {
				if want[j] != got[j] {
					off = c.off + int64(j)
					break
				}
			}
			r.win.release(cur, b, i+1)
			return p.fail(PhaseVerifying, CauseMismatch, off, fmt.Errorf("verify: mismatch at %d", off))
		}
		r.win.release(cur, b, i+1)
		verified += int64(c.n)
		p.meter.report(PhaseVerifying, verified, false)
		yield()
	}
	p.res.Verified = verified
	return p.pass()
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
		return p.fail(phase, CauseMaster, offsetOf(serr, -1), serr)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		p.res.Status = Aborted
		p.res.Phase = phase
		p.res.Cause = CauseAborted
		p.res.Reason = fmt.Sprintf("port %d: aborted while %s", p.t.Port, phase)
		p.res.Duration = time.Since(p.start)
		p.meter.report(phase, -1, true)
		return p.res
	}
	return p.fail(phase, CauseMaster, offsetOf(err, -1), err)
}

func (p *port) fail(phase Phase, cause Cause, off int64, err error) PortResult {
	p.res.Status = Fail
	p.res.Phase = phase
	p.res.Cause = cause
	p.res.Offset = off
	p.res.Reason = fmt.Sprintf("port %d: %v", p.t.Port, err)
	p.res.Duration = time.Since(p.start)
	p.meter.report(phase, -1, true)
	return p.res
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
