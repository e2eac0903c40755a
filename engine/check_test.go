package engine_test

import (
	"bytes"
	"context"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/sim"
)

func TestReadScan(t *testing.T) {
	d := sim.MustDrive(sim.DriveSpec{Size: 8 * MiB})
	d.Inject(sim.Fault{Kind: sim.ReadError, Off: 3 * MiB, Len: 1024})
	d.Inject(sim.Fault{Kind: sim.ReadError, Off: 7*MiB + 512})
	h, err := d.Open(false)
	require.NoError(t, err)
	var last int64
	bad, err := engine.ReadScan(context.Background(), h.(engine.Source), func(done, total int64) { last = done })
	require.NoError(t, err)
	assert.Equal(t, []engine.Extent{{Off: 3 * MiB, Len: 1024}, {Off: 7*MiB + 512, Len: 512}}, bad)
	assert.Equal(t, int64(8*MiB), last)

	clean := sim.MustDrive(sim.DriveSpec{Size: 2 * MiB})
	h2, err := clean.Open(false)
	require.NoError(t, err)
	bad, err = engine.ReadScan(context.Background(), h2.(engine.Source), nil)
	require.NoError(t, err)
	assert.Empty(t, bad)
}

func TestSpeedTest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		old := randomBytes(32*MiB, 40) // the 16 MiB test area is half of it
		d := sim.MustDrive(sim.DriveSpec{Size: 32 * MiB, ReadMBps: 90, WriteMBps: 30, Content: old})
		h, err := d.Open(true)
		require.NoError(t, err)
		r, w, err := engine.SpeedTest(context.Background(), h, 16*MiB)
		require.NoError(t, err)
		assert.InDelta(t, 90, r, 1)
		assert.InDelta(t, 30, w, 1)
		media, err := d.Media(0, 32*MiB)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(old, media), "what was there is put back")
	})
}
