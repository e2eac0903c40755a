package engine_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/sim"
)

const MiB = 1 << 20

// randomBytes returns n reproducible pseudo-random bytes.
func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	p := make([]byte, n)
	// Eight bytes a store: under the race detector a byte at a time
	// costs seconds for the larger drives.
	i := 0
	for ; i+8 <= n; i += 8 {
		binary.LittleEndian.PutUint64(p[i:], r.Uint64())
	}
	for v := r.Uint64(); i < n; i, v = i+1, v>>8 {
		p[i] = byte(v)
	}
	return p
}

// rig is a bay with a master in port 1 and targets in the ports after it.
type rig struct {
	t       *testing.T
	bay     *sim.Bay
	content []byte
	master  hal.DriveReader
	targets map[int]*sim.Drive
	open    map[int]hal.Drive
}

func newRig(t *testing.T, content []byte, masterSpec sim.DriveSpec) *rig {
	t.Helper()
	masterSpec.Content = content
	if masterSpec.Size == 0 {
		masterSpec.Size = int64(len(content))
	}
	r := &rig{t: t, bay: sim.NewBay(17), content: content, targets: map[int]*sim.Drive{}, open: map[int]hal.Drive{}}
	require.NoError(t, r.bay.Insert(1, sim.MustDrive(masterSpec)))
	m, err := r.bay.OpenRead(sim.Node(1))
	require.NoError(t, err)
	r.master = m
	t.Cleanup(func() { m.Close() })
	return r
}

// add inserts and opens a target drive with the given faults.
func (r *rig) add(port int, spec sim.DriveSpec, faults ...sim.Fault) *sim.Drive {
	r.t.Helper()
	if spec.Size == 0 {
		spec.Size = int64(len(r.content))
	}
	d := sim.MustDrive(spec)
	require.NoError(r.t, r.bay.Insert(port, d))
	h, err := r.bay.OpenWrite(sim.Node(port))
	require.NoError(r.t, err)
	r.t.Cleanup(func() { h.Close() })
	for _, f := range faults {
		d.Inject(f)
	}
	r.targets[port] = d
	r.open[port] = h
	return d
}

// steadyTarget is a target that writes at 100 MB/s and reads back at
// 200: the speed tests' yardstick.
var steadyTarget = sim.DriveSpec{WriteMBps: 100, ReadMBps: 200}

// addEach adds a drive of spec on each port.
func (r *rig) addEach(spec sim.DriveSpec, ports ...int) {
	r.t.Helper()
	for _, p := range ports {
		r.add(p, spec)
	}
}

func (r *rig) job(mode engine.Mode, ports ...int) engine.Job {
	j := engine.Job{Source: r.master, Mode: mode, Options: engine.Options{ChunkSize: 64 << 10, RetryDelay: time.Millisecond}}
	for _, p := range ports {
		j.Targets = append(j.Targets, engine.PortTarget{Port: p, Label: fmt.Sprint(p), Dev: r.open[p]})
	}
	return j
}

// assertCopy checks that a target's media holds the master's content.
func (r *rig) assertCopy(port int) {
	r.t.Helper()
	got, err := r.targets[port].Media(0, int64(len(r.content)))
	require.NoError(r.t, err)
	assert.True(r.t, bytes.Equal(r.content, got), "port %d holds the master's content", port)
}

func sha(p []byte) string {
	s := sha256.Sum256(p)
	return hex.EncodeToString(s[:])
}

func TestCleanCopyVerify(t *testing.T) {
	r := newRig(t, randomBytes(4*MiB, 1), sim.DriveSpec{})
	for p := 2; p <= 5; p++ {
		r.add(p, sim.DriveSpec{Size: 8 * MiB}) // larger targets are fine
	}
	res, err := r.job(engine.CopyVerify, 2, 3, 4, 5).Run(context.Background())
	require.NoError(t, err)
	require.NoError(t, res.Err)
	assert.True(t, res.OK())
	assert.Equal(t, sha(r.content), res.SHA256)
	assert.Equal(t, int64(4*MiB), res.Bytes)
	for p := 2; p <= 5; p++ {
		pr, ok := res.Port(p)
		require.True(t, ok)
		assert.Equal(t, engine.Pass, pr.Status, pr.Reason)
		assert.Equal(t, int64(4*MiB), pr.Written)
		assert.Equal(t, int64(4*MiB), pr.Verified)
		assert.Equal(t, res.SHA256, pr.SHA256)
		r.assertCopy(p)
		tail, err := r.targets[p].Media(4*MiB, 4*MiB)
		require.NoError(t, err)
		assert.Equal(t, make([]byte, 4*MiB), tail, "port %d: the tail of a larger target is left alone", p)
	}
}

// TestOnVerified: a caller hears of each port whose verify passed before
// the port is reported done, and never of one that failed.
func TestOnVerified(t *testing.T) {
	r := newRig(t, randomBytes(2*MiB, 7), sim.DriveSpec{})
	r.add(2, sim.DriveSpec{})
	r.add(3, sim.DriveSpec{}, sim.Fault{Kind: sim.Corrupt, Off: MiB, Len: 512})
	r.add(4, sim.DriveSpec{})
	j := r.job(engine.CopyVerify, 2, 3, 4)
	var mu sync.Mutex
	var events []string
	j.Options.OnVerified = func(port int) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, fmt.Sprintf("verified %d", port))
	}
	j.Options.OnProgress = func(p engine.Progress) {
		if p.Ended {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, fmt.Sprintf("ended %d %s", p.Port, p.Phase))
		}
	}
	res, err := j.Run(context.Background())
	require.NoError(t, err)
	pr, _ := res.Port(3)
	require.Equal(t, engine.Fail, pr.Status)
	for _, port := range []int{2, 4} {
		v := slices.Index(events, fmt.Sprintf("verified %d", port))
		e := slices.Index(events, fmt.Sprintf("ended %d %s", port, engine.PhaseDone))
		require.GreaterOrEqual(t, v, 0, "port %d: %v", port, events)
		assert.Less(t, v, e, "port %d is verified before it is done: %v", port, events)
	}
	assert.NotContains(t, events, "verified 3")
}

// TestFaultIsolation: every kind of target fault fails its own port, with
// a reason naming the port, the operation and the offset, while every
// other port passes with the right content.
func TestFaultIsolation(t *testing.T) {
	const size = 2 * MiB
	for _, tc := range []struct {
		name     string
		faults   []sim.Fault
		spec     sim.DriveSpec
		cause    engine.Cause
		offset   int64 // -1: any offset
		inReason []string
	}{
		{"write error", []sim.Fault{{Kind: sim.WriteError, Off: 1_000_000}}, sim.DriveSpec{},
			engine.CauseWrite, 1_000_000, []string{"port 3", "write at 1000000", "input/output error"}},
		{"bad sector read back", []sim.Fault{{Kind: sim.ReadError, Off: 1_500_160}}, sim.DriveSpec{},
			engine.CauseRead, 1_500_160, []string{"port 3", "verify: read at 1500160", "input/output error"}},
		{"silent corruption", []sim.Fault{{Kind: sim.Corrupt, Off: 777_777, Len: 3}}, sim.DriveSpec{},
			engine.CauseMismatch, 777_777, []string{"port 3", "mismatch at 777777"}},
		{"removed mid-copy", []sim.Fault{{Kind: sim.RemoveAt, Off: 1_200_000}}, sim.DriveSpec{},
			engine.CauseWrite, 1_200_000, []string{"port 3", "write at 1200000", "drive was removed"}},
		{"read-only media", []sim.Fault{{Kind: sim.ReadOnlyMedia}}, sim.DriveSpec{},
			engine.CauseWrite, 64 << 10, []string{"port 3", "write at 65536", "read-only"}},
		{"fake capacity (wrap)", []sim.Fault{{Kind: sim.FakeCapacity, Off: 1 * MiB, Wrap: true}}, sim.DriveSpec{},
			engine.CauseMismatch, -1, []string{"port 3", "mismatch at"}},
		{"fake capacity (vanish)", []sim.Fault{{Kind: sim.FakeCapacity, Off: 1 * MiB}}, sim.DriveSpec{},
			engine.CauseMismatch, 1 * MiB, []string{"port 3", "mismatch at 1048576"}},
		{"too small", nil, sim.DriveSpec{Size: size - 512},
			engine.CauseTooSmall, -1, []string{"port 3", "target 2096640 bytes < master 2097152 bytes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, randomBytes(size, 2), sim.DriveSpec{})
			r.add(2, sim.DriveSpec{})
			bad := r.add(3, tc.spec, tc.faults...)
			r.add(4, sim.DriveSpec{})
			res, err := r.job(engine.CopyVerify, 2, 3, 4).Run(context.Background())
			require.NoError(t, err)
			assert.NoError(t, res.Err, "the master is fine")

			pr, _ := res.Port(3)
			assert.Equal(t, engine.Fail, pr.Status)
			assert.Equal(t, tc.cause, pr.Cause, pr.Reason)
			if tc.offset >= 0 {
				assert.Equal(t, tc.offset, pr.Offset)
			} else if tc.cause != engine.CauseTooSmall {
				assert.GreaterOrEqual(t, pr.Offset, int64(0))
			}
			for _, s := range tc.inReason {
				assert.Contains(t, pr.Reason, s)
			}
			assert.Empty(t, pr.SHA256, "a failed port has no content hash")
			if tc.cause == engine.CauseTooSmall {
				assert.Zero(t, bad.Stats().BytesWritten, "nothing is written to a target that is too small")
			}
			for _, p := range []int{2, 4} {
				ok, _ := res.Port(p)
				assert.Equal(t, engine.Pass, ok.Status, "port %d: %s", p, ok.Reason)
				r.assertCopy(p)
			}
			assert.Equal(t, 2, res.Count(engine.Pass))
			assert.False(t, res.OK())
		})
	}
}

func TestTransientWriteErrorIsRetried(t *testing.T) {
	r := newRig(t, randomBytes(MiB, 3), sim.DriveSpec{})
	r.add(2, sim.DriveSpec{}, sim.Fault{Kind: sim.WriteError, Off: 300_000, Times: 2})
	r.add(3, sim.DriveSpec{}, sim.Fault{Kind: sim.WriteError, Off: 300_000, Times: 3})
	res, err := r.job(engine.CopyVerify, 2, 3).Run(context.Background())
	require.NoError(t, err)
	p2, _ := res.Port(2)
	assert.Equal(t, engine.Pass, p2.Status, "two failures are within the 2 retries: %s", p2.Reason)
	r.assertCopy(2)
	p3, _ := res.Port(3)
	assert.Equal(t, engine.Fail, p3.Status, "three failures are one too many")
	assert.Equal(t, engine.CauseWrite, p3.Cause)
}

// leaving is a target pulled out at offset at: each write that reaches
// it fails with the next of errs, the last again once they run out.
type leaving struct {
	hal.Drive
	at    int64
	errs  []error
	tries int
}

func (l *leaving) WriteAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) <= l.at {
		return l.Drive.WriteAt(p, off)
	}
	err := l.errs[min(l.tries, len(l.errs)-1)]
	l.tries++
	return 0, &hal.IOError{Op: "write", Node: "sim2", Off: off, Err: err}
}

// A drive pulled mid-write may fail first with a plain I/O error, while
// the kernel still tears it down, and only then say it was removed. The
// port reads that it was removed, and a drive that left is tried no more.
func TestRemovedTargetIsNotRetried(t *testing.T) {
	removed := fmt.Errorf("%w (no such device)", hal.ErrRemoved)
	for _, tc := range []struct {
		name   string
		errs   []error
		tries  int
		reason string
	}{
		{"removed at once", []error{removed}, 1, "drive was removed (no such device)"},
		{"an I/O error, then removed", []error{syscall.EIO, removed}, 2, "drive was removed (no such device)"},
		{"I/O errors to the end", []error{syscall.EIO}, 3, "input/output error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, randomBytes(MiB, 3), sim.DriveSpec{})
			r.add(2, sim.DriveSpec{})
			pulled := &leaving{Drive: r.open[2], at: 256 << 10, errs: tc.errs}
			r.open[2] = pulled
			res, err := r.job(engine.CopyVerify, 2).Run(context.Background())
			require.NoError(t, err)
			p, _ := res.Port(2)
			assert.Equal(t, engine.Fail, p.Status)
			assert.Equal(t, engine.CauseWrite, p.Cause)
			assert.Contains(t, p.Reason, tc.reason)
			assert.Contains(t, p.Reason, "write at 262144")
			assert.Equal(t, tc.tries, pulled.tries, "writes tried at the pull point (2 retries)")
		})
	}
}

// TestVerifyReadsTheMedia: corruption that only the media shows is caught,
// because verification drops the caches first. A read through the cache,
// right after the copy, would have seen good bytes.
func TestVerifyReadsTheMedia(t *testing.T) {
	r := newRig(t, randomBytes(MiB, 4), sim.DriveSpec{})
	d := r.add(2, sim.DriveSpec{}, sim.Fault{Kind: sim.Corrupt, Off: 123_456, Len: 1})
	res, err := r.job(engine.Copy, 2).Run(context.Background())
	require.NoError(t, err)
	require.True(t, res.OK(), "copy without verify cannot see the corruption")

	cached := make([]byte, MiB)
	_, err = r.open[2].ReadAt(cached, 0)
	require.NoError(t, err)
	assert.Equal(t, r.content, cached, "a cached read sees the right bytes")

	res, err = r.job(engine.VerifyOnly, 2).Run(context.Background())
	require.NoError(t, err)
	pr, _ := res.Port(2)
	assert.Equal(t, engine.Fail, pr.Status)
	assert.Equal(t, engine.CauseMismatch, pr.Cause)
	assert.Equal(t, int64(123_456), pr.Offset)
	assert.Positive(t, d.Stats().Drops, "verification dropped the caches")
}

func TestMasterReadErrorFailsEveryPort(t *testing.T) {
	r := newRig(t, randomBytes(2*MiB, 5), sim.DriveSpec{})
	r.bay.Drive(1).Inject(sim.Fault{Kind: sim.ReadError, Off: 1_300_000})
	for p := 2; p <= 4; p++ {
		r.add(p, sim.DriveSpec{})
	}
	res, err := r.job(engine.CopyVerify, 2, 3, 4).Run(context.Background())
	require.NoError(t, err)
	require.Error(t, res.Err)
	assert.ErrorIs(t, res.Err, syscall.EIO)
	assert.Contains(t, res.Err.Error(), "master: read at 1300000")
	for p := 2; p <= 4; p++ {
		pr, _ := res.Port(p)
		assert.Equal(t, engine.Fail, pr.Status)
		assert.Equal(t, engine.CauseMaster, pr.Cause)
		assert.Contains(t, pr.Reason, fmt.Sprintf("port %d: master: read at 1300000", p))
	}
	assert.Empty(t, res.SHA256)
}

// TestMasterRemovedMidJob: a master pulled out mid-job fails every port
// as a master error, whatever the bad-sector policy: a drive that left is
// not a bad sector, and zero-filling the rest of it would pass a copy
// that is mostly zeros.
func TestMasterRemovedMidJob(t *testing.T) {
	for _, tc := range []struct {
		name    string
		policy  engine.BadSectorPolicy
		recheck engine.MasterRecheck
	}{
		{"abort on bad sectors", engine.BadSectorPolicy{}, engine.RecheckSample},
		{"zero-fill bad sectors", engine.BadSectorPolicy{ZeroFill: true, Retries: 2}, engine.RecheckSample},
		// Without the end-of-job re-check nothing else would notice.
		{"zero-fill bad sectors, no re-check", engine.BadSectorPolicy{ZeroFill: true, Retries: 2}, engine.RecheckNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, randomBytes(2*MiB, 6), sim.DriveSpec{})
			r.bay.Drive(1).Inject(sim.Fault{Kind: sim.RemoveAt, Off: MiB})
			r.add(2, sim.DriveSpec{})
			r.add(3, sim.DriveSpec{})
			j := r.job(engine.CopyVerify, 2, 3)
			j.Options.BadSectors = tc.policy
			j.Options.MasterRecheck = tc.recheck
			res, err := j.Run(context.Background())
			require.NoError(t, err)
			assert.ErrorIs(t, res.Err, hal.ErrRemoved)
			assert.Empty(t, res.BadRanges, "a master that left has no bad sectors")
			assert.Empty(t, res.SHA256)
			for _, p := range []int{2, 3} {
				pr, _ := res.Port(p)
				assert.Equal(t, engine.Fail, pr.Status, "port %d", p)
				assert.Equal(t, engine.CauseMaster, pr.Cause, "port %d", p)
				assert.Contains(t, pr.Reason, "drive was removed", "port %d", p)
			}
		})
	}
}

// TestZeroFillCoversOnlyBadSectors: the zero-fill policy copies zeros
// for sectors the media cannot read, and for nothing else. A master whose
// handle is closed under the job fails it as a master error; no range of
// it is recorded as bad, and no port passes with zeros.
func TestZeroFillCoversOnlyBadSectors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		closeAt int // the reader's chunk after which the master is closed; 0: before the job
	}{
		{"closed before the job", 0},
		{"closed after its fourth chunk", 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, randomBytes(2*MiB, 6), sim.DriveSpec{})
			r.add(2, sim.DriveSpec{})
			j := r.job(engine.CopyVerify, 2)
			j.Options.BadSectors = engine.BadSectorPolicy{ZeroFill: true, Retries: 1}
			read := 0
			j.Options.OnRead = func(int64, []byte) {
				if read++; read == tc.closeAt {
					require.NoError(t, r.master.Close())
				}
			}
			if tc.closeAt == 0 {
				require.NoError(t, r.master.Close())
			}
			res, err := j.Run(context.Background())
			require.NoError(t, err)
			assert.ErrorIs(t, res.Err, hal.ErrClosed)
			assert.Empty(t, res.BadRanges)
			pr, _ := res.Port(2)
			assert.Equal(t, engine.Fail, pr.Status)
			assert.Equal(t, engine.CauseMaster, pr.Cause)
			assert.Contains(t, pr.Reason, "drive is closed")
		})
	}
}

// provenImage is a master that proves its own content, as an image of
// the library does: the job takes its SHA-256 from it.
type provenImage struct {
	engine.Source
	sum string
}

func (p provenImage) ProvenSHA256(engine.Plan) (string, bool) { return p.sum, true }

// TestZeroFillLeavesImagesWhole: an image that cannot be read (its file
// on a failing disk) is not zero-filled: the targets would hold zeros
// while the record kept the SHA-256 the image proved for other bytes.
func TestZeroFillLeavesImagesWhole(t *testing.T) {
	content := randomBytes(2*MiB, 21)
	r := newRig(t, content, sim.DriveSpec{})
	r.bay.Drive(1).Inject(sim.Fault{Kind: sim.ReadError, Off: 700_416})
	r.add(2, sim.DriveSpec{})
	j := r.job(engine.CopyVerify, 2)
	j.Source = provenImage{Source: r.master, sum: sha(content)}
	j.Options.BadSectors = engine.BadSectorPolicy{ZeroFill: true, Retries: 1}
	res, err := j.Run(context.Background())
	require.NoError(t, err)
	assert.ErrorIs(t, res.Err, syscall.EIO)
	assert.Empty(t, res.BadRanges)
	assert.Empty(t, res.SHA256)
	pr, _ := res.Port(2)
	assert.Equal(t, engine.Fail, pr.Status)
	assert.Equal(t, engine.CauseMaster, pr.Cause)
}

// TestBadSectorUnderAPatch: a master sector that failed while the reader
// read it, and reads by the time a port checks its patched chunk, is
// still the zeros every port copied (here under a target's own bytes,
// as every target of a GPT master has at LBA 1).
func TestBadSectorUnderAPatch(t *testing.T) {
	content := randomBytes(2*MiB, 20)
	r := newRig(t, content, sim.DriveSpec{})
	r.bay.Drive(1).Inject(sim.Fault{Kind: sim.ReadError, Off: 4096, Times: 4})
	r.add(2, sim.DriveSpec{})
	j := r.job(engine.CopyVerify, 2)
	j.Options.BadSectors = engine.BadSectorPolicy{ZeroFill: true, Retries: 2}
	patch := bytes.Repeat([]byte{0xab}, 512)
	j.Targets[0].Patches = []engine.Patch{{Off: 4096, Data: patch}}
	res, err := j.Run(context.Background())
	require.NoError(t, err)
	require.True(t, res.OK(), "%v %+v", res.Err, res.Ports)
	assert.Equal(t, []engine.Extent{{Off: 4096, Len: 512}}, res.BadRanges)
	want := bytes.Clone(content)
	copy(want[4096:], patch)
	got, err := r.targets[2].Media(0, int64(len(content)))
	require.NoError(t, err)
	assert.True(t, bytes.Equal(want, got), "the target holds the master with its own bytes over the bad sector")
}

// TestVerifyOnlyPassesOverBadSectors: in verify-only mode under the
// zero-fill policy, the master's unreadable sectors are not compared (the
// result lists them): a target is judged on every byte the master still
// has, whatever it holds where the master has none.
func TestVerifyOnlyPassesOverBadSectors(t *testing.T) {
	const bad = 700_416
	content := randomBytes(2*MiB, 9)
	zeroed := bytes.Clone(content)
	clear(zeroed[bad : bad+512])
	wrong := bytes.Clone(content)
	wrong[bad+512] ^= 1
	for _, tc := range []struct {
		name   string
		target []byte
		ok     bool
	}{
		{"a copy made while the sector read", content, true},
		{"a copy with zeros there", zeroed, true},
		{"a byte after the bad sector differs", wrong, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, content, sim.DriveSpec{})
			r.bay.Drive(1).Inject(sim.Fault{Kind: sim.ReadError, Off: bad})
			r.add(2, sim.DriveSpec{Content: tc.target})
			j := r.job(engine.VerifyOnly, 2)
			j.Options.BadSectors = engine.BadSectorPolicy{ZeroFill: true, Retries: 1}
			res, err := j.Run(context.Background())
			require.NoError(t, err)
			assert.Equal(t, []engine.Extent{{Off: bad, Len: 512}}, res.BadRanges)
			pr, _ := res.Port(2)
			if tc.ok {
				assert.Equal(t, engine.Pass, pr.Status, pr.Reason)
				return
			}
			assert.Equal(t, engine.Fail, pr.Status)
			assert.Equal(t, engine.CauseMismatch, pr.Cause)
			assert.Equal(t, int64(bad+512), pr.Offset)
		})
	}
}

func TestRefusedJobs(t *testing.T) {
	r := newRig(t, randomBytes(MiB, 7), sim.DriveSpec{})
	r.add(2, sim.DriveSpec{})
	masterAsTarget, err := r.bay.Drive(1).Open(false)
	require.NoError(t, err)
	defer masterAsTarget.Close()
	for _, tc := range []struct {
		name string
		job  func() engine.Job
		want string
	}{
		{"no targets", func() engine.Job { return r.job(engine.CopyVerify) }, "needs at least one target"},
		{"master as a target", func() engine.Job {
			j := r.job(engine.VerifyOnly)
			j.Targets = []engine.PortTarget{{Port: 1, Dev: masterAsTarget}}
			return j
		}, "port 1: the target is the master itself"},
		{"one drive twice", func() engine.Job {
			j := r.job(engine.CopyVerify, 2)
			j.Targets = append(j.Targets, engine.PortTarget{Port: 5, Dev: r.open[2]})
			return j
		}, "ports 2 and 5 are the same drive"},
		{"one port twice", func() engine.Job {
			j := r.job(engine.CopyVerify, 2)
			j.Targets = append(j.Targets, j.Targets[0])
			return j
		}, "port 2 is a target twice"},
		{"read-only target for a copy", func() engine.Job {
			j := r.job(engine.CopyVerify)
			j.Targets = []engine.PortTarget{{Port: 2, Dev: readOnly{r.open[2]}}}
			return j
		}, "port 2: the drive is not open for writing"},
		{"odd chunk size", func() engine.Job {
			j := r.job(engine.CopyVerify, 2)
			j.Options.ChunkSize = 1000
			return j
		}, "chunk size 1000"},
		{"no master", func() engine.Job { return engine.Job{} }, "no master"},
		{"empty master", func() engine.Job {
			j := r.job(engine.CopyVerify, 2)
			j.Source = &memDev{id: "empty"}
			return j
		}, "the master is empty (0 bytes)"},
		{"empty master, hash only", func() engine.Job {
			return engine.Job{Source: &memDev{id: "empty"}, Mode: engine.HashOnly}
		}, "the master is empty (0 bytes)"},
		{"copy area of 0 bytes", func() engine.Job {
			j := r.job(engine.CopyVerify, 2)
			j.Area = nothingArea{}
			return j
		}, `the copy area "nothing" comes to 0 bytes: nothing to copy`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.job().Run(context.Background())
			require.ErrorIs(t, err, engine.ErrRefused)
			assert.ErrorContains(t, err, tc.want)
		})
	}
	assert.Zero(t, r.targets[2].Stats().BytesWritten, "a refused job writes nothing")
}

// nothingArea is an area whose plan holds no bytes at all.
type nothingArea struct{}

func (nothingArea) Name() string { return "nothing" }
func (nothingArea) Plan(src engine.Source) (engine.Plan, error) {
	return engine.Plan{Area: "nothing", SourceSize: src.Size()}, nil
}

// readOnly hides a drive's write methods.
type readOnly struct{ d hal.Drive }

func (r readOnly) ReadAt(p []byte, off int64) (int, error) { return r.d.ReadAt(p, off) }
func (r readOnly) Size() int64                             { return r.d.Size() }
func (r readOnly) ID() string                              { return r.d.ID() }
func (r readOnly) DropCaches() error                       { return r.d.DropCaches() }

func TestVerifyOnlyWritesNothing(t *testing.T) {
	content := randomBytes(MiB, 8)
	r := newRig(t, content, sim.DriveSpec{})
	r.add(2, sim.DriveSpec{Content: content})
	changed := bytes.Clone(content)
	changed[654_321] ^= 1
	r.add(3, sim.DriveSpec{Content: changed})
	res, err := r.job(engine.VerifyOnly, 2, 3).Run(context.Background())
	require.NoError(t, err)
	p2, _ := res.Port(2)
	assert.Equal(t, engine.Pass, p2.Status, p2.Reason)
	p3, _ := res.Port(3)
	assert.Equal(t, engine.Fail, p3.Status)
	assert.Equal(t, int64(654_321), p3.Offset)
	assert.Contains(t, p3.Reason, "port 3: verify: mismatch at 654321")
	for p := 2; p <= 3; p++ {
		assert.Zero(t, r.targets[p].Stats().BytesWritten, "verify only writes nothing to port %d", p)
	}
}

func TestHashOnly(t *testing.T) {
	content := randomBytes(3*MiB+4096, 9)
	r := newRig(t, content, sim.DriveSpec{})
	var mu sync.Mutex
	var last engine.Progress
	j := engine.Job{Source: r.master, Mode: engine.HashOnly, Options: engine.Options{OnProgress: func(p engine.Progress) {
		mu.Lock()
		last = p
		mu.Unlock()
	}}}
	res, err := j.Run(context.Background())
	require.NoError(t, err)
	require.NoError(t, res.Err)
	assert.Equal(t, sha(content), res.SHA256)
	assert.Equal(t, int64(len(content)), res.SourceSize)
	assert.Equal(t, engine.PhaseDone, last.Phase)
	assert.Equal(t, int64(len(content)), last.Done)
}

// TestHeadIsWrittenLast: LBA 0 and the primary partition table reach the
// media after everything else has been synced.
func TestHeadIsWrittenLast(t *testing.T) {
	r := newRig(t, randomBytes(2*MiB, 10), sim.DriveSpec{})
	r.add(2, sim.DriveSpec{})
	log := &orderLog{Drive: r.open[2]}
	j := r.job(engine.Copy)
	j.Targets = []engine.PortTarget{{Port: 2, Dev: log}}
	res, err := j.Run(context.Background())
	require.NoError(t, err)
	require.True(t, res.OK())
	ops := log.ops
	require.GreaterOrEqual(t, len(ops), 3)
	assert.Equal(t, []string{"sync", "write 0", "sync"}, ops[len(ops)-3:], "the head goes last, after a sync")
	assert.NotContains(t, ops[:len(ops)-3], "write 0")
	r.assertCopy(2)
}

type orderLog struct {
	hal.Drive
	mu  sync.Mutex
	ops []string
}

func (o *orderLog) WriteAt(p []byte, off int64) (int, error) {
	o.mu.Lock()
	o.ops = append(o.ops, fmt.Sprintf("write %d", off))
	o.mu.Unlock()
	return o.Drive.WriteAt(p, off)
}

func (o *orderLog) Sync() error {
	o.mu.Lock()
	o.ops = append(o.ops, "sync")
	o.mu.Unlock()
	return o.Drive.Sync()
}

func TestCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, randomBytes(4*MiB, 11), sim.DriveSpec{})
		for p := 2; p <= 4; p++ {
			r.add(p, sim.DriveSpec{WriteMBps: 10})
		}
		run, err := engine.Start(context.Background(), r.job(engine.CopyVerify, 2, 3, 4))
		require.NoError(t, err)
		time.Sleep(100 * time.Millisecond)
		assert.True(t, run.CancelPort(3))
		assert.False(t, run.CancelPort(9), "port 9 is not in the job")
		res := run.Wait()
		p3, _ := res.Port(3)
		assert.Equal(t, engine.Aborted, p3.Status)
		assert.Equal(t, engine.CauseAborted, p3.Cause)
		assert.Contains(t, p3.Reason, "port 3: aborted while copying")
		for _, p := range []int{2, 4} {
			pr, _ := res.Port(p)
			assert.Equal(t, engine.Pass, pr.Status, pr.Reason)
			r.assertCopy(p)
		}

		run, err = engine.Start(context.Background(), r.job(engine.CopyVerify, 2, 3, 4))
		require.NoError(t, err)
		time.Sleep(100 * time.Millisecond)
		run.Cancel()
		res = run.Wait()
		assert.Equal(t, 3, res.Count(engine.Aborted), "a cancelled job passes no port")
	})
}

// TestSlowTargetDoesNotPaceOthers: seven targets at 100 MB/s and one at
// 25 MB/s. Each fast target finishes within 1.1x of the time it takes on
// its own; the slow one catches up by reading the master itself.
func TestSlowTargetDoesNotPaceOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const size = 16 * MiB
		content := randomBytes(size, 12)
		masterSpec := sim.DriveSpec{ReadMBps: 400}
		fast := sim.DriveSpec{WriteMBps: 100, ReadMBps: 200}
		slow := sim.DriveSpec{WriteMBps: 25, ReadMBps: 200}

		alone := newRig(t, content, masterSpec)
		alone.add(2, fast)
		res, err := alone.job(engine.CopyVerify, 2).Run(context.Background())
		require.NoError(t, err)
		require.True(t, res.OK())
		soloTime := res.Ports[0].Duration

		r := newRig(t, content, masterSpec)
		ports := []int{2, 3, 4, 5, 6, 7, 8, 9}
		for _, p := range ports[:7] {
			r.add(p, fast)
		}
		r.add(9, slow)
		res, err = r.job(engine.CopyVerify, ports...).Run(context.Background())
		require.NoError(t, err)
		require.True(t, res.OK(), "%+v", res.Ports)
		for _, p := range ports[:7] {
			pr, _ := res.Port(p)
			assert.LessOrEqual(t, pr.Duration, soloTime*11/10, "port %d took %v, alone %v", p, pr.Duration, soloTime)
			r.assertCopy(p)
		}
		chunk := int64(64 << 10)
		assert.LessOrEqual(t, res.BufferBytes, (2*engine.DefaultWindowChunks+2*8+1)*chunk,
			"memory stays within the window at its stretch plus two chunks a target (its own, one it still writes from)")
		slowRes, _ := res.Port(9)
		t.Logf("alone %v, slow target %v", soloTime, slowRes.Duration)
		assert.Greater(t, slowRes.Duration, 3*soloTime)
		r.assertCopy(9)
	})
}

// TestStragglerOnAChangedMaster: a target that fell out of the window
// reads the master itself, and does not hash what it reads again; a
// master that changed by then fails the job all the same, at the
// straggler's verify, which names the master, not the target, even
// with no re-check of the master at the job's end.
func TestStragglerOnAChangedMaster(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const size = 16 * MiB
		content := randomBytes(size, 21)
		path := filepath.Join(t.TempDir(), "master.img")
		require.NoError(t, os.WriteFile(path, content, 0o644))
		md, err := sim.NewDrive(sim.DriveSpec{Size: size, File: path, ReadMBps: 400})
		require.NoError(t, err)
		t.Cleanup(func() { md.Close() })
		master, err := md.Open(false)
		require.NoError(t, err)
		t.Cleanup(func() { master.Close() })
		behind, err := os.OpenFile(path, os.O_RDWR, 0) // not through the drive: its write-block does not see it
		require.NoError(t, err)
		t.Cleanup(func() { behind.Close() })

		const at = 8 * MiB // past the straggler when the fast target is written, and out of the window
		var once sync.Once
		job := engine.Job{Source: master, Mode: engine.CopyVerify, Options: engine.Options{
			ChunkSize: 64 << 10, MasterRecheck: engine.RecheckNone,
			OnProgress: func(p engine.Progress) {
				if p.Port == 2 && p.Phase == engine.PhaseSyncing {
					once.Do(func() {
						_, err := behind.WriteAt([]byte{content[at] ^ 0xff}, at)
						assert.NoError(t, err)
					})
				}
			},
		}}
		for port, spec := range map[int]sim.DriveSpec{2: {WriteMBps: 100, ReadMBps: 200}, 3: {WriteMBps: 10, ReadMBps: 200}} {
			spec.Size = size
			h, err := sim.MustDrive(spec).Open(true)
			require.NoError(t, err)
			t.Cleanup(func() { h.Close() })
			job.Targets = append(job.Targets, engine.PortTarget{Port: port, Dev: h})
		}
		res, err := job.Run(context.Background())
		require.NoError(t, err)
		require.ErrorIs(t, res.Err, engine.ErrMasterChanged)
		for _, pr := range res.Ports {
			assert.Equal(t, engine.Fail, pr.Status, "port %d", pr.Port)
			assert.Equal(t, engine.CauseMasterChanged, pr.Cause, "port %d: %s", pr.Port, pr.Reason)
		}
		assert.Greater(t, res.MasterRead, int64(size), "the straggler read the master itself")
		pr, _ := res.Port(3)
		assert.Equal(t, engine.PhaseVerifying, pr.Phase, "the straggler's verify found the change")
		assert.Contains(t, pr.Reason, fmt.Sprintf("master changed during the job: bytes %d..", at))
	})
}

// A phase's percentage never claims work that was not done: a drive that
// reports no bytes is 0 % unless its port is done, and a count past the
// total stops at 100 %.
func TestProgressPercent(t *testing.T) {
	tests := []struct {
		name string
		p    engine.Progress
		want int
	}{
		{"nothing done yet", engine.Progress{Total: 200}, 0},
		{"half", engine.Progress{Done: 100, Total: 200}, 50},
		{"all", engine.Progress{Done: 200, Total: 200}, 100},
		{"past the total", engine.Progress{Done: 300, Total: 200}, 100},
		{"a phase of no bytes, running", engine.Progress{Phase: engine.PhaseWaiting}, 0},
		{"a phase of no bytes, failed there", engine.Progress{Phase: engine.PhaseWaiting, Ended: true}, 0},
		{"a phase of no bytes, done", engine.Progress{Phase: engine.PhaseDone, Ended: true}, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.p.Percent())
		})
	}
}

func TestProgressIsRateLimited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, randomBytes(10*MiB, 13), sim.DriveSpec{})
		r.add(2, sim.DriveSpec{WriteMBps: 10, ReadMBps: 10}) // ~1 s copy, ~1 s verify
		var mu sync.Mutex
		var events []engine.Progress
		j := r.job(engine.CopyVerify, 2)
		j.Options.OnProgress = func(p engine.Progress) {
			mu.Lock()
			events = append(events, p)
			mu.Unlock()
		}
		res, err := j.Run(context.Background())
		require.NoError(t, err)
		require.True(t, res.OK())
		// 2 s at one event per 250 ms, plus phase changes.
		assert.LessOrEqual(t, len(events), 2*4+6)
		assert.GreaterOrEqual(t, len(events), 8)
		last := events[len(events)-1]
		assert.Equal(t, engine.PhaseDone, last.Phase)
		assert.True(t, last.Ended)
		var sawRate bool
		for _, e := range events {
			if e.Phase == engine.PhaseCopying && e.Rate > 0 {
				sawRate = true
				assert.InDelta(t, 10e6, e.Rate, 2e6, "copy rate")
				assert.Positive(t, e.ETA)
			}
		}
		assert.True(t, sawRate)
	})
}

func TestFormatSize(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{0, "0 B"},
		{999, "999 B"},
		{1000, "1 KB"},
		{7_450_000_000, "7.45 GB"},
		{7_500_000_000, "7.5 GB"},
		{7_459_999_999, "7.45 GB"},
		{64_000_000_000, "64 GB"},
		{2_000_000_000_000, "2 TB"},
	} {
		assert.Equal(t, tc.want, engine.FormatSize(tc.n), "%d", tc.n)
	}
}

// gapArea copies two extents with a gap between them: a stand-in for the
// used-area and smart plans, showing areas plug into the fan-out.
type gapArea struct{}

func (gapArea) Name() string { return "two extents" }
func (gapArea) Plan(src engine.Source) (engine.Plan, error) {
	return engine.Plan{Area: "two extents", Extents: []engine.Extent{{Off: 0, Len: MiB}, {Off: 2 * MiB, Len: MiB}},
		Need: 3 * MiB, SourceSize: src.Size()}, nil
}

func TestPluggableArea(t *testing.T) {
	content := randomBytes(4*MiB, 14)
	r := newRig(t, content, sim.DriveSpec{})
	old := bytes.Repeat([]byte{0xee}, 3*MiB)
	d := r.add(2, sim.DriveSpec{Size: 3 * MiB, Content: old})
	j := r.job(engine.CopyVerify, 2)
	j.Area = gapArea{}
	res, err := j.Run(context.Background())
	require.NoError(t, err)
	require.True(t, res.OK(), "%+v", res.Ports)
	assert.Equal(t, "two extents", res.Area)
	assert.Equal(t, int64(2*MiB), res.Bytes)
	assert.Equal(t, sha(append(bytes.Clone(content[:MiB]), content[2*MiB:3*MiB]...)), res.SHA256)
	media, err := d.Media(0, 3*MiB)
	require.NoError(t, err)
	assert.Equal(t, content[:MiB], media[:MiB])
	assert.Equal(t, old[MiB:2*MiB], media[MiB:2*MiB], "the gap keeps its old bytes")
	assert.Equal(t, content[2*MiB:3*MiB], media[2*MiB:])
	assert.Equal(t, int64(2*MiB), d.Stats().BytesWritten)
}

func TestBadSectorPolicy(t *testing.T) {
	content := randomBytes(2*MiB, 20)
	for _, tc := range []struct {
		name   string
		fault  sim.Fault
		policy engine.BadSectorPolicy
		ok     bool
		bad    []engine.Extent
	}{
		{"abort by default", sim.Fault{Kind: sim.ReadError, Off: 700_000}, engine.BadSectorPolicy{}, false, nil},
		{"zero-fill a bad sector", sim.Fault{Kind: sim.ReadError, Off: 700_416}, engine.BadSectorPolicy{ZeroFill: true, Retries: 2},
			true, []engine.Extent{{Off: 700_416, Len: 512}}},
		{"zero-fill the sectors a bad range touches", sim.Fault{Kind: sim.ReadError, Off: 1_000_000, Len: 1000}, engine.BadSectorPolicy{ZeroFill: true, Retries: 1},
			true, []engine.Extent{{Off: 999_936, Len: 1536}}},
		{"a retry reads it after all", sim.Fault{Kind: sim.ReadError, Off: 700_000, Times: 2}, engine.BadSectorPolicy{ZeroFill: true, Retries: 2},
			true, nil},
		// LBA 0's chunk is read again for each port at its end: a sector
		// that reads by then is still the zeros every target got, not a
		// master that changed.
		{"a bad sector that reads when the first chunk is read again", sim.Fault{Kind: sim.ReadError, Off: 4096, Times: 4},
			engine.BadSectorPolicy{ZeroFill: true, Retries: 2}, true, []engine.Extent{{Off: 4096, Len: 512}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, content, sim.DriveSpec{})
			r.bay.Drive(1).Inject(tc.fault)
			r.add(2, sim.DriveSpec{})
			r.add(3, sim.DriveSpec{})
			j := r.job(engine.CopyVerify, 2, 3)
			j.Options.BadSectors = tc.policy
			res, err := j.Run(context.Background())
			require.NoError(t, err)
			if !tc.ok {
				assert.Error(t, res.Err)
				assert.Equal(t, 0, res.Count(engine.Pass))
				return
			}
			require.True(t, res.OK(), "%v %+v", res.Err, res.Ports)
			assert.Equal(t, tc.bad, res.BadRanges)
			want := bytes.Clone(content)
			for _, b := range tc.bad {
				clear(want[b.Off:b.End()])
			}
			for _, p := range []int{2, 3} {
				got, err := r.targets[p].Media(0, int64(len(content)))
				require.NoError(t, err)
				assert.True(t, bytes.Equal(want, got), "port %d holds the master with zeros where it could not be read", p)
			}
		})
	}
}

// A master that fails far beyond a few worn sectors ends the job under
// the zero-fill policy too, as soon as more than its limit would be
// zeros: no target passes with a copy made mostly of zeros, and the error
// says how much could not be read, where, and the limit.
func TestZeroFillHasALimit(t *testing.T) {
	content := randomBytes(4*MiB, 22)
	few := sim.Fault{Kind: sim.ReadError, Off: 700_416, Len: 4096}
	stretch := sim.Fault{Kind: sim.ReadError, Off: MiB, Len: 2 * MiB}
	for _, tc := range []struct {
		name   string
		fault  sim.Fault
		maxBad int64
		err    string // "": every port passes
	}{
		{"a few sectors, within the default", few, 0, ""},
		{"a failing stretch, past the default", stretch, 0,
			"2049 (1049088 bytes) between byte 1048576 and byte 2097664, where zero-fill copies at most 2048 (1048576 bytes) as zeros"},
		{"a failing stretch, within a limit set higher", stretch, 3 * MiB, ""},
		{"a few sectors, past a limit set lower", few, 2048, "5 (2560 bytes) between byte 700416 and byte 702976"},
		{"none at all", few, -1, "1 (512 bytes) between byte 700416 and byte 700928, where zero-fill copies at most 0 (0 bytes)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, content, sim.DriveSpec{})
			r.bay.Drive(1).Inject(tc.fault)
			r.add(2, sim.DriveSpec{})
			j := r.job(engine.CopyVerify, 2)
			j.Options.BadSectors = engine.BadSectorPolicy{ZeroFill: true, Retries: 1, MaxBad: tc.maxBad}
			res, err := j.Run(context.Background())
			require.NoError(t, err)
			pr, ok := res.Port(2)
			require.True(t, ok)
			if tc.err == "" {
				require.True(t, res.OK(), "%v %+v", res.Err, res.Ports)
				assert.Equal(t, []engine.Extent{{Off: tc.fault.Off, Len: tc.fault.Len}}, res.BadRanges)
				return
			}
			require.ErrorIs(t, res.Err, engine.ErrMasterWorn)
			assert.Contains(t, res.Err.Error(), tc.err)
			var zeros int64
			for _, b := range res.BadRanges {
				zeros += b.Len
			}
			limit := max(tc.maxBad, 0)
			if tc.maxBad == 0 {
				limit = engine.DefaultMaxBad
			}
			assert.LessOrEqual(t, zeros, limit+512, "the job stopped at the sector past the limit")
			assert.Equal(t, engine.Fail, pr.Status)
			assert.Equal(t, engine.CauseMaster, pr.Cause)
			assert.Contains(t, pr.Reason, "too many unreadable sectors")
		})
	}
}

// slowToFail is a master whose failing reads each take a while, as a
// failing drive's do (its firmware retries before it gives up).
type slowToFail struct {
	engine.Source
	took time.Duration
}

func (s slowToFail) ReadAt(p []byte, off int64) (int, error) {
	n, err := s.Source.ReadAt(p, off)
	if err != nil {
		time.Sleep(s.took)
	}
	return n, err
}

// Zero-fill gives up on a master whose failing reads take too long in
// all, however few bytes they cost: each sector is read 1 + Retries
// times, and a drive may take seconds to fail each read.
func TestZeroFillGivesUpOnSlowFailingReads(t *testing.T) {
	content := randomBytes(4*MiB, 23)
	for _, tc := range []struct {
		name    string
		maxTime time.Duration
		ok      bool
	}{
		// 8 sectors, each read twice, and the chunk's read: 17 failing
		// reads of 2 s.
		{"34 s within the default", 0, true},
		{"34 s past a limit of 20 s", 20 * time.Second, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, content, sim.DriveSpec{})
				r.bay.Drive(1).Inject(sim.Fault{Kind: sim.ReadError, Off: 700_416, Len: 4096})
				r.add(2, sim.DriveSpec{})
				j := r.job(engine.CopyVerify, 2)
				j.Source = slowToFail{Source: r.master, took: 2 * time.Second}
				j.Options.BadSectors = engine.BadSectorPolicy{ZeroFill: true, Retries: 1, MaxBadTime: tc.maxTime}
				res, err := j.Run(context.Background())
				require.NoError(t, err)
				if tc.ok {
					require.True(t, res.OK(), "%v %+v", res.Err, res.Ports)
					assert.Equal(t, []engine.Extent{{Off: 700_416, Len: 4096}}, res.BadRanges)
					return
				}
				require.ErrorIs(t, res.Err, engine.ErrMasterWorn)
				assert.Contains(t, res.Err.Error(), "the master's failing reads took 22s in all, where zero-fill gives up after 20s")
				assert.Equal(t, 0, res.Count(engine.Pass))
			})
		})
	}
}

// TestMasterChangedDuringTheJob: the master's bytes change behind the
// job's back (here through a second handle on its backing file, once the
// copy has read everything) and the targets already hold what it was.
// The job reads the master again at its end and fails every port that
// would have passed, with a cause callers can test for.
func TestMasterChangedDuringTheJob(t *testing.T) {
	const size, chunk = 2 * MiB, 64 << 10
	content := randomBytes(size, 30)
	for _, tc := range []struct {
		name    string
		mode    engine.Mode
		recheck engine.MasterRecheck
		change  int64 // offset changed; -1: none
		ok      bool
	}{
		{"last chunk, copy+verify", engine.CopyVerify, engine.RecheckSample, size - 100, false},
		{"first chunk, copy only", engine.Copy, engine.RecheckSample, 5000, false},
		{"last chunk, hash only", engine.HashOnly, engine.RecheckSample, size - 1, false},
		{"a middle chunk, full re-check", engine.CopyVerify, engine.RecheckFull, 17*chunk + 3, false},
		{"unchanged, sample", engine.CopyVerify, engine.RecheckSample, -1, true},
		{"unchanged, full re-check", engine.CopyVerify, engine.RecheckFull, -1, true},
		// A master whose bytes its caller holds to a record of its own (a
		// file set's manifest) is not read again.
		{"unchanged, no re-check", engine.CopyVerify, engine.RecheckNone, -1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "master.img")
			require.NoError(t, os.WriteFile(path, content, 0o644))
			d, err := sim.NewDrive(sim.DriveSpec{Size: size, File: path})
			require.NoError(t, err)
			t.Cleanup(func() { d.Close() })
			master, err := d.Open(false)
			require.NoError(t, err)
			t.Cleanup(func() { master.Close() })
			behind, err := os.OpenFile(path, os.O_RDWR, 0) // not through the drive: its write-block does not see it
			require.NoError(t, err)
			t.Cleanup(func() { behind.Close() })

			var once sync.Once
			change := func() {
				if tc.change >= 0 {
					_, err := behind.WriteAt([]byte{content[tc.change] ^ 0xff}, tc.change)
					assert.NoError(t, err)
				}
			}
			job := engine.Job{Source: master, Mode: tc.mode, Options: engine.Options{
				ChunkSize: chunk, MasterRecheck: tc.recheck,
				// Once a port has copied everything (or the hash is
				// taken), every chunk has been read.
				OnProgress: func(p engine.Progress) {
					if p.Phase >= engine.PhaseSyncing && (p.Port > 0 || p.Phase == engine.PhaseDone) {
						once.Do(change)
					}
				},
			}}
			var targets []*sim.Drive
			if tc.mode != engine.HashOnly {
				for port := 2; port <= 3; port++ {
					td := sim.MustDrive(sim.DriveSpec{Size: size})
					h, err := td.Open(true)
					require.NoError(t, err)
					t.Cleanup(func() { h.Close() })
					targets = append(targets, td)
					job.Targets = append(job.Targets, engine.PortTarget{Port: port, Dev: h})
				}
			}
			res, err := job.Run(context.Background())
			require.NoError(t, err)

			if tc.ok {
				require.True(t, res.OK(), "%v %+v", res.Err, res.Ports)
				switch tc.recheck {
				case engine.RecheckFull:
					assert.Equal(t, int64(size), res.Rechecked, "the whole master is read again")
				case engine.RecheckNone:
					assert.Zero(t, res.Rechecked, "nothing is read again")
				default:
					assert.Equal(t, int64(8*chunk), res.Rechecked, "a handful of chunks is read again")
				}
				assert.GreaterOrEqual(t, res.MasterRead, size+res.Rechecked, "the plan once, and the re-check")
				return
			}
			require.ErrorIs(t, res.Err, engine.ErrMasterChanged)
			assert.ErrorContains(t, res.Err, "master changed during the job")
			assert.Empty(t, res.SHA256, "no hash is reported for content the master no longer has")
			assert.Len(t, res.Ports, len(targets))
			for _, pr := range res.Ports {
				assert.Equal(t, engine.Fail, pr.Status, "port %d", pr.Port)
				assert.Equal(t, engine.CauseMasterChanged, pr.Cause)
				assert.Contains(t, pr.Reason, fmt.Sprintf("port %d: master changed during the job: bytes %d..", pr.Port, tc.change/chunk*chunk))
				assert.Empty(t, pr.SHA256)
			}
		})
	}
}

// TestTargetsOwnPatches: each target may get bytes of its own instead of
// the master's (a file system's size fields, when one build serves
// targets of several sizes): laid over the chunks they fall in, written
// on their own where the plan does not reach, verified like the rest;
// one that would lie outside the target fails it before any write.
func TestTargetsOwnPatches(t *testing.T) {
	content := randomBytes(4*MiB, 15)
	r := newRig(t, content, sim.DriveSpec{})
	old := bytes.Repeat([]byte{0xee}, 4*MiB)
	a := r.add(2, sim.DriveSpec{Size: 4 * MiB, Content: old})
	b := r.add(3, sim.DriveSpec{Size: 4 * MiB, Content: old})
	c := r.add(4, sim.DriveSpec{Size: 4 * MiB, Content: old})
	zeros := make([]byte, 4096) // shared by both targets, as a job shares it
	j := r.job(engine.CopyVerify, 2, 3, 4)
	j.Area = gapArea{} // copies [0, 1 MiB) and [2, 3 MiB)
	j.Options.ChunkSize = MiB
	j.Targets[0].Patches = []engine.Patch{{Off: 0, Data: []byte("port two")}, {Off: 3*MiB + 512, Data: zeros}}
	// A chunk is written in pieces around its patches: one patch spans
	// two of them.
	across := int64(256<<10) - 3
	j.Targets[1].Patches = []engine.Patch{{Off: 0, Data: []byte("port 3")}, {Off: 2*MiB + 100, Data: []byte("inside")},
		{Off: 2*MiB + across, Data: []byte("across")}}
	j.Targets[2].Patches = []engine.Patch{{Off: 4*MiB - 10, Data: zeros}}
	var mu sync.Mutex
	last := map[int]engine.Progress{}
	j.Options.OnProgress = func(p engine.Progress) {
		mu.Lock()
		defer mu.Unlock()
		assert.LessOrEqual(t, p.Done, p.Total, "port %d: %s past its total", p.Port, p.Phase)
		last[p.Port] = p
	}
	res, err := j.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, int64(2*MiB+4096), last[2].Total, "the plan and port 2's own bytes outside it")
	assert.Equal(t, engine.PhaseDone, last[2].Phase)
	assert.Equal(t, last[2].Total, last[2].Done, "a port that passed shows all its bytes done")

	want := map[int][]byte{2: bytes.Clone(old), 3: bytes.Clone(old)}
	for _, w := range want {
		copy(w[:MiB], content[:MiB])
		copy(w[2*MiB:3*MiB], content[2*MiB:3*MiB])
	}
	copy(want[2], "port two")
	copy(want[2][3*MiB+512:], zeros)
	copy(want[3], "port 3")
	copy(want[3][2*MiB+100:], "inside")
	copy(want[3][2*MiB+across:], "across")
	for port, d := range map[int]*sim.Drive{2: a, 3: b} {
		pr, ok := res.Port(port)
		require.True(t, ok)
		assert.Equal(t, engine.Pass, pr.Status, pr.Reason)
		media, err := d.Media(0, 4*MiB)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(want[port], media), "port %d holds the plan's bytes with its own laid over", port)
	}
	pr, ok := res.Port(4)
	require.True(t, ok)
	assert.Equal(t, engine.Fail, pr.Status)
	assert.Equal(t, engine.CauseTooSmall, pr.Cause)
	assert.Contains(t, pr.Reason, "outside")
	assert.Zero(t, c.Stats().BytesWritten, "a target whose own bytes do not fit is not written")
}
