package engine_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/sim"
)

func TestQualifyCatchesFakeCapacity(t *testing.T) {
	const size = 64 * MiB
	for _, tc := range []struct {
		name   string
		fault  *sim.Fault
		ok     bool
		reason string
	}{
		{"honest drive", nil, true, ""},
		{"wraps at 16 MiB", &sim.Fault{Kind: sim.FakeCapacity, Off: 16 * MiB, Wrap: true}, false, "fake capacity: real size about 16.77 MB, not 67.1 MB"},
		{"drops writes past 40 MiB", &sim.Fault{Kind: sim.FakeCapacity, Off: 40 * MiB}, false, "fake capacity: real size about 37.75 MB"},
		// A size that is not a power of two, as sticks are sold: evenly
		// spread markers never meet where the drive wraps.
		{"says 60 MB, wraps at 8 MiB", &sim.Fault{Kind: sim.FakeCapacity, Off: 8 * MiB, Wrap: true}, false, "fake capacity: real size about 8.38 MB, not 59.99 MB"},
		{"a bad block, not a fake size", &sim.Fault{Kind: sim.Corrupt, Off: 2 * MiB, Len: 1}, true, ""},
		{"says 60 MB, wraps at 32 MiB", &sim.Fault{Kind: sim.FakeCapacity, Off: 32 * MiB, Wrap: true}, false, "fake capacity: real size about 33.55 MB, not 59.99 MB"},
		// Sizes that round alike are given in bytes.
		{"wraps 4 KiB before its end", &sim.Fault{Kind: sim.FakeCapacity, Off: size - 4096, Wrap: true}, false, "fake capacity: real size about 67104768 bytes, not 67108864 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			size := int64(size)
			if strings.HasPrefix(tc.name, "says 60 MB") {
				size = 60_000_000 / 512 * 512
			}
			old := randomBytes(int(size), 30)
			d := sim.MustDrive(sim.DriveSpec{Size: size, Content: old})
			if tc.fault != nil {
				d.Inject(*tc.fault)
			}
			h, err := d.Open(true)
			require.NoError(t, err)
			q, err := engine.Qualify(context.Background(), h, engine.QualifyOptions{})
			require.NoError(t, err)
			assert.Equal(t, tc.ok, q.OK, q.Reason)
			if !tc.ok {
				assert.Equal(t, engine.CauseFake, q.Cause)
				assert.Contains(t, q.Reason, tc.reason)
				return
			}
			if tc.fault != nil {
				return // a bad block: the copy's verify finds it
			}
			media, err := d.Media(0, size)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(old, media), "an honest drive's content is unchanged")
		})
	}
}

func TestQualifySpeedFloor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, tc := range []struct {
			mbps float64
			ok   bool
		}{{20, true}, {2, false}} {
			d := sim.MustDrive(sim.DriveSpec{Size: 64 * MiB, WriteMBps: tc.mbps})
			h, err := d.Open(true)
			require.NoError(t, err)
			q, err := engine.Qualify(context.Background(), h, engine.QualifyOptions{MinWriteMBps: 5})
			require.NoError(t, err)
			assert.Equal(t, tc.ok, q.OK, q.Reason)
			assert.InDelta(t, tc.mbps, q.WriteMBps, tc.mbps/10)
			if !tc.ok {
				assert.Contains(t, q.Reason, "too slow: writes 2.0 MB/s, below the floor of 5.0 MB/s")
			}
		}
	})
}

// TestQualificationInAJob: with qualification on, a counterfeit target
// fails before anything is copied and the others pass.
func TestQualificationInAJob(t *testing.T) {
	r := newRig(t, randomBytes(2*MiB, 31), sim.DriveSpec{})
	r.add(2, sim.DriveSpec{Size: 32 * MiB})
	fake := r.add(3, sim.DriveSpec{Size: 32 * MiB}, sim.Fault{Kind: sim.FakeCapacity, Off: 8 * MiB, Wrap: true})
	j := r.job(engine.CopyVerify, 2, 3)
	j.Options.Qualify = &engine.QualifyOptions{}
	res, err := j.Run(context.Background())
	require.NoError(t, err)
	p2, _ := res.Port(2)
	assert.Equal(t, engine.Pass, p2.Status, p2.Reason)
	r.assertCopy(2)
	p3, _ := res.Port(3)
	assert.Equal(t, engine.Fail, p3.Status)
	assert.Equal(t, engine.CauseFake, p3.Cause)
	assert.Equal(t, engine.PhaseQualifying, p3.Phase)
	assert.Contains(t, p3.Reason, "port 3: fake capacity: real size about 8.38 MB")
	media, err := fake.Media(0, 2*MiB)
	require.NoError(t, err)
	assert.Equal(t, make([]byte, 2*MiB), media, "nothing of the master reached the fake drive")
}

// cancelAfter is a drive whose job is cancelled after its nth write.
type cancelAfter struct {
	hal.Drive
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) WriteAt(p []byte, off int64) (int, error) {
	n, err := c.Drive.WriteAt(p, off)
	if c.n--; c.n == 0 {
		c.cancel()
	}
	return n, err
}

// TestQualifyPutsTheDataBack: whatever ends the check once markers are on
// the drive (the job cancelled, a marker that no longer reads), the drive
// gets its data back: the first marker lies over its partition table, and
// the drive may have been put in by mistake.
func TestQualifyPutsTheDataBack(t *testing.T) {
	const size = 64 * MiB
	for _, tc := range []struct {
		name  string
		fault *sim.Fault
		wrap  func(hal.Drive, context.CancelFunc) engine.Target
		err   string
	}{
		{"cancelled after three markers", nil, func(d hal.Drive, cancel context.CancelFunc) engine.Target {
			return &cancelAfter{Drive: d, n: 3, cancel: cancel}
		}, "context canceled"},
		{"a marker that does not read back", &sim.Fault{Kind: sim.ReadError, Off: 32 * MiB}, nil, "input/output error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := randomBytes(size, 31)
			d := sim.MustDrive(sim.DriveSpec{Size: size, Content: old})
			h, err := d.Open(true)
			require.NoError(t, err)
			defer h.Close()
			if tc.fault != nil {
				d.Inject(*tc.fault)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var dev engine.Target = h
			if tc.wrap != nil {
				dev = tc.wrap(h, cancel)
			}
			_, err = engine.Qualify(ctx, dev, engine.QualifyOptions{})
			assert.ErrorContains(t, err, tc.err)
			media, err := d.Media(0, size)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(old, media), "the drive holds what it held")
		})
	}
}
