package engine

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/clonebay/clonebay/engine/disk"
)

// EraseMode is how a drive is wiped.
type EraseMode int

// Erase modes.
const (
	// EraseQuick zeroes the partition tables and the file-system
	// signatures: the first and last 4 MiB of the drive and the first
	// 1 MiB of every partition it had.
	EraseQuick EraseMode = iota
	EraseZeros
	EraseRandom
	// EraseDoD is DoD 5220.22-M: zeros, ones, then random.
	EraseDoD
	EraseDiscard
	EraseSecureDiscard
)

func (m EraseMode) String() string {
	return [...]string{"quick", "zeros", "random", "dod", "discard", "secure-discard"}[m]
}

// ParseEraseMode reads a mode's name.
func ParseEraseMode(s string) (EraseMode, error) {
	for m := EraseQuick; m <= EraseSecureDiscard; m++ {
		if m.String() == s {
			return m, nil
		}
	}
	return 0, fmt.Errorf("erase mode %q: give quick, zeros, random, dod, discard or secure-discard", s)
}

// EraseJob wipes targets.
type EraseJob struct {
	Targets []PortTarget
	Mode    EraseMode
	Verify  bool // read the last pass back from the media
	Options Options
}

// pattern is one erase pass: what every byte range gets.
type pattern struct {
	name string
	fill byte // for constant passes
	rnd  bool // random bytes, reproducible from seed and offset
	seed uint64
}

func (p pattern) bytes(buf []byte, off int64) {
	if !p.rnd {
		// Doubling copies: a few calls for a chunk, not one store a byte.
		if len(buf) > 0 {
			buf[0] = p.fill
			for n := 1; n < len(buf); n *= 2 {
				copy(buf[n:], buf[:n])
			}
		}
		return
	}
	// A stream per 4 KiB block, seeded from its offset: any block can be
	// made again for the verify pass without replaying the drive.
	for b := 0; b < len(buf); b += 4096 {
		var seed [32]byte
		binary.LittleEndian.PutUint64(seed[:], p.seed)
		binary.LittleEndian.PutUint64(seed[8:], uint64(off)+uint64(b))
		_, _ = mrand.NewChaCha8(seed).Read(buf[b:min(len(buf), b+4096)])
	}
}

// Run wipes every target on its own goroutine and returns a result per
// port. The error is non-nil only when the job was refused.
func (j EraseJob) Run(ctx context.Context) (*Result, error) {
	opts := j.Options.withDefaults()
	if len(j.Targets) == 0 {
		return nil, fmt.Errorf("%w: erase needs at least one target", ErrRefused)
	}
	if j.Mode < EraseQuick || j.Mode > EraseSecureDiscard {
		return nil, fmt.Errorf("%w: unknown erase mode %d", ErrRefused, j.Mode)
	}
	ids := map[string]int{}
	for _, t := range j.Targets {
		if _, ok := t.Dev.(Target); !ok {
			return nil, fmt.Errorf("%w: port %d: the drive is not open for writing", ErrRefused, t.Port)
		}
		if other, ok := ids[t.Dev.ID()]; ok {
			return nil, fmt.Errorf("%w: ports %d and %d are the same drive", ErrRefused, other, t.Port)
		}
		ids[t.Dev.ID()] = t.Port
	}
	var seed [8]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return nil, err
	}
	passes := []pattern{{name: "zeros"}}
	switch j.Mode {
	case EraseRandom:
		passes = []pattern{{name: "random", rnd: true, seed: binary.LittleEndian.Uint64(seed[:])}}
	case EraseDoD:
		passes = []pattern{{name: "zeros"}, {name: "ones", fill: 0xff}, {name: "random", rnd: true, seed: binary.LittleEndian.Uint64(seed[:])}}
	}
	start := time.Now()
	res := &Result{Mode: Erase, Area: "erase " + j.Mode.String(), Ports: make([]PortResult, len(j.Targets))}
	var wg sync.WaitGroup
	for i, t := range j.Targets {
		wg.Go(func() { res.Ports[i] = eraseOne(ctx, j, opts, t, passes) })
	}
	wg.Wait()
	res.Duration = time.Since(start)
	return res, nil
}

// eraser wipes one drive.
type eraser struct {
	ctx   context.Context
	t     PortTarget
	dev   Target
	opts  Options
	meter *meter
	res   PortResult
	start time.Time
	buf   []byte
	want  []byte
}

func eraseOne(ctx context.Context, j EraseJob, opts Options, t PortTarget, passes []pattern) PortResult {
	e := &eraser{ctx: ctx, t: t, dev: t.Dev.(Target), opts: opts, start: time.Now(),
		res: PortResult{Port: t.Port, Label: t.Label, Offset: -1}}
	size := e.dev.Size()
	var ranges []Extent // none on a drive that holds no bytes (failed below)
	switch {
	case size <= 0:
	case j.Mode == EraseQuick:
		ranges = quickRanges(e.dev, size)
	default:
		ranges = []Extent{{0, size}}
	}
	var total int64
	for _, r := range ranges {
		total += r.Len
	}
	work := total * int64(len(passes))
	if j.Mode == EraseDiscard || j.Mode == EraseSecureDiscard {
		work = size
	}
	if j.Verify {
		work += total
	}
	e.meter = newMeter(opts, t.Port, t.Label, work)
	if size <= 0 {
		// A card reader with no card in it: nothing was erased, and a
		// PASS would say the drive was.
		return e.fail(PhaseWaiting, CauseNoMedia, -1, errors.New("the drive holds 0 bytes (no card in the reader?): nothing to erase"))
	}
	e.buf = alignedBuf(opts.ChunkSize)

	var done int64
	switch j.Mode {
	case EraseDiscard, EraseSecureDiscard:
		d, ok := e.dev.(discarder)
		if !ok {
			return e.fail(PhaseCopying, CauseWrite, -1, errors.New("this drive cannot discard"))
		}
		e.meter.report(PhaseCopying, 0, true)
		if err := d.Discard(0, size, j.Mode == EraseSecureDiscard); err != nil {
			return e.fail(PhaseCopying, CauseWrite, -1, fmt.Errorf("%s: %w", j.Mode, err))
		}
		done = size
		e.res.Written = size
	default:
		for _, p := range passes {
			for _, r := range ranges {
				for off := r.Off; off < r.End(); off += int64(opts.ChunkSize) {
					if err := ctx.Err(); err != nil {
						return e.aborted(PhaseCopying)
					}
					n := min(int64(opts.ChunkSize), r.End()-off)
					p.bytes(e.buf[:n], off)
					if err := writeRetrying(ctx, e.dev, e.buf[:n], off, opts); err != nil {
						return e.fail(PhaseCopying, CauseWrite, offsetOf(err, off), fmt.Errorf("%s pass: %w", p.name, err))
					}
					done += n
					e.res.Written += n
					e.meter.report(PhaseCopying, done, false)
					yield()
				}
			}
			if err := e.dev.Sync(); err != nil {
				return e.fail(PhaseSyncing, CauseSync, -1, fmt.Errorf("sync: %w", err))
			}
		}
	}
	if j.Verify {
		last := passes[len(passes)-1]
		if err := e.dev.DropCaches(); err != nil {
			return e.fail(PhaseVerifying, CauseRead, -1, fmt.Errorf("drop caches: %w", err))
		}
		e.want = alignedBuf(opts.ChunkSize)
		for _, r := range ranges {
			for off := r.Off; off < r.End(); off += int64(opts.ChunkSize) {
				if err := ctx.Err(); err != nil {
					return e.aborted(PhaseVerifying)
				}
				n := min(int64(opts.ChunkSize), r.End()-off)
				if err := readFull(e.dev, e.buf[:n], off); err != nil {
					return e.fail(PhaseVerifying, CauseRead, offsetOf(err, off), fmt.Errorf("verify: %w", err))
				}
				last.bytes(e.want[:n], off)
				if !bytes.Equal(e.buf[:n], e.want[:n]) {
					at := off + int64(firstDiff(e.buf[:n], e.want[:n]))
					return e.fail(PhaseVerifying, CauseMismatch, at, fmt.Errorf("verify: the drive does not hold what was written at %d", at))
				}
				done += n
				e.res.Verified += n
				e.meter.report(PhaseVerifying, done, false)
				yield()
			}
		}
	}
	e.meter.report(PhaseDone, work, true)
	e.res.Status, e.res.Phase = Pass, PhaseDone
	e.res.Duration = time.Since(e.start)
	if d := e.res.Duration; d > 0 {
		e.res.MBps = float64(e.res.Written) / d.Seconds() / 1e6
	}
	return e.res
}

func (e *eraser) fail(phase Phase, cause Cause, off int64, err error) PortResult {
	return endPort(&e.res, e.meter, e.start, Fail, phase, cause, off, fmt.Sprintf("port %d: %v", e.t.Port, err))
}

func (e *eraser) aborted(phase Phase) PortResult {
	return endPort(&e.res, e.meter, e.start, Aborted, phase, CauseAborted, e.res.Offset,
		fmt.Sprintf("port %d: aborted while %s", e.t.Port, phase))
}

// writeRetrying writes with the job's retries for transient errors. The
// first failure is what it reports: later ones may only echo it. A drive
// found removed ends the retries at once and says so: its first failure
// may have come while the kernel was still tearing it down, and named
// only an I/O error.
func writeRetrying(ctx context.Context, dev Target, p []byte, off int64, o Options) error {
	if size := dev.Size(); off < 0 || off > size-int64(len(p)) {
		// A bug upstream, never the drive's business: nothing is written.
		return &offsetError{op: "write", off: off, err: fmt.Errorf("%d bytes there lie outside the %d-byte drive", len(p), size)}
	}
	var first error
	for attempt := 0; ; attempt++ {
		n, err := dev.WriteAt(p, off)
		if err == nil && n == len(p) {
			return nil
		}
		if err == nil {
			err = io.ErrShortWrite
		}
		failed := &offsetError{op: "write", off: offsetOf(err, off+int64(n)), err: unwrapOp(err)}
		if removed(err) {
			return failed
		}
		if first == nil {
			first = failed
		}
		if attempt >= o.WriteRetries || ctx.Err() != nil {
			return first
		}
		select {
		case <-time.After(o.RetryDelay):
		case <-ctx.Done():
			return first
		}
	}
}

// removed reports whether err says the drive left: some error in its
// chain has a Removed method that reports true (hal.ErrRemoved has).
func removed(err error) bool {
	var r interface{ Removed() bool }
	return errors.As(err, &r) && r.Removed()
}

// quickRanges are what a quick erase zeroes: the first and last 4 MiB
// (MBR, GPT and its backup, superfloppy file systems) and the first 1 MiB
// of every partition the drive had (boot sectors, superblocks).
func quickRanges(dev Target, size int64) []Extent {
	const edge, head = 4 << 20, 1 << 20
	ex := []disk.Extent{{Off: 0, Len: min(size, edge)}, {Off: max(0, size-edge), Len: min(size, edge)}}
	ss := sectorSize(dev)
	if g, err := disk.ReadGPT(dev, size, ss); err == nil {
		for _, p := range g.Partitions {
			off := int64(p.FirstLBA) * int64(ss)
			ex = append(ex, disk.Extent{Off: off, Len: min(head, int64(p.LastLBA-p.FirstLBA+1)*int64(ss))})
		}
	} else if m, err := disk.ReadMBR(dev, size, ss); err == nil {
		for _, p := range m.Partitions {
			if !p.IsExtended() && p.Type != 0xee {
				ex = append(ex, disk.Extent{Off: p.Start, Len: min(head, p.Size)})
			}
		}
		ex = append(ex, m.EBRs...)
	}
	var out []Extent
	for _, e := range disk.Normalize(ex) {
		if e.Off < size {
			out = append(out, Extent{e.Off, min(e.Len, size-e.Off)})
		}
	}
	return out
}
