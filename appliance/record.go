package appliance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/fatstick"
	"github.com/clonebay/clonebay/fileset"
	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/images"
	"github.com/clonebay/clonebay/internal/filelock"
	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/jobrecord"
	"github.com/clonebay/clonebay/record"
	"github.com/clonebay/clonebay/report"
	"github.com/clonebay/clonebay/ui"
)

// jobMeta is what the record needs of a job that the result lacks: who
// the master and the targets were, when it started, and for which lot.
type jobMeta struct {
	id      string
	lot     string
	started time.Time
	master  hal.DriveInfo
	image   *images.Manifest // the master is this image, not a drive
	files   *filesMeta       // a files job
	targets map[int]hal.DriveInfo
}

// recordEntries turns a job's result into production-record entries.
func recordEntries(m jobMeta, res *engine.Result, when time.Time) []record.Entry {
	j := jobrecord.Job{ID: m.id, Lot: m.lot, Started: m.started, Ended: when, Master: m.master, Targets: m.targets}
	if m.image != nil {
		j.MasterKind, j.Image, j.ImageSize = jobrecord.MasterImage, m.image.Name, m.image.Size
	}
	return jobrecord.Entries(j, res)
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
	if a.files == fsys.OS {
		lock, err := lockRecord(a.paths.Record)
		if err != nil {
			a.log.Error("job log", "err", err)
			return one(ui.Notice{Title: "Job log", Text: "Jobs are not recorded: " + shortReason(err)})
		}
		a.recordLock = lock
	}
	l, rep, err := record.Open(a.files, a.paths.Record)
	if l == nil {
		a.log.Error("job log", "err", err)
		return one(ui.Notice{Title: "Job log", Text: "The job log cannot be opened: " + err.Error()})
	}
	a.jobLog = l
	a.shared.record.Store(l)
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

// lockRecord locks the production record's file for the appliance's
// life, as a command-line job locks it for its own: two writers never
// chain entries onto one record at once.
func lockRecord(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("record %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", path, err)
	}
	if err := filelock.Lock(f, true); err != nil {
		f.Close()
		if errors.Is(err, filelock.ErrLocked) {
			return nil, fmt.Errorf("record %s: another program is writing to it: a command-line job holds it", path)
		}
		return nil, fmt.Errorf("record %s: %w", path, err)
	}
	return f, nil
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
		if all := a.jobLog.Snapshot(); len(all) > 0 {
			a.repl.Appended(all[len(all)-1].Seq)
		}
	}
	if a.lot.Name != "" {
		return one(a.lotState()) // the counter moves; the count may be reached
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
		entries := a.jobLog.Snapshot()
		reports, err := a.lotReports(entries)
		if err != nil {
			a.log.Error("export: the lot's report", "lot", a.lot.Name, "err", err)
			return ui.Notice{Title: "Export failed", Text: "The lot's report: " + err.Error()}
		}
		n, err := fatstick.Export(ctx, d.Node, off, entries, time.Now(), reports...)
		if err != nil {
			a.log.Error("export", "port", port.Label, "err", err)
			return ui.Notice{Title: "Export failed", Text: fmt.Sprintf("Port %s: %v", port.Label, err)}
		}
		a.log.Info("job log exported", "port", port.Label, "entries", n, "lot reports", len(reports))
		if len(reports) > 0 {
			return ui.Notice{Title: "Exported", Text: fmt.Sprintf("%d entries and lot %s's report to port %s.", n, a.lot.Name, port.Label)}
		}
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

// lotReports are the running lot's batch report, as PDF and CSV, for the
// export; none when no lot runs or the record holds none of it yet.
func (a *Appliance) lotReports(entries []record.Entry) ([]fatstick.File, error) {
	if a.lot.Name == "" {
		return nil, nil
	}
	mine, err := report.LotEntries(entries, a.lot.Name)
	if errors.Is(err, report.ErrNoEntries) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	b := report.Batch{Lot: a.lot.Name, Entries: mine, Meta: report.Meta{Firmware: a.version, ApplianceID: a.id, Generated: time.Now()}}
	if n := len(entries); n > 0 {
		b.Head = report.Head{Count: int64(n), Sum: entries[n-1].Sum}
	}
	var pdf, csv bytes.Buffer
	if err := report.WriteBatchPDF(&pdf, b); err != nil {
		return nil, err
	}
	if err := report.WriteBatchCSV(&csv, b); err != nil {
		return nil, err
	}
	base := "lot-" + a.lot.Name
	return []fatstick.File{{Name: base + ".pdf", Data: pdf.Bytes()}, {Name: base + ".csv", Data: csv.Bytes()}}, nil
}
