//go:build linux

package fileset_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/engine/fatfs"
	"github.com/clonebay/clonebay/fileset"
	"github.com/clonebay/clonebay/sim"
)

// TestSmallerTargetFaultsNameTheDrive: a target smaller than its build
// is written through a view of it, yet a fault on it fails that port
// alone, at the offset on the drive: a wrong byte in a file of its moved
// cluster heap names the file, one in its moved second FAT or its backup
// GPT names the structure; a write or read error names where the drive
// failed. What the record counts as written and verified is never more
// than the drive holds, nor less than nothing.
func TestSmallerTargetFaultsNameTheDrive(t *testing.T) {
	const mib, size = 1 << 20, 300 << 20
	files := map[string]string{}
	for i := range 20 {
		files[fmt.Sprintf("videos/clip %02d.mp4", i)] = strings.Repeat(fmt.Sprint(i), 100_000)
	}
	src := memSet(t, files)
	opts := func() fileset.Options { return fileset.Options{Table: fileset.GPT, WorkDir: t.TempDir()} }
	run := func(faults ...sim.Fault) (large, small fileset.PortResult, dev engine.Target) {
		_, l := simTarget(t, 1<<30) // 4 KiB clusters both: one build serves both
		_, s := simTarget(t, size, faults...)
		res, err := fileset.Run(context.Background(), src, []engine.PortTarget{{Port: 1, Dev: l}, {Port: 2, Dev: s}}, opts())
		require.NoError(t, err)
		require.Equal(t, 1, res.Builds, "the smaller target is written from the larger one's build")
		large, _ = res.Port(1)
		small, _ = res.Port(2)
		return large, small, s.(engine.Target)
	}

	// Where things lie on the smaller drive: the layout is deterministic,
	// so a clean run shows it.
	_, clean, dev := run()
	require.Equal(t, engine.Pass, clean.Status, clean.Reason)
	vol, err := fatfs.Open(dev, clean.Layout.PartStart, clean.Layout.PartSize)
	require.NoError(t, err)
	g := vol.Geometry()
	ex, err := vol.FileExtents("videos/clip 07.mp4")
	require.NoError(t, err)
	clip, fat2 := ex[0].Off, clean.Layout.PartStart+g.FATOffset+g.FATLength

	for _, tc := range []struct {
		name   string
		fault  sim.Fault
		status engine.Status
		phase  engine.Phase
		cause  engine.Cause
		off    int64 // on the drive
		reason string
	}{
		{"a wrong byte in a file of the moved heap", sim.Fault{Kind: sim.Corrupt, Off: clip + 1000}, engine.Fail, engine.PhaseVerifying, engine.CauseMismatch, clip + 1000,
			fmt.Sprintf("file videos/clip 07.mp4 differs from the set, first at byte 1000 of the file, %d of the drive", clip+1000)},
		{"a wrong byte in the moved second FAT", sim.Fault{Kind: sim.Corrupt, Off: fat2 + 512}, engine.Fail, engine.PhaseVerifying, engine.CauseMismatch, fat2 + 512,
			fmt.Sprintf("the FAT32 file system area differs, first at byte %d of the drive", fat2+512)},
		{"a wrong byte in the backup GPT", sim.Fault{Kind: sim.Corrupt, Off: size - 512}, engine.Fail, engine.PhaseVerifying, engine.CauseMismatch, size - 512,
			fmt.Sprintf("the area after the partition differs, first at byte %d of the drive", size-512)},
		{"a write error in the moved heap", sim.Fault{Kind: sim.WriteError, Off: clip + 4096}, engine.Fail, engine.PhaseCopying, engine.CauseWrite, clip + 4096,
			fmt.Sprintf("write at %d", clip+4096)},
		{"a write error in the moved second FAT", sim.Fault{Kind: sim.WriteError, Off: fat2 + 4096}, engine.Fail, engine.PhaseCopying, engine.CauseWrite, fat2 + 4096,
			fmt.Sprintf("write at %d", fat2+4096)},
		{"a read error in the moved heap", sim.Fault{Kind: sim.ReadError, Off: clip + 4096}, engine.Fail, engine.PhaseVerifying, engine.CauseRead, clip + 4096,
			fmt.Sprintf("read at %d", clip+4096)},
		{"a write error that a retry gets past", sim.Fault{Kind: sim.WriteError, Off: fat2 + 4096, Times: 1}, engine.Pass, engine.PhaseDone, "", -1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			large, small, _ := run(tc.fault)
			assert.Equal(t, engine.Pass, large.Status, "the other target is not held back: %s", large.Reason)
			assert.Equal(t, tc.status, small.Status, small.Reason)
			assert.Equal(t, tc.phase, small.Phase)
			assert.Equal(t, tc.cause, small.Cause)
			assert.Equal(t, tc.off, small.Offset, "on the drive")
			assert.Contains(t, small.Reason, tc.reason)
			assert.NotContains(t, small.Reason, "at -1")
			for what, n := range map[string]int64{"written": small.Written, "verified": small.Verified} {
				assert.GreaterOrEqual(t, n, int64(0), what)
				assert.LessOrEqual(t, n, int64(size), what)
			}
			if tc.status == engine.Pass {
				assert.Equal(t, clean.Written, small.Written, "a retried write counts once")
				assert.Equal(t, clean.Verified, small.Verified)
			}
		})
	}
}

// TestSmallerTargetQualifiesItsDrive: the qualification of a target
// written through a view probes the drive itself (its own size, every
// probe on its media), not the larger disk the engine sees: a sound one
// passes, a counterfeit one fails naming its own size.
func TestSmallerTargetQualifiesItsDrive(t *testing.T) {
	const mib, size = 1 << 20, 300 << 20
	src := memSet(t, map[string]string{"a.bin": strings.Repeat("a", 3*mib), "b.txt": "b"})
	for _, tc := range []struct {
		name   string
		faults []sim.Fault
		status engine.Status
		reason string
	}{
		{"a sound drive", nil, engine.Pass, ""},
		{"a drive that stores 200 MiB", []sim.Fault{{Kind: sim.FakeCapacity, Off: 200 * mib}}, engine.Fail, "real size about 196.61 MB, not 314.57 MB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, large := simTarget(t, 1<<30)
			d, small := simTarget(t, size, tc.faults...)
			res, err := fileset.Run(context.Background(), src, []engine.PortTarget{{Port: 1, Dev: large}, {Port: 2, Dev: small}},
				fileset.Options{WorkDir: t.TempDir(), Engine: engine.Options{Qualify: &engine.QualifyOptions{}}})
			require.NoError(t, err)
			require.Equal(t, 1, res.Builds)
			p1, _ := res.Port(1)
			assert.Equal(t, engine.Pass, p1.Status, p1.Reason)
			p2, _ := res.Port(2)
			assert.Equal(t, tc.status, p2.Status, p2.Reason)
			assert.Contains(t, p2.Reason, tc.reason)
			if tc.status == engine.Fail {
				assert.Equal(t, engine.PhaseQualifying, p2.Phase)
				assert.Equal(t, engine.CauseFake, p2.Cause)
				assert.Zero(t, p2.Written, "nothing of the set was written")
				assert.Less(t, d.Stats().BytesWritten, int64(mib), "only the probes, which put back what was there")
			}
		})
	}
}
