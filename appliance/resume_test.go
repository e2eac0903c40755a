package appliance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/internal/fsys/fsystest"
	"github.com/clonebay/clonebay/sim"
	"github.com/clonebay/clonebay/ui"
)

// TestResumeAfterPowerLoss cuts the power of a 1->4 job at random points
// (the drives lose what they had not synced, the state disk what was not
// synced, and the appliance gets no chance to shut down cleanly), starts
// a new appliance on what survived, and resumes: the targets end
// identical to the master and verified, and the resumed run does not
// write everything again.
func TestResumeAfterPowerLoss(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for run := 0; run < 3; run++ {
		cut := time.Duration(r.IntN(500)) * time.Millisecond
		t.Run(fmt.Sprintf("cut %v after the checkpoints", cut), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { resumeAfterPowerLoss(t, cut) })
		})
	}
}

func resumeAfterPowerLoss(t *testing.T, cut time.Duration) {
	master := sim.MustDrive(sim.DriveSpec{Size: sim.MasterSize, Content: sim.MasterContent(), ReadMBps: 200, Serial: "M1", Model: "Master"})
	var targets []*sim.Drive
	for i := range 4 {
		targets = append(targets, sim.MustDrive(sim.DriveSpec{Size: 128 << 20, WriteMBps: 40, ReadMBps: 120,
			Serial: "T" + string(rune('1'+i)), Model: "Stick"}))
	}
	const journalPath = "/var/lib/clonebay/job.journal"
	set := ui.DefaultSettings()
	set.Qualify = false // its marker writes would blur what the resume skipped
	start := func(disk *fsystest.Disk) *rigApp {
		return startRig(t, Config{Settings: set, Files: disk}, Paths{Journal: journalPath}, func(rig *sim.Rig) {
			require.NoError(t, rig.Bay.Insert(1, master))
			for i, d := range targets {
				require.NoError(t, rig.Bay.Insert(i+2, d))
			}
		})
	}
	drives := append([]*sim.Drive{master}, targets...)

	disk := fsystest.NewDisk()
	a := start(disk)
	a.waitText("Targets: 4", 5*time.Second)
	a.press(hal.OK)
	a.waitText("OK: start", 3*time.Second)
	a.press(hal.OK)
	a.waitText("Copying", 5*time.Second)
	// Cut the power at a random point after every target reached its
	// first checkpoint.
	waitCheckpoint(t, disk, journalPath, 20*time.Second)
	time.Sleep(cut)
	// The power goes: whatever the old appliance does from here on
	// reaches neither the state disk nor a drive. The state disk goes
	// first, so the old appliance cannot record the drives' failure.
	after := disk.Cut(nil)
	for _, d := range drives {
		d.PowerCut()
	}
	a.stop()
	for _, d := range drives {
		d.PowerOn()
	}
	var before int64
	for _, d := range targets {
		before += d.Stats().BytesWritten
	}

	b := start(after)
	b.waitText("Resume last job?", 5*time.Second)
	b.press(hal.OK)
	b.waitText("Job done", 60*time.Second)
	assert.Contains(t, b.rig.LCD.Text(), "4 PASS 0 FAIL")
	b.stop()

	want, err := master.Media(0, sim.MasterSize)
	require.NoError(t, err)
	var total int64
	for i, d := range targets {
		got, err := d.Media(0, sim.MasterSize)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(want, got), "target %d holds the master", i+1)
		total += d.Stats().BytesWritten
	}
	t.Logf("%d MB before the power loss, %d MB after resuming (a full copy is %d MB)",
		before/1e6, (total-before)/1e6, int64(4*sim.MasterSize)/1e6)
	assert.Less(t, total-before, int64(4*sim.MasterSize), "the resumed run skipped what was done")
}

// waitCheckpoint waits until the journal shows a checkpoint on every target.
func waitCheckpoint(t *testing.T, disk *fsystest.Disk, path string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if data, err := disk.ReadFile(path); err == nil {
			var j journal
			if json.Unmarshal(data, &j) == nil && len(j.Targets) > 0 {
				all := true
				for _, tg := range j.Targets {
					all = all && tg.Synced > 0
				}
				if all {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint on every target within %v", within)
		}
		time.Sleep(tickEvery) // virtual time: the journal is saved on the loop's turns
		synctest.Wait()
	}
}
