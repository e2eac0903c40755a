//go:build linux

package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/internal/looptest"
)

// TestLoopCopyVerify copies a loop-device master onto four loop devices
// through the command line (block devices, the engine, verification) and
// checks the copies with cmp.
func TestLoopCopyVerify(t *testing.T) {
	looptest.Require(t)
	master := looptest.Attach(t, 16*MiB, randomContent(t, 16*MiB))
	args := []string{"copy", "--from", master.Node}
	var targets []looptest.Device
	for range 4 {
		d := looptest.Attach(t, 20*MiB, nil)
		targets = append(targets, d)
		args = append(args, "--to", d.Node)
	}
	code, out, errOut := runCLI(t, args...)
	require.Equal(t, 0, code, "%s%s", out, errOut)
	assert.Contains(t, out, "4 passed, 0 failed")
	for _, d := range targets {
		out, err := exec.Command("cmp", "-n", fmt.Sprint(16*MiB), master.Node, d.Node).CombinedOutput()
		assert.NoError(t, err, "cmp %s %s: %s", master.Node, d.Node, out)
	}
}

// TestVerifyReadsMediaNotCache changes a target's bytes behind the loop
// device's back, while the page cache still holds the good bytes: a
// verify that read the cache would pass; ours must fail at the offset.
func TestVerifyReadsMediaNotCache(t *testing.T) {
	looptest.Require(t)
	content := randomContent(t, 8*MiB)
	master := looptest.Attach(t, 8*MiB, content)
	target := looptest.Attach(t, 8*MiB, nil)
	code, out, errOut := runCLI(t, "copy", "--no-verify", "--from", master.Node, "--to", target.Node)
	require.Equal(t, 0, code, "%s%s", out, errOut)

	// Fill the page cache with the good bytes. The kernel drops a block
	// device's cache on its last close, so keep one descriptor open.
	holder, err := os.Open(target.Node)
	require.NoError(t, err)
	defer holder.Close()
	cached := make([]byte, len(content))
	_, err = holder.ReadAt(cached, 0)
	require.NoError(t, err)
	require.Equal(t, content, cached)

	const bad = 5*MiB + 4321
	f, err := os.OpenFile(target.File, os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte{content[bad] ^ 0xff}, bad)
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	require.NoError(t, f.Close())

	again := make([]byte, 1)
	_, err = holder.ReadAt(again, bad)
	require.NoError(t, err)
	require.Equal(t, content[bad], again[0], "a cached read still sees the good byte")

	code, out, _ = runCLI(t, "verify", "--from", master.Node, "--to", target.Node)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, fmt.Sprintf("port 1: verify: mismatch at %d", bad))
}

// TestMasterIsWriteBlockedDuringJob: another process cannot write to the
// master while a job runs, and can again once it ended.
func TestMasterIsWriteBlockedDuringJob(t *testing.T) {
	looptest.Require(t)
	master := looptest.Attach(t, 8*MiB, randomContent(t, 8*MiB))
	target := looptest.Attach(t, 8*MiB, nil)
	drives, err := openCLIDrives(&Env{Stderr: io.Discard}, jobFlags{from: master.Node, to: multiFlag{target.Node}}, engine.CopyVerify)
	require.NoError(t, err)

	writeMaster := func() error {
		return exec.Command("dd", "if=/dev/zero", "of="+master.Node, "bs=512", "count=1", "seek=100",
			"conv=notrunc", "oflag=direct", "status=none").Run()
	}
	var once sync.Once
	var duringErr error
	job := engine.Job{Source: drives.master, Targets: []engine.PortTarget{{Port: 1, Dev: drives.targets[0]}},
		Options: engine.Options{OnProgress: func(engine.Progress) { once.Do(func() { duringErr = writeMaster() }) }}}
	res, err := job.Run(context.Background())
	require.NoError(t, err)
	require.True(t, res.OK(), "%+v", res.Ports)
	assert.Error(t, duringErr, "a write to the master during the job fails")
	drives.close()
	assert.NoError(t, writeMaster(), "the master is writable again after the job")
}

// TestEraseLoopDevices wipes real block devices through the command line.
func TestEraseLoopDevices(t *testing.T) {
	looptest.Require(t)
	for _, mode := range []string{"zeros", "random", "dod", "discard", "quick"} {
		t.Run(mode, func(t *testing.T) {
			old := randomContent(t, 8*MiB)
			d := looptest.Attach(t, 8*MiB, old)
			code, out, errOut := runCLI(t, "erase", "--mode", mode, "--verify", "--yes", "--to", d.Node)
			require.Equal(t, 0, code, "%s%s", out, errOut)
			assert.Contains(t, out, "1 passed, 0 failed")
			got, err := os.ReadFile(d.File)
			require.NoError(t, err)
			switch mode {
			case "zeros", "discard":
				assert.Equal(t, make([]byte, 8*MiB), got[:8*MiB])
			case "quick":
				assert.Equal(t, make([]byte, 4*MiB), got[:4*MiB])
			default:
				assert.NotEqual(t, old, got[:8*MiB])
			}
		})
	}
	code, _, errOut := runCLI(t, "erase", "--mode", "zeros", "--to", "/dev/null")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "add --yes to confirm")
}
