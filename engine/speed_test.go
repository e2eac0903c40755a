package engine_test

import (
	"context"
	"errors"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/sim"
)

// Targets that run at nearly the same speed take their chunks from the
// window, and the master is read about once: a target that drifts a
// little behind the leader keeps its place instead of falling out of the
// window and reading the master for itself.
func TestNearlyCaughtUpTargetKeepsItsPlace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const size = 16 * MiB
		r := newRig(t, randomBytes(size, 40), sim.DriveSpec{}) // the master keeps ahead of them all
		ports := []int{2, 3, 4, 5}
		r.addEach(steadyTarget, ports[:3]...)
		// 8% slower: over the copy it drifts about 20 chunks of 64 KiB
		// behind, more than the 16 the reader reads ahead.
		r.add(5, sim.DriveSpec{WriteMBps: 92, ReadMBps: 200})
		runReadingOnce(t, r, r.job(engine.CopyVerify, ports...), ports)
	})
}

// runPassing runs j and checks that every port passed with the master's
// bytes on its media.
func runPassing(t *testing.T, r *rig, j engine.Job, ports []int) *engine.Result {
	t.Helper()
	res, err := j.Run(context.Background())
	require.NoError(t, err)
	require.True(t, res.OK(), "%+v", res.Ports)
	for _, p := range ports {
		r.assertCopy(p)
	}
	return res
}

// runReadingOnce is runPassing, and checks that the master was read about
// once: the plan, and again the head chunk each port writes last and the
// chunks the re-check reads.
func runReadingOnce(t *testing.T, r *rig, j engine.Job, ports []int) *engine.Result {
	t.Helper()
	res := runPassing(t, r, j, ports)
	size := float64(len(r.content))
	t.Logf("master read %.3fx, buffers %d KiB", float64(res.MasterRead)/size, res.BufferBytes>>10)
	assert.LessOrEqual(t, float64(res.MasterRead), 1.1*size,
		"master read %.2fx its size", float64(res.MasterRead)/size)
	return res
}

// A target that stalls once for longer than the reader reads ahead (a USB
// stick's write stall) keeps its place. Early in the job the window
// stretches for it; later, beyond the stretch, the reader waits a little
// for it (a twentieth of the job's time so far, in all) rather than evict
// the chunk it is about to take. Evicted, at the others' speed it would
// never catch up with the window again, and would read the rest of the
// master a second time.
func TestStalledTargetKeepsItsPlace(t *testing.T) {
	const size, chunk = 16 * MiB, 64 << 10
	tests := []struct {
		name   string
		at     int64 // where it stalls
		chunks int   // for how many chunks' time at 100 MB/s
		seed   uint64
	}{
		// Beyond the 16 chunks read ahead, within the stretch of 32.
		{"early, within the stretch", 2 * chunk, 24, 41},
		// 6 chunks' time beyond the stretch, where the patience is about
		// 9 chunks' time by then.
		{"late, beyond the stretch", size * 3 / 4, 38, 42},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, randomBytes(size, tt.seed), sim.DriveSpec{})
				ports := []int{2, 3, 4, 5}
				r.addEach(steadyTarget, ports...)
				j := r.job(engine.CopyVerify, ports...)
				j.Targets[3].Dev = &stallingDrive{Drive: r.open[5], at: tt.at, stall: chunkTime(tt.chunks)}
				runReadingOnce(t, r, j, ports)
			})
		})
	}
}

// Ports that take a while before their first chunk (here each TRIMs what
// the plan leaves out, for the time a few chunks take to write) still find
// the master's first chunks in the window: every consumer has its place
// before the reader starts, so the reader waits for them instead of
// reading on, with the hasher, and evicting what they have not taken yet.
func TestLateStartingTargetsFindTheFirstChunks(t *testing.T) {
	const size = 16 * MiB
	tests := []struct {
		name   string
		chunks []int // each port's discard, in chunks' time at 100 MB/s
	}{
		{"all of them late", []int{8, 8, 8, 8}},
		{"one a little later than the others", []int{0, 0, 0, 6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, randomBytes(size, 44), sim.DriveSpec{})
				ports := []int{2, 3, 4, 5}
				for _, p := range ports {
					r.add(p, sim.DriveSpec{Size: 2 * size, WriteMBps: 100, ReadMBps: 200})
				}
				j := r.job(engine.CopyVerify, ports...)
				j.Options.Clean = true
				for i, n := range tt.chunks {
					j.Targets[i].Dev = &slowDiscardDrive{Drive: r.open[ports[i]], took: chunkTime(n)}
				}
				runReadingOnce(t, r, j, ports)
			})
		})
	}
}

// A port that fails before its first chunk (here a delta re-sync whose
// target cannot drop its caches) gives up the place it took in the
// window: the window does not stretch for it, the other ports pass, and
// the master is read once.
func TestPortFailingBeforeItsFirstChunkHoldsNoChunk(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const size = 16 * MiB
		r := newRig(t, randomBytes(size, 46), sim.DriveSpec{})
		ports := []int{2, 3, 4}
		r.addEach(steadyTarget, ports...)
		j := r.job(engine.CopyVerify, ports...)
		j.Options.Delta = true
		j.Targets[2].Dev = uncachedDrive{r.open[4]}
		res, err := j.Run(context.Background())
		require.NoError(t, err)
		for _, p := range ports[:2] {
			got, ok := res.Port(p)
			require.True(t, ok)
			assert.Equal(t, engine.Pass, got.Status, "port %d: %+v", p, got)
			r.assertCopy(p)
		}
		got, ok := res.Port(4)
		require.True(t, ok)
		assert.Equal(t, engine.Fail, got.Status)
		assert.Contains(t, got.Reason, "drop caches")
		// The read-ahead past the leading port (16), a chunk or two the
		// other port may trail it by, a chunk for each port that copies
		// and one for the hasher: the window did not stretch (to 32)
		// for the failed port's place.
		assert.LessOrEqual(t, res.BufferBytes, int64(16+2+2+1)*64<<10,
			"buffers %d chunks", res.BufferBytes/(64<<10))
		assert.LessOrEqual(t, float64(res.MasterRead), 1.1*size,
			"master read %.2fx its size", float64(res.MasterRead)/size)
	})
}

// chunkTime is how long n chunks of 64 KiB take to write at 100 MB/s.
func chunkTime(n int) time.Duration {
	return time.Duration(float64(n) * (64 << 10) * float64(time.Second) / 100e6)
}

// uncachedDrive cannot drop its caches.
type uncachedDrive struct{ hal.Drive }

func (uncachedDrive) DropCaches() error { return errors.New("drop caches: not supported here") }

// slowDiscardDrive takes a while to discard.
type slowDiscardDrive struct {
	hal.Drive
	took time.Duration
}

func (d *slowDiscardDrive) Discard(off, length int64, secure bool) error {
	time.Sleep(d.took)
	return d.Drive.(interface {
		Discard(off, length int64, secure bool) error
	}).Discard(off, length, secure)
}

// A target that fell behind the others flushes nothing behind while
// they still copy: where targets share a disk (loop devices over files),
// its flushes took the bandwidth they write with. The ports that keep up
// still flush behind, and so do the stragglers once those are done, two
// stragglers beside each other too.
func TestStragglersFlushAfterTheOthers(t *testing.T) {
	tests := []struct {
		name  string
		speed []float64 // the targets' MB/s: the first three keep up
	}{
		{"one straggler", []float64{100, 100, 100, 10}},
		{"two stragglers", []float64{100, 100, 100, 10, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const size = 16 * MiB
				r := newRig(t, randomBytes(size, 45), sim.DriveSpec{})
				var ports []int
				for i, speed := range tt.speed {
					ports = append(ports, i+2)
					r.add(i+2, sim.DriveSpec{WriteMBps: speed, ReadMBps: 200})
				}
				j := r.job(engine.CopyVerify, ports...)
				j.Options.SyncEvery = 1 * MiB
				clocks := make([]*syncClock, len(ports))
				for i := range j.Targets {
					clocks[i] = &syncClock{Drive: r.open[ports[i]]}
					j.Targets[i].Dev = clocks[i]
				}
				runPassing(t, r, j, ports)
				var fastEnd time.Time
				for i, c := range clocks[:3] {
					assert.Greater(t, len(c.syncs), 4, "port %d flushed behind its copy", ports[i])
					if c.lastWrite.After(fastEnd) {
						fastEnd = c.lastWrite
					}
				}
				for i, c := range clocks[3:] {
					assert.Greater(t, len(c.syncs), 4, "port %d flushed behind its copy once the others were done", ports[3+i])
					for _, at := range c.syncs {
						assert.False(t, at.Before(fastEnd), "port %d flushed %v before the others' last write", ports[3+i], fastEnd.Sub(at))
					}
				}
			})
		})
	}
}

// syncClock notes when a drive is flushed and when it was last written.
type syncClock struct {
	hal.Drive
	mu        sync.Mutex
	syncs     []time.Time
	lastWrite time.Time
}

func (d *syncClock) WriteAt(p []byte, off int64) (int, error) {
	n, err := d.Drive.WriteAt(p, off)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.lastWrite = time.Now()
	return n, err
}

func (d *syncClock) Sync() error {
	d.mu.Lock()
	d.syncs = append(d.syncs, time.Now())
	d.mu.Unlock()
	return d.Drive.Sync()
}

// The reader's patience is bounded: a target that hangs three quarters
// into a job, for longer than the whole job, holds the others back by at
// most a twentieth of their time, and at most a second at once; then it
// reads the master itself.
func TestHungTargetHoldsTheOthersBackALittle(t *testing.T) {
	tests := []struct {
		name  string
		speed float64                           // the targets' MB/s
		most  func(time.Duration) time.Duration // the most the fast targets may lose, of their time beside an even one
	}{
		// 0.17 s of copy: a twentieth of it is far below the second.
		{"a short job: a twentieth", 100, func(d time.Duration) time.Duration { return d / 20 }},
		// 34 s of copy: a twentieth of it is over the second.
		{"a long job: a second at once", 0.5, func(time.Duration) time.Duration { return time.Second }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const size = 16 * MiB
				content := randomBytes(size, 43)
				ports := []int{2, 3, 4, 5}
				run := func(hang time.Duration) *engine.Result {
					r := newRig(t, content, sim.DriveSpec{})
					for _, p := range ports {
						r.add(p, sim.DriveSpec{WriteMBps: tt.speed, ReadMBps: 2 * tt.speed})
					}
					j := r.job(engine.CopyVerify, ports...)
					if hang > 0 {
						// Late in the copy, where the patience is large,
						// with more than the window's stretch still to
						// copy (nearer the end the window holds the rest).
						j.Targets[3].Dev = &stallingDrive{Drive: r.open[5], at: size * 3 / 4, stall: hang}
					}
					return runPassing(t, r, j, ports)
				}
				even := run(0)
				hung := run(100 * time.Second)
				for _, p := range ports[:3] {
					before, _ := even.Port(p)
					after, _ := hung.Port(p)
					assert.LessOrEqual(t, after.Duration-before.Duration, tt.most(before.Duration)+time.Millisecond,
						"port %d: %v beside the hung target, %v beside an even one", p, after.Duration, before.Duration)
				}
				assert.Greater(t, float64(hung.MasterRead), 1.1*size, "the hung target read the master itself")
			})
		})
	}
}

// A target far slower than the others (here a half or a quarter of their
// speed) is no target drifting a little behind: the reader does not wait
// for it at all, and the fast targets take as long beside it as without
// it. It reads the master itself once it falls out of the window. While
// it still holds the window's oldest chunk, the reader reads ahead of
// the fast targets all the same: were it to read only what one of them
// already waits for, every chunk would cost them the master's read time
// as well as their write.
func TestSlowTargetDoesNotPaceTheOthers(t *testing.T) {
	tests := []struct {
		name   string
		slow   float64 // the slow target's MB/s, beside three at 100
		master float64 // the master's MB/s; 0 keeps ahead of them all
	}{
		{"a quarter of their speed", 25, 0},
		{"half their speed", 50, 0},
		{"a quarter of their speed, the master twice theirs", 25, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const size = 16 * MiB
				content := randomBytes(size, 45)
				fast := []int{2, 3, 4}
				run := func(ports []int) *engine.Result {
					r := newRig(t, content, sim.DriveSpec{ReadMBps: tt.master})
					r.addEach(steadyTarget, fast...)
					r.add(5, sim.DriveSpec{WriteMBps: tt.slow, ReadMBps: 2 * tt.slow})
					return runPassing(t, r, r.job(engine.CopyVerify, ports...), ports)
				}
				alone := run(fast)
				beside := run(append(fast, 5))
				// A chunk's write; and where the master has a speed, a
				// few chunks' reads of it: the slow target reads the
				// master itself too, and which of them the master serves
				// first changes from run to run. Reading only what a
				// fast target already waits for cost them 8 ms and more.
				most := chunkTime(1)
				if tt.master > 0 {
					most += 6 * time.Duration((64<<10)/(tt.master*1e6)*float64(time.Second))
				}
				for _, p := range fast {
					a, _ := alone.Port(p)
					b, _ := beside.Port(p)
					assert.LessOrEqual(t, b.Duration, a.Duration+most,
						"port %d: %v beside the slow target, %v without it", p, b.Duration, a.Duration)
				}
				assert.Greater(t, float64(beside.MasterRead), 1.1*size, "the slow target read the master itself")
			})
		})
	}
}

// One target faster than the rest does not drag the window away from
// them: were the window to follow it, the others would fall out one by
// one and each read the master for itself (three beside one half as fast
// again read it about 3x). While the targets near the window's leading
// edge are fewer than half of those in it, the reader waits for the pack
// instead, and the fast one keeps the pack's pace: the batch ends with
// the pack anyway. Nor does the pack lose time to it.
func TestFastTargetDoesNotLeaveThePackBehind(t *testing.T) {
	tests := []struct {
		name string
		pack int     // targets at 100 MB/s
		fast float64 // the MB/s of one more
	}{
		{"one a half faster than three", 3, 150},
		{"one twice as fast as five", 5, 200},
		{"one four times as fast as three", 3, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const size = 16 * MiB
				content := randomBytes(size, 47)
				pack := portRange(2, tt.pack)
				fast := 2 + tt.pack
				run := func(ports []int) *engine.Result {
					r := newRig(t, content, sim.DriveSpec{})
					r.addEach(steadyTarget, pack...)
					r.add(fast, sim.DriveSpec{WriteMBps: tt.fast, ReadMBps: 2 * tt.fast})
					return runReadingOnce(t, r, r.job(engine.CopyVerify, ports...), ports)
				}
				alone := run(pack)
				beside := run(append(slices.Clone(pack), fast))
				for _, p := range pack {
					a, _ := alone.Port(p)
					b, _ := beside.Port(p)
					assert.LessOrEqual(t, b.Duration, a.Duration+chunkTime(1),
						"port %d: %v beside the fast target, %v without it", p, b.Duration, a.Duration)
				}
			})
		})
	}
}

// portRange is n ports from first on.
func portRange(first, n int) []int {
	ports := make([]int, n)
	for i := range ports {
		ports[i] = first + i
	}
	return ports
}

// A pack that hangs holds a faster target back for about a second in
// all: then the reader lets the pack's chunk go, and the pack reads the
// master itself once it moves again. So too when each of the pack hangs
// at a chunk of its own (a hub that resets under a pack a few chunks
// apart): the second is not paid again for each of them, only the
// reader's patience (a twentieth of the time) beyond it.
func TestHungPackHoldsTheFastTargetBackASecond(t *testing.T) {
	const size, chunk = 16 * MiB, 64 << 10
	tests := []struct {
		name  string
		pack  int
		apart int64 // chunks between where one of the pack hangs and the next
	}{
		{"three at one chunk", 3, 0},
		{"five, each a chunk further on", 5, 1},
		{"eight, each two chunks further on", 8, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				content := randomBytes(size, 48)
				pack := portRange(2, tt.pack)
				fast := 2 + tt.pack
				ports := append(slices.Clone(pack), fast)
				run := func(hang time.Duration) *engine.Result {
					r := newRig(t, content, sim.DriveSpec{})
					r.addEach(steadyTarget, pack...)
					r.add(fast, sim.DriveSpec{WriteMBps: 150, ReadMBps: 300})
					j := r.job(engine.CopyVerify, ports...)
					if hang > 0 {
						for i, p := range pack {
							at := size/2 + int64(i)*tt.apart*chunk
							j.Targets[i].Dev = &stallingDrive{Drive: r.open[p], at: at, stall: hang}
						}
					}
					return runPassing(t, r, j, ports)
				}
				even := run(0)
				hung := run(100 * time.Second)
				before, _ := even.Port(fast)
				after, _ := hung.Port(fast)
				assert.LessOrEqual(t, after.Duration, before.Duration+time.Second+after.Duration/20+chunkTime(1),
					"the fast port: %v beside the hung pack, %v beside a moving one", after.Duration, before.Duration)
				assert.Greater(t, float64(hung.MasterRead), 1.1*size, "the hung pack read the master itself")
			})
		})
	}
}

// procsWatch records GOMAXPROCS as a job's ports report progress: the
// most it was, and what it was at each port's last report of each phase.
type procsWatch struct {
	mu   sync.Mutex
	most int
	last map[int]map[engine.Phase]int
}

func watchProcs(j *engine.Job) *procsWatch {
	w := &procsWatch{last: map[int]map[engine.Phase]int{}}
	j.Options.OnProgress = func(p engine.Progress) {
		n := runtime.GOMAXPROCS(0)
		w.mu.Lock()
		defer w.mu.Unlock()
		w.most = max(w.most, n)
		if w.last[p.Port] == nil {
			w.last[p.Port] = map[engine.Phase]int{}
		}
		w.last[p.Port][p.Phase] = n
	}
	return w
}

// procsBase is GOMAXPROCS before a test that watches it; the tests that
// do must not run in parallel (it is the process's), and one that fails
// leaves it as it was for the tests after it.
func procsBase(t *testing.T) int {
	if os.Getenv("GOMAXPROCS") != "" {
		t.Skip("GOMAXPROCS is set in the environment: the engine lends no P")
	}
	base := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(base) })
	return base
}

// A port that falls behind the window lends the process one more P
// (GOMAXPROCS) while it straggles: its writes wait in the kernel holding
// one, and the ports that keep up should not lose a CPU to that wait.
// Targets of one speed lend none, no more Ps are lent than the process
// had, and a port gives its P back once its copy ends, before it
// verifies.
func TestStragglerLendsAProc(t *testing.T) {
	tests := []struct {
		name string
		slow []float64 // the MB/s of targets beside three at 100
		lent int       // Ps lent at most, before the cap of one per P
	}{
		{"targets of one speed", nil, 0},
		{"one at a quarter of their speed", []float64{25}, 1},
		{"two at a quarter of their speed", []float64{25, 25}, 2},
		{"three at a quarter of their speed", []float64{25, 25, 25}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := procsBase(t)
			synctest.Test(t, func(t *testing.T) {
				const size = 16 * MiB
				r := newRig(t, randomBytes(size, 46), sim.DriveSpec{})
				ports := []int{2, 3, 4}
				r.addEach(steadyTarget, ports...)
				for i, mbps := range tt.slow {
					r.add(5+i, sim.DriveSpec{WriteMBps: mbps, ReadMBps: 2 * mbps})
					ports = append(ports, 5+i)
				}
				j := r.job(engine.CopyVerify, ports...)
				w := watchProcs(&j)
				res := runPassing(t, r, j, ports)
				assert.Equal(t, base+min(tt.lent, base), w.most, "GOMAXPROCS at most while the job ran")
				assert.Equal(t, base, runtime.GOMAXPROCS(0), "GOMAXPROCS after the job")
				if len(tt.slow) == 1 {
					assert.Equal(t, base, w.last[5][engine.PhaseVerifying], "GOMAXPROCS as the slow port verifies")
				}
				if tt.lent > 0 {
					assert.Greater(t, float64(res.MasterRead), 1.1*size, "the slow targets read the master themselves")
				}
			})
		})
	}
}

// A port that stalls once, falls behind the window and then catches up
// with the others gives back the P it lent while it was behind.
func TestStragglerThatCatchesUpGivesBackItsProc(t *testing.T) {
	base := procsBase(t)
	synctest.Test(t, func(t *testing.T) {
		const size = 16 * MiB
		r := newRig(t, randomBytes(size, 48), sim.DriveSpec{})
		ports := []int{2, 3, 4, 5}
		r.addEach(steadyTarget, ports[:3]...)
		r.add(5, sim.DriveSpec{WriteMBps: 150, ReadMBps: 300})
		j := r.job(engine.CopyVerify, ports...)
		// Long enough to fall out of the window, early enough to catch up
		// before the copy ends (and not so fast as to leave the others
		// behind in turn).
		w := &procsAtWrites{Drive: &stallingDrive{Drive: r.open[5], at: size / 8, stall: chunkTime(60)}}
		j.Targets[3].Dev = w
		runPassing(t, r, j, ports)
		require.NotEmpty(t, w.seen)
		assert.Equal(t, base+1, slices.Max(w.seen), "GOMAXPROCS at port 5's writes while it was behind")
		assert.Equal(t, base, w.seen[len(w.seen)-2], "GOMAXPROCS at its last chunk's write, caught up (its head is written last)")
		assert.Equal(t, base, runtime.GOMAXPROCS(0), "GOMAXPROCS after the job")
	})
}

// procsAtWrites records GOMAXPROCS at each write to a drive.
type procsAtWrites struct {
	hal.Drive
	mu   sync.Mutex
	seen []int
}

func (d *procsAtWrites) WriteAt(p []byte, off int64) (int, error) {
	d.mu.Lock()
	d.seen = append(d.seen, runtime.GOMAXPROCS(0))
	d.mu.Unlock()
	return d.Drive.WriteAt(p, off)
}

// A job stopped while a port straggles takes back the P it lent: the
// appliance runs job after job, and GOMAXPROCS must not creep up.
func TestStoppedStragglerGivesBackItsProc(t *testing.T) {
	base := procsBase(t)
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, randomBytes(16*MiB, 47), sim.DriveSpec{})
		r.add(2, steadyTarget)
		r.add(3, sim.DriveSpec{WriteMBps: 25, ReadMBps: 50})
		j := r.job(engine.CopyVerify, 2, 3)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var lent atomic.Bool
		j.Options.OnProgress = func(engine.Progress) {
			if runtime.GOMAXPROCS(0) > base {
				lent.Store(true)
				cancel()
			}
		}
		res, err := j.Run(ctx)
		require.NoError(t, err)
		require.True(t, lent.Load(), "the slow port lent a P before the job stopped")
		for _, p := range res.Ports {
			assert.NotEqual(t, engine.Pass, p.Status, "port %d", p.Port)
		}
		assert.Equal(t, base, runtime.GOMAXPROCS(0), "GOMAXPROCS after the stopped job")
	})
}

// stallingDrive stalls once, at the first write that reaches at.
type stallingDrive struct {
	hal.Drive
	at    int64
	stall time.Duration
	once  sync.Once
}

func (d *stallingDrive) WriteAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > d.at {
		d.once.Do(func() { time.Sleep(d.stall) })
	}
	return d.Drive.WriteAt(p, off)
}

// A port shows PASS once its verify and the master's re-check are done:
// the job's SHA-256 (here with a slow consumer of the content beside it)
// may end later, and the Result still carries it.
func TestPortsPassBeforeTheHashEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const size = 4 * MiB
		content := randomBytes(size, 41)
		r := newRig(t, content, sim.DriveSpec{})
		r.add(2, sim.DriveSpec{})
		r.add(3, sim.DriveSpec{})
		j := r.job(engine.CopyVerify, 2, 3)
		var mu sync.Mutex
		passed := map[int]bool{}
		released := make(chan struct{})
		j.Options.OnProgress = func(p engine.Progress) {
			mu.Lock()
			defer mu.Unlock()
			if p.Ended && p.Phase == engine.PhaseDone && !passed[p.Port] {
				passed[p.Port] = true
				if len(passed) == 2 {
					close(released)
				}
			}
		}
		var seen int64
		j.Options.OnContent = func(off int64, p []byte) {
			<-released // holds the hash back until both ports have passed
			assert.Equal(t, seen, off, "the content comes in order")
			seen += int64(len(p))
		}
		res, err := j.Run(context.Background())
		require.NoError(t, err)
		require.True(t, res.OK(), "%+v", res.Ports)
		assert.Equal(t, int64(size), seen, "every byte went past the hash")
		assert.Equal(t, sha(content), res.SHA256, "the record still gets the sum")
		for _, p := range res.Ports {
			assert.Equal(t, res.SHA256, p.SHA256)
		}
	})
}

// provenMaster is a master whose content's SHA-256 is known (as an
// image's is after its check).
type provenMaster struct {
	*memDev
	sum string
}

func (m provenMaster) ProvenSHA256(p engine.Plan) (string, bool) {
	if len(p.Extents) == 1 && p.Extents[0] == (engine.Extent{Off: 0, Len: m.Size()}) {
		return m.sum, true
	}
	return "", false
}

// A master that proves its content's SHA-256 is not hashed again: the
// job reports the proved sum. A plan that is not that content is hashed.
func TestProvenSumIsReported(t *testing.T) {
	content := randomBytes(2*MiB, 42)
	const proved = "0000000000000000000000000000000000000000000000000000000000000001"
	for _, tc := range []struct {
		name string
		area engine.Area
		want string
	}{
		{"the whole content: the proved sum", nil, proved},
		{"half of it: hashed", engine.Percent{P: 50}, sha(content[:MiB])},
	} {
		t.Run(tc.name, func(t *testing.T) {
			master := provenMaster{&memDev{id: "master", data: content}, proved}
			target := &memDev{id: "t", data: make([]byte, len(content))}
			job := engine.Job{Source: master, Area: tc.area, Targets: []engine.PortTarget{{Port: 2, Dev: target}}}
			res, err := job.Run(context.Background())
			require.NoError(t, err)
			require.True(t, res.OK(), "%+v", res.Ports)
			assert.Equal(t, tc.want, res.SHA256)
			assert.Equal(t, tc.want, res.Ports[0].SHA256)
		})
	}
}

// Writes are flushed to a target's media while the copy goes on, not all
// at the end: the Syncs come every SyncEvery bytes.
func TestWritesAreSyncedBehindTheCopy(t *testing.T) {
	const size = 8 * MiB
	for _, tc := range []struct {
		name               string
		every              int64
		minSyncs, maxSyncs int
	}{
		{"none behind: before the head and at the end", -1, 2, 2},
		{"about one a MiB, and those two", MiB, 6, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, randomBytes(size, 43), sim.DriveSpec{})
				d := r.add(2, sim.DriveSpec{WriteMBps: 100, ReadMBps: 200})
				j := r.job(engine.CopyVerify, 2)
				j.Options.SyncEvery = tc.every
				res, err := j.Run(context.Background())
				require.NoError(t, err)
				require.True(t, res.OK(), "%+v", res.Ports)
				r.assertCopy(2)
				syncs := d.Stats().Syncs
				assert.GreaterOrEqual(t, syncs, tc.minSyncs)
				assert.LessOrEqual(t, syncs, tc.maxSyncs)
			})
		})
	}
}
