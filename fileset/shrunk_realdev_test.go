//go:build linux

package fileset_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/engine/fatfs"
	"github.com/clonebay/clonebay/fileset"
	"github.com/clonebay/clonebay/hal/blockdev"
	"github.com/clonebay/clonebay/internal/imgtest"
	"github.com/clonebay/clonebay/internal/looptest"
)

// drive is a target of the mixed-sizes test: a loop device with 512- or
// 4096-byte logical sectors, or an image file.
type drive struct {
	size   int64
	sector int // 0: an image file, not a loop device
}

// attach makes a target of garbage: a loop device of the drive's
// logical sector size, or the image file itself.
func (d drive) attach(t *testing.T) *target {
	t.Helper()
	file := filepath.Join(t.TempDir(), fmt.Sprintf("target-%d.img", d.size))
	garbage(t, file, d.size)
	tg := &target{size: d.size, loop: looptest.Device{File: file, Node: file}}
	if d.sector != 0 {
		out := imgtest.Run(t, "losetup", "--find", "--show", "--sector-size", fmt.Sprint(d.sector), file)
		tg.loop.Node = strings.TrimSpace(out)
		t.Cleanup(func() { looptest.Detach(t, tg.loop.Node) })
	}
	dev, err := blockdev.OpenWrite(tg.loop.Node)
	require.NoError(t, err)
	t.Cleanup(func() { dev.Close() })
	tg.dev = dev
	return tg
}

// TestSmallerTargetsOnRealDrives: one FAT32 build serves targets of odd
// sizes (not whole MiB, an image file not even whole sectors, one whose
// partition is the build's but whose disk is not, the smallest drive
// FAT32 takes, FAT32 asked for above 32 GiB), MBR and GPT; each passes
// as a volume fsck.vfat accepts, whose every file mtools reads back with
// the set's SHA-256, under partition tables that fit its own size, and
// counts no more written or verified than it holds. A drive of 4096-byte logical sectors among them is
// refused before anything is written to it.
func TestSmallerTargetsOnRealDrives(t *testing.T) {
	looptest.Require(t)
	imgtest.Need(t, "fsck.vfat", "mcopy", "blkid", "sgdisk")
	set, libDir, sums := promoSet(t)

	const mib, gib = 1 << 20, 1 << 30
	for _, tc := range []struct {
		name   string
		opts   fileset.Options
		drives []drive
	}{
		{"512-byte and 4096-byte sectors, odd sizes, MBR", fileset.Options{},
			[]drive{{1 * gib, 512}, {100*mib + 4096, 4096}, {700*mib + 3*512, 512}, {301*mib + 77*512, 512}}},
		{"odd sizes, an image file of part of a sector, GPT", fileset.Options{Table: fileset.GPT},
			[]drive{{1*gib + 512, 512}, {780_000_256 + 100, 0}, {1*gib - 5*512, 512}, {300*mib + 1000*512, 512}}},
		{"the smallest drive FAT32 takes, beside a 64 MiB one, MBR", fileset.Options{FS: fileset.FSFAT32},
			[]drive{{69 * mib, 512}, {37*mib + 33*512, 512}}},
		{"FAT32 asked for above 32 GiB, GPT", fileset.Options{FS: fileset.FSFAT32, Table: fileset.GPT},
			[]drive{{40 * gib, 512}, {33*gib + 12345*512, 512}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var targets []*target
			var pts []engine.PortTarget
			for i, d := range tc.drives {
				tg := d.attach(t)
				targets = append(targets, tg)
				pts = append(pts, engine.PortTarget{Port: i + 1, Label: tg.loop.Node, Dev: tg.dev})
			}
			// What must stay as it was: a refused drive, and an image
			// file's bytes short of a whole sector.
			before := map[int]string{}
			tails := map[int][]byte{}
			for i, d := range tc.drives {
				if d.sector == 4096 {
					before[i] = sha256File(t, targets[i].loop.File)
				}
				tails[i] = lastBytes(t, targets[i].loop.File, d.size%512)
			}
			opts := tc.opts
			opts.WorkDir = libDir
			res, err := fileset.Run(context.Background(), set.Source(), pts, opts)
			require.NoError(t, err)
			assert.Equal(t, 1, res.Builds, "one build serves every FAT32 target")
			for i, tg := range targets {
				p := res.Ports[i]
				if tc.drives[i].sector == 4096 {
					assert.Equal(t, engine.Fail, p.Status)
					assert.Equal(t, fileset.CauseRefused, p.Cause)
					assert.Contains(t, p.Reason, "a drive of 4096-byte logical sectors")
					assert.Equal(t, before[i], sha256File(t, tg.loop.File), "a refused drive is not written at all")
					continue
				}
				require.Equal(t, engine.Pass, p.Status, p.Reason)
				assert.LessOrEqual(t, p.Written, tg.size, "port %d: written", p.Port)
				assert.LessOrEqual(t, p.Verified, tg.size, "port %d: verified", p.Port)
				if opts.Table == fileset.GPT {
					out := imgtest.Run(t, "sgdisk", "-v", tg.loop.File)
					imgtest.GPTGood(t, out, fmt.Sprintf("port %d: both GPTs on the target's own size", p.Port))
				}
				assert.Equal(t, tails[i], lastBytes(t, tg.loop.File, tg.size%512), "port %d: bytes short of a sector are no part of the disk", p.Port)
				vol, err := fatfs.Open(tg.dev, p.Layout.PartStart, p.Layout.PartSize)
				require.NoError(t, err)
				g := vol.Geometry()
				assert.Less(t, g.FATLength-int64(g.Clusters+2)*4, max(4096, g.ClusterSize),
					"port %d: FATs no longer than its own clusters need", p.Port)
				node, blkid := partition(t, tg)
				assert.Contains(t, blkid, "TYPE=vfat")
				assert.Equal(t, sums, readBack(t, "vfat", node), "port %d: every file, read back by the real tools", p.Port)
			}
		})
	}
}

// lastBytes returns a file's last n bytes.
func lastBytes(t *testing.T, path string, n int64) []byte {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	st, err := f.Stat()
	require.NoError(t, err)
	b := make([]byte, n)
	_, err = f.ReadAt(b, st.Size()-n)
	require.NoError(t, err)
	return b
}

// TestSmallerTargetCorruptedOnItsMedia: a byte of a smaller target's
// loop file flipped after the engine wrote it and before it reads it
// back fails that port alone, naming the file or structure and the
// byte's offset on the drive, not where the view put it.
func TestSmallerTargetCorruptedOnItsMedia(t *testing.T) {
	looptest.Require(t)
	const mib = 1 << 20
	set, libDir, _ := promoSet(t)
	large, small := drive{size: 1 << 30, sector: 512}.attach(t), drive{size: 300*mib + 7*512, sector: 512}.attach(t)
	pts := []engine.PortTarget{{Port: 1, Label: large.loop.Node, Dev: large.dev}, {Port: 2, Label: small.loop.Node, Dev: small.dev}}
	// flip is where to flip a byte of the smaller drive's file as its
	// verify starts; < 0: nowhere.
	run := func(flip int64) (fileset.PortResult, fileset.PortResult) {
		opts := fileset.Options{Table: fileset.GPT, WorkDir: libDir}
		flipped := false
		opts.Engine.OnProgress = func(p engine.Progress) {
			if p.Port != 2 || p.Phase != engine.PhaseVerifying || flip < 0 || flipped {
				return
			}
			flipped = true // on the port's goroutine: assert, never require
			f, err := os.OpenFile(small.loop.File, os.O_RDWR, 0)
			if !assert.NoError(t, err) {
				return
			}
			defer f.Close()
			b := make([]byte, 1)
			_, err = f.ReadAt(b, flip)
			assert.NoError(t, err)
			b[0] ^= 0xff
			_, err = f.WriteAt(b, flip)
			assert.NoError(t, err)
		}
		res, err := fileset.Run(context.Background(), set.Source(), pts, opts)
		require.NoError(t, err)
		require.Equal(t, 1, res.Builds, "the smaller target is written from the larger one's build")
		assert.Equal(t, flip >= 0, flipped)
		p1, _ := res.Port(1)
		p2, _ := res.Port(2)
		return p1, p2
	}

	// Where things lie on the smaller drive: the layout is deterministic,
	// so a clean run shows it.
	_, clean := run(-1)
	require.Equal(t, engine.Pass, clean.Status, clean.Reason)
	vol, err := fatfs.Open(small.dev, clean.Layout.PartStart, clean.Layout.PartSize)
	require.NoError(t, err)
	g := vol.Geometry()
	video, err := vol.FileExtents("video/promo 5 MiB.mp4")
	require.NoError(t, err)
	fat2 := clean.Layout.PartStart + g.FATOffset + g.FATLength

	for _, tc := range []struct {
		name   string
		at     int64
		reason string
	}{
		{"in a file of the moved heap", video[0].Off + 3*mib + 17,
			fmt.Sprintf("file video/promo 5 MiB.mp4 differs from the set, first at byte %d of the file, %d of the drive", 3*mib+17, video[0].Off+3*mib+17)},
		{"in the moved second FAT", fat2 + 8,
			fmt.Sprintf("the FAT32 file system area differs, first at byte %d of the drive", fat2+8)},
		{"in the backup GPT", small.size - 512 - 16*1024 + 3,
			fmt.Sprintf("the area after the partition differs, first at byte %d of the drive", small.size-512-16*1024+3)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p1, p2 := run(tc.at)
			assert.Equal(t, engine.Pass, p1.Status, "the other target is not held back: %s", p1.Reason)
			assert.Equal(t, engine.Fail, p2.Status)
			assert.Equal(t, engine.CauseMismatch, p2.Cause)
			assert.Equal(t, tc.at, p2.Offset, "on the drive")
			assert.Contains(t, p2.Reason, tc.reason)
		})
	}
}
