package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/board"
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
	b, err := board.Builtin("sim8")
	require.NoError(t, err)
	r := rand.New(rand.NewPCG(7, 8))
	for run := 0; run < 3; run++ {
		master := sim.MustDrive(sim.DriveSpec{Size: masterSize, Content: masterContent(), ReadMBps: 200, Serial: "M1", Model: "Master"})
		var targets []*sim.Drive
		for i := range 4 {
			targets = append(targets, sim.MustDrive(sim.DriveSpec{Size: 128 << 20, WriteMBps: 40, ReadMBps: 120,
				Serial: "T" + string(rune('1'+i)), Model: "Stick"}))
		}
		const journalPath = "/var/lib/clonebay/job.journal"
		start := func(disk *fsystest.Disk) (*simRig, func()) {
			rig := newSimRig(b)
			require.NoError(t, rig.bay.Insert(1, master))
			for i, d := range targets {
				require.NoError(t, rig.bay.Insert(i+2, d))
			}
			set := ui.DefaultSettings()
			set.Qualify = false // its marker writes would blur what the resume skipped
			app := newAppliance(b, rig.hardware(), set, slog.New(slog.DiscardHandler))
			app.files, app.journalPath = disk, journalPath
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- app.Run(ctx) }()
			return rig, func() { cancel(); <-done }
		}
		drives := append([]*sim.Drive{master}, targets...)

		disk := fsystest.NewDisk()
		rig, stop := start(disk)
		waitText(t, rig.lcd, "Targets: 4", 5*time.Second)
		rig.buttons.Click(hal.OK)
		waitText(t, rig.lcd, "OK: start", 3*time.Second)
		rig.buttons.Click(hal.OK)
		waitText(t, rig.lcd, "Copying", 5*time.Second)
		// Cut the power at a random point after every target reached its
		// first checkpoint (a loaded machine copies slowly).
		waitCheckpoint(t, disk, journalPath, 20*time.Second)
		time.Sleep(time.Duration(r.IntN(500)) * time.Millisecond)
		// The power goes: whatever the old appliance does from here on
		// reaches neither the state disk nor a drive. The state disk goes
		// first, so the old appliance cannot record the drives' failure.
		after := disk.Cut(nil)
		for _, d := range drives {
			d.PowerCut()
		}
		stop()
		for _, d := range drives {
			d.PowerOn()
		}
		var before int64
		for _, d := range targets {
			before += d.Stats().BytesWritten
		}

		rig, stop = start(after)
		waitText(t, rig.lcd, "Resume last job?", 5*time.Second)
		rig.buttons.Click(hal.OK)
		waitText(t, rig.lcd, "Job done", 60*time.Second)
		assert.Contains(t, rig.lcd.Text(), "4 PASS 0 FAIL")
		stop()

		want, err := master.Media(0, masterSize)
		require.NoError(t, err)
		var total int64
		for i, d := range targets {
			got, err := d.Media(0, masterSize)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(want, got), "run %d: target %d holds the master", run, i+1)
			total += d.Stats().BytesWritten
		}
		t.Logf("run %d: %d MB before the power loss, %d MB after resuming (a full copy is %d MB)",
			run, before/1e6, (total-before)/1e6, int64(4*masterSize)/1e6)
		assert.Less(t, total-before, int64(4*masterSize), "the resumed run skipped what was done")
	}
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
		time.Sleep(20 * time.Millisecond)
	}
}
