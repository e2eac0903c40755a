package appliance

import (
	"io/fs"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/fileset"
	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/record"
	"github.com/clonebay/clonebay/sim"
)

// TestFilesModeFromThePanel copies the files on the master drive onto
// targets of three sizes, picked and started from the panel: every target
// gets its own FAT32 volume holding the master's files, and the record
// says "files" with the file system and the listing's sum.
func TestFilesModeFromThePanel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		logPath := filepath.Join(dir, "jobs.log")
		sizes := map[int]int64{2: 64 << 20, 3: 128 << 20, 4: 256 << 20}
		targets := map[int]*sim.Drive{}
		r := startRig(t, Config{}, Paths{Library: filepath.Join(dir, "images"), Record: logPath}, func(r *sim.Rig) {
			_, err := r.Insert(1, sim.Stick{Master: true, ReadMBps: 120})
			require.NoError(t, err)
			for port, size := range sizes {
				targets[port], err = r.Insert(port, sim.Stick{Size: size, WriteMBps: 40, ReadMBps: 90, Model: "Stick"})
				require.NoError(t, err)
			}
		})
		r.waitText("Targets: 3", 5*time.Second)
		// Image, File sets, Master's files.
		r.press(hal.Down, hal.Down, hal.Down, hal.Down, hal.Down, hal.OK, hal.Down, hal.Down, hal.Down, hal.Down, hal.OK, hal.OK)
		r.waitText("Files: master's", 3*time.Second)
		r.press(hal.OK)
		r.waitText("Files on the master", 3*time.Second)
		r.press(hal.OK)
		r.waitText("Job done", 2*time.Minute)
		require.Contains(t, r.rig.LCD.Text(), "3 PASS 0 FAIL")
		r.stop()

		master, err := fs.ReadFile(masterFiles(t), "README.TXT")
		require.NoError(t, err)
		for port, d := range targets {
			h, err := d.Open(false)
			require.NoError(t, err)
			vol, err := fileset.OpenVolume(h, d.Info().Size, 512)
			require.NoError(t, err, "port %d", port)
			assert.Equal(t, "FAT32", vol.Kind().String(), "port %d", port)
			got, err := fs.ReadFile(vol, "README.TXT")
			require.NoError(t, err, "port %d", port)
			assert.Equal(t, master, got, "port %d holds the master's files", port)
			require.NoError(t, h.Close())
		}
		rep, err := record.Read(fsys.OS, logPath)
		require.NoError(t, err)
		require.Len(t, rep.Entries, 3)
		for _, e := range rep.Entries {
			assert.Equal(t, "files", e.Mode)
			assert.Equal(t, "PASS", e.Result, e.Reason)
			assert.Equal(t, "FAT32", e.FileSystem)
			assert.Equal(t, 3, e.Files)
			assert.Len(t, e.FilesSHA256, 64)
		}
	})
}

// masterFiles is the file system of the simulator's default master.
func masterFiles(t *testing.T) fs.FS {
	t.Helper()
	d := sim.MustDrive(sim.DriveSpec{Size: sim.MasterSize, Content: sim.MasterContent()})
	h, err := d.Open(false)
	require.NoError(t, err)
	t.Cleanup(func() { h.Close() })
	vol, err := fileset.OpenVolume(h, sim.MasterSize, 512)
	require.NoError(t, err)
	return vol
}
