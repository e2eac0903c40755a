package appliance

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/fatstick"
	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/images"
	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/internal/testenv"
	"github.com/clonebay/clonebay/record"
	"github.com/clonebay/clonebay/sim"
	"github.com/clonebay/clonebay/ui"
)

// TestImportFromAStick puts image files on a FAT stick with the real
// tools and imports them as the panel does: found by name, with their
// checksum files; a damaged one is refused and nothing is kept.
func TestImportFromAStick(t *testing.T) {
	for _, tool := range []string{"mkfs.vfat", "mcopy", "mdir"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Skip(t, "%s is missing (Debian packages dosfstools and mtools)", tool)
		}
	}
	dir := t.TempDir()
	content := make([]byte, 3<<20)
	r := rand.New(rand.NewPCG(4, 4))
	for i := range content[:1<<20] {
		content[i] = byte(r.IntN(6))
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(content)
	zw.Close()
	put := func(stick, name string, data []byte) {
		p := filepath.Join(dir, "f")
		require.NoError(t, os.WriteFile(p, data, 0o644))
		out, err := exec.Command("mcopy", "-o", "-i", stick, p, "::"+name).CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	stick := filepath.Join(dir, "stick.img")
	require.NoError(t, os.WriteFile(stick, nil, 0o644))
	require.NoError(t, os.Truncate(stick, 32<<20))
	out, err := exec.Command("mkfs.vfat", stick).CombinedOutput()
	require.NoError(t, err, "%s", out)
	out, err = exec.Command("mmd", "-i", stick, "::/releases").CombinedOutput()
	require.NoError(t, err, "%s", out)
	sum := sha256.Sum256(gz.Bytes())
	put(stick, "/releases/Kiosk Build 7.img.gz", gz.Bytes())
	put(stick, "/releases/Kiosk Build 7.img.gz.sha256", fmt.Appendf(nil, "%x  Kiosk Build 7.img.gz\n", sum))
	put(stick, "/broken.img.gz", gz.Bytes())
	put(stick, "/broken.img.gz.sha256", fmt.Appendf(nil, "%064x  broken.img.gz\n", 1))
	put(stick, "/notes.txt", []byte("not an image"))

	ctx := context.Background()
	all, err := fatstick.List(ctx, stick, 0)
	require.NoError(t, err)
	var found []string
	for _, f := range all {
		if imageExt.MatchString(f) {
			found = append(found, f)
		}
	}
	slices.Sort(found)
	assert.Equal(t, []string{"/broken.img.gz", "/releases/Kiosk Build 7.img.gz"}, found, "image files, not their checksums or other files")

	lib, err := images.OpenLibrary(filepath.Join(dir, "library"))
	require.NoError(t, err)
	m, err := ImportFromStick(ctx, lib, stick, 0, "/releases/Kiosk Build 7.img.gz", int64(gz.Len()), nil)
	require.NoError(t, err)
	assert.Equal(t, "Kiosk-Build-7", m.Name)
	want := sha256.Sum256(content)
	assert.Equal(t, fmt.Sprintf("%x", want), m.SHA256)

	_, err = ImportFromStick(ctx, lib, stick, 0, "/broken.img.gz", int64(gz.Len()), nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the checksum file says 000000000000")
	assert.Equal(t, []string{"Kiosk-Build-7"}, lib.Names(), "the refused import left nothing")

	_, err = ImportFromStick(ctx, lib, stick, 0, "/releases/Kiosk Build 7.img.gz", int64(gz.Len()), nil)
	assert.ErrorContains(t, err, "an image named Kiosk-Build-7 is already in the library")
}

// TestFirstDeployOfTheDayChecksTheImage deploys images from the panel on
// a day they were not checked yet: a good one is checked and copied (and
// recorded as an image master); a damaged one is refused with a message
// and no target is written.
func TestFirstDeployOfTheDayChecksTheImage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage bool
		want   string
	}{
		{"good image", false, "Job done"},
		{"damaged image", true, "Not started"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				dir := t.TempDir()
				lib, err := images.OpenLibrary(filepath.Join(dir, "images"))
				require.NoError(t, err)
				content := sim.MasterContent()
				_, err = lib.Capture(context.Background(), bytesSource(content), "golden", images.CaptureOptions{})
				require.NoError(t, err)
				require.NoError(t, os.Remove(filepath.Join(dir, "images", "golden", "checked")), "not checked today")
				if tc.damage {
					p := filepath.Join(dir, "images", "golden", "image.zst")
					data, err := os.ReadFile(p)
					require.NoError(t, err)
					data[len(data)/2] ^= 0x20
					require.NoError(t, os.WriteFile(p, data, 0o644))
				}
				var targets []*sim.Drive
				r := startRig(t, Config{}, Paths{Library: filepath.Join(dir, "images"), Record: filepath.Join(dir, "jobs.log")},
					func(r *sim.Rig) {
						for _, port := range []int{2, 3} {
							d, err := r.Insert(port, sim.DefaultTarget())
							require.NoError(t, err)
							targets = append(targets, d)
						}
					})
				r.waitText("Targets: 2", 5*time.Second)
				r.press(hal.Down, hal.Down, hal.Down, hal.Down, hal.Down, hal.OK, hal.OK, hal.OK) // Image, Deploy, golden
				r.waitText("Image: golden", 3*time.Second)
				r.press(hal.OK)
				r.waitText("OK: start", 3*time.Second)
				r.press(hal.OK)
				r.waitText(tc.want, 60*time.Second)
				if tc.damage {
					r.waitText("damaged", time.Second)
					for _, d := range targets {
						got, err := d.Media(0, 1<<20)
						require.NoError(t, err)
						assert.Equal(t, make([]byte, 1<<20), got, "the target was not written")
					}
					return
				}
				for _, d := range targets {
					got, err := d.Media(0, int64(len(content)))
					require.NoError(t, err)
					assert.True(t, bytes.Equal(content, got), "the target holds the image")
				}
				assert.True(t, lib.CheckedToday("golden"), "the check is remembered for the day")
				r.stop()
				rep, err := record.Read(fsys.OS, filepath.Join(dir, "jobs.log"))
				require.NoError(t, err)
				require.Len(t, rep.Entries, 2)
				for _, e := range rep.Entries {
					assert.Equal(t, "image", e.MasterKind)
					assert.Equal(t, "golden", e.MasterName)
					assert.Equal(t, "PASS", e.Result)
				}
			})
		})
	}
}

// bytesSource is a master in memory.
type bytesSource []byte

func (m bytesSource) ReadAt(p []byte, off int64) (int, error) {
	return bytes.NewReader(m).ReadAt(p, off)
}
func (m bytesSource) Size() int64 { return int64(len(m)) }
func (m bytesSource) ID() string  { return "memory" }

// TestAbortWhileTheImageIsChecked: an abort of a job that waits for its
// image's first check of the day wins even when the check has already
// ended and its success waits in the loop's queue behind the abort (the
// loop was busy a moment): the job is not started.
func TestAbortWhileTheImageIsChecked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		lib, err := images.OpenLibrary(filepath.Join(dir, "images"))
		require.NoError(t, err)
		_, err = lib.Capture(context.Background(), bytesSource(sim.MasterContent()), "golden", images.CaptureOptions{})
		require.NoError(t, err)
		require.NoError(t, os.Remove(filepath.Join(dir, "images", "golden", "checked")), "not checked today")

		var app *Appliance
		var aborted *ui.Answer
		observe := func(ev ui.Event, _ ui.Frame) {
			if _, ok := ev.(ui.StartRequest); !ok || aborted != nil {
				return
			}
			// The start is taken and the check runs: the loop is busy until
			// the check has ended, and the abort comes first.
			for !lib.CheckedToday("golden") {
				time.Sleep(time.Millisecond)
			}
			app.dispatch(context.Background(), ui.AbortRequest{})
			ans, _ := app.model.TakeAnswer()
			aborted = &ans
		}
		var target *sim.Drive
		r := startRig(t, Config{Observe: observe}, Paths{Library: filepath.Join(dir, "images")}, func(rig *sim.Rig) {
			var err error
			target, err = rig.Insert(2, sim.DefaultTarget())
			require.NoError(t, err)
		})
		app = r.app
		r.waitText("Targets: 1", 5*time.Second)
		require.True(t, r.request(ui.DeployRequest{Image: "golden"}).OK())
		// The start's own answer is lost to the abort's, taken in between.
		r.request(ui.StartRequest{Mode: ui.CopyVerify, Targets: []int{2}, Confirm: true})
		require.NotNil(t, aborted, "the start was taken")
		require.True(t, aborted.OK(), aborted.Refused)
		r.waitText("Not started", 5*time.Second)
		time.Sleep(5 * time.Second)
		assert.Zero(t, target.Stats().BytesWritten, "nothing is written after the abort")
	})
}
