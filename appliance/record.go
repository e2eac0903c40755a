package appliance

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/fatstick"
	"github.com/clonebay/clonebay/fileset"
	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/images"
	"github.com/clonebay/clonebay/record"
	"github.com/clonebay/clonebay/ui"
)

// jobMeta is what the record needs of a job that the result lacks: who
// the master and the targets were.
type jobMeta struct {
	id      string
	master  hal.DriveInfo
	image   *images.Manifest // the master is this image, not a drive
	files   *filesMeta       // a files job
	targets map[int]hal.DriveInfo
}

// recordEntries turns a job's result into production-record entries.
func recordEntries(m jobMeta, res *engine.Result, when time.Time) []record.Entry {
	var out []record.Entry
	for _, p := range res.Ports {
		t := m.targets[p.Port]
		kind := "drive"
		if res.Mode == engine.Erase {
			kind = ""
		}
		e := record.Entry{
			Time: when.UTC(), Job: m.id, Mode: res.Mode.String(),
			MasterKind: kind, MasterName: strings.TrimSpace(m.master.Vendor + " " + m.master.Model),
			MasterSerial: m.master.Serial, MasterSize: m.master.Size, MasterSHA256: res.SHA256,
			Area: res.Area, Bytes: res.Bytes,
			Port: p.Port, Label: p.Label, TargetModel: strings.TrimSpace(t.Vendor + " " + t.Model),
			TargetSerial: t.Serial, TargetSize: t.Size,
			Result: p.Status.String(), Reason: p.Reason, Written: p.Written, Verified: p.Verified,
			MBps: p.MBps, SHA256: p.SHA256,
		}
		for _, r := range res.BadRanges {
			e.BadRanges = append(e.BadRanges, record.Range{Off: r.Off, Len: r.Len})
		}
		if m.image != nil {
			e.MasterKind, e.MasterName, e.MasterSerial, e.MasterSize = "image", m.image.Name, "", m.image.Size
		}
		out = append(out, e)
	}
	return out
}

// logResults groups record entries into the panel's job results, newest
// first.
func logResults(entries []record.Entry) []ui.JobResult {
	var out []ui.JobResult
	index := map[string]int{}
	for _, e := range entries {
		i, ok := index[e.Job]
		if !ok {
			mode := ui.CopyVerify
			switch e.Mode {
			case "copy":
				mode = ui.CopyOnly
			case "verify":
				mode = ui.VerifyOnly
			case "erase":
				mode = ui.EraseDrives
			case fileset.Mode:
				mode = ui.CopyFiles
			}
			out = append(out, ui.JobResult{Mode: mode, Bytes: e.Bytes})
			i = len(out) - 1
			index[e.Job] = i
		}
		out[i].Ports = append(out[i].Ports, ui.PortResult{Port: e.Port, Pass: e.Result == "PASS", Abort: e.Result == "ABORTED", Reason: e.Reason})
	}
	for l, r := 0, len(out)-1; l < r; l, r = l+1, r-1 {
		out[l], out[r] = out[r], out[l]
	}
	return out
}

// openJobLog opens the production record and says what the panel must
// know about it.
func (a *Appliance) openJobLog() []ui.Event {
	if a.paths.Record == "" {
		return nil
	}
	l, rep, err := record.Open(a.files, a.paths.Record)
	if l == nil {
		a.log.Error("job log", "err", err)
		return one(ui.Notice{Title: "Job log", Text: "The job log cannot be opened: " + err.Error()})
	}
	a.jobLog = l
	out := []ui.Event{ui.LogLoaded{Results: logResults(l.Entries())}}
	for _, n := range rep.Notes {
		a.log.Warn("job log: repaired on start", "file", a.paths.Record, "found", n)
	}
	if err != nil {
		for _, p := range rep.Problems {
			a.log.Error("job log: damaged", "file", a.paths.Record, "problem", p)
		}
		out = append(out, ui.Notice{Title: "Job log damaged", Text: "The job log does not verify; see the log. New jobs are still recorded."})
	}
	return out
}

// writeRecord appends a finished job to the production record; what it
// returns tells the panel when that failed.
func (a *Appliance) writeRecord(m jobMeta, res *engine.Result) []ui.Event {
	return a.writeEntries(recordEntries(m, res, time.Now()))
}

// writeEntries appends one job's entries to the production record.
func (a *Appliance) writeEntries(entries []record.Entry) []ui.Event {
	if a.jobLog == nil || len(entries) == 0 {
		return nil
	}
	if err := a.jobLog.Append(entries...); err != nil {
		a.log.Error("job log: not written", "err", err)
		return one(ui.Notice{Title: "Job log", Text: "The job was not recorded: " + err.Error()})
	}
	if a.repl != nil {
		a.repl.Notify()
	}
	return nil
}

// exportLog copies the record as CSV and JSON onto a FAT stick in a port
// that is not the master's and not in a job.
func (a *Appliance) exportLog(ctx context.Context) ui.Event {
	if a.jobLog == nil {
		return ui.Notice{Title: "Export", Text: "There is no job log on this appliance."}
	}
	for _, port := range a.b.Ports {
		d, ok := a.drives[port.Number]
		if !ok || port.Number == a.b.MasterPort || d.Size == 0 || a.inUse(port.Number) {
			continue
		}
		off, err := a.findFAT(d)
		if err != nil {
			continue
		}
		n, err := fatstick.Export(ctx, d.Node, off, a.jobLog.Entries(), time.Now())
		if err != nil {
			a.log.Error("export", "port", port.Label, "err", err)
			return ui.Notice{Title: "Export failed", Text: fmt.Sprintf("Port %s: %v", port.Label, err)}
		}
		a.log.Info("job log exported", "port", port.Label, "entries", n)
		return ui.Notice{Title: "Exported", Text: fmt.Sprintf("%d entries to the stick in port %s.", n, port.Label)}
	}
	return ui.Notice{Title: "Export", Text: "No USB stick with a FAT file system is in a port."}
}

// findFAT finds the FAT file system on the stick in a port.
func (a *Appliance) findFAT(d hal.DriveInfo) (int64, error) {
	r, err := a.hw.Opener.OpenRead(d.Node)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	return fatstick.Find(r, d.Size, d.LogicalSectorSize)
}
