package engine_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/sim"
)

// TestResumeAfterInterruption interrupts a 1->4 job at several points,
// resumes it from the checkpoints, and ends with identical, verified
// targets that were not written twice.
func TestResumeAfterInterruption(t *testing.T) {
	for _, stopAfter := range []time.Duration{150 * time.Millisecond, 500 * time.Millisecond, 900 * time.Millisecond} {
		t.Run(stopAfter.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, randomBytes(16*MiB, 50), sim.DriveSpec{})
				ports := []int{2, 3, 4, 5}
				for _, p := range ports {
					r.add(p, sim.DriveSpec{WriteMBps: 20, ReadMBps: 80})
				}
				var mu sync.Mutex
				marks := map[int]int{}
				j := r.job(engine.CopyVerify, ports...)
				j.Options.CheckpointEvery = 16
				j.Options.OnCheckpoint = func(port, n int) {
					mu.Lock()
					marks[port] = n
					mu.Unlock()
				}
				run, err := engine.Start(context.Background(), j)
				require.NoError(t, err)
				time.Sleep(stopAfter)
				run.Cancel() // the power goes
				res := run.Wait()
				require.Equal(t, 4, res.Count(engine.Aborted))
				mu.Lock()
				from := map[int]int{}
				for p, n := range marks {
					from[p] = n
				}
				mu.Unlock()
				before := map[int]int64{}
				for _, p := range ports {
					before[p] = r.targets[p].Stats().BytesWritten
				}

				j2 := r.job(engine.CopyVerify, ports...)
				j2.Options.ResumeFrom = from
				res, err = j2.Run(context.Background())
				require.NoError(t, err)
				require.True(t, res.OK(), "%+v", res.Ports)
				for _, p := range ports {
					r.assertCopy(p)
					again := r.targets[p].Stats().BytesWritten - before[p]
					skipped := int64(max(from[p]-1, 0)) * 64 << 10
					assert.LessOrEqual(t, again, int64(16*MiB)-skipped+64<<10, "port %d: the resumed run skips what was there", p)
				}
				t.Logf("checkpoints at the stop: %v", from)
			})
		})
	}
}

// TestResumeRechecksTheContent: a target whose content changed since the
// checkpoint (another drive, or written elsewhere) is written again from
// where it differs.
func TestResumeRechecksTheContent(t *testing.T) {
	content := randomBytes(4*MiB, 51)
	r := newRig(t, content, sim.DriveSpec{})
	half := append([]byte(nil), content[:2*MiB]...)
	half[1_500_000] ^= 1 // one byte differs in chunk 22
	r.add(2, sim.DriveSpec{Content: half})
	j := r.job(engine.CopyVerify, 2)
	j.Options.ResumeFrom = map[int]int{2: 32} // claims chunks [1, 32) are there
	res, err := j.Run(context.Background())
	require.NoError(t, err)
	require.True(t, res.OK(), "%+v", res.Ports)
	r.assertCopy(2)
}

// TestResumeOfEveryChunk: a checkpoint that claims every chunk but the
// first is already there (the caller's, not the engine's own) verifies
// each chunk against its hash only once the reader has read it, however
// slow the master.
func TestResumeOfEveryChunk(t *testing.T) {
	content := randomBytes(2*MiB, 52)
	r := newRig(t, content, sim.DriveSpec{ReadMBps: 20})
	r.add(2, sim.DriveSpec{Content: content})
	j := r.job(engine.CopyVerify, 2)
	j.Options.ResumeFrom = map[int]int{2: 32} // every chunk of 2 MiB
	res, err := j.Run(context.Background())
	require.NoError(t, err)
	require.True(t, res.OK(), "%+v", res.Ports)
	p2, _ := res.Port(2)
	assert.Equal(t, int64(64<<10), p2.Written, "only the first chunk is written")
	assert.Equal(t, int64(2*MiB), p2.Verified)
}

// A resumed port waits for the reader at the chunk it resumes from, past
// the window's end, and fresh ports beside it keep their place in the
// window: the master is read once for the window, and once more where
// the resumed port checks that its chunks are there. A fresh port that
// hangs holds the resumed one back about a second, no more.
func TestResumedPortWaitsForTheWindow(t *testing.T) {
	const size = 16 * MiB
	tests := []struct {
		name  string
		fresh []int // the fresh ports beside resumed port 9
		hang  bool  // the first fresh port hangs at a quarter of the copy
	}{
		{"beside a fresh port", []int{2}, false},
		{"beside two fresh ports", []int{2, 3}, false},
		{"beside a fresh port that hangs", []int{2}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				content := randomBytes(size, 53)
				ports := append(slices.Clone(tt.fresh), 9)
				run := func(hang time.Duration) *engine.Result {
					r := newRig(t, content, sim.DriveSpec{})
					r.addEach(steadyTarget, tt.fresh...)
					r.add(9, sim.DriveSpec{WriteMBps: 100, ReadMBps: 200, Content: content[:size/2]})
					j := r.job(engine.CopyVerify, ports...)
					j.Options.ResumeFrom = map[int]int{9: 128} // chunks [1, 128): half of it
					if hang > 0 {
						j.Targets[0].Dev = &stallingDrive{Drive: r.open[tt.fresh[0]], at: size / 4, stall: hang}
					}
					return runPassing(t, r, j, ports)
				}
				moving := run(0)
				resumed, _ := moving.Port(9)
				assert.LessOrEqual(t, resumed.Written, int64(size/2+64<<10), "the resumed port writes its second half and the head")
				if !tt.hang {
					assert.LessOrEqual(t, float64(moving.MasterRead), 1.6*size,
						"master read %.2fx: the plan once, the resumed half checked once", float64(moving.MasterRead)/size)
					return
				}
				hung := run(100 * time.Second)
				after, _ := hung.Port(9)
				assert.LessOrEqual(t, after.Duration, resumed.Duration+time.Second+after.Duration/20+chunkTime(1),
					"the resumed port: %v beside the hung port, %v beside a moving one", after.Duration, resumed.Duration)
			})
		})
	}
}

// TestDeltaResync: targets that already hold an older copy get only the
// chunks that differ written, and are verified whole.
func TestDeltaResync(t *testing.T) {
	content := randomBytes(8*MiB, 60)
	r := newRig(t, content, sim.DriveSpec{})
	older := append([]byte(nil), content...)
	for _, off := range []int{0, 3 * MiB, 5*MiB + 7} { // three 64 KiB chunks differ
		older[off] ^= 0xff
	}
	r.add(2, sim.DriveSpec{Content: older})
	r.add(3, sim.DriveSpec{}) // blank: everything differs
	j := r.job(engine.CopyVerify, 2, 3)
	j.Options.Delta = true
	res, err := j.Run(context.Background())
	require.NoError(t, err)
	require.True(t, res.OK(), "%+v", res.Ports)
	p2, _ := res.Port(2)
	assert.Equal(t, int64(3*64<<10), p2.Written, "written 192 KiB of 8 MiB")
	assert.Equal(t, int64(3*64<<10), r.targets[2].Stats().BytesWritten)
	assert.Equal(t, int64(8*MiB), p2.Verified)
	p3, _ := res.Port(3)
	assert.Equal(t, int64(8*MiB), p3.Written)
	r.assertCopy(2)
	r.assertCopy(3)
}
