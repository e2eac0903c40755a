package engine_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/sim"
)

// usedDrive is a sim drive with old data on it: an MBR and a FAT32 file
// system holding a file, as small as FAT32 allows (33 MB), since every
// erase mode but quick writes and reads the whole drive.
func usedDrive(t *testing.T, faults ...sim.Fault) (*sim.Drive, engine.Target) {
	t.Helper()
	img, err := sim.FAT32Disk(34<<20, 33<<20, "OLD", []sim.File{{Name: "SECRET.TXT", Data: []byte("customer data")}})
	require.NoError(t, err)
	d := sim.MustDrive(sim.DriveSpec{Size: int64(len(img)), Content: img})
	for _, f := range faults {
		d.Inject(f)
	}
	h, err := d.Open(true)
	require.NoError(t, err)
	t.Cleanup(func() { h.Close() })
	return d, h
}

func TestEraseModes(t *testing.T) {
	for _, tc := range []struct {
		mode   engine.EraseMode
		verify bool
		check  func(t *testing.T, media []byte)
	}{
		{engine.EraseQuick, true, func(t *testing.T, m []byte) {
			c, err := engine.Probe(bytes.NewReader(m), int64(len(m)))
			require.NoError(t, err)
			assert.False(t, c.HasData(), "no partition table or file system is left")
			assert.Equal(t, make([]byte, 1<<20), m[2048*512:2048*512+1<<20], "the partition's boot sector and FATs are gone")
		}},
		{engine.EraseZeros, true, func(t *testing.T, m []byte) { assert.Equal(t, make([]byte, len(m)), m) }},
		{engine.EraseRandom, true, func(t *testing.T, m []byte) {
			assert.NotContains(t, string(m), "customer data")
			assert.False(t, bytes.Contains(m, make([]byte, 4096)), "no 4 KiB of zeros in random data")
		}},
		{engine.EraseDoD, true, func(t *testing.T, m []byte) {
			assert.NotContains(t, string(m), "customer data")
			assert.False(t, bytes.Contains(m, bytes.Repeat([]byte{0xff}, 4096)), "the last pass is random, not ones")
		}},
		{engine.EraseDiscard, true, func(t *testing.T, m []byte) { assert.Equal(t, make([]byte, len(m)), m) }},
	} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			d, h := usedDrive(t)
			res, err := engine.EraseJob{Targets: []engine.PortTarget{{Port: 2, Dev: h}}, Mode: tc.mode, Verify: tc.verify}.Run(context.Background())
			require.NoError(t, err)
			pr := res.Ports[0]
			require.Equal(t, engine.Pass, pr.Status, pr.Reason)
			if tc.verify && tc.mode != engine.EraseQuick {
				assert.Equal(t, d.Info().Size, pr.Verified)
			}
			media, err := d.Media(0, d.Info().Size)
			require.NoError(t, err)
			tc.check(t, media)
		})
	}
}

// TestEraseVerifyCatchesIgnoredWrites: a drive that reports writes done
// and keeps its old data fails the verify pass, where the data stayed.
func TestEraseVerifyCatchesIgnoredWrites(t *testing.T) {
	for _, mode := range []engine.EraseMode{engine.EraseZeros, engine.EraseRandom, engine.EraseDoD, engine.EraseQuick} {
		t.Run(mode.String(), func(t *testing.T) {
			_, h := usedDrive(t, sim.Fault{Kind: sim.IgnoreWrites, Off: 2048 * 512, Len: 64 << 10})
			_, good := usedDrive(t)
			res, err := engine.EraseJob{Targets: []engine.PortTarget{{Port: 2, Dev: h}, {Port: 3, Dev: good}}, Mode: mode, Verify: true}.Run(context.Background())
			require.NoError(t, err)
			bad, _ := res.Port(2)
			assert.Equal(t, engine.Fail, bad.Status)
			assert.Equal(t, engine.CauseMismatch, bad.Cause)
			assert.GreaterOrEqual(t, bad.Offset, int64(2048*512))
			assert.Contains(t, bad.Reason, "port 2: verify: the drive does not hold what was written")
			ok, _ := res.Port(3)
			assert.Equal(t, engine.Pass, ok.Status, "the other port is not affected: %s", ok.Reason)

			_, h2 := usedDrive(t, sim.Fault{Kind: sim.IgnoreWrites, Off: 2048 * 512, Len: 64 << 10})
			res, err = engine.EraseJob{Targets: []engine.PortTarget{{Port: 2, Dev: h2}}, Mode: mode}.Run(context.Background())
			require.NoError(t, err)
			assert.Equal(t, engine.Pass, res.Ports[0].Status, "without a verify pass the drive's lie goes unseen")
		})
	}
}

func TestEraseWithoutDiscard(t *testing.T) {
	_, h := usedDrive(t)
	res, err := engine.EraseJob{Targets: []engine.PortTarget{{Port: 2, Dev: h}}, Mode: engine.EraseSecureDiscard}.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, engine.Fail, res.Ports[0].Status)
	assert.Contains(t, res.Ports[0].Reason, "port 2: secure-discard: secure discard")
	assert.Contains(t, res.Ports[0].Reason, "does not support discard")
}

// A drive that holds no bytes (a card reader without its card) fails
// every mode with a reason: nothing was erased, and a PASS would say the
// drive was.
func TestEraseOfAnEmptyDriveFails(t *testing.T) {
	for m := engine.EraseQuick; m <= engine.EraseSecureDiscard; m++ {
		t.Run(m.String(), func(t *testing.T) {
			h, err := sim.MustDrive(sim.DriveSpec{Size: 0}).Open(true)
			require.NoError(t, err)
			defer h.Close()
			require.Zero(t, h.Size())
			res, err := engine.EraseJob{Targets: []engine.PortTarget{{Port: 3, Dev: h}}, Mode: m, Verify: true}.Run(context.Background())
			require.NoError(t, err)
			pr := res.Ports[0]
			assert.Equal(t, engine.Fail, pr.Status)
			assert.Equal(t, engine.CauseNoMedia, pr.Cause)
			assert.Equal(t, "port 3: the drive holds 0 bytes (no card in the reader?): nothing to erase", pr.Reason)
			assert.Zero(t, pr.Written)
		})
	}
}

func TestEraseModeNames(t *testing.T) {
	for m := engine.EraseQuick; m <= engine.EraseSecureDiscard; m++ {
		got, err := engine.ParseEraseMode(m.String())
		require.NoError(t, err)
		assert.Equal(t, m, got)
	}
	_, err := engine.ParseEraseMode("shred")
	assert.ErrorContains(t, err, `erase mode "shred"`)
}
