package images_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/images"
	"github.com/clonebay/clonebay/sim"
)

// TestSlowTargetDoesNotPaceADeploy deploys a zstd image to eight
// targets, one four times slower than the rest. The fast ones finish
// within 1.1x of the time one takes alone, the slow one reads the image
// itself through the seek index, and no frame is decompressed once per
// target.
func TestSlowTargetDoesNotPaceADeploy(t *testing.T) {
	t.Parallel()
	const size = 32 * MiB
	content := make([]byte, size)
	r := rand.New(rand.NewPCG(7, 8))
	for i := range content {
		content[i] = byte(r.IntN(32))
	}
	lib, err := images.OpenLibrary(t.TempDir())
	require.NoError(t, err)
	_, err = lib.Capture(context.Background(), memSource(content), "line", images.CaptureOptions{})
	require.NoError(t, err)

	run := func(t *testing.T, specs []sim.DriveSpec) (*engine.Result, int64, int) {
		im, err := lib.Open("line")
		require.NoError(t, err)
		defer im.Close()
		job := engine.Job{Source: im, Area: im.Area(), Mode: engine.CopyVerify}
		var drives []*sim.Drive
		for i, spec := range specs {
			spec.Size = size
			d, err := sim.NewDrive(spec)
			require.NoError(t, err)
			defer d.Close()
			h, err := d.Open(true)
			require.NoError(t, err)
			defer h.Close()
			drives = append(drives, d)
			job.Targets = append(job.Targets, engine.PortTarget{Port: i + 1, Dev: h.(engine.Target)})
		}
		res, err := job.Run(context.Background())
		require.NoError(t, err)
		require.True(t, res.OK(), "%+v", res.Ports)
		for i, d := range drives {
			got, err := d.Media(0, size)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(content, got), "port %d holds the image", i+1)
		}
		return res, im.Decoded(), im.Frames()
	}
	fast := sim.DriveSpec{WriteMBps: 100, ReadMBps: 200}
	slow := sim.DriveSpec{WriteMBps: 25, ReadMBps: 200}
	synctest.Test(t, func(t *testing.T) {
		alone, _, _ := run(t, []sim.DriveSpec{fast})
		solo := alone.Ports[0].Duration

		specs := []sim.DriveSpec{fast, fast, fast, fast, fast, fast, fast, slow}
		res, decoded, frames := run(t, specs)
		for _, p := range res.Ports[:7] {
			assert.LessOrEqual(t, p.Duration, solo*11/10, "port %d took %v, alone %v", p.Port, p.Duration, solo)
		}
		slowRes := res.Ports[7]
		t.Logf("alone %v, slow target %v; %d frames decompressed for %d frames and 8 targets", solo, slowRes.Duration, decoded, frames)
		assert.Greater(t, slowRes.Duration, 2*solo, "the slow target really is slow")
		assert.LessOrEqual(t, decoded, int64(2*frames+8), "each frame is decompressed for the fast group and at most once more for the slow target")
	})
}

// A deploy of an image's used area reports the SHA-256 its check proved
// (the engine does not hash the content again); another plan is not
// that content.
func TestDeployReusesTheProvedSum(t *testing.T) {
	content := bytes.Repeat([]byte("clonebay"), 512<<10)
	lib, err := images.OpenLibrary(t.TempDir())
	require.NoError(t, err)
	m, err := lib.Capture(context.Background(), memSource(content), "proved", images.CaptureOptions{})
	require.NoError(t, err)
	im, err := lib.Open("proved")
	require.NoError(t, err)
	defer im.Close()
	plan, err := im.Area().Plan(im)
	require.NoError(t, err)
	sum, ok := im.ProvenSHA256(plan)
	require.True(t, ok)
	assert.Equal(t, m.SHA256, sum)
	plan.Extents[0].Len -= 4096
	_, ok = im.ProvenSHA256(plan)
	assert.False(t, ok, "a plan that leaves bytes out is not the proved content")
}
