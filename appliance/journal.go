package appliance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/ui"
)

// journal is the state of a running copy job, saved as it goes, so a job
// a power loss interrupted can be resumed on the next start.
type journal struct {
	Job     string         `json:"job"`
	Mode    string         `json:"mode"`
	Area    string         `json:"area"`
	Chunks  int            `json:"chunks"`
	Master  journalDrive   `json:"master"`
	Targets []journalDrive `json:"targets"`
}

type journalDrive struct {
	Port   int    `json:"port"`
	Model  string `json:"model"`
	Serial string `json:"serial"`
	Size   int64  `json:"size"`
	Synced int    `json:"synced,omitempty"` // chunks [0, Synced) are on the media
}

func driveFor(port int, d hal.DriveInfo) journalDrive {
	return journalDrive{Port: port, Model: d.Vendor + " " + d.Model, Serial: d.Serial, Size: d.Size}
}

// same reports whether a drive is the one the journal names. A drive
// without a serial number is never the same: it cannot be told from
// another of its model and size (two sticks of one batch, or a master
// and its half-made copy swapped while the power was off).
func (j journalDrive) same(d hal.DriveInfo) bool {
	return j.Serial != "" && j.Model == d.Vendor+" "+d.Model && j.Serial == d.Serial && j.Size == d.Size
}

func (a *Appliance) saveJournal() {
	if a.paths.Journal == "" || a.journal == nil {
		return
	}
	data, err := json.MarshalIndent(a.journal, "", "  ")
	if err == nil {
		err = fsys.WriteFileAtomic(a.files, a.paths.Journal, data, 0o644)
	}
	if err != nil {
		a.log.Error("job journal not saved", "err", err)
	}
}

func (a *Appliance) dropJournal() {
	a.journal = nil
	if a.paths.Journal == "" {
		return
	}
	err := a.files.Remove(a.paths.Journal)
	if err == nil {
		// A journal that came back after a power cut would offer a
		// finished job for resuming.
		err = a.files.SyncDir(filepath.Dir(a.paths.Journal))
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		a.log.Error("job journal", "err", err)
	}
}

// loadJournal reads an interrupted job's journal, if there is one.
func (a *Appliance) loadJournal() {
	if a.paths.Journal == "" {
		return
	}
	data, err := a.files.ReadFile(a.paths.Journal)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	var j journal
	if err == nil {
		err = json.Unmarshal(data, &j)
	}
	if err != nil || len(j.Targets) == 0 {
		a.log.Warn("job journal unreadable; ignored", "file", a.paths.Journal, "err", err)
		return
	}
	a.pendingResume = &j
}

// offerResume asks the operator about an interrupted job once the drives
// are known.
func (a *Appliance) offerResume() ui.Event {
	j := a.pendingResume
	if j == nil || a.job != nil {
		return nil
	}
	a.log.Info("an interrupted job can be resumed", "job", j.Job, "targets", len(j.Targets))
	return ui.ResumeOffer{Mode: j.uiMode(), Targets: len(j.Targets)}
}

// resumeJob starts the interrupted job again on the drives it was running
// on: each target that is the same drive in the same port continues from
// its last checkpoint, after the engine checks what it holds. A drive the
// journal does not name, in a port it does (another drive put in while
// the power was off, or one that cannot be identified), is left alone:
// resuming asks no confirmation, so it writes only what the operator
// confirmed before. A journal port that is the master's, or named twice,
// is left out too.
func (a *Appliance) resumeJob(ctx context.Context) ui.Event {
	j := a.pendingResume
	a.pendingResume = nil
	if j == nil {
		return ui.JobRefused{Reason: "nothing to resume"}
	}
	m, ok := a.drives[j.Master.Port]
	switch {
	case ok && j.Master.Serial == "":
		a.dropJournal()
		return ui.JobRefused{Reason: "no serial number on the master: start again"} // it cannot be told from its copies
	case !ok || !j.Master.same(m):
		a.dropJournal()
		return ui.JobRefused{Reason: "the master of the interrupted job is not in its port"}
	}
	from := map[int]int{}
	var targets, left []int
	taken := map[int]bool{j.Master.Port: true}
	for _, t := range j.Targets {
		d, ok := a.drives[t.Port]
		switch {
		case !ok:
		case taken[t.Port] || !t.same(d):
			left = append(left, t.Port)
		default:
			taken[t.Port] = true
			targets = append(targets, t.Port)
			from[t.Port] = t.Synced
		}
	}
	if len(left) > 0 {
		a.log.Warn("not resumed: these ports hold other drives than the interrupted job's", "ports", fmt.Sprint(left))
	}
	if len(targets) == 0 {
		a.dropJournal()
		return ui.JobRefused{Reason: "none of the job's targets is in its port"}
	}
	a.log.Info("resuming the interrupted job", "job", j.Job, "from", fmt.Sprint(from))
	return a.startJob(ctx, ui.StartJob{Mode: j.uiMode(), Master: j.Master.Port, Targets: targets, Area: j.Area}, from)
}

// checkpoint notes a port's synced chunks in the journal.
func (a *Appliance) checkpoint(e checkpoint) {
	if a.journal == nil {
		return
	}
	for i := range a.journal.Targets {
		if a.journal.Targets[i].Port == e.port {
			a.journal.Targets[i].Synced = e.n
		}
	}
	a.saveJournal()
}

// uiMode is the journal's job mode as the panel names it.
func (j *journal) uiMode() ui.Mode {
	if j.Mode == engine.Copy.String() {
		return ui.CopyOnly
	}
	return ui.CopyVerify
}
