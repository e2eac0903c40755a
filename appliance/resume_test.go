package appliance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
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

// TestResumeTouchesOnlyTheJobsDrives: resuming asks no confirmation, so
// it writes only the drives the interrupted job was writing. A drive put
// in a journal port while the power was off is left alone; drives that
// cannot be identified (no serial number: a master and its half-made
// copy swapped) refuse the resume; a journal that names the master's
// port, or one port twice, resumes the real target once.
func TestResumeTouchesOnlyTheJobsDrives(t *testing.T) {
	const size = 128 << 20
	stick := func(serial string) *sim.Drive {
		return sim.MustDrive(sim.DriveSpec{Size: size, WriteMBps: 100, ReadMBps: 200, Serial: serial, Model: "Stick", Vendor: "Clonebay"})
	}
	master := func(serial string) *sim.Drive {
		return sim.MustDrive(sim.DriveSpec{Size: sim.MasterSize, Content: sim.MasterContent(), ReadMBps: 200, Serial: serial, Model: "Master", Vendor: "Clonebay"})
	}
	entry := func(port int, model, serial string, size int64) string {
		return fmt.Sprintf(`{"port":%d,"model":"Clonebay %s","serial":%q,"size":%d,"synced":2}`, port, model, serial, size)
	}
	for _, tc := range []struct {
		name    string
		master  string   // the journal's master entry
		targets []string // its target entries
		drives  map[int]*sim.Drive
		written []int  // the ports whose drives the resume writes
		want    string // on the LCD at the end
	}{
		{"another drive in one of the job's ports",
			entry(1, "Master", "M1", sim.MasterSize), []string{entry(2, "Stick", "T2", size), entry(3, "Stick", "T3", size)},
			map[int]*sim.Drive{1: master("M1"), 2: stick("T2"), 3: stick("X9")}, []int{2}, "1 PASS 0 FAIL"},
		{"master and copy swapped, neither with a serial",
			entry(1, "Master", "", sim.MasterSize), []string{entry(2, "Master", "", sim.MasterSize)},
			map[int]*sim.Drive{1: master(""), 2: master("")}, nil, "Not started"},
		{"the master's port and one port twice among the targets",
			entry(1, "Master", "M1", sim.MasterSize), []string{entry(1, "Master", "M1", sim.MasterSize), entry(2, "Stick", "T2", size), entry(2, "Stick", "T2", size)},
			map[int]*sim.Drive{1: master("M1"), 2: stick("T2")}, []int{2}, "1 PASS 0 FAIL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "job.journal")
				j := fmt.Sprintf(`{"job":"j1","mode":"copy+verify","area":"whole","chunks":16,"master":%s,"targets":[%s]}`,
					tc.master, strings.Join(tc.targets, ","))
				require.NoError(t, os.WriteFile(path, []byte(j), 0o644))
				a := startRig(t, Config{}, Paths{Journal: path}, func(rig *sim.Rig) {
					for p, d := range tc.drives {
						require.NoError(t, rig.Bay.Insert(p, d))
					}
				})
				a.waitText("Resume last job?", 5*time.Second)
				a.press(hal.OK)
				a.waitText(tc.want, 60*time.Second)
				a.stop()
				for p, d := range tc.drives {
					if slices.Contains(tc.written, p) {
						assert.NotZero(t, d.Stats().BytesWritten, "port %d is resumed", p)
					} else {
						assert.Zero(t, d.Stats().BytesWritten, "port %d is left alone", p)
					}
				}
			})
		})
	}
}
