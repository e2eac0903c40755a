package appliance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/lots"
	"github.com/clonebay/clonebay/record"
	"github.com/clonebay/clonebay/ui"
)

// The running lot. Its counts live in the production record alone, so
// the counter, the record and a report never disagree; the appliance
// keeps only the lot's name and count, in the state folder, so a restart
// carries on with the lot.

// lotRun is the running lot; name "" is none.
type lotRun struct {
	Name string `json:"name"`
	Goal int    `json:"goal,omitempty"` // drives that must pass; 0 is no count
}

// lotFile is where the running lot is kept; "" keeps it in memory.
func (a *Appliance) lotFile() string {
	if a.paths.State == "" {
		return ""
	}
	return filepath.Join(a.paths.State, "lot.json")
}

// recentLots is how many recent lots the panel's Lot menu offers.
const recentLots = 5

// entries is the production record's entries, not copied (the lot's
// questions are asked after every record append and drive); none without
// a record.
func (a *Appliance) entries() []record.Entry {
	if a.jobLog == nil {
		return nil
	}
	return a.jobLog.Snapshot()
}

// lotState is the lot and its count as the panel shows them.
func (a *Appliance) lotState() ui.LotState {
	entries := a.entries()
	s := ui.LotState{Name: a.lot.Name, Goal: a.lot.Goal, Recent: lots.Recent(entries, recentLots), Next: lots.NextName(entries)}
	s.Pass, s.Fail, _ = lots.Counts(entries, a.lot.Name)
	return s
}

// openLot takes the lot the appliance starts with: the one given in its
// configuration, else the one it ran before it stopped.
func (a *Appliance) openLot(given *lotRun) []ui.Event {
	if given != nil {
		return a.startLot(ui.StartLot{Name: given.Name, Goal: given.Goal})
	}
	file := a.lotFile()
	if file == "" {
		return one(a.lotState())
	}
	data, err := a.files.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return one(a.lotState())
	}
	var l lotRun
	if err == nil {
		err = json.Unmarshal(data, &l)
	}
	if err == nil && l.Name != "" {
		err = lots.CheckLot(l.Name, l.Goal)
	}
	if err != nil {
		a.log.Error("lot: the saved lot is damaged; no lot runs", "file", file, "err", err)
		return []ui.Event{a.lotState(), ui.Notice{Title: "Lot", Text: fmt.Sprintf("The saved lot cannot be read (%v). Start the lot again from the menu.", err)}}
	}
	a.lot = l
	if l.Name != "" {
		a.log.Info("lot: carried on", "lot", l.Name, "count", l.Goal)
	}
	return one(a.lotState())
}

// saveLot keeps the running lot across a restart.
func (a *Appliance) saveLot(l lotRun) error {
	file := a.lotFile()
	if file == "" {
		return nil
	}
	data, err := json.Marshal(l)
	if err != nil {
		return err
	}
	return fsys.WriteFileAtomic(a.files, file, append(data, '\n'), 0o644)
}

// startLot starts a lot: every record entry from now on carries it, and
// the drives in the ports are checked against it.
func (a *Appliance) startLot(c ui.StartLot) []ui.Event {
	refuse := func(why string) []ui.Event {
		a.log.Warn("lot: not started", "lot", c.Name, "why", why)
		return []ui.Event{a.lotState(), ui.Notice{Title: "Lot not started", Text: why}}
	}
	switch {
	case a.job != nil || a.line != nil:
		return refuse("A job is running: the lot cannot change under it.")
	case a.jobLog == nil:
		return refuse("No production record here: lots cannot be counted.")
	}
	if err := lots.CheckLot(c.Name, c.Goal); err != nil {
		a.log.Warn("lot: refused", "err", err)
		return refuse(shortReason(err))
	}
	l := lotRun{Name: c.Name, Goal: c.Goal}
	if err := a.saveLot(l); err != nil {
		return refuse(fmt.Sprintf("The lot could not be saved: %v", err))
	}
	a.lot = l
	st := a.lotState()
	a.log.Info("lot started", "lot", l.Name, "count", l.Goal, "passed before", st.Pass)
	return append([]ui.Event{st}, a.markDrives()...)
}

// endLot ends the running lot.
func (a *Appliance) endLot() []ui.Event {
	if a.job != nil || a.line != nil {
		return []ui.Event{ui.Notice{Title: "Lot", Text: "A job is running: the lot cannot change under it."}}
	}
	if err := a.saveLot(lotRun{}); err != nil {
		return []ui.Event{ui.Notice{Title: "Lot", Text: fmt.Sprintf("The lot could not be ended: %v", err)}}
	}
	a.log.Info("lot ended", "lot", a.lot.Name)
	a.lot = lotRun{}
	return append([]ui.Event{a.lotState()}, a.markDrives()...)
}

// markDone notes on a probed drive whether it already passed in the lot.
// A drive the record cannot tell apart (no serial) is never called done;
// the log says so, and Drive info shows it unchecked.
func (a *Appliance) markDone(d hal.DriveInfo, u ui.Drive) ui.Drive {
	u.Done = ""
	if a.lot.Name == "" || d.Port == a.b.MasterPort || d.Size == 0 {
		return u
	}
	switch c := lots.AlreadyDone(a.entries(), a.lot.Name, lots.IdentityOf(d)); c.Verdict {
	case lots.Done:
		u.Done = c.Reason
		a.log.Warn("lot: drive already done", "port", d.Label, "serial", d.Serial, "why", c.Reason)
	case lots.Unknown:
		a.log.Info("lot: drive cannot be checked", "port", d.Label, "why", c.Reason)
	}
	return u
}

// markDrives checks every drive in the ports against the lot again.
func (a *Appliance) markDrives() []ui.Event {
	var out []ui.Event
	for _, p := range a.b.Ports {
		u, ok := a.shown[p.Number]
		if !ok {
			continue
		}
		u = a.markDone(a.drives[p.Number], u)
		a.shown[p.Number] = u
		out = append(out, ui.DriveIn{Drive: u})
	}
	return out
}

// shortReason is the end of an error's chain, what the LCD's few rows
// can show ("character 3 is a control character (U+0007)"); the log
// keeps the whole error.
func shortReason(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 && i+2 < len(s) {
		s = s[i+2:]
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// readScanner forwards the barcode scanner's codes to the loop as lot
// names. A scanner that fails (unplugged) is logged; the appliance runs
// on without it.
func (a *Appliance) readScanner(ctx context.Context) error {
	scans := make(chan hal.Scan, 4)
	done := make(chan error, 1)
	go func() { done <- a.hw.Scanner.Run(ctx, scans) }()
	for {
		select {
		case s := <-scans:
			ev := ui.Scanned{}
			name, err := lots.NameFromScan(s)
			if err != nil {
				ev.Err = shortReason(err)
				a.log.Warn("scanner: code refused", "err", err)
			} else {
				ev.Name = name
				a.log.Info("scanner: lot name read", "lot", name)
			}
			a.send(ctx, frontEndEvent{ev: ev})
		case err := <-done:
			if ctx.Err() == nil && err != nil {
				a.log.Error("scanner stopped; lots can still be started from the menu", "err", err)
			}
			return nil
		}
	}
}

// showLamps sets the stack light when what it shows changed.
func (a *Appliance) showLamps(l hal.Lamps) {
	if a.hw.Light == nil || a.lastLamps != nil && *a.lastLamps == l {
		return
	}
	if err := a.hw.Light.Set(l); err != nil {
		a.log.Error("stack light", "err", err)
		return
	}
	a.lastLamps = &l
}
