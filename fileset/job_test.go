//go:build linux

package fileset_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/engine/fatfs"
	"github.com/clonebay/clonebay/fileset"
	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/internal/imgtest"
	"github.com/clonebay/clonebay/sim"
)

// memSet is a small set held in memory: its manifest made by Hash, as a
// job straight from a folder would.
func memSet(t *testing.T, files map[string]string) fileset.Source {
	t.Helper()
	mod := time.Date(2024, 1, 2, 3, 4, 6, 0, time.UTC)
	fsys := fstest.MapFS{}
	for p, data := range files {
		fsys[p] = &fstest.MapFile{Data: []byte(data), Mode: 0o644, ModTime: mod}
	}
	m, err := fileset.Hash(context.Background(), fsys, "memory", nil)
	require.NoError(t, err)
	return fileset.Source{Manifest: m, Files: fsys, ID: "memory"}
}

func simTarget(t *testing.T, size int64, faults ...sim.Fault) (*sim.Drive, hal.Drive) {
	t.Helper()
	d, err := sim.NewDrive(sim.DriveSpec{Size: size})
	require.NoError(t, err)
	t.Cleanup(func() { d.Close() })
	for _, f := range faults {
		d.Inject(f)
	}
	h, err := d.Open(true)
	require.NoError(t, err)
	t.Cleanup(func() { h.Close() })
	return d, h
}

func TestSilentCorruptionFailsNamingTheFile(t *testing.T) {
	src := memSet(t, map[string]string{
		"a.txt":            strings.Repeat("a", 5000),
		"folder/big.bin":   strings.Repeat("0123456789", 100_000),
		"folder/small.txt": "small",
	})
	m := src.Manifest
	// Where big.bin lands: the layout is deterministic, so a clean run on
	// a sound drive shows it.
	lay, err := fileset.Plan(m, 64<<20, 512, "", "", "", 0)
	require.NoError(t, err)
	_, sound := simTarget(t, 64<<20)
	res, err := fileset.Run(context.Background(), src, []engine.PortTarget{{Port: 1, Dev: sound}}, fileset.Options{WorkDir: t.TempDir()})
	require.NoError(t, err)
	require.True(t, res.OK(), res.Ports[0].Reason)
	vol, err := fatfs.Open(sound, lay.PartStart, lay.PartSize)
	require.NoError(t, err)
	ex, err := vol.FileExtents("folder/big.bin")
	require.NoError(t, err)

	bad := ex[0].Off + 300_000
	_, corrupt := simTarget(t, 64<<20, sim.Fault{Kind: sim.Corrupt, Off: bad, Len: 512})
	_, other := simTarget(t, 64<<20)
	res, err = fileset.Run(context.Background(), src, []engine.PortTarget{{Port: 1, Dev: corrupt}, {Port: 2, Dev: other}},
		fileset.Options{WorkDir: t.TempDir()})
	require.NoError(t, err)
	p, _ := res.Port(1)
	assert.Equal(t, engine.Fail, p.Status)
	assert.Equal(t, engine.CauseMismatch, p.Cause)
	assert.Equal(t, engine.PhaseVerifying, p.Phase)
	assert.Contains(t, p.Reason, "file folder/big.bin differs from the set")
	assert.Equal(t, bad, p.Offset, "the first wrong byte on the drive")
	assert.Regexp(t, regexp.MustCompile(`first at byte 300000 of the file`), p.Reason)
	p2, _ := res.Port(2)
	assert.Equal(t, engine.Pass, p2.Status, "the other target is not held back")
}

func TestRefusedTargetsAreNotWritten(t *testing.T) {
	imgtest.Need(t, "mkfs.exfat")
	src := memSet(t, map[string]string{"one.bin": strings.Repeat("x", 8<<20), "two.txt": "two"})
	for _, tc := range []struct {
		name  string
		size  int64
		opts  fileset.Options
		cause engine.Cause
		msg   string
	}{
		{"too small for FAT32", 36 << 20, fileset.Options{FS: fileset.FSFAT32}, engine.CauseTooSmall, "a FAT32 volume needs at least 33 MB"},
		{"too small for the set", 14 << 20, fileset.Options{FS: fileset.FSExFAT}, engine.CauseTooSmall, "the files need"},
		{"a label FAT cannot hold", 64 << 20, fileset.Options{Label: "a:b"}, fileset.CauseRefused, `"a:b" holds ':'`},
		{"a file system not made", 64 << 20, fileset.Options{FS: "ntfs"}, fileset.CauseRefused, `file system "ntfs"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, h := simTarget(t, tc.size)
			opts := tc.opts
			opts.WorkDir = t.TempDir()
			res, err := fileset.Run(context.Background(), src, []engine.PortTarget{{Port: 3, Dev: h}}, opts)
			require.NoError(t, err)
			p, _ := res.Port(3)
			assert.Equal(t, engine.Fail, p.Status)
			assert.Equal(t, tc.cause, p.Cause)
			assert.Contains(t, p.Reason, tc.msg)
			assert.Zero(t, d.Stats().BytesWritten, "nothing was written")
			left, err := os.ReadDir(opts.WorkDir)
			require.NoError(t, err)
			assert.Empty(t, left, "the job's volume images are gone")
		})
	}
}

func TestPlan(t *testing.T) {
	m := &fileset.Manifest{Name: "Promo 2024!", Files: 1, Bytes: 10 << 20,
		Entries: []fileset.Entry{{Path: "a.bin", Size: 10 << 20}}, Largest: fileset.Entry{Path: "a.bin", Size: 10 << 20}}
	big := &fileset.Manifest{Name: "iso", Files: 1, Bytes: 5 << 30,
		Entries: []fileset.Entry{{Path: "dvd.iso", Size: 5 << 30}}, Largest: fileset.Entry{Path: "dvd.iso", Size: 5 << 30}}
	const mib, gib = 1 << 20, 1 << 30
	for _, tc := range []struct {
		name    string
		m       *fileset.Manifest
		size    int64
		fs      string
		above   int64
		wantFS  fatfs.Kind
		cluster int64
		err     error
	}{
		{"64 MiB: FAT32, 512-byte clusters", m, 64 * mib, "", 0, fatfs.FAT32, 512, nil},
		{"300 MiB: FAT32, 4 KiB", m, 300 * mib, "", 0, fatfs.FAT32, 4096, nil},
		{"a 16 GB card: FAT32, 8 KiB", m, 16_000_000_000, "", 0, fatfs.FAT32, 8192, nil},
		{"a 32 GB card: FAT32, 16 KiB", m, 31_900_000_000, "", 0, fatfs.FAT32, 16 << 10, nil},
		{"a 64 GB card: exFAT, 128 KiB", m, 64_000_000_000, "", 0, fatfs.ExFAT, 128 << 10, nil},
		{"2 GiB above a 1 GiB threshold: exFAT, 32 KiB", m, 2 * gib, "", 1 * gib, fatfs.ExFAT, 32 << 10, nil},
		{"exFAT asked for on 200 MiB: 4 KiB", m, 200 * mib, "exfat", 0, fatfs.ExFAT, 4096, nil},
		{"a 5 GiB file makes auto pick exFAT", big, 16 * gib, "", 0, fatfs.ExFAT, 32 << 10, nil},
		{"a 5 GiB file refuses FAT32", big, 16 * gib, "fat32", 0, 0, 0, fileset.ErrTooLarge},
		{"8 MiB leaves no volume", m, 8 * mib, "", 0, 0, 0, fileset.ErrTooSmall},
		{"24 MiB is too small for FAT32: auto picks exFAT", m, 24 * mib, "", 0, fatfs.ExFAT, 4096, nil},
		{"24 MiB with FAT32 asked for", m, 24 * mib, "fat32", 0, 0, 0, fileset.ErrTooSmall},
		{"12 MiB cannot hold 10 MiB", m, 12 * mib, "exfat", 0, 0, 0, fileset.ErrTooSmall},
		{"ntfs is not made", m, gib, "ntfs", 0, 0, 0, fileset.ErrUnsupported},
		{"FAT32 asked for on 2 TiB: the largest FAT32 volume", m, 2048*gib + 4*mib, "fat32", 0, fatfs.FAT32, 32 << 10, nil},
		{"FAT32 asked for on 3 TiB: no FAT32 volume fills it", m, 3072 * gib, "fat32", 0, 0, 0, fileset.ErrUnsupported},
		{"auto on 3 TiB above a 4 TiB threshold: exFAT", m, 3072 * gib, "", 4096 * gib, fatfs.ExFAT, 128 << 10, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := fileset.Plan(tc.m, tc.size, 512, tc.fs, "", "", tc.above)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantFS, l.FS)
			assert.Equal(t, tc.cluster, l.ClusterSize)
			assert.Equal(t, int64(4*mib), l.PartStart)
			assert.Zero(t, l.PartEnd()%mib)
			assert.LessOrEqual(t, l.PartEnd(), tc.size-33*512, "room for a backup GPT")
		})
	}
	l, err := fileset.Plan(m, 64<<20, 512, "", "", "", 0)
	require.NoError(t, err)
	assert.Equal(t, "PROMO_2024_", l.Label, "the label comes from the set's name")
	l, err = fileset.Plan(m, 300<<20+100, 512, "", fileset.GPT, "", 0)
	require.NoError(t, err)
	assert.Equal(t, int64(300<<20), l.DiskSize, "an image file's bytes short of a sector are no part of its disk")
	_, err = fileset.Plan(m, 64<<20, 4096, "", "", "", 0)
	assert.ErrorIs(t, err, fileset.ErrUnsupported)
}

func TestImportedSetIsCheckedAndDamageIsFound(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sub", "a.txt"), []byte("hello"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "b.txt"), []byte("world"), 0o644))
	lib, err := fileset.OpenLibrary(t.TempDir())
	require.NoError(t, err)
	m, err := lib.Import(context.Background(), "s1", os.DirFS(dir), dir, nil)
	require.NoError(t, err)
	assert.Equal(t, 2, m.Files)
	assert.Equal(t, 1, m.Folders)
	assert.Equal(t, int64(10), m.Bytes)
	assert.Equal(t, fileset.ListingSHA256(m.Entries), m.SHA256)
	require.NoError(t, lib.Check(context.Background(), "s1", nil))

	_, err = lib.Import(context.Background(), "s1", os.DirFS(dir), dir, nil)
	assert.ErrorIs(t, err, fileset.ErrExists)

	stored := filepath.Join(lib.Dir, "s1", "files", "sub", "a.txt")
	require.NoError(t, os.WriteFile(stored, []byte("HELLO"), 0o644))
	err = lib.Check(context.Background(), "s1", nil)
	require.ErrorIs(t, err, fileset.ErrDamaged)
	assert.Contains(t, err.Error(), "sub/a.txt hashes to")

	require.NoError(t, os.WriteFile(filepath.Join(lib.Dir, "s1", "files", "extra.txt"), nil, 0o644))
	err = lib.Check(context.Background(), "s1", nil)
	assert.ErrorIs(t, err, fileset.ErrDamaged)
	assert.Contains(t, err.Error(), "extra.txt is stored but not listed")
	require.NoError(t, lib.Remove("s1"))
	_, err = lib.Info("s1")
	assert.ErrorIs(t, err, fileset.ErrNotFound)
}

// The set is checked against its manifest once a job, on the bytes the
// targets were written from: a file whose bytes are not the manifest's
// fails every target, naming the file, even though each target holds
// exactly what it was sent.
func TestSetThatDoesNotMatchItsManifestFails(t *testing.T) {
	src := memSet(t, map[string]string{
		"a.txt":          strings.Repeat("a", 5000),
		"folder/big.bin": strings.Repeat("0123456789", 100_000),
	})
	// Same size, other bytes: only the SHA-256 can tell.
	src.Files.(fstest.MapFS)["folder/big.bin"].Data[123_456] = 'x'
	_, small := simTarget(t, 64<<20)
	_, large := simTarget(t, 300<<20) // another size: a second volume, read separately
	res, err := fileset.Run(context.Background(), src, []engine.PortTarget{{Port: 1, Dev: small}, {Port: 2, Dev: large}},
		fileset.Options{WorkDir: t.TempDir()})
	require.NoError(t, err)
	for _, port := range []int{1, 2} {
		p, ok := res.Port(port)
		require.True(t, ok)
		assert.Equal(t, engine.Fail, p.Status, "port %d", port)
		assert.Contains(t, p.Reason, "the set does not match its manifest: folder/big.bin hashes to")
	}
}

// TestBudgetHoldsTheBuffers: a job tells its caller what its buffers may
// take before it writes anything, and they take no more; at 1 -> 16 of
// two builds the budget leaves room within the appliance's 64 MiB.
func TestBudgetHoldsTheBuffers(t *testing.T) {
	files := map[string]string{}
	for i := range 40 {
		files[fmt.Sprintf("f%02d.bin", i)] = strings.Repeat(fmt.Sprint(i), 60_000)
	}
	src := memSet(t, files)
	var targets []engine.PortTarget
	for i := range 16 {
		size := int64(200 << 20)
		if i%2 == 1 {
			size = 2 << 30 // of another cluster size: a build of its own
		}
		_, d := simTarget(t, size)
		targets = append(targets, engine.PortTarget{Port: i + 1, Dev: d})
	}
	var budgets []int64
	res, err := fileset.Run(context.Background(), src, targets, fileset.Options{WorkDir: t.TempDir(), OnBudget: func(b int64) { budgets = append(budgets, b) }})
	require.NoError(t, err)
	require.True(t, res.OK())
	assert.Equal(t, 2, res.Builds)
	require.Len(t, budgets, 1, "told once")
	assert.LessOrEqual(t, res.BufferBytes, budgets[0], "the engine's buffers stay within the budget")
	const process = 21 << 20 // the runtime, the file system checks' FAT blocks, the manifest, the builds' leftovers
	assert.LessOrEqual(t, budgets[0]+process, int64(64<<20), "room within 64 MiB for the process and the checks beside the buffers")
}

// TestSmallerTargetServedByTheLargerBuild: a set that fits a smaller
// target's own volume is written to it from the larger target's build,
// with FATs of its own length; a set too large for the smaller target
// fails it naming its own size, while the larger one passes.
func TestSmallerTargetServedByTheLargerBuild(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		name   string
		size   int // of the set's one file
		builds int
		small  engine.Status
	}{
		{"fits its own volume", 144*mib + 200<<10, 1, engine.Pass},
		{"fits only the larger", 144*mib + 700<<10, 1, engine.Fail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := memSet(t, map[string]string{"video.mp4": strings.Repeat("v", tc.size)})
			_, large := simTarget(t, 256*mib) // 2 KiB clusters both: one build could serve both
			_, small := simTarget(t, 150*mib)
			res, err := fileset.Run(context.Background(), src, []engine.PortTarget{{Port: 1, Dev: large}, {Port: 2, Dev: small}},
				fileset.Options{WorkDir: t.TempDir()})
			require.NoError(t, err)
			assert.Equal(t, tc.builds, res.Builds)
			p1, _ := res.Port(1)
			assert.Equal(t, engine.Pass, p1.Status, p1.Reason)
			p2, _ := res.Port(2)
			assert.Equal(t, tc.small, p2.Status, p2.Reason)
			if tc.small == engine.Fail {
				assert.Equal(t, engine.CauseTooSmall, p2.Cause)
				assert.Contains(t, p2.Reason, "the 157.28 MB target holds", "its own size, from its own build")
			}
		})
	}
}
