package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Source is a master: a drive or an image, read at random offsets. The
// engine never writes to it (there is no method to do so).
type Source interface {
	io.ReaderAt
	Size() int64
	// ID names the underlying device or file uniquely (device number or
	// inode), so a job that would copy a drive onto itself is refused.
	ID() string
}

// Checked is a drive whose media can be read back, bypassing caches.
type Checked interface {
	Source
	// DropCaches makes later reads come from the media.
	DropCaches() error
}

// Target is a drive the engine writes.
type Target interface {
	Checked
	io.WriterAt
	Sync() error
}

// Mode is what a job does.
type Mode int

// Job modes. CopyVerify is the default.
const (
	CopyVerify Mode = iota
	Copy
	VerifyOnly
	HashOnly
	Erase // an EraseJob's results
)

func (m Mode) String() string {
	switch m {
	case CopyVerify:
		return "copy+verify"
	case Copy:
		return "copy"
	case VerifyOnly:
		return "verify"
	case HashOnly:
		return "hash"
	case Erase:
		return "erase"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

func (m Mode) writes() bool { return m == CopyVerify || m == Copy }

// PortTarget is one target of a job, on a front-panel port. Dev must be a
// Target in modes that write; a Checked is enough to verify.
type PortTarget struct {
	Port  int
	Label string
	Dev   Checked
	// Patches are bytes this target gets instead of the master's, laid
	// over the plan's own (a GPT rebuilt for its size): a file system's
	// size fields when one build serves targets of several sizes. Each
	// must lie inside the target; a part outside the plan is written on
	// its own. The Data may be shared between targets and is not changed.
	Patches []Patch
}

// Options tune a job. Zero values take the defaults.
type Options struct {
	ChunkSize    int // bytes per chunk, a multiple of 4096; 1 MiB
	WindowChunks int // chunks the reader reads ahead of the slowest consumer (of the leading target while the window stretches); 16
	// WindowMax is how many chunks the window may stretch to while a
	// consumer behind still needs its oldest chunk and the others read
	// on, so a consumer a little behind keeps its place instead of
	// reading the master itself. When 0, the
	// stretch takes what the targets' own buffers and the master's (an
	// image's frames, see BufferedSource) leave of a job's budget of 40
	// chunks, between 1.5 and 2 times WindowChunks less the master's:
	// 32 at 1 -> 8, 24 at 1 -> 16 from a drive, 19 from an image.
	WindowMax    int
	WriteRetries int           // extra attempts after a failed write; 2
	RetryDelay   time.Duration // pause before a retry; 200 ms
	// ProgressInterval bounds how often each port reports; 250 ms.
	ProgressInterval time.Duration
	// OnProgress receives progress from the job's goroutines; it must be
	// quick and safe for concurrent use.
	OnProgress func(Progress)
	// Clean discards (TRIMs) what the plan skips on targets that support
	// it, instead of leaving their old contents there.
	Clean bool
	// BadSectors is the policy for unreadable sectors on the master: by
	// default the job ends; with ZeroFill, each read is retried and what
	// stays unreadable is copied as zeros and recorded (a verify-only job
	// passes over those bytes). Only the media's own read errors count: a
	// master that left or was closed, and an image, end the job.
	BadSectors BadSectorPolicy
	// Qualify, when set, checks every target before anything is copied:
	// a counterfeit or far too slow one fails at once.
	Qualify *QualifyOptions

	// Delta re-syncs targets that already hold an older copy: each chunk
	// is read from the target first and written only when it differs.
	// Verification still reads everything.
	Delta bool

	// OnCheckpoint, when set, is told every CheckpointEvery chunks that a
	// port has chunks [0, n) written and synced to its media (the chunk at
	// offset 0 aside: it is written last). A journal of these lets an
	// interrupted job resume.
	OnCheckpoint    func(port, n int)
	CheckpointEvery int // chunks; 16 when 0
	// ResumeFrom gives, per port, the n of a checkpoint from an interrupted
	// run of the same job. The port checks that its chunks [1, n) hold the
	// master's bytes and writes from the first one that does not.
	ResumeFrom map[int]int

	// MasterRecheck is how much of the master the job reads again at its
	// end: its bytes can change behind the write-block (a loop device's
	// backing file, a drive's own firmware), and targets verified against
	// what the job read would then PASS with content the master no longer
	// has. RecheckSample (the default) reads a handful of chunks, the
	// first and the last always; RecheckFull reads it all; RecheckNone,
	// for a master whose bytes the caller holds to a record of its own
	// (a file set's reader's bytes against its manifest's SHA-256), none.
	MasterRecheck MasterRecheck

	// SyncEvery is how many bytes a target is written between the Syncs
	// that flush its writes to the media while the copy goes on; 64 MiB
	// when 0, none when negative.
	SyncEvery int64

	// NoSHA256 leaves out the SHA-256 of the content: the caller records
	// another sum (a file set's manifest). Hash-only jobs always take it.
	NoSHA256 bool
	// OnContent, when set, gets the plan's bytes in order, each chunk
	// once, as the SHA-256 does: beside the job, on a goroutine that paces
	// no target beyond the window's patience, a twentieth of the job's
	// time (bytes it fell too far behind for are read again and checked
	// against the reader's chunk hash). p is valid only during the call.
	// The job's Wait returns after its last call.
	OnContent func(off int64, p []byte)
	// OnRead, when set, gets every chunk as the reader reads it, in
	// order, each once, before any target does: it must be quick (the
	// reader waits for it), and p is valid only during the call.
	OnRead func(off int64, p []byte)
	// OnVerified, when set, is told of each port whose verify passed, as
	// it passes: the port's PASS is final only once the job has read the
	// master again, and a caller can check more of the target meanwhile.
	// It must not block.
	OnVerified func(port int)
}

// MasterRecheck says how much of the master a job reads again at its end.
type MasterRecheck int

// The master re-checks.
const (
	RecheckSample MasterRecheck = iota
	RecheckFull
	RecheckNone
)

// BufferedSource is a master that keeps buffers of its own for its reads
// (an image: decompressed frames, compressed input). The job counts them
// in its budget: its window stretches that much less.
type BufferedSource interface {
	Source
	// BufferBound is the most its buffers take, whatever is read.
	BufferBound() int64
	// BufferBytes is what its buffers took so far.
	BufferBytes() int64
}

// jobChunks is the chunk buffers a job may hold, window and targets
// together, before the window stops stretching: with 1 MiB chunks, what
// keeps 16 targets within the appliance's 64 MiB.
const jobChunks = 40

// recheckSample is how many chunks RecheckSample reads again.
const recheckSample = 8

// BadSectorPolicy says what a job does when the master cannot be read.
type BadSectorPolicy struct {
	ZeroFill bool
	Retries  int // extra attempts per sector before it counts as bad
	// MaxBad is the most master bytes a job copies as zeros (0:
	// DefaultMaxBad; negative: none, so the first sector that stays
	// unreadable ends the job). Past it the job ends, the master too
	// worn to copy: a card that fails everywhere would otherwise be read
	// sector by sector, each retried, to its end, and its targets pass
	// holding zeros.
	MaxBad int64
	// MaxBadTime is the most time the master's failing reads may take in
	// all (0 or less: DefaultMaxBadTime) before the job ends the same way: a
	// drive can take seconds to fail each read, and a sector is read
	// 1 + Retries times.
	MaxBadTime time.Duration
}

// DefaultMaxBad is BadSectorPolicy.MaxBad's default: 2048 sectors of
// 512 bytes. A worn master's bad sectors are a few kilobytes; far more is
// a failing drive.
const DefaultMaxBad = 1 << 20

// DefaultMaxBadTime is BadSectorPolicy.MaxBadTime's default.
const DefaultMaxBadTime = 5 * time.Minute

// ErrMasterWorn is the cause (wrapped in Result.Err) when more of the
// master could not be read than the bad-sector policy copies as zeros.
var ErrMasterWorn = errors.New("too many unreadable sectors")

// Default option values.
const (
	DefaultChunkSize        = 1 << 20
	DefaultWindowChunks     = 16
	DefaultWriteRetries     = 2
	DefaultRetryDelay       = 200 * time.Millisecond
	DefaultProgressInterval = 250 * time.Millisecond
	DefaultSyncEvery        = 64 << 20
)

func (o Options) withDefaults() Options {
	if o.ChunkSize == 0 {
		o.ChunkSize = DefaultChunkSize
	}
	if o.WindowChunks == 0 {
		o.WindowChunks = DefaultWindowChunks
	}
	o.WindowMax = max(o.WindowMax, o.WindowChunks)
	if o.BadSectors.MaxBad == 0 {
		o.BadSectors.MaxBad = DefaultMaxBad
	}
	if o.BadSectors.MaxBadTime <= 0 {
		o.BadSectors.MaxBadTime = DefaultMaxBadTime
	}
	if o.WriteRetries == 0 {
		o.WriteRetries = DefaultWriteRetries
	}
	if o.WriteRetries < 0 {
		o.WriteRetries = 0
	}
	if o.RetryDelay == 0 {
		o.RetryDelay = DefaultRetryDelay
	}
	if o.ProgressInterval == 0 {
		o.ProgressInterval = DefaultProgressInterval
	}
	if o.SyncEvery == 0 {
		o.SyncEvery = DefaultSyncEvery
	}
	if o.CheckpointEvery == 0 {
		o.CheckpointEvery = 16
	}
	return o
}

// Job is one duplication: a master, its targets, what to do and what area
// to copy.
type Job struct {
	Source  Source
	Targets []PortTarget
	Mode    Mode
	Area    Area // WholeMedia when nil
	Options Options
}

// ErrRefused is returned (wrapped) for a job the engine will not start.
var ErrRefused = errors.New("job refused")

// ErrMasterChanged is the cause (wrapped in Result.Err and in the reasons
// of the ports it failed) when the master's bytes differ from what the
// job read of them: the targets hold what the master was.
var ErrMasterChanged = errors.New("master changed during the job")

// Run starts a job and waits for its result. The error is non-nil only
// when the job was refused before anything was read or written.
func (j Job) Run(ctx context.Context) (*Result, error) {
	r, err := Start(ctx, j)
	if err != nil {
		return nil, err
	}
	return r.Wait(), nil
}

// Running is a started job.
type Running struct {
	job    Job
	master *countedSource // the job's master; every read goes through it
	opts   Options
	plan   Plan
	chunks []chunk
	hashes []chunkSum
	win    *window
	start  time.Time

	ctx    context.Context
	cancel context.CancelFunc

	bufBytes atomic.Int64 // chunk buffers made by this job
	leading  atomic.Int32 // ports copying that keep up with the window
	slab     slab         // where they are cut from

	badMu   sync.Mutex
	bad     []Extent      // unreadable master sectors, copied as zeros
	badTime time.Duration // how long the master's failing reads took

	rechecked int64 // bytes the re-check at the end read

	mu     sync.Mutex
	srcErr error
	ports  map[int]*port
	done   chan struct{}
	result *Result
}

// Start checks a job, plans it and starts it.
func Start(ctx context.Context, j Job) (*Running, error) {
	opts := j.Options.withDefaults()
	if err := j.check(opts); err != nil {
		return nil, err
	}
	switch size := j.Source.Size(); {
	case size == 0:
		return nil, fmt.Errorf("%w: the master is empty (0 bytes)", ErrRefused)
	case size < 0:
		return nil, fmt.Errorf("%w: the master reports a size of %d bytes", ErrRefused, size)
	}
	area := j.Area
	if area == nil {
		area = WholeMedia{}
	}
	master := &countedSource{Source: j.Source}
	plan, err := area.Plan(master)
	if err != nil {
		return nil, fmt.Errorf("%w: master: %s: %w", ErrRefused, area.Name(), err)
	}
	if err := plan.Check(512); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRefused, err)
	}
	r := &Running{
		job: j, master: master, opts: opts, plan: plan,
		chunks: plan.chunks(opts.ChunkSize),
		start:  time.Now(),
		ports:  map[int]*port{},
		done:   make(chan struct{}),
	}
	r.hashes = make([]chunkSum, len(r.chunks))
	if j.Options.WindowMax == 0 {
		src := r.sourceChunks(opts.ChunkSize)
		opts.WindowMax = max(opts.WindowChunks, opts.WindowChunks*3/2-src, min(2*opts.WindowChunks, jobChunks-len(j.Targets)-src))
	}
	r.opts = opts
	r.slab.left = int(BufferBudget(opts, len(j.Targets), nil))
	r.win = newWindow(opts.WindowChunks, opts.WindowMax, opts.ChunkSize, r.alloc)
	r.ctx, r.cancel = context.WithCancel(ctx)
	go r.run()
	return r, nil
}

func (j Job) check(o Options) error {
	switch {
	case j.Source == nil:
		return fmt.Errorf("%w: no master", ErrRefused)
	case o.ChunkSize < bufAlign || o.ChunkSize%bufAlign != 0:
		return fmt.Errorf("%w: chunk size %d is not a multiple of %d", ErrRefused, o.ChunkSize, bufAlign)
	case o.WindowChunks < 2:
		return fmt.Errorf("%w: window of %d chunks is too small", ErrRefused, o.WindowChunks)
	case j.Mode != HashOnly && len(j.Targets) == 0:
		return fmt.Errorf("%w: %s needs at least one target", ErrRefused, j.Mode)
	case j.Mode == HashOnly && len(j.Targets) > 0:
		return fmt.Errorf("%w: hash only takes no targets", ErrRefused)
	}
	ports := map[int]bool{}
	ids := map[string]int{}
	for _, t := range j.Targets {
		switch {
		case t.Dev == nil:
			return fmt.Errorf("%w: port %d has no drive", ErrRefused, t.Port)
		case ports[t.Port]:
			return fmt.Errorf("%w: port %d is a target twice", ErrRefused, t.Port)
		case t.Dev.ID() == j.Source.ID():
			return fmt.Errorf("%w: port %d: the target is the master itself (%s)", ErrRefused, t.Port, t.Dev.ID())
		}
		if other, ok := ids[t.Dev.ID()]; ok {
			return fmt.Errorf("%w: ports %d and %d are the same drive (%s)", ErrRefused, other, t.Port, t.Dev.ID())
		}
		if _, ok := t.Dev.(Target); j.Mode.writes() && !ok {
			return fmt.Errorf("%w: port %d: the drive is not open for writing", ErrRefused, t.Port)
		}
		ports[t.Port] = true
		ids[t.Dev.ID()] = t.Port
	}
	return nil
}

// sourceChunks is how many chunks the master's own buffers come to.
func (r *Running) sourceChunks(chunkSize int) int {
	return int((sourceBound(r.job.Source) + int64(chunkSize) - 1) / int64(chunkSize))
}

// sourceBound is the most a master's own buffers take: 0 but for a
// BufferedSource.
func sourceBound(src Source) int64 {
	if b, ok := src.(BufferedSource); ok {
		return b.BufferBound()
	}
	return 0
}

// MemoryBudget is what the job's buffers may take: the window at its
// stretch, a chunk and a scratch piece a target (a patched chunk is
// written, a delta compared, through the piece), a chunk for the master's
// hash (like a target's, for reading the master itself once it falls out
// of the window), the re-check's chunk, and the master's own. A process
// running the job can keep its heap close to it (a soft memory limit),
// since the buffers are made once and reused.
func (r *Running) MemoryBudget() int64 {
	return BufferBudget(r.opts, len(r.job.Targets), r.job.Source)
}

// BufferBudget is what the buffers of a job with these options (its
// window's stretch and chunk size set), this many targets and this master
// may take, as MemoryBudget says: for a caller that sizes the window
// itself and must know the budget before the job starts.
func BufferBudget(o Options, targets int, src Source) int64 {
	return int64(o.WindowMax+targets+2)*int64(o.ChunkSize) + int64(targets*min(scratchSize, o.ChunkSize)) + sourceBound(src)
}

// alloc makes an aligned I/O buffer and counts it against the job.
func (r *Running) alloc(n int) []byte {
	r.bufBytes.Add(int64(n))
	return r.slab.take(n)
}

// allocTemp makes an aligned I/O buffer the job lets go of soon (a
// resumed port's check, a mismatch's second read): counted, but from the
// heap, so the slab keeps its room for the buffers the job holds.
func (r *Running) allocTemp(n int) []byte {
	r.bufBytes.Add(int64(n))
	return alignedBuf(n)
}

// Plan is what the job copies.
func (r *Running) Plan() Plan { return r.plan }

// Chunks is how many chunks the plan is cut into; checkpoints count them.
func (r *Running) Chunks() int { return len(r.chunks) }

// Cancel aborts the whole job: every port not yet finished ends ABORTED.
func (r *Running) Cancel() { r.cancel() }

// CancelPort aborts one port; it reports whether the port was running.
func (r *Running) CancelPort(n int) bool {
	r.mu.Lock()
	p := r.ports[n]
	r.mu.Unlock()
	if p == nil {
		return false
	}
	p.cancel()
	return true
}

// Wait waits for the job to end and returns its result.
func (r *Running) Wait() *Result {
	<-r.done
	return r.result
}

// sourceFailed ends the job for every port: the master cannot be read.
func (r *Running) sourceFailed(err error) {
	r.mu.Lock()
	first := r.srcErr == nil
	if first {
		r.srcErr = err
	}
	r.mu.Unlock()
	if first {
		r.win.fail(err)
		r.cancel()
	}
}

func (r *Running) sourceErr() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.srcErr
}

func (r *Running) run() {
	defer close(r.done)
	defer r.cancel()

	// Prechecks and qualification first, in parallel: the master is read
	// only once the targets that will take part are known.
	results := make([]PortResult, len(r.job.Targets))
	ready := make([]*port, len(r.job.Targets))
	var checks sync.WaitGroup
	for i, t := range r.job.Targets {
		p := r.newPort(t)
		checks.Go(func() {
			if res, ok := p.precheck(); !ok {
				results[i] = res
				p.cancel()
				return
			}
			if res, ok := p.qualify(); !ok {
				results[i] = res
				p.cancel()
				return
			}
			ready[i] = p
		})
	}
	checks.Wait()

	// Every consumer takes its place in the window before the reader
	// starts: one that came later (a port still discarding its gaps, or
	// not yet scheduled on a busy machine) would find the first chunks
	// evicted and read them from the master itself.
	sha, hashing := r.contentSum()
	var hashCur *cursor
	if hashing {
		hashCur = r.win.attach(false)
	}
	for _, p := range ready {
		if p != nil {
			p.cur = r.win.attach(true)
		}
	}
	readerCtx, stopReader := context.WithCancel(r.ctx)
	defer stopReader()
	var wg sync.WaitGroup
	wg.Go(func() { r.read(readerCtx) })
	// The SHA-256 runs beside the job on the reader's chunks: no port
	// waits for it, and the Result carries it when the job ends.
	hashed := make(chan struct{})
	go func() {
		defer close(hashed)
		if hashing {
			sha = r.hashMaster(readerCtx, hashCur)
		}
	}()

	var ports sync.WaitGroup
	for i, p := range ready {
		if p != nil {
			ports.Go(func() { results[i] = p.run() })
		}
	}
	ports.Wait()
	if r.job.Mode != HashOnly && !anyPassed(results) {
		stopReader() // nobody needs the master any more
	}
	if r.job.Mode == HashOnly {
		<-hashed // the hash is what this job is for
	}

	// Only now is a PASS final: the master is read again (in part, or
	// all of it), and a change fails every port that passed.
	if r.sourceErr() == nil && r.ctx.Err() == nil && (anyPassed(results) || r.job.Mode == HashOnly && sha != "") {
		r.recheck()
	}
	r.settle(ready, results)
	<-hashed
	wg.Wait()
	r.slab.done()
	// A master found changed while the hash was still being taken fails
	// the ports too: the record must not keep a PASS for it.
	r.settle(ready, results)

	serr := r.sourceErr()
	res := &Result{
		Mode:        r.job.Mode,
		Area:        r.plan.Area,
		Bytes:       r.plan.Bytes(),
		Need:        r.plan.Need,
		SourceSize:  r.job.Source.Size(),
		Ports:       results,
		Duration:    time.Since(r.start),
		Err:         serr,
		BufferBytes: r.bufBytes.Load() + r.sourceBytes(),
		MasterRead:  r.master.n.Load(),
		Rechecked:   r.rechecked,
	}
	r.badMu.Lock()
	res.BadRanges = slices.Clone(r.bad)
	r.badMu.Unlock()
	if res.Err == nil && sha != "" {
		res.SHA256 = sha
		for i := range res.Ports {
			if res.Ports[i].Status == Pass && r.job.Mode.writes() {
				res.Ports[i].SHA256 = sha
			}
		}
	}
	if r.job.Mode == HashOnly && res.Err == nil && r.ctx.Err() != nil {
		res.Err = fmt.Errorf("hash: %w", r.ctx.Err())
	}
	r.result = res
}

// sourceBytes is what the master's own buffers took.
func (r *Running) sourceBytes() int64 {
	if b, ok := r.job.Source.(BufferedSource); ok {
		return b.BufferBytes()
	}
	return 0
}

// settle ends every port that passed: PASS is shown, unless the master
// failed, which fails them all.
func (r *Running) settle(ready []*port, results []PortResult) {
	serr := r.sourceErr()
	for i, p := range ready {
		if p == nil || results[i].Status != Pass {
			continue
		}
		if serr != nil {
			results[i] = p.fail(PhaseDone, masterCause(serr), offsetOf(serr, -1), serr)
			continue
		}
		if !p.settled {
			p.settled = true
			p.meter.report(PhaseDone, p.meter.totalBytes(), true) // the plan and the port's own bytes beside it
		}
	}
}

// provenSum is a master whose planned content has a SHA-256 proved
// already: an image checked against its sealed manifest, whose every
// frame is checked against that manifest again as it is read. A job
// reports that sum instead of hashing the same bytes once more.
type provenSum interface {
	// ProvenSHA256 returns the SHA-256 of the plan's bytes in order, and
	// false when the plan is not the content it proved.
	ProvenSHA256(p Plan) (string, bool)
}

// contentSum returns the job's SHA-256 when it is known without reading
// the master, and whether the hasher must run.
func (r *Running) contentSum() (string, bool) {
	if r.job.Mode == HashOnly {
		return "", true
	}
	if ps, ok := r.job.Source.(provenSum); ok && r.opts.OnContent == nil {
		if sum, ok := ps.ProvenSHA256(r.plan); ok {
			return sum, false
		}
	}
	return "", !r.opts.NoSHA256 || r.opts.OnContent != nil
}

func anyPassed(rs []PortResult) bool {
	for _, p := range rs {
		if p.Status == Pass {
			return true
		}
	}
	return false
}

// read is the reader: it reads the master once, in order, into the window
// and hashes every chunk.
func (r *Running) read(ctx context.Context) {
	for i, c := range r.chunks {
		b, err := r.win.reserve(ctx, i)
		if err != nil {
			r.win.fail(fmt.Errorf("master: %w", err))
			return
		}
		if err := r.readMaster(b.data[:c.n], c.off); err != nil {
			r.sourceFailed(fmt.Errorf("master: %w", err))
			return
		}
		r.hashes[i] = chunkHash(b.data[:c.n])
		if r.opts.OnRead != nil {
			r.opts.OnRead(c.off, b.data[:c.n])
		}
		r.win.publish(i, b)
		yield()
	}
	r.win.finish()
}

// readMaster reads master bytes under the bad-sector policy: a read that
// fails ends the job, unless the policy zero-fills and the media could
// not be read there (see mediaError), in which case the chunk is read
// again sector by sector, each sector retried, and the sectors that stay
// unreadable are zeros in p and recorded. Every other failure ends the
// job under every policy: a master that was pulled out or closed has no
// bad sectors, only bytes the job can no longer read, and an image whose
// data fails its own check is damaged, not worn.
func (r *Running) readMaster(p []byte, off int64) error {
	at := time.Now()
	err := readFull(r.master, p, off)
	if err == nil || !r.zeroFills(err) {
		return err
	}
	r.failedFor(time.Since(at))
	ss := int64(sectorSize(r.job.Source))
	for s := int64(0); s < int64(len(p)); s += ss {
		n := min(ss, int64(len(p))-s)
		var serr error
		for attempt := 0; attempt <= r.opts.BadSectors.Retries; attempt++ {
			at := time.Now()
			if serr = readFull(r.master, p[s:s+n], off+s); serr == nil || !mediaError(serr) {
				break
			}
			if took := r.failedFor(time.Since(at)); took > r.opts.BadSectors.MaxBadTime {
				return fmt.Errorf("%w: the master's failing reads took %v in all, where zero-fill gives up after %v; the last: %v",
					ErrMasterWorn, took.Round(time.Second), r.opts.BadSectors.MaxBadTime, serr)
			}
		}
		if serr != nil && !mediaError(serr) {
			return serr
		}
		if serr != nil {
			clear(p[s : s+n])
			if bad, span := r.noteBad(Extent{off + s, n}); bad > r.opts.BadSectors.MaxBad {
				limit := max(r.opts.BadSectors.MaxBad, 0)
				return fmt.Errorf("%w: %d (%d bytes) between byte %d and byte %d, where zero-fill copies at most %d (%d bytes) as zeros; the last: %v",
					ErrMasterWorn, bad/ss, bad, span.Off, span.End(), limit/ss, limit, serr)
			}
		}
	}
	return nil
}

// zeroFills reports whether the bad-sector policy copies zeros for this
// failed read of the master: it is on, the master is a drive (a source
// that proves its own content, an image, is read whole or not at all,
// and the SHA-256 it proved would not be what the targets got), and the
// media could not be read.
func (r *Running) zeroFills(err error) bool {
	_, proven := r.job.Source.(provenSum)
	return r.opts.BadSectors.ZeroFill && !proven && mediaError(err)
}

// mediaError reports whether err says the media could not be read where
// it was asked, a bad sector: EIO, or the kernel's own words for a
// medium error (ENODATA) and a failed integrity check (EILSEQ). A drive
// that left (its error may carry the EIO the kernel answered first), a
// closed handle, a short read, a damaged image are not.
func mediaError(err error) bool {
	return !removed(err) && (errors.Is(err, syscall.EIO) || errors.Is(err, syscall.ENODATA) || errors.Is(err, syscall.EILSEQ))
}

// failedFor adds d to the time the master's failing reads took, and
// returns it.
func (r *Running) failedFor(d time.Duration) time.Duration {
	r.badMu.Lock()
	defer r.badMu.Unlock()
	r.badTime += d
	return r.badTime
}

// noteBad records an unreadable range of the master, once, and returns
// how many bytes are recorded so in all, and the span from the first to
// the last.
func (r *Running) noteBad(e Extent) (int64, Extent) {
	r.badMu.Lock()
	defer r.badMu.Unlock()
	for _, b := range r.bad {
		if b.Off <= e.Off && e.End() <= b.End() {
			return badSpan(r.bad)
		}
	}
	r.bad = append(r.bad, e)
	slices.SortFunc(r.bad, func(a, b Extent) int { return cmp.Compare(a.Off, b.Off) })
	merged := r.bad[:0]
	for _, x := range r.bad {
		if n := len(merged); n > 0 && x.Off <= merged[n-1].End() {
			merged[n-1].Len = max(merged[n-1].End(), x.End()) - merged[n-1].Off
			continue
		}
		merged = append(merged, x)
	}
	r.bad = merged
	return badSpan(r.bad)
}

// badSpan is how many bytes the sorted extents cover (they do not
// overlap), and the span from the first to the last.
func badSpan(es []Extent) (int64, Extent) {
	var n int64
	for _, e := range es {
		n += e.Len
	}
	if len(es) == 0 {
		return 0, Extent{}
	}
	return n, Extent{Off: es[0].Off, Len: es[len(es)-1].End() - es[0].Off}
}

// readFull reads exactly len(p) bytes at off; a short read is an error
// that names the offset.
func readFull(src io.ReaderAt, p []byte, off int64) error {
	n, err := src.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	at := off + int64(n)
	var o interface{ Offset() int64 }
	if errors.As(err, &o) {
		at = o.Offset()
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = fmt.Errorf("%d of %d bytes: %w", n, len(p), io.ErrUnexpectedEOF)
	}
	return &offsetError{op: "read", off: at, err: unwrapOp(err)}
}

// unwrapOp drops an error's own "op node at offset" wrapper when it has an
// Offset, so reasons name the offset once.
func unwrapOp(err error) error {
	if _, ok := err.(interface{ Offset() int64 }); ok {
		if u := errors.Unwrap(err); u != nil {
			return u
		}
	}
	return err
}

// fetch returns chunk i's bytes for a consumer: from the window when it is
// there, or read from the master into own (checked against the chunk's
// hash) when the consumer is behind. release must be called with the
// returned buffer (nil when read into own).
//
// A chunk read again is checked against the reader's hash, unless
// unchecked: a copy that is verified next compares its media with that
// hash anyway, so a master that changed under a straggler fails it there
// (and the verify's look for the first wrong byte, which reads the chunk
// through readChunk, names the master), and the straggler need not hash
// every chunk twice.
func (r *Running) fetch(ctx context.Context, cur *cursor, i int, own func() []byte, unchecked bool) ([]byte, *buffer, error) {
	c := r.chunks[i]
	b, err := r.win.get(ctx, cur, i)
	if err != nil {
		return nil, nil, err
	}
	if b != nil {
		return b.data[:c.n], b, nil
	}
	p := own()
	read := r.readChunk
	if unchecked {
		read = r.readUnchecked
	}
	if err := read(i, p); err != nil {
		return nil, nil, err
	}
	return p[:c.n], nil, nil
}

// readUnchecked reads chunk i from the master into p, as the reader read
// it (the master's bad ranges as zeros), without checking its hash.
func (r *Running) readUnchecked(i int, p []byte) error {
	c := r.chunks[i]
	if err := r.win.waitRead(r.ctx, i); err != nil {
		return err
	}
	if err := r.readMaster(p[:c.n], c.off); err != nil {
		err = fmt.Errorf("master: %w", err)
		r.sourceFailed(err)
		return err
	}
	r.zeroBad(p[:c.n], c.off)
	return nil
}

// readChunk reads chunk i from the master into p, as readUnchecked does,
// and checks it against the hash the reader took: a master that changes
// under a job fails it.
func (r *Running) readChunk(i int, p []byte) error {
	c := r.chunks[i]
	if err := r.readUnchecked(i, p); err != nil {
		return err
	}
	if chunkHash(p[:c.n]) != r.hashes[i] {
		err := changed(c)
		r.sourceFailed(err)
		return err
	}
	return nil
}

// changedError is chunk c of a master whose bytes changed.
type changedError struct{ c chunk }

func changed(c chunk) error { return &changedError{c} }

func (e *changedError) Error() string {
	return fmt.Sprintf("%v: bytes %d..%d differ from what the job read", ErrMasterChanged, e.c.off, e.c.off+int64(e.c.n))
}
func (e *changedError) Unwrap() error { return ErrMasterChanged }
func (e *changedError) Offset() int64 { return e.c.off }

// masterCause is the cause of a port's failure for a master error.
func masterCause(err error) Cause {
	if errors.Is(err, ErrMasterChanged) {
		return CauseMasterChanged
	}
	return CauseMaster
}

// recheck reads chunks of the master again once every port is done and
// compares them with the hashes the reader took: the first and the last
// chunk and a few others at random, or all of them (RecheckFull). A
// chunk that differs, or no longer reads, fails the job.
func (r *Running) recheck() {
	n := len(r.chunks)
	if n == 0 || r.opts.MasterRecheck == RecheckNone {
		return
	}
	var idx []int
	if r.opts.MasterRecheck == RecheckFull || n <= recheckSample {
		for i := range n {
			idx = append(idx, i)
		}
	} else {
		seen := map[int]bool{0: true, n - 1: true}
		idx = []int{0, n - 1}
		for len(idx) < recheckSample {
			if i := rand.IntN(n); !seen[i] {
				seen[i] = true
				idx = append(idx, i)
			}
		}
		slices.Sort(idx)
	}
	// The re-read must come from the media, not from what the job's own
	// reads left in the cache. A master that cannot drop its caches (an
	// image file) is read as it is: drives read aligned chunks directly.
	if d, ok := r.job.Source.(interface{ DropCaches() error }); ok {
		_ = d.DropCaches()
	}
	buf := r.alloc(r.opts.ChunkSize)
	for _, i := range idx {
		if r.ctx.Err() != nil {
			return
		}
		c := r.chunks[i]
		p := buf[:c.n]
		if r.win.waitRead(r.ctx, i) != nil {
			return // the job ended; its ports say why
		}
		r.rechecked += int64(c.n)
		if err := r.readMaster(p, c.off); err != nil {
			r.sourceFailed(fmt.Errorf("master: reading it again at the end of the job: %w", err))
			return
		}
		r.zeroBad(p, c.off)
		if chunkHash(p) != r.hashes[i] {
			r.sourceFailed(changed(c))
			return
		}
	}
}

// zeroBad clears the bytes of p (read at off) that lie in the master's
// bad ranges: the job copied zeros there.
func (r *Running) zeroBad(p []byte, off int64) {
	r.eachBad(off, len(p), func(lo, hi int) { clear(p[lo:hi]) })
}

// passBad makes got (the target's bytes at off) equal to want (the
// master's, read at off) where the master's bad ranges lie: the bytes
// there are not known, so a comparison passes over them.
func (r *Running) passBad(got, want []byte, off int64) {
	r.eachBad(off, len(got), func(lo, hi int) { copy(got[lo:hi], want[lo:hi]) })
}

// eachBad calls fn with the part of the n bytes at off that each of the
// master's bad ranges covers, as indexes into those n bytes.
func (r *Running) eachBad(off int64, n int, fn func(lo, hi int)) {
	r.badMu.Lock()
	defer r.badMu.Unlock()
	end := off + int64(n)
	for _, b := range r.bad {
		if lo, hi := max(off, b.Off), min(end, b.End()); lo < hi {
			fn(int(lo-off), int(hi-off))
		}
	}
}

// countedSource is the job's master: it counts the bytes read from it.
type countedSource struct {
	Source
	n atomic.Int64
}

func (c *countedSource) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.Source.ReadAt(p, off)
	c.n.Add(int64(n))
	return n, err
}

// SectorSize passes the master's logical sector size on.
func (c *countedSource) SectorSize() int { return sectorSize(c.Source) }

// hashMaster takes the SHA-256 of the whole plan, as a consumer of the
// window (at cur) like any target, so a slow hash paces the targets by
// the window's patience at most.
func (r *Running) hashMaster(ctx context.Context, cur *cursor) string {
	defer r.win.detach(cur)
	var h *contentHash
	if !r.opts.NoSHA256 || r.job.Mode == HashOnly {
		h = newContentHash()
	}
	m := newMeter(r.opts, 0, "master", r.plan.Bytes())
	var own []byte
	lazy := func() []byte {
		if own == nil {
			own = r.alloc(r.opts.ChunkSize)
		}
		return own
	}
	for i := range r.chunks {
		data, b, err := r.fetch(ctx, cur, i, lazy, false)
		if err != nil {
			return ""
		}
		if h != nil {
			h.Write(data)
		}
		if r.opts.OnContent != nil {
			r.opts.OnContent(r.chunks[i].off, data)
		}
		// No yield here, unlike a target's loop: a yielded goroutine
		// waits in the scheduler's global queue, which busy ports' own
		// queues keep it out of. The hasher then fell out of the window
		// and read the master itself (1.4x to 1.8x the copy area at
		// 1 -> 8 on two cores). Between chunks it waits for the reader
		// anyway, and the runtime preempts a goroutine busy for 10 ms.
		r.win.release(cur, b, i+1, &own)
		if r.job.Mode == HashOnly {
			r.reportMaster(m, i)
		}
	}
	if r.job.Mode == HashOnly {
		m.report(PhaseDone, r.plan.Bytes(), true)
	}
	if h == nil {
		return ""
	}
	return h.Sum()
}

// reportMaster reports hash-only progress as port 0.
func (r *Running) reportMaster(m *meter, i int) {
	m.report(PhaseReading, r.chunkEnd(i), false)
}

// chunkEnd is how many plan bytes chunks 0..i hold.
func (r *Running) chunkEnd(i int) int64 {
	var n int64
	for _, e := range r.plan.Extents {
		if r.chunks[i].off < e.End() {
			return n + r.chunks[i].off + int64(r.chunks[i].n) - e.Off
		}
		n += e.Len
	}
	return n
}

// yield lets other goroutines run after each chunk. On real drives the
// engine waits on I/O anyway; against fast simulated drives it is pure
// CPU, and without a turn at every chunk the front panel's goroutine can
// wait behind a dozen busy ones for many scheduler slices (see
// BenchmarkButtonToFrame).
func yield() { runtime.Gosched() }
