//go:build linux

package images_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/images"
	"github.com/clonebay/clonebay/internal/imgtest"
	"github.com/clonebay/clonebay/sim"

	"github.com/clonebay/clonebay/internal/testenv"
)

const MiB = 1 << 20

// buildMaster makes a 40 MiB GPT master with the real tools: an EFI FAT16
// partition and an ext4 one, both holding files, and old data nowhere.
func buildMaster(t *testing.T) string {
	t.Helper()
	imgtest.Need(t, "sgdisk", "mkfs.vfat", "mcopy", "mkfs.ext4")
	dir := t.TempDir()
	img := filepath.Join(dir, "master.img")
	imgtest.Sparse(t, img, 40*MiB)
	imgtest.Run(t, "sgdisk", "-n", "1:2048:+16M", "-t", "1:ef00", "-n", "2:0:+16M", "-t", "2:8300", img)
	out, err := os.OpenFile(img, os.O_WRONLY, 0)
	require.NoError(t, err)
	defer out.Close()
	for i, p := range []struct {
		fs    string
		start int64
		files imgtest.Files
	}{{"fat16", 1 * MiB, imgtest.SomeFiles(4, 11)}, {"ext4", 17 * MiB, imgtest.SomeFiles(4, 12)}} {
		part := filepath.Join(dir, fmt.Sprintf("p%d", i))
		imgtest.Filesystem(t, p.fs, part, 16*MiB, p.files)
		data, err := os.ReadFile(part)
		require.NoError(t, err)
		_, err = out.WriteAt(data, p.start)
		require.NoError(t, err)
	}
	return img
}

// fileDrive opens a file as a simulated drive backed by it.
func fileDrive(t *testing.T, path string, size int64, write bool) hal.Drive {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		imgtest.Garbage(t, path, size)
	}
	d, err := sim.NewDrive(sim.DriveSpec{Size: size, File: path})
	require.NoError(t, err)
	t.Cleanup(func() { d.Close() })
	h, err := d.Open(write)
	require.NoError(t, err)
	t.Cleanup(func() { h.Close() })
	if write {
		return h
	}
	return readOnly{h}
}

type readOnly struct{ hal.DriveReader }

func (readOnly) WriteAt([]byte, int64) (int, error) { panic("write to the master") }
func (readOnly) Sync() error                        { return nil }
func (readOnly) DropCaches() error                  { return nil }

func sha256File(t *testing.T, path string) string {
	t.Helper()
	f := strings.Fields(imgtest.Run(t, "sha256sum", path))
	return f[0]
}

// deploy runs a copy+verify job from an image onto fresh targets of the
// given sizes, full of old data, and returns their paths.
func deploy(t *testing.T, im *images.Image, sizes ...int64) []string {
	t.Helper()
	job := engine.Job{Source: im, Area: im.Area(), Mode: engine.CopyVerify}
	var paths []string
	for i, size := range sizes {
		p := filepath.Join(t.TempDir(), fmt.Sprintf("target%d.img", i))
		paths = append(paths, p)
		job.Targets = append(job.Targets, engine.PortTarget{Port: i + 1, Dev: fileDrive(t, p, size, true)})
	}
	res, err := job.Run(context.Background())
	require.NoError(t, err)
	require.True(t, res.OK(), "every target passes: %+v", res.Ports)
	assert.Equal(t, im.Manifest().SHA256, res.SHA256, "the job's hash of the image is the manifest's")
	return paths
}

// TestCaptureDeployRoundTrip captures a real master in each copy area,
// deploys the image to four targets and checks them byte for byte over
// the captured ranges, and with the real tools.
func TestCaptureDeployRoundTrip(t *testing.T) {
	t.Parallel()
	masterPath := buildMaster(t)
	master, err := os.ReadFile(masterPath)
	require.NoError(t, err)
	for _, area := range []engine.Area{engine.WholeMedia{}, engine.UsedArea{}, engine.Smart{}} {
		t.Run(area.Name(), func(t *testing.T) {
			lib, err := images.OpenLibrary(t.TempDir())
			require.NoError(t, err)
			src := fileDrive(t, masterPath, int64(len(master)), false)
			var last int64
			m, err := lib.Capture(context.Background(), src, "master", images.CaptureOptions{
				Area: area, Origin: "test", Progress: func(done, total int64) { last = done },
			})
			require.NoError(t, err)
			assert.Equal(t, int64(len(master)), last, "progress reaches the end")

			// The manifest's hash is the hash of the master's area, taken
			// by the engine (and for the whole media, by sha256sum).
			plan, err := area.Plan(src)
			require.NoError(t, err)
			h := sha256.New()
			for _, e := range plan.Extents {
				h.Write(master[e.Off:e.End()])
			}
			assert.Equal(t, hex.EncodeToString(h.Sum(nil)), m.SHA256)
			if _, whole := area.(engine.WholeMedia); whole {
				assert.Equal(t, sha256File(t, masterPath), m.SHA256, "sha256sum of the master")
			}
			assert.Equal(t, plan.Bytes(), m.Bytes)
			assert.Contains(t, m.Partitions, "GPT, 2 partitions")
			assert.Less(t, m.Stored, m.Bytes, "the image is compressed")

			require.NoError(t, lib.Check(context.Background(), "master", nil))
			im, err := lib.OpenForDeploy(context.Background(), "master", nil)
			require.NoError(t, err)
			defer im.Close()
			// Three targets of the master's size and one larger, whose GPT
			// is rebuilt for its size.
			for i, p := range deploy(t, im, 40*MiB, 40*MiB, 40*MiB, 64*MiB) {
				got, err := os.ReadFile(p)
				require.NoError(t, err)
				if i < 3 {
					for _, r := range m.Used {
						if d := firstDiff(master[r.Off:r.End()], got[r.Off:r.End()]); d >= 0 {
							t.Fatalf("%s: bytes %d..%d differ from the master's first at %d", p, r.Off, r.End(), r.Off+int64(d))
						}
					}
				}
				out := imgtest.Run(t, "sgdisk", "-v", p)
				imgtest.GPTGood(t, out, p)
				part := filepath.Join(t.TempDir(), "p1")
				require.NoError(t, os.WriteFile(part, got[1*MiB:17*MiB], 0o644))
				imgtest.Check(t, "fat16", part)
			}
		})
	}
}

// TestImportFormats imports one raw disk image as every supported file
// kind, made by the real tools, and deploys it.
func TestImportFormats(t *testing.T) {
	t.Parallel()
	imgtest.Need(t, "gzip", "xz", "zstd", "bmaptool")
	masterPath := buildMaster(t)
	master, err := os.ReadFile(masterPath)
	require.NoError(t, err)
	dir := t.TempDir()
	files := makeCompressed(t, masterPath, dir)
	bmapPath := filepath.Join(dir, "master.bmap")
	imgtest.Run(t, "bmaptool", "create", "-o", bmapPath, masterPath)

	for _, tc := range []struct {
		name   string
		file   string
		bmap   bool
		sha256 bool
	}{
		{"raw", files["raw"], false, true},
		{"gzip", files["gzip"], false, true},
		{"xz", files["xz"], false, false},
		{"zstd", files["zstd"], false, true},
		{"xz with bmap", files["xz"], true, true},
		{"raw with bmap", files["raw"], true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lib, err := images.OpenLibrary(t.TempDir())
			require.NoError(t, err)
			src := fileSource(t, tc.file)
			if tc.bmap {
				src.BMap = parseBMap(t, bmapPath)
			}
			if tc.sha256 {
				sum, err := images.ParseSHA256File([]byte(imgtest.Run(t, "sha256sum", tc.file)), tc.file)
				require.NoError(t, err)
				src.SHA256 = sum
			}
			m, err := lib.Import(context.Background(), src, "imported", nil)
			require.NoError(t, err)
			assert.Equal(t, int64(len(master)), m.Size)
			if tc.bmap {
				assert.Equal(t, "bmap ranges", m.Area)
				assert.Equal(t, src.BMap.Mapped(), m.Bytes, "only mapped blocks are kept")
				assert.Less(t, m.Bytes, m.Size)
			} else {
				assert.Equal(t, sha256File(t, masterPath), m.SHA256, "the whole image's hash")
			}
			assert.Contains(t, m.Origin, filepath.Base(tc.file))
			im, err := lib.OpenForDeploy(context.Background(), "imported", nil)
			require.NoError(t, err)
			defer im.Close()
			for _, p := range deploy(t, im, 40*MiB) {
				got, err := os.ReadFile(p)
				require.NoError(t, err)
				for _, r := range m.Used {
					if i := firstDiff(master[r.Off:r.End()], got[r.Off:r.End()]); i >= 0 {
						t.Fatalf("bytes %d..%d differ from the master's first at %d", r.Off, r.End(), r.Off+int64(i))
					}
				}
				if tc.bmap {
					assert.Equal(t, byte(0xa5), got[36*MiB], "unmapped blocks are not written: the old data stays")
				}
			}
		})
	}
}

// makeCompressed writes the master as .img.gz, .img.xz and .img.zst with
// the real tools.
func makeCompressed(t *testing.T, raw, dir string) map[string]string {
	t.Helper()
	out := map[string]string{"raw": filepath.Join(dir, "master.img")}
	data, err := os.ReadFile(raw)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(out["raw"], data, 0o644))
	for kind, cmd := range map[string][]string{
		"gzip": {"gzip", "-k", "-1"}, "xz": {"xz", "-k", "-0", "-T2"}, "zstd": {"zstd", "-q", "-k"},
	} {
		imgtest.Run(t, cmd[0], append(cmd[1:], out["raw"])...)
		out[kind] = out["raw"] + map[string]string{"gzip": ".gz", "xz": ".xz", "zstd": ".zst"}[kind]
	}
	return out
}

func fileSource(t *testing.T, path string) images.ImportSource {
	st, err := os.Stat(path)
	require.NoError(t, err)
	return images.ImportSource{
		Name: filepath.Base(path), Size: st.Size(),
		Open: func() (io.ReadCloser, error) { return os.Open(path) },
	}
}

func parseBMap(t *testing.T, path string) *images.BMap {
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	b, err := images.ParseBMap(data)
	require.NoError(t, err)
	return b
}

// TestDamagedImportsAreRefused: each damage is refused with a message
// that names it, and the library is left without a trace of the import.
func TestDamagedImportsAreRefused(t *testing.T) {
	t.Parallel()
	imgtest.Need(t, "gzip", "xz", "zstd", "bmaptool")
	masterPath := buildMaster(t)
	dir := t.TempDir()
	files := makeCompressed(t, masterPath, dir)
	bmapPath := filepath.Join(dir, "master.bmap")
	imgtest.Run(t, "bmaptool", "create", "-o", bmapPath, masterPath)

	truncate := func(kind string) func(t *testing.T) images.ImportSource {
		return func(t *testing.T) images.ImportSource {
			data, err := os.ReadFile(files[kind])
			require.NoError(t, err)
			p := filepath.Join(t.TempDir(), filepath.Base(files[kind]))
			require.NoError(t, os.WriteFile(p, data[:len(data)*2/3], 0o644))
			return fileSource(t, p)
		}
	}
	flip := func(kind string) func(t *testing.T) images.ImportSource {
		return func(t *testing.T) images.ImportSource {
			data, err := os.ReadFile(files[kind])
			require.NoError(t, err)
			p := filepath.Join(t.TempDir(), filepath.Base(files[kind]))
			// Flip a byte inside the compressed data, away from headers, at
			// the first place where the real tool sees the damage (some
			// bits of a compressed stream change nothing).
			for i := len(data) / 2; ; i++ {
				require.Less(t, i, len(data)/2+64, "no damaging flip found")
				data[i] ^= 0x10
				require.NoError(t, os.WriteFile(p, data, 0o644))
				if exec.Command(kind, "-t", p).Run() != nil {
					break
				}
				data[i] ^= 0x10
			}
			return fileSource(t, p)
		}
	}
	for _, tc := range []struct {
		name string
		src  func(t *testing.T) images.ImportSource
		want string
	}{
		{"truncated .gz", truncate("gzip"), "image damaged"},
		{"truncated .xz", truncate("xz"), "image damaged"},
		{"truncated .zst", truncate("zstd"), "image damaged"},
		{"flipped byte in .gz", flip("gzip"), "image damaged"},
		{"flipped byte in .xz", flip("xz"), "image damaged"},
		{"flipped byte in .zst", flip("zstd"), "image damaged"},
		{".sha256 does not match", func(t *testing.T) images.ImportSource {
			src := fileSource(t, files["gzip"])
			src.SHA256 = strings.Repeat("ab", 32)
			return src
		}, "the checksum file says abababababab"},
		{"raw image changed inside a mapped block", func(t *testing.T) images.ImportSource {
			data, err := os.ReadFile(files["raw"])
			require.NoError(t, err)
			data[1*MiB+300] ^= 1 // the FAT16 boot sector: mapped
			p := filepath.Join(t.TempDir(), "master.img")
			require.NoError(t, os.WriteFile(p, data, 0o644))
			src := fileSource(t, p)
			src.BMap = parseBMap(t, bmapPath)
			return src
		}, "do not match the checksum in the .bmap file"},
		{"not a disk image", func(t *testing.T) images.ImportSource {
			p := filepath.Join(t.TempDir(), "notes.txt")
			require.NoError(t, os.WriteFile(p, []byte("hello\n"), 0o644))
			return fileSource(t, p)
		}, "not a whole number of 512-byte sectors"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			libDir := t.TempDir()
			lib, err := images.OpenLibrary(libDir)
			require.NoError(t, err)
			_, err = lib.Import(context.Background(), tc.src(t), "broken", nil)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			ents, err := os.ReadDir(libDir)
			require.NoError(t, err)
			assert.Empty(t, ents, "nothing is left in the library")
		})
	}
}

// TestDamagedImagesAreRefused damages a stored image in each way and
// checks that it is refused before it is deployed, and that no target is
// written.
func TestDamagedImagesAreRefused(t *testing.T) {
	t.Parallel()
	size := int64(8 * MiB)
	content := make([]byte, size)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range content[:size/2] {
		content[i] = byte(r.IntN(16)) // compressible, not trivially
	}
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, dir string)
		want   string
	}{
		{"flipped byte in a frame", func(t *testing.T, dir string) {
			flipByte(t, filepath.Join(dir, "image.zst"), 5000)
		}, "image damaged: frame 0"},
		{"truncated data", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "image.zst")
			st, err := os.Stat(p)
			require.NoError(t, err)
			require.NoError(t, os.Truncate(p, st.Size()/2))
		}, "no seek table"},
		{"manifest with another hash", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m map[string]any) { m["sha256"] = strings.Repeat("0", 64) })
		}, "its manifest is not the one its data was written with"},
		{"manifest with another frame hash", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m map[string]any) { m["frame_hashes"].([]any)[3] = "0123456789abcdef" })
		}, "its manifest is not the one its data was written with"},
		{"manifest with another size", func(t *testing.T, dir string) {
			editManifest(t, dir, func(m map[string]any) { m["size"] = float64(size - 4096) })
		}, "image damaged"},
		{"unreadable manifest", func(t *testing.T, dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "manifest.json"), []byte("{"), 0o644))
		}, "manifest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			libDir := t.TempDir()
			lib, err := images.OpenLibrary(libDir)
			require.NoError(t, err)
			src := memSource(content)
			_, err = lib.Capture(context.Background(), src, "golden", images.CaptureOptions{})
			require.NoError(t, err)
			tc.damage(t, filepath.Join(libDir, "golden"))
			// A new day: the image is checked before its first deploy.
			require.NoError(t, os.Remove(filepath.Join(libDir, "golden", "checked")))

			im, err := lib.OpenForDeploy(context.Background(), "golden", nil)
			require.Error(t, err)
			assert.Nil(t, im)
			assert.Contains(t, err.Error(), tc.want)
			assert.Contains(t, err.Error(), "golden")
			assert.False(t, lib.CheckedToday("golden"))
			ents, err := lib.List()
			require.NoError(t, err)
			require.Len(t, ents, 1, "a damaged image is still listed, so it can be deleted")
			require.NoError(t, lib.Remove("golden"))
		})
	}
}

func flipByte(t *testing.T, path string, off int64) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	b := make([]byte, 1)
	_, err = f.ReadAt(b, off)
	require.NoError(t, err)
	b[0] ^= 0x40
	_, err = f.WriteAt(b, off)
	require.NoError(t, err)
}

func editManifest(t *testing.T, dir string, edit func(map[string]any)) {
	p := filepath.Join(dir, "manifest.json")
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m))
	edit(m)
	data, err = json.Marshal(m)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(p, data, 0o644))
}

// memSource is a master in memory.
type memSource []byte

func (m memSource) ReadAt(p []byte, off int64) (int, error) { return bytes.NewReader(m).ReadAt(p, off) }
func (m memSource) Size() int64                             { return int64(len(m)) }
func (m memSource) ID() string                              { return "memory" }

// TestRandomAccess reads a stored image at random offsets and lengths,
// from several goroutines, and compares with the content.
func TestRandomAccess(t *testing.T) {
	t.Parallel()
	content := make([]byte, 9*MiB+4096) // the last frame is short
	r := rand.New(rand.NewPCG(3, 4))
	for i := range content {
		content[i] = byte(r.IntN(8))
	}
	lib, err := images.OpenLibrary(t.TempDir())
	require.NoError(t, err)
	_, err = lib.Capture(context.Background(), memSource(content), "ra", images.CaptureOptions{})
	require.NoError(t, err)
	im, err := lib.Open("ra")
	require.NoError(t, err)
	defer im.Close()

	done := make(chan error)
	for g := range 4 {
		go func() {
			r := rand.New(rand.NewPCG(uint64(g), 9))
			for range 60 {
				off := r.Int64N(int64(len(content)))
				n := r.IntN(3 * MiB)
				buf := make([]byte, n)
				k, err := im.ReadAt(buf, off)
				want := content[off:min(int64(len(content)), off+int64(n))]
				if k != len(want) || !bytes.Equal(buf[:k], want) {
					done <- fmt.Errorf("read %d at %d: got %d bytes, %v", n, off, k, err)
					return
				}
				if k < n && err != io.EOF {
					done <- fmt.Errorf("short read at %d without io.EOF: %v", off, err)
					return
				}
			}
			done <- nil
		}()
	}
	for range 4 {
		assert.NoError(t, <-done)
	}
}

// TestLibraryBookkeeping: names are checked, a name is not taken twice,
// and a deleted image is gone.
func TestLibraryBookkeeping(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, ".half.partial"), 0o755))
	lib, err := images.OpenLibrary(dir)
	require.NoError(t, err)
	assert.NoDirExists(t, filepath.Join(dir, ".half.partial"), "what an interrupted import left is cleared")

	// A capture in progress (here: its first frame is being read) is not
	// taken for a leftover by another process opening the library.
	reading := make(chan struct{})
	release := make(chan struct{})
	go func() {
		<-reading
		_, err := images.OpenLibrary(dir)
		assert.NoError(t, err)
		close(release)
	}()
	_, err = lib.Capture(context.Background(), blockingSource{memSource(make([]byte, MiB)), reading, release}, "busy", images.CaptureOptions{})
	require.NoError(t, err, "the capture survived another OpenLibrary")
	require.NoError(t, lib.Remove("busy"))

	src := memSource(bytes.Repeat([]byte{1, 2, 3, 4}, MiB))
	for _, bad := range []string{"", ".hidden", "a/b", "-x", strings.Repeat("n", 41), "spa ce"} {
		_, err := lib.Capture(context.Background(), src, bad, images.CaptureOptions{})
		assert.ErrorContains(t, err, "image name", "%q", bad)
	}
	_, err = lib.Capture(context.Background(), src, "one", images.CaptureOptions{Origin: "port 1"})
	require.NoError(t, err)
	_, err = lib.Capture(context.Background(), src, "one", images.CaptureOptions{})
	assert.ErrorContains(t, err, `an image named "one" already exists`)

	ents, err := lib.List()
	require.NoError(t, err)
	require.Len(t, ents, 1)
	assert.Equal(t, "one", ents[0].Name)
	assert.Equal(t, "port 1", ents[0].Manifest.Origin)
	assert.True(t, lib.CheckedToday("one"), "a fresh capture counts as checked")
	free, err := lib.Free()
	require.NoError(t, err)
	assert.Positive(t, free)

	require.NoError(t, lib.Remove("one"))
	assert.ErrorIs(t, lib.Remove("one"), images.ErrNotFound)
	_, err = lib.Open("one")
	assert.ErrorIs(t, err, images.ErrNotFound)
}

// TestCaptureHoldsItsPartialFolder: a capture holds the partial folder
// of its name until its image is in place. A second capture of the same
// name meanwhile stops at once and says why, and the first one completes
// untouched; a partial folder left by a crashed capture is taken over.
func TestCaptureHoldsItsPartialFolder(t *testing.T) {
	t.Parallel()
	content := bytes.Repeat([]byte{5, 6, 7, 8}, MiB)
	for _, tc := range []struct {
		name string
		// during runs while the first capture reads its first frame; it
		// returns the error of the second capture, if it starts one.
		during func(t *testing.T, lib *images.Library) error
		want   string
	}{
		{"a second capture of the same name", func(t *testing.T, lib *images.Library) error {
			_, err := lib.Capture(context.Background(), memSource(content), "race", images.CaptureOptions{})
			return err
		}, `image "race": another capture or import of that name is in progress`},
		{"an import of the same name", func(t *testing.T, lib *images.Library) error {
			raw := filepath.Join(t.TempDir(), "race.img")
			require.NoError(t, os.WriteFile(raw, content, 0o644))
			_, err := lib.Import(context.Background(), fileSource(t, raw), "race", nil)
			return err
		}, `image "race": another capture or import of that name is in progress`},
		{"a capture of another name", func(t *testing.T, lib *images.Library) error {
			_, err := lib.Capture(context.Background(), memSource(content), "other", images.CaptureOptions{})
			return err
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			lib, err := images.OpenLibrary(dir)
			require.NoError(t, err)
			reading := make(chan struct{})
			release := make(chan struct{})
			first := make(chan error, 1)
			go func() {
				_, err := lib.Capture(context.Background(), blockingSource{memSource(content), reading, release}, "race", images.CaptureOptions{})
				first <- err
			}()
			<-reading
			err = tc.during(t, lib)
			close(release)
			if tc.want == "" {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, images.ErrInProgress)
				assert.EqualError(t, err, tc.want)
			}
			require.NoError(t, <-first, "the first capture is left alone")
			require.NoError(t, lib.Check(context.Background(), "race", nil))
			assert.NoDirExists(t, filepath.Join(dir, ".race.partial"))
		})
	}

	t.Run("a leftover of a crashed capture", func(t *testing.T) {
		dir := t.TempDir()
		lib, err := images.OpenLibrary(dir)
		require.NoError(t, err)
		// Left after the library was opened: the capture itself takes it over.
		left := filepath.Join(dir, ".race.partial")
		require.NoError(t, os.Mkdir(left, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(left, "image.zst"), bytes.Repeat([]byte{0xee}, 3*MiB), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(left, "manifest.json"), []byte("{"), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(left, "checked"), []byte("{"), 0o644))

		_, err = lib.Capture(context.Background(), memSource(content), "race", images.CaptureOptions{})
		require.NoError(t, err)
		require.NoError(t, lib.Check(context.Background(), "race", nil))
		assert.NoDirExists(t, left)
	})
}

// TestNothingToCapture: an empty master, or a copy area that comes to
// nothing, is refused with the reason, and the library keeps no trace.
func TestNothingToCapture(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  memSource
		area engine.Area
		want string
	}{
		{"empty master", memSource{}, nil, "the master is empty (0 bytes)"},
		{"empty master, smart", memSource{}, engine.Smart{}, "the master is empty (0 bytes)"},
		{"area of 0 bytes", memSource(make([]byte, MiB)), nothingArea{}, `the copy area "nothing" comes to 0 bytes`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			lib, err := images.OpenLibrary(dir)
			require.NoError(t, err)
			_, err = lib.Capture(context.Background(), tc.src, "empty", images.CaptureOptions{Area: tc.area})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			ents, err := os.ReadDir(dir)
			require.NoError(t, err)
			assert.Empty(t, ents, "nothing is left in the library")
		})
	}
}

// nothingArea is an area whose plan holds no bytes.
type nothingArea struct{}

func (nothingArea) Name() string { return "nothing" }
func (nothingArea) Plan(src engine.Source) (engine.Plan, error) {
	return engine.Plan{Area: "nothing", SourceSize: src.Size()}, nil
}

// TestImportThatDoesNotFitIsRefused runs on a small tmpfs library.
func TestImportThatDoesNotFitIsRefused(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Skip(t, "mounting a small file system for the library needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", dir).CombinedOutput(); err != nil {
		testenv.Skip(t, "cannot mount tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	lib, err := images.OpenLibrary(dir)
	require.NoError(t, err)

	big := filepath.Join(t.TempDir(), "big.img")
	r := rand.New(rand.NewPCG(5, 6))
	data := make([]byte, 8*MiB)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	require.NoError(t, os.WriteFile(big, data, 0o644))
	_, err = lib.Import(context.Background(), fileSource(t, big), "big", nil)
	require.ErrorIs(t, err, images.ErrNoSpace)
	assert.Contains(t, err.Error(), "importing big.img (8.38 MB, raw)")

	// A capture that does not fit either.
	_, err = lib.Capture(context.Background(), memSource(data), "big", images.CaptureOptions{})
	require.ErrorIs(t, err, images.ErrNoSpace)
	ents, _ := os.ReadDir(dir)
	assert.Empty(t, ents)
}

func firstDiff(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// blockingSource says when the capture first reads a frame and waits to
// be released.
type blockingSource struct {
	memSource
	reading, release chan struct{}
}

func (b blockingSource) ReadAt(p []byte, off int64) (int, error) {
	if len(p) >= 64<<10 { // a frame, not the plan's look at the partition table
		select {
		case <-b.reading:
		default:
			close(b.reading)
			<-b.release
		}
	}
	return b.memSource.ReadAt(p, off)
}
