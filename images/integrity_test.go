//go:build linux

package images_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/images"
	"github.com/clonebay/clonebay/internal/imgtest"
	"github.com/clonebay/clonebay/sim"
)

// someContent is size bytes that compress, but not to nothing, and
// differ from 4 KiB block to block. It is made by copying, not byte by
// byte, so it is quick under the race detector too.
func someContent(size int, seed uint64) []byte {
	pattern := make([]byte, 64<<10)
	rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}).Read(pattern)
	for i := range pattern {
		pattern[i] &= 0x0f
	}
	content := make([]byte, size)
	for off, i := 0, 0; off < size; off, i = off+4096, i+1 {
		at := (i * 4099) % (len(pattern) - 4096)
		copy(content[off:min(size, off+4096)], pattern[at:])
	}
	return content
}

// simTargets makes n simulated targets of size bytes full of old data.
func simTargets(t *testing.T, n int, size int64) ([]*sim.Drive, []engine.PortTarget) {
	t.Helper()
	var drives []*sim.Drive
	var targets []engine.PortTarget
	for i := range n {
		d := sim.MustDrive(sim.DriveSpec{Size: size, Content: bytes.Repeat([]byte{0xa5}, int(size))})
		h, err := d.Open(true)
		require.NoError(t, err)
		t.Cleanup(func() { h.Close(); d.Close() })
		drives = append(drives, d)
		targets = append(targets, engine.PortTarget{Port: i + 2, Dev: h.(engine.Target)})
	}
	return drives, targets
}

// TestEditedManifestIsRefused: a manifest edited by hand no longer
// matches the seal its image's data carries, even when the edit keeps its
// own numbers consistent, and the image is refused before anything is
// written, though it was checked earlier today.
func TestEditedManifestIsRefused(t *testing.T) {
	t.Parallel()
	const size = 2 * MiB
	content := someContent(size, 41)
	sum := func(p []byte) string { s := sha256.Sum256(p); return hex.EncodeToString(s[:]) }
	for _, tc := range []struct {
		name string
		edit func(m map[string]any)
	}{
		{"nothing used", func(m map[string]any) {
			m["used"], m["bytes"] = []any{}, 0
		}},
		{"nothing used, and the hash of nothing", func(m map[string]any) {
			m["used"], m["bytes"], m["sha256"] = []any{}, 0, sum(nil)
		}},
		{"the first MiB only, with its hash", func(m map[string]any) {
			m["used"], m["bytes"], m["sha256"] = []any{map[string]any{"off": 0, "len": MiB}}, MiB, sum(content[:MiB])
		}},
		{"another area name", func(m map[string]any) { m["area"] = "smart" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			lib, err := images.OpenLibrary(dir)
			require.NoError(t, err)
			_, err = lib.Capture(context.Background(), memSource(content), "golden", images.CaptureOptions{})
			require.NoError(t, err)
			require.True(t, lib.CheckedToday("golden"), "a fresh capture counts as checked")
			editManifest(t, filepath.Join(dir, "golden"), tc.edit)

			assert.False(t, lib.CheckedToday("golden"), "the check was of another manifest")
			drives, targets := simTargets(t, 2, size)
			im, err := lib.OpenForDeploy(context.Background(), "golden", nil)
			if err == nil {
				res, _ := engine.Job{Source: im, Area: im.Area(), Targets: targets}.Run(context.Background())
				im.Close()
				t.Fatalf("the edited image was deployed: %+v", res)
			}
			assert.ErrorIs(t, err, images.ErrDamaged)
			assert.ErrorContains(t, err, "image golden: image damaged: its manifest is not the one its data was written with")
			_, err = lib.Open("golden")
			assert.ErrorIs(t, err, images.ErrDamaged, "any open refuses it")
			for _, d := range drives {
				assert.Zero(t, d.Stats().BytesWritten)
			}
		})
	}
}

// TestDowngradedManifestIsRefused: an image's data file, not its
// manifest, says whether it is sealed. A sealed image copied under a new
// name, its stamp deleted and its manifest turned into an older
// firmware's (format 1, which has no seal) with other deploy numbers is
// refused by a check, an open and a deploy, and no target is written.
func TestDowngradedManifestIsRefused(t *testing.T) {
	t.Parallel()
	const size = 2 * MiB
	content := someContent(size, 45)
	dir := t.TempDir()
	lib, err := images.OpenLibrary(dir)
	require.NoError(t, err)
	_, err = lib.Capture(context.Background(), memSource(content), "golden", images.CaptureOptions{})
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		edit func(m map[string]any)
	}{
		{"format only", func(m map[string]any) {}},
		{"another need", func(m map[string]any) { m["need"] = 2 * size }},
		{"another area", func(m map[string]any) { m["area"] = "smart" }},
		{"another sector size", func(m map[string]any) { m["sector_size"] = 4096 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := strings.ReplaceAll(tc.name, " ", "-")
			copyDir(t, filepath.Join(dir, "golden"), filepath.Join(dir, name))
			require.NoError(t, os.Remove(filepath.Join(dir, name, "checked")))
			editManifest(t, filepath.Join(dir, name), func(m map[string]any) {
				m["format"] = 1
				tc.edit(m)
			})
			const want = "image damaged: its manifest says format 1, which has no seal, but its data file carries one"

			err := lib.Check(context.Background(), name, nil)
			assert.ErrorIs(t, err, images.ErrDamaged)
			assert.ErrorContains(t, err, "image "+name+": "+want)
			_, err = lib.Open(name)
			assert.ErrorIs(t, err, images.ErrDamaged, "any open refuses it")
			drives, targets := simTargets(t, 1, 2*size)
			im, err := lib.OpenForDeploy(context.Background(), name, nil)
			if err == nil {
				res, _ := engine.Job{Source: im, Area: im.Area(), Targets: targets}.Run(context.Background())
				im.Close()
				t.Fatalf("the downgraded image was deployed: %+v", res)
			}
			assert.ErrorIs(t, err, images.ErrDamaged)
			assert.ErrorContains(t, err, want)
			assert.False(t, lib.CheckedToday(name))
			assert.Zero(t, drives[0].Stats().BytesWritten)
		})
	}
}

// TestFailedCheckClearsTheStamp: an image that fails a check is checked
// again before its next deploy, even when nothing changed since, and
// when its data is put right, it passes.
func TestFailedCheckClearsTheStamp(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	lib, err := images.OpenLibrary(dir)
	require.NoError(t, err)
	_, err = lib.Capture(context.Background(), memSource(someContent(2*MiB, 42)), "golden", images.CaptureOptions{})
	require.NoError(t, err)
	require.True(t, lib.CheckedToday("golden"))

	data := filepath.Join(dir, "golden", "image.zst")
	flipByte(t, data, 3000)
	err = lib.Check(context.Background(), "golden", nil)
	require.ErrorIs(t, err, images.ErrDamaged)
	assert.NoFileExists(t, filepath.Join(dir, "golden", "checked"), "the failed check clears the stamp")
	assert.False(t, lib.CheckedToday("golden"))
	e, err := lib.Info("golden")
	require.NoError(t, err)
	assert.True(t, e.Checked.IsZero(), "the image shows as never checked")

	flipByte(t, data, 3000) // put right
	assert.False(t, lib.CheckedToday("golden"), "still to be checked")
	im, err := lib.OpenForDeploy(context.Background(), "golden", nil)
	require.NoError(t, err, "checked again, and good")
	im.Close()
	assert.True(t, lib.CheckedToday("golden"))
}

// TestDamagedImageWritesNothing: a data file damaged after this
// morning's check (a byte flipped at 85 %) is checked in full again
// before a deploy and refused: no target gets a byte. Opened without a
// check, every frame is still checked as it is decompressed: the job
// fails at the damaged frame and no target gets a byte of it or of
// anything after it, nor its first chunk (written last). A damaged frame
// is no bad sector: the policy that zero-fills a drive's unreadable
// sectors does not pass it as zeros.
func TestDamagedImageWritesNothing(t *testing.T) {
	t.Parallel()
	const size = 3 * MiB
	content := someContent(size, 43)
	unchecked := func(lib *images.Library) (*images.Image, error) { return lib.Open("golden") }
	for _, tc := range []struct {
		name   string
		touch  func(t *testing.T, data string, mtime time.Time)
		open   func(lib *images.Library) (*images.Image, error)
		policy engine.BadSectorPolicy
	}{
		{"deployed today after a check this morning", nil, func(lib *images.Library) (*images.Image, error) {
			return lib.OpenForDeploy(context.Background(), "golden", nil)
		}, engine.BadSectorPolicy{}},
		{"its modification time put back", func(t *testing.T, data string, mtime time.Time) {
			require.NoError(t, os.Chtimes(data, mtime, mtime))
		}, func(lib *images.Library) (*images.Image, error) {
			return lib.OpenForDeploy(context.Background(), "golden", nil)
		}, engine.BadSectorPolicy{}},
		{"opened without a check", nil, unchecked, engine.BadSectorPolicy{}},
		{"opened without a check, bad sectors zero-filled", nil, unchecked, engine.BadSectorPolicy{ZeroFill: true, Retries: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			lib, err := images.OpenLibrary(dir)
			require.NoError(t, err)
			_, err = lib.Capture(context.Background(), memSource(content), "golden", images.CaptureOptions{})
			require.NoError(t, err)
			require.True(t, lib.CheckedToday("golden"))

			data := filepath.Join(dir, "golden", "image.zst")
			st, err := os.Stat(data)
			require.NoError(t, err)
			flipByte(t, data, st.Size()*85/100)
			if tc.touch != nil {
				tc.touch(t, data, st.ModTime())
			}
			drives, targets := simTargets(t, 2, size)
			im, err := tc.open(lib)
			if !strings.HasPrefix(tc.name, "opened without a check") {
				if err == nil {
					engine.Job{Source: im, Area: im.Area(), Targets: targets}.Run(context.Background())
					im.Close()
				}
				require.Error(t, err, "the damaged image is refused")
				assert.ErrorIs(t, err, images.ErrDamaged)
				assert.ErrorContains(t, err, "it will not be deployed")
				for _, d := range drives {
					assert.Zero(t, d.Stats().BytesWritten, "nothing is written")
				}
				return
			}

			require.NoError(t, err)
			defer im.Close()
			j := engine.Job{Source: im, Area: im.Area(), Targets: targets}
			j.Options.BadSectors = tc.policy
			res, err := j.Run(context.Background())
			require.NoError(t, err)
			require.ErrorIs(t, res.Err, images.ErrDamaged)
			assert.Empty(t, res.BadRanges)
			assert.Empty(t, res.SHA256)
			m := regexp.MustCompile(`image damaged: frame (\d+) `).FindStringSubmatch(res.Err.Error())
			require.NotNil(t, m, "the error names the frame: %v", res.Err)
			bad, err := strconv.Atoi(m[1])
			require.NoError(t, err)
			for _, d := range drives {
				got, err := d.Media(0, size)
				require.NoError(t, err)
				assert.Equal(t, bytes.Repeat([]byte{0xa5}, size-bad*MiB), got[bad*MiB:], "nothing of frame %d or after it", bad)
				assert.Equal(t, bytes.Repeat([]byte{0xa5}, 512), got[:512], "LBA 0 is written last, so never")
			}
			for _, p := range res.Ports {
				assert.Equal(t, engine.Fail, p.Status)
			}
		})
	}
}

// copyDir copies the files of folder src into a new folder dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dst, 0o755))
	ents, err := os.ReadDir(src)
	require.NoError(t, err)
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644))
	}
}

// TestOlderImages: an image captured by an older firmware (manifest
// format 1, no seal in its data) stays readable and deployable. Its
// manifest is bound to its data only by the check stamp: it is checked
// in full before its first deploy, and again after any edit.
func TestOlderImages(t *testing.T) {
	t.Parallel()
	content := make([]byte, 4*MiB) // what testdata/format1/older holds
	for i := range content[:3*MiB] {
		content[i] = byte(i*7 + i/4096)
	}
	dir := t.TempDir()
	copyDir(t, filepath.Join("testdata", "format1", "older"), filepath.Join(dir, "older"))
	lib, err := images.OpenLibrary(dir)
	require.NoError(t, err)
	e, err := lib.Info("older")
	require.NoError(t, err)
	require.NoError(t, e.Err)
	assert.Equal(t, 1, e.Manifest.Format)
	assert.True(t, e.Checked.IsZero(), "an older firmware's stamp does not count")

	im, err := lib.OpenForDeploy(context.Background(), "older", nil)
	require.NoError(t, err, "checked, then opened")
	assert.True(t, lib.CheckedToday("older"))
	drives, targets := simTargets(t, 1, 4*MiB)
	res, err := engine.Job{Source: im, Area: im.Area(), Targets: targets}.Run(context.Background())
	require.NoError(t, err)
	im.Close()
	require.True(t, res.OK(), "%+v", res.Ports)
	got, err := drives[0].Media(0, 4*MiB)
	require.NoError(t, err)
	assert.Equal(t, content, got)

	editManifest(t, filepath.Join(dir, "older"), func(m map[string]any) { m["used"], m["bytes"] = []any{}, 0 })
	assert.False(t, lib.CheckedToday("older"), "the check was of another manifest")
	_, err = lib.OpenForDeploy(context.Background(), "older", nil)
	require.ErrorIs(t, err, images.ErrDamaged)
	assert.ErrorContains(t, err, "its used area hashes to e3b0c44298fc…, the manifest says 1040bceeb5a7…")
}

// TestDataFileIsPlainZstd: the seal does not keep the zstd tool from
// reading an image's data file as a plain stream.
func TestDataFileIsPlainZstd(t *testing.T) {
	t.Parallel()
	imgtest.Need(t, "zstd")
	content := someContent(MiB+4096, 44)
	dir := t.TempDir()
	lib, err := images.OpenLibrary(dir)
	require.NoError(t, err)
	_, err = lib.Capture(context.Background(), memSource(content), "plain", images.CaptureOptions{})
	require.NoError(t, err)
	out, err := exec.Command("zstd", "-dc", filepath.Join(dir, "plain", "image.zst")).Output()
	require.NoError(t, err)
	assert.True(t, bytes.Equal(content, out), "zstd -d gives the content")
}

// TestBMapErrors: a file that is no block map says what it is instead.
func TestBMapErrors(t *testing.T) {
	for _, tc := range []struct {
		name, data, want string
	}{
		{"empty", " \n", "not a bmap file: it is empty"},
		{"text", "ImageSize 4096\n", "not a bmap file: it holds no XML element"},
		{"binary", "\x00\x01garbage\xff", "not a bmap file: it is not XML (line 1: illegal character code U+0000)"},
		{"other XML", "<feed><entry/></feed>", "not a bmap file: its root element is not <bmap> but <feed>"},
		{"truncated", "<bmap version=\"2.0\">\n<ImageSize>4096</ImageSize>\n<Block", "not a bmap file: its XML ends at line 3 before it is complete (truncated?)"},
		{"no image size", "<bmap version=\"2.0\"></bmap>", "bmap: it has no <ImageSize>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := images.ParseBMap([]byte(tc.data))
			assert.EqualError(t, err, tc.want)
		})
	}
}

// TestImportChecksumOfEither: a .sha256 may hold the hash of the
// compressed file or, as some distributions ship it, of the image inside
// it; either is accepted, and the manifest says which matched.
func TestImportChecksumOfEither(t *testing.T) {
	t.Parallel()
	imgtest.Need(t, "xz", "gzip", "bmaptool")
	dir := t.TempDir()
	raw := filepath.Join(dir, "disk.img")
	content := someContent(MiB, 45)
	clear(content[256<<10 : 512<<10]) // a hole the block map leaves out
	require.NoError(t, os.WriteFile(raw, content, 0o644))
	imgtest.Run(t, "xz", "-k", "-0", raw)
	imgtest.Run(t, "gzip", "-k", "-1", raw)
	bmapPath := filepath.Join(dir, "disk.bmap")
	imgtest.Run(t, "bmaptool", "create", "-o", bmapPath, raw)
	fileSum := func(p string) string { return sha256File(t, p) }
	contentSum := fileSum(raw)

	for _, tc := range []struct {
		name, file, sum string
		bmap            bool
		want            string // in the manifest's notes and origin, or the error
		ok              bool
	}{
		{"raw file", raw, contentSum, false, "its SHA-256 matches the checksum file", true},
		{"gzip file's own hash", raw + ".gz", fileSum(raw + ".gz"), false, "the SHA-256 of the gzip file matches the checksum file", true},
		{"hash of the content inside the xz", raw + ".xz", contentSum, false, "the SHA-256 of its decompressed content (not of the xz file) matches the checksum file", true},
		{"hash of the content inside the gzip, with a block map", raw + ".gz", contentSum, true, "the SHA-256 of its decompressed content (not of the gzip file) matches the checksum file", true},
		{"neither", raw + ".gz", strings.Repeat("ab", 32), false,
			"disk.img.gz: image damaged: its SHA-256 is " + fileSum(raw + ".gz")[:12] + "… and that of its decompressed content " + contentSum[:12] + "…, the checksum file says abababababab…", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lib, err := images.OpenLibrary(t.TempDir())
			require.NoError(t, err)
			src := fileSource(t, tc.file)
			src.SHA256 = tc.sum
			if tc.bmap {
				src.BMap = parseBMap(t, bmapPath)
			}
			m, err := lib.Import(context.Background(), src, "disk", nil)
			if !tc.ok {
				assert.ErrorIs(t, err, images.ErrDamaged)
				assert.ErrorContains(t, err, tc.want)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, []string{tc.want}, m.Notes)
			assert.Contains(t, m.Origin, tc.want)
			e, err := lib.Info("disk")
			require.NoError(t, err)
			assert.Equal(t, m.Notes, e.Manifest.Notes, "the stored manifest says so too")
		})
	}
}

// TestCraftedMasterDoesNotCrash: a master whose ext4 superblock sizes
// wrap around int64 (2^54 blocks of 1 KiB, 1024-byte group descriptors,
// one block a group) is captured with the smart area and imported as a
// file: its file system is reported damaged and copied whole, and
// nothing panics.
func TestCraftedMasterDoesNotCrash(t *testing.T) {
	t.Parallel()
	imgtest.Need(t, "mkfs.ext4")
	raw := filepath.Join(t.TempDir(), "crafted.img")
	imgtest.Sparse(t, raw, 8*MiB)
	imgtest.Run(t, "mkfs.ext4", "-q", "-F", "-O", "64bit", raw)
	f, err := os.OpenFile(raw, os.O_RDWR, 0)
	require.NoError(t, err)
	sb := make([]byte, 1024)
	_, err = f.ReadAt(sb, 1024)
	require.NoError(t, err)
	le := binary.LittleEndian
	le.PutUint32(sb[0x04:], 0)      // blocks, low half
	le.PutUint32(sb[0x150:], 1<<22) // blocks, high half
	le.PutUint32(sb[0x14:], 0)      // first data block
	le.PutUint32(sb[0x18:], 0)      // 1 KiB blocks
	le.PutUint32(sb[0x20:], 1)      // blocks per group
	le.PutUint16(sb[0xfe:], 1024)   // descriptor size
	le.PutUint32(sb[0x60:], le.Uint32(sb[0x60:])|0x80)
	_, err = f.WriteAt(sb, 1024)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	master, err := os.ReadFile(raw)
	require.NoError(t, err)

	lib, err := images.OpenLibrary(t.TempDir())
	require.NoError(t, err)
	m, err := lib.Capture(context.Background(), memSource(master), "captured", images.CaptureOptions{Area: engine.Smart{}})
	require.NoError(t, err)
	assert.Equal(t, int64(8*MiB), m.Bytes, "the damaged file system is copied whole")
	m, err = lib.Import(context.Background(), fileSource(t, raw), "imported", nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"no partition table"}, m.Partitions)
}
