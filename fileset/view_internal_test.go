package fileset

import (
	"bytes"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/engine/fatfs"
)

// memDrive is a drive in memory.
type memDrive struct{ b []byte }

func (d *memDrive) ReadAt(p []byte, off int64) (int, error)  { return copy(p, d.b[off:]), nil }
func (d *memDrive) WriteAt(p []byte, off int64) (int, error) { return copy(d.b[off:], p), nil }
func (d *memDrive) Size() int64                              { return int64(len(d.b)) }
func (d *memDrive) ID() string                               { return "memory" }
func (d *memDrive) DropCaches() error                        { return nil }
func (d *memDrive) Sync() error                              { return nil }

// failingDrive fails writes that reach at, after writing the bytes
// before it.
type failingDrive struct {
	*memDrive
	at int64
}

func (d *failingDrive) WriteAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) <= d.at {
		return d.memDrive.WriteAt(p, off)
	}
	n, _ := d.memDrive.WriteAt(p[:max(0, d.at-off)], off)
	return n, errors.New("input/output error")
}

// TestShrunk: a smaller target seen as its build's disk. Each FAT keeps
// its first bytes and moves down by what the FATs before it lost, the
// heap moves down by what both lost, the FATs' cut ends and the build's
// bytes past the target's volume are nowhere (zeros only), and the
// target's end after its partition is seen past the build's.
func TestShrunk(t *testing.T) {
	const kib, mib = 1 << 10, 1 << 20
	g := fatfs.Geometry{SectorSize: 512, ClusterSize: 4 * kib, FATOffset: 16 * kib, FATLength: 64 * kib, FATs: 2, Heap: 144 * kib}
	built := Layout{PartStart: 4 * mib, PartSize: 60 * mib, DiskSize: 64 * mib}
	l := Layout{PartStart: 4 * mib, PartSize: 28 * mib, DiskSize: 32*mib + 8*kib}
	d := &memDrive{b: make([]byte, l.DiskSize)}
	v, err := shrink(d, built, l, g, 32*kib, 5*mib)
	require.NoError(t, err)
	assert.Equal(t, int64(64*mib+8*kib), v.Size(), "the build's disk and the target's end")
	assert.Equal(t, l.DiskSize, v.Size()-v.nowhere([]engine.Extent{{Off: 0, Len: v.Size()}}), "every byte of the drive has one place in the view")

	const fat, heap = 4*mib + 16*kib, 4*mib + 144*kib
	assert.Equal(t, int64(64*kib), v.nowhere([]engine.Extent{{Off: fat, Len: 128 * kib}}), "the FATs' cut ends")
	for _, tc := range []struct {
		name    string
		off, at int64
	}{
		{"partition table", 512, 512},
		{"boot sectors", 4 * mib, 4 * mib},
		{"first FAT", fat + 100, fat + 100},
		{"first FAT's cut end", fat + 32*kib, -1},
		{"second FAT", fat + 64*kib + 8, fat + 32*kib + 8},
		{"second FAT's cut end", fat + 127*kib, -1},
		{"cluster 2", heap, heap - 64*kib},
		{"the target's last cluster byte", heap + 28*mib - 80*kib - 1, 32*mib - 1},
		{"past the target's volume", heap + 28*mib - 80*kib, -1},
		{"the target's end", 64 * mib, 32 * mib},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.at, v.place(tc.off))
		})
	}

	// A write across the first FAT's end: its bytes where they belong,
	// the cut end's zeros nowhere, and the second FAT right after.
	p := make([]byte, 64*kib)
	for i := range 16 * kib {
		p[i] = 0xf0 // the first FAT's last bytes
	}
	copy(p[48*kib:], bytes.Repeat([]byte{0xf1}, 16*kib)) // the second FAT's first bytes
	n, err := v.WriteAt(p, fat+16*kib)
	require.NoError(t, err)
	assert.Equal(t, len(p), n)
	assert.Equal(t, bytes.Repeat([]byte{0xf0}, 16*kib), d.b[fat+16*kib:fat+32*kib], "the first FAT's last bytes")
	assert.Equal(t, bytes.Repeat([]byte{0xf1}, 16*kib), d.b[fat+32*kib:fat+48*kib], "the second FAT, moved down")
	assert.Equal(t, 32*kib, int(v.dropped.Load()), "the cut end, whose zeros went nowhere")

	got := make([]byte, len(p))
	_, err = v.ReadAt(got, fat+16*kib)
	require.NoError(t, err)
	assert.Equal(t, p, got, "read back as the engine wrote it")

	p[40*kib] = 1 // a FAT entry in use past the target's clusters
	_, err = v.WriteAt(p, fat+16*kib)
	var pe *placeError
	require.True(t, errors.As(err, &pe), "%v", err)
	assert.Equal(t, int64(fat+56*kib), pe.off)

	// A drive that fails partway is named where it failed: on the drive,
	// not where the view put its bytes.
	bad := &failingDrive{memDrive: d, at: fat + 40*kib} // in the second FAT, moved down
	fv, err := shrink(bad, built, l, g, 32*kib, 5*mib)
	require.NoError(t, err)
	n, err = fv.WriteAt(make([]byte, 64*kib), fat+32*kib) // the first FAT's cut end, then the second FAT
	var o interface{ Offset() int64 }
	require.True(t, errors.As(err, &o), "%v", err)
	assert.Equal(t, int64(fat+40*kib), o.Offset())
	assert.Equal(t, 40*kib, n, "the bytes before the failure")
	assert.Zero(t, fv.dropped.Load(), "a write that failed counts nothing dropped")

	_, err = shrink(d, built, l, g, 32*kib, heap+28*mib)
	assert.ErrorIs(t, err, fatfs.ErrNoSpace, "files past the target's volume")
	odd := g
	odd.FATLength = 64*kib + 256
	_, err = shrink(d, built, l, odd, 32*kib, 5*mib)
	assert.ErrorIs(t, err, fatfs.ErrNoSpace, "bounds inside a sector")
}
