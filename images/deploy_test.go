//go:build linux

package images_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/images"
	"github.com/clonebay/clonebay/internal/imgtest"
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
		for i := range specs {
			specs[i].Size = size
		}
		drives := addTargets(t, &job, specs)
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

// TestDeployAtSixteenStaysInBudget deploys a GPT image at 1 -> 16 onto
// larger targets (each gets its partition tables rebuilt), four of them
// much slower than the rest, so they fall out of the window and read the
// image themselves. What the engine's chunk buffers and the image's own
// buffers took stays within the job's memory budget: the window at its
// stretch, a chunk a target, the re-check's, and the image's bound, which
// is a couple of frames and not a cache a target. (Before, the image kept
// up to 14 MiB of frames beside the window, and the engine made a chunk
// more for every target the window let go and a quarter chunk for every
// patched target.)
func TestDeployAtSixteenStaysInBudget(t *testing.T) {
	imgtest.Need(t, "sgdisk")
	const size = 16 * MiB
	master := filepath.Join(t.TempDir(), "master.img")
	imgtest.Sparse(t, master, size)
	imgtest.Run(t, "sgdisk", "-n", "1:2048:0", "-t", "1:8300", master)
	content, err := os.ReadFile(master)
	require.NoError(t, err)
	r := rand.New(rand.NewPCG(16, 16))
	for i := MiB; i < size-MiB; i++ {
		content[i] = byte(r.IntN(64))
	}
	lib, err := images.OpenLibrary(t.TempDir())
	require.NoError(t, err)
	_, err = lib.Capture(context.Background(), memSource(content), "sixteen", images.CaptureOptions{})
	require.NoError(t, err)
	im, err := lib.Open("sixteen")
	require.NoError(t, err)
	defer im.Close()

	synctest.Test(t, func(t *testing.T) {
		// A window of 4 chunks (8 at its stretch) stands for the default
		// 16 on an image 16 times larger.
		job := engine.Job{Source: im, Area: im.Area(), Mode: engine.CopyVerify, Options: engine.Options{WindowChunks: 4}}
		var specs []sim.DriveSpec
		for i := range 16 {
			spec := sim.DriveSpec{Size: size + MiB, WriteMBps: 200, ReadMBps: 400}
			if i%4 == 3 {
				spec.WriteMBps = 40
			}
			specs = append(specs, spec)
		}
		drives := addTargets(t, &job, specs)
		run, err := engine.Start(context.Background(), job)
		require.NoError(t, err)
		res := run.Wait()
		require.True(t, res.OK(), "%+v", res.Ports)
		for i, d := range drives {
			got, err := d.Media(MiB, size-2*MiB)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(content[MiB:size-MiB], got), "port %d holds the partition", i+1)
		}

		budget := run.MemoryBudget()
		t.Logf("buffers %.1f MiB (the image's %.1f MiB, bound %.1f MiB) of a budget of %.1f MiB; master read %.1fx, %d frames decompressed for %d",
			float64(res.BufferBytes)/MiB, float64(im.BufferBytes())/MiB, float64(im.BufferBound())/MiB, float64(budget)/MiB,
			float64(res.MasterRead)/float64(res.Bytes), im.Decoded(), im.Frames())
		assert.Greater(t, res.MasterRead, 2*res.Bytes, "the slow targets fell out of the window and read the image themselves")
		assert.LessOrEqual(t, im.BufferBound(), int64(4*MiB+4096), "the image keeps a couple of frames, not a cache a target")
		assert.LessOrEqual(t, im.BufferBytes(), im.BufferBound())
		assert.LessOrEqual(t, res.BufferBytes, budget, "engine and image within the job's budget")
	})
}

// addTargets makes a sim drive of each spec a target of the job, on ports
// 1, 2, ..., closed when the test ends, and returns the drives.
func addTargets(t *testing.T, job *engine.Job, specs []sim.DriveSpec) []*sim.Drive {
	t.Helper()
	var drives []*sim.Drive
	for i, spec := range specs {
		d, err := sim.NewDrive(spec)
		require.NoError(t, err)
		t.Cleanup(func() { d.Close() })
		h, err := d.Open(true)
		require.NoError(t, err)
		t.Cleanup(func() { h.Close() })
		drives = append(drives, d)
		job.Targets = append(job.Targets, engine.PortTarget{Port: i + 1, Dev: h.(engine.Target)})
	}
	return drives
}
