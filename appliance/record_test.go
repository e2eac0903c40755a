package appliance

import (
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/record"
	"github.com/clonebay/clonebay/sim"
	"github.com/clonebay/clonebay/ui"
)

// runJob starts a copy from the panel with a production record and waits
// for the result screen.
func runJob(t *testing.T, set ui.Settings, logPath string, setup func(r *sim.Rig)) (screen string) {
	t.Helper()
	r := startRig(t, Config{Settings: set}, Paths{Record: logPath}, setup)
	r.waitText("Targets:", 5*time.Second)
	r.press(hal.OK)
	r.waitText("OK: start", 3*time.Second)
	r.press(hal.OK)
	r.waitText("Job done", 60*time.Second)
	screen = r.rig.LCD.Text()
	r.stop()
	return screen
}

func TestJobsAreRecorded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logPath := filepath.Join(t.TempDir(), "jobs.log")
		runJob(t, ui.DefaultSettings(), logPath, func(r *sim.Rig) {
			require.NoError(t, r.DefaultSession())
			r.Bay.Drive(4).Inject(sim.Fault{Kind: sim.Corrupt, Off: 2 << 20, Len: 1})
		})
		rep, err := record.Read(fsys.OS, logPath)
		require.NoError(t, err)
		require.NoError(t, rep.Err())
		require.Len(t, rep.Entries, 7, "one entry per target")
		for _, e := range rep.Entries {
			assert.Equal(t, "Clonebay Master Stick", e.MasterName)
			assert.Equal(t, "SIM00001", e.MasterSerial)
			assert.NotEmpty(t, e.MasterSHA256)
			assert.Equal(t, "whole media", e.Area)
			assert.NotEmpty(t, e.TargetSerial)
			assert.Equal(t, int64(256<<20), e.TargetSize)
			if e.Port == 4 {
				assert.Equal(t, "FAIL", e.Result)
				assert.Contains(t, e.Reason, "mismatch at 2097152")
				assert.Empty(t, e.SHA256)
			} else {
				assert.Equal(t, "PASS", e.Result, e.Reason)
				assert.Equal(t, e.MasterSHA256, e.SHA256)
			}
		}
	})
}

// TestBadMasterSectorsAreRecorded: a master backed by a file, with two
// unreadable sectors, under the zero-fill policy: every target passes
// "with bad sectors on the master" and the record lists the ranges.
func TestBadMasterSectorsAreRecorded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logPath := filepath.Join(t.TempDir(), "jobs.log")
		backing := filepath.Join(t.TempDir(), "master.img")
		require.NoError(t, os.WriteFile(backing, sim.MasterContent(), 0o644))
		set := ui.DefaultSettings()
		set.ZeroFill = true
		screen := runJob(t, set, logPath, func(r *sim.Rig) {
			m, err := sim.NewDrive(sim.DriveSpec{Size: sim.MasterSize, File: backing, Model: "File Master", Serial: "FILE1"})
			require.NoError(t, err)
			t.Cleanup(func() { m.Close() })
			m.Inject(sim.Fault{Kind: sim.ReadError, Off: 5 << 20, Len: 1024})
			require.NoError(t, r.Bay.Insert(1, m))
			for p := 2; p <= 3; p++ {
				_, err := r.Insert(p, sim.DefaultTarget())
				require.NoError(t, err)
			}
		})
		assert.Contains(t, screen, "with 2 bad on master")
		rep, err := record.Read(fsys.OS, logPath)
		require.NoError(t, err)
		require.Len(t, rep.Entries, 2)
		for _, e := range rep.Entries {
			assert.Equal(t, "PASS", e.Result)
			assert.Equal(t, []record.Range{{Off: 5 << 20, Len: 1024}}, e.BadRanges)
		}
	})
}
