//go:build linux

package engine_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/internal/imgtest"
	"github.com/clonebay/clonebay/sim"
)

// partSpec is one partition of a test master.
type partSpec struct {
	fs    string // imgtest file-system kind, or "raw" for random bytes
	start int64  // MiB
	size  int64  // MiB
	files imgtest.Files
}

type masterSpec struct {
	name  string
	table string // "gpt" or "mbr"
	size  int64  // MiB
	parts []partSpec
}

// The masters are as small as their file systems allow (FAT32 needs 33
// MB), with free space after the last partition, so a target smaller
// than the master still holds the used area.
var masters = []masterSpec{
	{"gpt", "gpt", 96, []partSpec{
		{fs: "fat16", start: 1, size: 16, files: imgtest.SomeFiles(6, 1)},
		{fs: "ext4", start: 17, size: 24, files: imgtest.SomeFiles(8, 2)},
		{fs: "ntfs", start: 41, size: 24, files: imgtest.SomeFiles(5, 3)},
	}},
	{"mbr", "mbr", 96, []partSpec{
		{fs: "fat32", start: 1, size: 34, files: imgtest.SomeFiles(6, 4)},
		{fs: "exfat", start: 35, size: 16, files: imgtest.SomeFiles(6, 5)},
		{fs: "ext4", start: 52, size: 24, files: imgtest.SomeFiles(6, 6)}, // a logical partition
	}},
}

// buildMaster makes a partitioned master image with the real tools and
// returns its path.
func buildMaster(t *testing.T, m masterSpec) string {
	dir := t.TempDir()
	img := filepath.Join(dir, m.name+".img")
	imgtest.Sparse(t, img, m.size<<20)
	switch m.table {
	case "gpt":
		imgtest.Need(t, "sgdisk")
		args := []string{}
		types := []string{"ef00", "8300", "0700"}
		for i, p := range m.parts {
			args = append(args, "-n", fmt.Sprintf("%d:%d:%d", i+1, p.start<<11, (p.start+p.size)<<11-1), "-t", fmt.Sprintf("%d:%s", i+1, types[i%3]))
		}
		imgtest.Run(t, "sgdisk", append(args, img)...)
	case "mbr":
		imgtest.Need(t, "sfdisk")
		p := m.parts
		script := fmt.Sprintf("label: dos\nunit: sectors\nstart=%d, size=%d, type=c, bootable\nstart=%d, size=%d, type=7\nstart=%d, type=5\nstart=%d, size=%d, type=83\n",
			p[0].start<<11, p[0].size<<11, p[1].start<<11, p[1].size<<11, (p[2].start-1)<<11, p[2].start<<11, p[2].size<<11)
		runWith(t, script, "sfdisk", "-q", img)
	}
	out, err := os.OpenFile(img, os.O_WRONLY, 0)
	require.NoError(t, err)
	defer out.Close()
	for i, p := range m.parts {
		part := filepath.Join(dir, fmt.Sprintf("p%d.img", i))
		imgtest.Filesystem(t, p.fs, part, p.size<<20, p.files)
		in, err := os.Open(part)
		require.NoError(t, err)
		_, err = io.Copy(io.NewOffsetWriter(out, p.start<<20), in)
		in.Close()
		require.NoError(t, err)
	}
	return img
}

func runWith(t *testing.T, stdin string, name string, args ...string) {
	t.Helper()
	cmd := exec(name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s %v: %s", name, args, out)
}

// checkClone checks a clone with the real tools: the partition table, and
// each partition's file system and files.
func checkClone(t *testing.T, m masterSpec, clone string) {
	t.Helper()
	switch m.table {
	case "gpt":
		out := imgtest.Run(t, "sgdisk", "-v", clone)
		imgtest.GPTGood(t, out, "the clone")
	case "mbr":
		out := imgtest.Run(t, "sfdisk", "-d", clone)
		assert.Contains(t, out, "type=5", "the extended partition is there")
	}
	f, err := os.Open(clone)
	require.NoError(t, err)
	defer f.Close()
	for i, p := range m.parts {
		part := filepath.Join(t.TempDir(), fmt.Sprintf("clone-p%d.img", i))
		pf, err := os.Create(part)
		require.NoError(t, err)
		_, err = io.Copy(pf, io.NewSectionReader(f, p.start<<20, p.size<<20))
		require.NoError(t, err)
		require.NoError(t, pf.Close())
		imgtest.Check(t, p.fs, part)
		got := imgtest.ReadFiles(t, p.fs, part, slices.Sorted(mapsKeys(p.files)))
		assert.Equal(t, p.files.Sums(), got.Sums(), "partition %d (%s): the files equal the master's", i+1, p.fs)
	}
}

func mapsKeys(fs imgtest.Files) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range fs {
			if !yield(k) {
				return
			}
		}
	}
}

// TestBootableCopies clones real masters in every copy area onto larger
// and smaller targets full of old data, and checks the clones with the
// real tools.
func TestBootableCopies(t *testing.T) {
	imgtest.Need(t, "sgdisk", "sfdisk", "mkfs.vfat", "mkfs.ext4", "mkntfs", "mkfs.exfat", "e2fsck", "ntfsfix", "fsck.exfat")
	for _, m := range masters {
		t.Run(m.name, func(t *testing.T) {
			master := buildMaster(t, m)
			for _, tc := range []struct {
				area   engine.Area
				target int64 // MiB
				fails  bool
			}{
				{engine.WholeMedia{}, 120, false},
				{engine.WholeMedia{}, 80, true},
				{engine.UsedArea{}, 120, false},
				{engine.UsedArea{}, 80, false},
				{engine.Smart{}, 120, false},
				{engine.Smart{}, 80, false},
			} {
				t.Run(fmt.Sprintf("%s onto %d MiB", tc.area.Name(), tc.target), func(t *testing.T) {
					clone := filepath.Join(t.TempDir(), "clone.img")
					imgtest.Garbage(t, clone, tc.target<<20)
					src := fileDrive(t, master)
					dst := fileDrive(t, clone)
					res, err := engine.Job{Source: src, Area: tc.area, Targets: []engine.PortTarget{{Port: 2, Dev: dst}}}.Run(context.Background())
					require.NoError(t, err)
					pr := res.Ports[0]
					if tc.fails {
						assert.Equal(t, engine.CauseTooSmall, pr.Cause, pr.Reason)
						return
					}
					require.Equal(t, engine.Pass, pr.Status, pr.Reason)
					t.Logf("%s: %s of %s copied", tc.area.Name(), engine.FormatSize(res.Bytes), engine.FormatSize(res.SourceSize))
					if _, smart := tc.area.(engine.Smart); smart {
						assert.Less(t, res.Bytes, res.SourceSize/2, "smart copies a fraction of the master")
					}
					require.NoError(t, dst.Close())
					checkClone(t, m, clone)
				})
			}
		})
	}
}

// fileDrive opens an image file as a simulated drive backed by it.
func fileDrive(t *testing.T, path string) hal.Drive {
	st, err := os.Stat(path)
	require.NoError(t, err)
	d, err := sim.NewDrive(sim.DriveSpec{Size: st.Size(), File: path})
	require.NoError(t, err)
	t.Cleanup(func() { d.Close() })
	h, err := d.Open(true)
	require.NoError(t, err)
	return h
}

// gptMaster makes a 16 MiB GPT master image with one 4 MiB partition.
func gptMaster(t *testing.T) string {
	t.Helper()
	imgtest.Need(t, "sgdisk")
	master := filepath.Join(t.TempDir(), "master.img")
	imgtest.Sparse(t, master, 16<<20)
	imgtest.Run(t, "sgdisk", "-n", "1:2048:+4M", "-t", "1:8300", master)
	return master
}

// TestRewrittenGPTIsVerified: the GPT structures a larger target gets are
// read back too. A target that corrupts a byte of a chunk that carries
// them fails at that byte, inside the rebuilt structures or beside them;
// one that corrupts nothing passes, with no buffer beyond a chunk and a
// piece a port.
func TestRewrittenGPTIsVerified(t *testing.T) {
	master := gptMaster(t)
	const size = 32 << 20
	for _, tc := range []struct {
		name    string
		area    engine.Area
		corrupt int64 // -1: none
	}{
		{"whole media, intact", engine.WholeMedia{}, -1},
		{"used area, intact", engine.UsedArea{}, -1},
		{"whole media, the new backup header's CRC", engine.WholeMedia{}, size - 512 + 20},
		{"used area, the new backup header's CRC", engine.UsedArea{}, size - 512 + 20},
		{"whole media, a primary entry", engine.WholeMedia{}, 1024 + 40},
		{"whole media, beside the primary table", engine.WholeMedia{}, 64<<10 + 7},
		{"whole media, beside the master's old backup table", engine.WholeMedia{}, 16<<20 - 64<<10 + 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := sim.MustDrive(sim.DriveSpec{Size: size})
			if tc.corrupt >= 0 {
				d.Inject(sim.Fault{Kind: sim.Corrupt, Off: tc.corrupt, Len: 1})
			}
			h, err := d.Open(true)
			require.NoError(t, err)
			res, err := engine.Job{Source: fileDrive(t, master), Area: tc.area,
				Targets: []engine.PortTarget{{Port: 2, Dev: h}}}.Run(context.Background())
			require.NoError(t, err)
			pr := res.Ports[0]
			if tc.corrupt < 0 {
				require.Equal(t, engine.Pass, pr.Status, pr.Reason)
				// The window (the master's 16 chunks), the port's own chunk,
				// the re-check's, and the piece the patched chunks are
				// written through: they and the new backup table outside the
				// plan are read back into the port's own.
				assert.LessOrEqual(t, res.BufferBytes, int64(16+1+1)<<20+256<<10)
				return
			}
			require.Equal(t, engine.Fail, pr.Status)
			assert.Equal(t, engine.CauseMismatch, pr.Cause, pr.Reason)
			assert.Equal(t, tc.corrupt, pr.Offset, pr.Reason)
		})
	}
}

// TestCleanDiscardsWhatIsSkipped: with Clean, a target that can discard
// gets what the plan skips discarded (the simulator zeroes it), instead of
// keeping its old contents.
func TestCleanDiscardsWhatIsSkipped(t *testing.T) {
	master := gptMaster(t)
	for _, clean := range []bool{false, true} {
		old := make([]byte, 24<<20)
		for i := range old {
			old[i] = 0xa5
		}
		d := sim.MustDrive(sim.DriveSpec{Size: 24 << 20, Content: old})
		h, err := d.Open(true)
		require.NoError(t, err)
		res, err := engine.Job{Source: fileDrive(t, master), Area: engine.UsedArea{}, Options: engine.Options{Clean: clean},
			Targets: []engine.PortTarget{{Port: 2, Dev: h}}}.Run(context.Background())
		require.NoError(t, err)
		require.True(t, res.OK(), "%+v", res.Ports)
		tail, err := d.Media(12<<20, 4096)
		require.NoError(t, err)
		if clean {
			require.Equal(t, make([]byte, 4096), tail, "discarded")
			require.Positive(t, res.Ports[0].Discarded)
		} else {
			require.Equal(t, old[:4096], tail, "old contents stay")
			require.Zero(t, res.Ports[0].Discarded)
		}
	}
}

// TestDamagedPrimaryGPT: a master whose primary GPT header is damaged but
// whose backup is good is copied in every area, as sgdisk would read it:
// from the backup, saying so in the plan, and every target gets a good
// primary and backup (sgdisk -v finds no problem) and the master's files.
// The master itself is never written.
func TestDamagedPrimaryGPT(t *testing.T) {
	imgtest.Need(t, "sgdisk", "mkfs.vfat", "mkfs.ext4", "e2fsck")
	m := masterSpec{"gpt-damaged", "gpt", 24, []partSpec{
		{fs: "fat16", start: 1, size: 10, files: imgtest.SomeFiles(3, 21)},
		{fs: "ext4", start: 11, size: 12, files: imgtest.SomeFiles(3, 22)},
	}}
	master := buildMaster(t, m)
	f, err := os.OpenFile(master, os.O_RDWR, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte{0xff}, 512+40) // the first usable LBA, under the header's CRC
	require.NoError(t, err)
	require.NoError(t, f.Close())
	before := imgtest.Run(t, "sha256sum", master)

	for _, area := range []engine.Area{engine.WholeMedia{}, engine.UsedArea{}, engine.Smart{}} {
		for _, size := range []int64{24, 32} {
			t.Run(fmt.Sprintf("%s onto %d MiB", area.Name(), size), func(t *testing.T) {
				clone := filepath.Join(t.TempDir(), "clone.img")
				imgtest.Garbage(t, clone, size<<20)
				d, err := sim.NewDrive(sim.DriveSpec{Size: 24 << 20, File: master})
				require.NoError(t, err)
				t.Cleanup(func() { d.Close() })
				src, err := d.Open(false)
				require.NoError(t, err)
				t.Cleanup(func() { src.Close() })
				dst := fileDrive(t, clone)
				run, err := engine.Start(context.Background(), engine.Job{Source: src, Area: area, Targets: []engine.PortTarget{{Port: 2, Dev: dst}}})
				require.NoError(t, err)
				assert.Contains(t, strings.Join(run.Plan().Notes, "\n"), "the primary GPT is damaged (damaged: GPT header at LBA 1: CRC mismatch); the backup GPT was used")
				res := run.Wait()
				pr := res.Ports[0]
				require.Equal(t, engine.Pass, pr.Status, pr.Reason)
				require.NoError(t, dst.Close())
				checkClone(t, m, clone)
				assert.Equal(t, before, imgtest.Run(t, "sha256sum", master), "the master is never written")
			})
		}
	}
}

// TestBareStick: a stick without a partition table is planned by what is
// on it, and the plan says why: a file system on the whole drive is
// copied by its allocation (Smart) and its copy is checked with the real
// tools; anything else is copied whole, saying so.
func TestBareStick(t *testing.T) {
	imgtest.Need(t, "mkfs.vfat", "mkfs.ext4", "sfdisk", "fsck.vfat", "e2fsck")
	const size = 24 << 20
	for _, tc := range []struct {
		name  string
		make  func(t *testing.T, path string) imgtest.Files
		kind  string // imgtest file-system kind, to check the copy
		area  engine.Area
		note  string
		whole bool
	}{
		{"bare FAT16, smart", func(t *testing.T, p string) imgtest.Files {
			fs := imgtest.SomeFiles(4, 31)
			imgtest.Filesystem(t, "fat16", p, size, fs)
			return fs
		}, "fat16", engine.Smart{}, "no partition table: FAT16 on the whole drive, ", false},
		{"bare ext4, smart", func(t *testing.T, p string) imgtest.Files {
			fs := imgtest.SomeFiles(4, 33)
			imgtest.Filesystem(t, "ext4", p, size, fs)
			return fs
		}, "ext4", engine.Smart{}, "no partition table: ext on the whole drive, ", false},
		{"bare FAT16, used area", func(t *testing.T, p string) imgtest.Files {
			fs := imgtest.SomeFiles(2, 34)
			imgtest.Filesystem(t, "fat16", p, size, fs)
			return fs
		}, "fat16", engine.UsedArea{}, "no partition table: FAT16 on the whole drive; the whole drive is copied", true},
		{"an empty MBR, smart", func(t *testing.T, p string) imgtest.Files {
			imgtest.Garbage(t, p, size)
			runWith(t, "label: dos\n", "sfdisk", "-q", p)
			return nil
		}, "", engine.Smart{}, "no partition table, and no file system Smart knows on the whole drive: the whole drive is copied", true},
		{"nothing known, smart", func(t *testing.T, p string) imgtest.Files {
			imgtest.Garbage(t, p, size)
			return nil
		}, "", engine.Smart{}, "no partition table, and no file system Smart knows on the whole drive: the whole drive is copied", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			master := filepath.Join(t.TempDir(), "stick.img")
			files := tc.make(t, master)
			clone := filepath.Join(t.TempDir(), "clone.img")
			imgtest.Garbage(t, clone, size)
			dst := fileDrive(t, clone)
			run, err := engine.Start(context.Background(), engine.Job{Source: fileDrive(t, master), Area: tc.area,
				Targets: []engine.PortTarget{{Port: 2, Dev: dst}}})
			require.NoError(t, err)
			assert.Contains(t, strings.Join(run.Plan().Notes, "\n"), tc.note)
			res := run.Wait()
			require.True(t, res.OK(), "%+v", res.Ports)
			if tc.whole {
				assert.Equal(t, int64(size), res.Bytes)
				return
			}
			assert.Less(t, res.Bytes, int64(size/2), "only what the file system uses")
			require.NoError(t, dst.Close())
			imgtest.Check(t, tc.kind, clone)
			got := imgtest.ReadFiles(t, tc.kind, clone, slices.Sorted(mapsKeys(files)))
			assert.Equal(t, files.Sums(), got.Sums())
		})
	}
}

// TestUsedAreaEndsWhereTheLastPartitionDoes: the used area of a master
// whose last partition does not end on a 4 KiB boundary needs no byte
// past it: a target of exactly that size takes the copy, and one a
// sector smaller is refused, in bytes, against the area (not the master).
func TestUsedAreaEndsWhereTheLastPartitionDoes(t *testing.T) {
	imgtest.Need(t, "sfdisk")
	const end = (2048 + 4097) * 512 // 3,146,240 bytes: 768 KiB and a sector past 3 MiB
	master := filepath.Join(t.TempDir(), "master.img")
	content := randomBytes(8*MiB, 40)
	require.NoError(t, os.WriteFile(master, content, 0o644))
	runWith(t, "label: dos\nunit: sectors\nstart=2048, size=4097, type=83\n", "sfdisk", "-q", master)
	content, err := os.ReadFile(master)
	require.NoError(t, err)
	for _, tc := range []struct {
		name   string
		size   int64
		reason string // "" when it passes
	}{
		{"a target of exactly the used area", end, ""},
		{"a target a sector smaller", end - 512, "target 3145728 bytes < the copy area's 3146240 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := sim.MustDrive(sim.DriveSpec{Size: tc.size})
			h, err := d.Open(true)
			require.NoError(t, err)
			defer h.Close()
			res, err := engine.Job{Source: fileDrive(t, master), Area: engine.UsedArea{},
				Targets: []engine.PortTarget{{Port: 2, Dev: h}}}.Run(context.Background())
			require.NoError(t, err)
			pr := res.Ports[0]
			if tc.reason != "" {
				assert.Equal(t, engine.CauseTooSmall, pr.Cause)
				assert.Contains(t, pr.Reason, tc.reason)
				return
			}
			require.Equal(t, engine.Pass, pr.Status, pr.Reason)
			got, err := d.Media(0, end)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(content[:end], got), "the target holds the master up to the partition's end")
		})
	}
}

// TestUsedAreaKeepsTheGaps: the used area copies the gaps between
// partitions, where some boards keep their boot loaders, not only the
// partitions; smart leaves them out.
func TestUsedAreaKeepsTheGaps(t *testing.T) {
	imgtest.Need(t, "sfdisk")
	master := filepath.Join(t.TempDir(), "master.img")
	require.NoError(t, os.WriteFile(master, randomBytes(8*MiB, 41), 0o644))
	runWith(t, "label: dos\nunit: sectors\nstart=2048, size=2048, type=83\nstart=8192, size=2048, type=83\n", "sfdisk", "-q", master)
	content, err := os.ReadFile(master)
	require.NoError(t, err)
	for _, tc := range []struct {
		area  engine.Area
		bytes int64
	}{
		{engine.UsedArea{}, 5 * MiB},
		{engine.Smart{}, 3 * MiB}, // LBA 0 up to the first partition, and the two (no file system: whole)
	} {
		t.Run(tc.area.Name(), func(t *testing.T) {
			d := sim.MustDrive(sim.DriveSpec{Size: 8 * MiB})
			h, err := d.Open(true)
			require.NoError(t, err)
			defer h.Close()
			res, err := engine.Job{Source: fileDrive(t, master), Area: tc.area,
				Targets: []engine.PortTarget{{Port: 2, Dev: h}}}.Run(context.Background())
			require.NoError(t, err)
			require.True(t, res.OK(), "%+v", res.Ports)
			assert.Equal(t, tc.bytes, res.Bytes)
			if tc.bytes == 5*MiB {
				got, err := d.Media(0, 5*MiB)
				require.NoError(t, err)
				assert.True(t, bytes.Equal(content[:5*MiB], got), "the gap between the partitions is copied too")
			}
		})
	}
}
