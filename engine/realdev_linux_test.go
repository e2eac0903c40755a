//go:build linux

package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/hal/blockdev"
	"github.com/clonebay/clonebay/internal/imgtest"
	"github.com/clonebay/clonebay/internal/looptest"
	"github.com/clonebay/clonebay/sim"
)

// TestWriteBlockedMasterChangedBehindIt: a master on a loop device is
// write-blocked, yet its backing file changes once the copy has read it
// all. The targets then hold what the master was, and the job says so:
// the re-check at its end reads the master's last chunk from the media.
func TestWriteBlockedMasterChangedBehindIt(t *testing.T) {
	const size = 4 * MiB
	content := randomBytes(size, 31)
	dev := looptest.Attach(t, size, content)
	master, err := blockdev.OpenRead(dev.Node)
	require.NoError(t, err)
	t.Cleanup(func() { master.Close() })
	require.NoError(t, master.WriteBlock())

	var once sync.Once
	job := engine.Job{Source: master, Options: engine.Options{
		ChunkSize: 256 << 10,
		OnProgress: func(p engine.Progress) {
			if p.Phase >= engine.PhaseSyncing {
				once.Do(func() {
					f, err := os.OpenFile(dev.File, os.O_WRONLY, 0)
					require.NoError(t, err)
					_, err = f.WriteAt([]byte("changed"), size-4096)
					assert.NoError(t, err)
					assert.NoError(t, f.Close())
				})
			}
		},
	}}
	target := sim.MustDrive(sim.DriveSpec{Size: size})
	h, err := target.Open(true)
	require.NoError(t, err)
	t.Cleanup(func() { h.Close() })
	job.Targets = []engine.PortTarget{{Port: 2, Dev: h}}

	res, err := job.Run(context.Background())
	require.NoError(t, err)
	require.ErrorIs(t, res.Err, engine.ErrMasterChanged)
	pr := res.Ports[0]
	assert.Equal(t, engine.Fail, pr.Status)
	assert.Equal(t, engine.CauseMasterChanged, pr.Cause)
	assert.Contains(t, pr.Reason, "port 2: master changed during the job: bytes 3932160..4194304")
	got, err := target.Media(0, size)
	require.NoError(t, err)
	assert.Equal(t, content, got, "the target holds what the master was")
}

// TestGPTOntoAnImageOfOddSize: a GPT master copied onto an image file
// whose size is not whole sectors gets its backup GPT in its last whole
// sector, where the primary header says it lies.
func TestGPTOntoAnImageOfOddSize(t *testing.T) {
	master := gptMaster(t)
	clone := filepath.Join(t.TempDir(), "clone.img")
	imgtest.Sparse(t, clone, 24<<20+300)
	dst, err := blockdev.OpenWrite(clone)
	require.NoError(t, err)
	res, err := engine.Job{Source: fileDrive(t, master), Targets: []engine.PortTarget{{Port: 2, Dev: dst}}}.Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, engine.Pass, res.Ports[0].Status, res.Ports[0].Reason)
	require.NoError(t, dst.Close())
	out := imgtest.Run(t, "sgdisk", "-v", clone)
	imgtest.GPTGood(t, out, "the clone")
}
