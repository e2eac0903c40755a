package engine_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/sim"
)

// piece is the part of a chunk a port lays its patches over at a time.
const piece = 256 << 10

// TestPatchedChunksInPieces: a chunk that a target's patches touch is
// written in pieces around them, whatever the chunk size (smaller than a
// piece, not a multiple of one, several): patches across a piece's or a
// chunk's boundary, several in one piece, in neighbouring pieces, in the
// last short chunk, all land whole, and the master's bytes everywhere
// else.
func TestPatchedChunksInPieces(t *testing.T) {
	content := randomBytes(3*MiB+12288, 21) // the last chunk is short
	patches := []engine.Patch{
		{Off: 0, Data: []byte("the head")},
		{Off: piece - 3, Data: []byte("across a piece")},
		{Off: MiB - 5, Data: bytes.Repeat([]byte{0xa5}, 10)}, // across a chunk of 1 MiB
		{Off: MiB + 100, Data: []byte("one")},
		{Off: MiB + 200, Data: []byte("two, in the same piece")},
		{Off: MiB + piece + 7, Data: []byte("and the next piece")},
		{Off: 2*MiB - 64<<10 - 1, Data: randomBytes(300<<10, 22)}, // over two pieces and two chunks
		{Off: 3*MiB + 12000, Data: []byte("the end")},
	}
	want := bytes.Clone(content)
	for _, pt := range patches {
		copy(want[pt.Off:], pt.Data)
	}
	for _, chunk := range []int{64 << 10, 384 << 10, MiB, 2 * MiB} {
		t.Run(fmt.Sprintf("%d KiB chunks", chunk>>10), func(t *testing.T) {
			r := newRig(t, content, sim.DriveSpec{})
			d := r.add(2, sim.DriveSpec{Content: bytes.Repeat([]byte{0xee}, len(content))})
			j := r.job(engine.CopyVerify, 2)
			j.Options.ChunkSize = chunk
			j.Targets[0].Patches = patches
			res, err := j.Run(context.Background())
			require.NoError(t, err)
			pr, ok := res.Port(2)
			require.True(t, ok)
			assert.Equal(t, engine.Pass, pr.Status, pr.Reason)
			assert.Equal(t, int64(len(content)), pr.Written)
			media, err := d.Media(0, int64(len(content)))
			require.NoError(t, err)
			assert.Equal(t, -1, firstDiffAt(want, media), "the first byte the media holds wrong")
		})
	}
}

// TestPatchedChunkWriteFails: a write error in a chunk written in pieces
// fails the port at the drive's failing byte, wherever it lies (in the
// run before a patched piece, in the patched piece, on the patch, in the
// run after it); only the chunks written whole count as written.
func TestPatchedChunkWriteFails(t *testing.T) {
	content := randomBytes(4*MiB, 23)
	const chunk3 = 2 * MiB // the failing chunk; chunk 0 goes last, chunk 1 is written whole
	for _, tc := range []struct {
		name         string
		fault, patch int64
	}{
		{"in the run before the patched piece", chunk3 + 1000, chunk3 + 2*piece + 10},
		{"in the patched piece", chunk3 + 2*piece + 4000, chunk3 + 2*piece + 10},
		{"on the patch", chunk3 + piece + 10, chunk3 + piece + 10},
		{"in the run after the patched piece", chunk3 + 3*piece + 100, chunk3 + piece + 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, content, sim.DriveSpec{})
			r.add(2, sim.DriveSpec{}, sim.Fault{Kind: sim.WriteError, Off: tc.fault})
			j := r.job(engine.CopyVerify, 2)
			j.Options.ChunkSize = MiB
			j.Targets[0].Patches = []engine.Patch{{Off: tc.patch, Data: []byte("patch")}}
			res, err := j.Run(context.Background())
			require.NoError(t, err)
			pr, ok := res.Port(2)
			require.True(t, ok)
			assert.Equal(t, engine.Fail, pr.Status)
			assert.Equal(t, engine.PhaseCopying, pr.Phase)
			assert.Equal(t, engine.CauseWrite, pr.Cause)
			assert.Equal(t, tc.fault, pr.Offset, pr.Reason)
			assert.Contains(t, pr.Reason, fmt.Sprintf("write at %d", tc.fault))
			assert.Equal(t, int64(MiB), pr.Written, "chunk 1 alone was written whole")
		})
	}
}

// TestPatchedJobWithinBudget: a job whose every target carries patches
// (a GPT master's tables, a file duplication's partition tables) keeps
// its buffers within the budget it announces, also when a slow target
// holds the window's oldest chunk, so that the fast ones make chunks of
// their own beside the pieces their patched chunks went through.
func TestPatchedJobWithinBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		content := randomBytes(8*MiB, 24)
		r := newRig(t, content, sim.DriveSpec{ReadMBps: 400})
		ports := []int{2, 3, 4, 5, 6}
		r.addEach(steadyTarget, ports[:4]...)
		r.add(6, sim.DriveSpec{WriteMBps: 5, ReadMBps: 200})
		j := r.job(engine.CopyVerify, ports...)
		j.Options.ChunkSize = piece
		j.Options.WindowChunks = 16
		for i := range j.Targets {
			j.Targets[i].Patches = []engine.Patch{{Off: 0, Data: []byte("head")}, {Off: 3*MiB + 5, Data: []byte("middle")},
				{Off: 8*MiB - 4, Data: []byte("tail")}}
		}
		run, err := engine.Start(context.Background(), j)
		require.NoError(t, err)
		res := run.Wait()
		require.True(t, res.OK(), "%+v", res.Ports)
		assert.LessOrEqual(t, res.BufferBytes, run.MemoryBudget(), "the buffers stay within the budget")
	})
}

// firstDiffAt is the index of the first byte where a and b differ, or -1.
func firstDiffAt(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}
