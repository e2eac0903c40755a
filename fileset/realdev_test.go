//go:build linux

package fileset_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/engine/disk"
	"github.com/clonebay/clonebay/engine/fatfs"
	"github.com/clonebay/clonebay/fileset"
	"github.com/clonebay/clonebay/hal/blockdev"
	"github.com/clonebay/clonebay/internal/imgtest"
	"github.com/clonebay/clonebay/internal/looptest"
)

// sourceTree writes the test set into a folder: nested folders, a few
// hundred files, Unicode names, a long name, an empty file and a 5 MiB
// file. It returns every file's SHA-256 by path.
func sourceTree(t *testing.T) (string, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(5, 6))
	sums := map[string]string{}
	write := func(p string, n int) {
		full := filepath.Join(dir, filepath.FromSlash(p))
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		require.NoError(t, os.WriteFile(full, b, 0o644))
		s := sha256.Sum256(b)
		sums[p] = hex.EncodeToString(s[:])
	}
	write("README.TXT", 900)
	write("Manual – Übersicht.pdf", 120_000)
	write("empty.txt", 0)
	write("video/promo 5 MiB.mp4", 5<<20)
	write("video/日本語/説明.txt", 3000)
	write("docs/"+strings.Repeat("long name ", 20)+"end.txt", 10)
	for i := range 250 {
		write(fmt.Sprintf("tracks/disc %d/track %03d.mp3", i/50, i), r.IntN(12_000))
	}
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "empty folder"), 0o755))
	return dir, sums
}

// garbage stands for what a used target held: a pattern over its first
// and last 8 MiB and a stretch in the middle, the rest left sparse.
func garbage(t *testing.T, path string, size int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, f.Truncate(size))
	block := bytes.Repeat([]byte{0xa5, 0x5a, 0xde, 0xad}, int(min(8<<20, size/4)/4))
	for _, off := range []int64{0, size / 2, size - int64(len(block))} {
		_, err := f.WriteAt(block, off)
		require.NoError(t, err)
	}
}

// target is a loop device over a sparse file holding garbage.
type target struct {
	size int64
	loop looptest.Device
	dev  *blockdev.Drive
}

func newTarget(t *testing.T, size int64) *target {
	t.Helper()
	file := filepath.Join(t.TempDir(), fmt.Sprintf("target-%d.img", size>>20))
	garbage(t, file, size)
	tg := &target{size: size, loop: looptest.AttachFile(t, file)}
	d, err := blockdev.OpenWrite(tg.loop.Node)
	require.NoError(t, err)
	t.Cleanup(func() { d.Close() })
	tg.dev = d
	return tg
}

// partition attaches a target's first partition on its own loop device,
// for the real tools (the kernel here does not scan partitions).
func partition(t *testing.T, tg *target) (string, string) {
	t.Helper()
	f, err := os.Open(tg.loop.File)
	require.NoError(t, err)
	defer f.Close()
	var start, size int64
	if g, err := disk.ReadGPT(f, tg.size, 512); err == nil {
		require.Len(t, g.Partitions, 1, "one partition")
		start, size = int64(g.Partitions[0].FirstLBA)*512, int64(g.Partitions[0].LastLBA-g.Partitions[0].FirstLBA+1)*512
	} else {
		m, err := disk.ReadMBR(f, tg.size, 512)
		require.NoError(t, err)
		require.Len(t, m.Partitions, 1, "one partition")
		start, size = m.Partitions[0].Start, m.Partitions[0].Size
	}
	assert.Zero(t, start%(4<<20), "the partition starts on a 4 MiB boundary")
	out := imgtest.Run(t, "losetup", "--find", "--show", "--read-only", "-o", fmt.Sprint(start), "--sizelimit", fmt.Sprint(size), tg.loop.File)
	node := strings.TrimSpace(out)
	t.Cleanup(func() { looptest.Detach(t, node) })
	blkid := strings.TrimSpace(imgtest.Run(t, "blkid", "-p", "-o", "export", node))
	return node, blkid
}

// readBack reads every file of a target's partition with mtools or
// exfat-fuse and returns their SHA-256 sums.
func readBack(t *testing.T, kind, node string) map[string]string {
	t.Helper()
	dst := t.TempDir()
	switch kind {
	case "vfat":
		imgtest.Run(t, "fsck.vfat", "-n", node)
		imgtest.Run(t, "mcopy", "-s", "-n", "-i", node, "::/", dst)
	case "exfat":
		imgtest.Run(t, "fsck.exfat", "-n", node)
		mnt := t.TempDir()
		imgtest.Run(t, "mount.exfat-fuse", "-o", "ro", node, mnt)
		defer exec.Command("fusermount", "-u", mnt).Run()
		imgtest.Run(t, "cp", "-a", mnt+"/.", dst)
	}
	sums := map[string]string{}
	require.NoError(t, filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dst, p)
		s := sha256.Sum256(b)
		sums[filepath.ToSlash(rel)] = hex.EncodeToString(s[:])
		return err
	}))
	return sums
}

// promoSet imports the source tree into a new library as "promo-2024"
// and opens it for a job: the set, the library's folder, and every
// file's SHA-256.
func promoSet(t *testing.T) (*fileset.Set, string, map[string]string) {
	t.Helper()
	src, sums := sourceTree(t)
	lib, err := fileset.OpenLibrary(t.TempDir())
	require.NoError(t, err)
	m, err := lib.Import(context.Background(), "promo-2024", os.DirFS(src), src, nil)
	require.NoError(t, err)
	require.Equal(t, len(sums), m.Files)
	set, err := lib.OpenForJob(context.Background(), "promo-2024", nil)
	require.NoError(t, err)
	return set, lib.Dir, sums
}

func TestFilesOntoLoopDevicesOfMixedSizes(t *testing.T) {
	looptest.Require(t)
	imgtest.Need(t, "mkfs.exfat", "fsck.vfat", "fsck.exfat", "mcopy", "mount.exfat-fuse", "fusermount", "blkid", "sgdisk")
	set, libDir, sums := promoSet(t)
	m := set.Manifest

	for _, tc := range []struct {
		name   string
		opts   fileset.Options
		sizes  []int64
		want   []string // blkid TYPE per target; "" for a target too small
		builds int      // volumes built
	}{
		{"auto, exFAT above 1 GiB, MBR", fileset.Options{ExFATAbove: 1 << 30}, []int64{64 << 20, 300 << 20, 2 << 30, 12 << 20}, []string{"vfat", "vfat", "exfat", ""}, 3},
		{"exFAT asked for, GPT", fileset.Options{FS: fileset.FSExFAT, Table: fileset.GPT, Label: "Promo Stick"}, []int64{300 << 20, 14 << 20}, []string{"exfat", ""}, 1},
		// One FAT32 build serves every smaller target of its cluster
		// size: each gets its own partition table, size fields, free
		// count, and FATs as long as its clusters need.
		{"FAT32 of three sizes from one build, MBR", fileset.Options{}, []int64{300 << 20, 1 << 30, 700 << 20}, []string{"vfat", "vfat", "vfat"}, 1},
		{"FAT32 of three sizes from one build, GPT", fileset.Options{Table: fileset.GPT}, []int64{700 << 20, 300 << 20, 1 << 30}, []string{"vfat", "vfat", "vfat"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var targets []*target
			var pts []engine.PortTarget
			for i, size := range tc.sizes {
				tg := newTarget(t, size)
				targets = append(targets, tg)
				pts = append(pts, engine.PortTarget{Port: i + 1, Label: tg.loop.Node, Dev: tg.dev})
			}
			small := sha256File(t, targets[len(targets)-1].loop.File)
			opts := tc.opts
			opts.WorkDir = libDir
			res, err := fileset.Run(context.Background(), set.Source(), pts, opts)
			require.NoError(t, err)
			assert.Equal(t, tc.builds, res.Builds, "volumes built")
			for i, tg := range targets {
				p, ok := res.Port(i + 1)
				require.True(t, ok)
				if tc.want[i] == "" {
					assert.Equal(t, engine.Fail, p.Status)
					assert.Equal(t, engine.CauseTooSmall, p.Cause)
					assert.Contains(t, p.Reason, "the target is too small for the set")
					t.Log(p.Reason)
					assert.Equal(t, small, sha256File(t, tg.loop.File), "a target too small is not written at all")
					continue
				}
				require.Equal(t, engine.Pass, p.Status, p.Reason)
				node, blkid := partition(t, tg)
				assert.Contains(t, blkid, "TYPE="+tc.want[i])
				wantLabel := "PROMO-2024"
				if tc.opts.Label != "" {
					wantLabel = tc.opts.Label
				}
				assert.Contains(t, blkid, "LABEL="+strings.ReplaceAll(wantLabel, " ", `\ `))
				if opts.Table == fileset.GPT {
					out := imgtest.Run(t, "sgdisk", "-v", tg.loop.File)
					imgtest.GPTGood(t, out, "both GPTs on the target's own size")
				}
				if tc.want[i] == "vfat" {
					vol, err := fatfs.Open(tg.dev, p.Layout.PartStart, p.Layout.PartSize)
					require.NoError(t, err)
					g := vol.Geometry()
					assert.Less(t, g.FATLength-int64(g.Clusters+2)*4, max(4096, g.ClusterSize),
						"port %d: FATs no longer than its own clusters need", i+1)
					assert.LessOrEqual(t, p.Written, tg.dev.Size(), "port %d: no more written than the drive holds", i+1)
				}
				got := readBack(t, tc.want[i], node)
				assert.Equal(t, sums, got, "every file, read back by the real tools")
				rec := res.Record(p)
				assert.Equal(t, fileset.Record{Mode: "files", FileSystem: p.Layout.FSName(), Label: wantLabel, Files: m.Files, Bytes: m.Bytes, FilesSHA256: m.SHA256}, rec)
				assert.Equal(t, m.Bytes, p.Bytes)
				assert.Positive(t, p.Verified)
			}
		})
	}
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	out := imgtest.Run(t, "sha256sum", path)
	return strings.Fields(out)[0]
}
