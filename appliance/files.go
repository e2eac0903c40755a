package appliance

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/engine/fatfs"
	"github.com/clonebay/clonebay/fileset"
	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/jobrecord"
	"github.com/clonebay/clonebay/record"
	"github.com/clonebay/clonebay/ui"
)

// Data duplication on the panel: a file set (or the files on the master
// drive) onto every target, each partitioned and formatted fresh and
// verified file by file (package fileset does the work).

// filesMeta is what the record needs of a files job beside its result.
type filesMeta struct {
	set string // "" when the files came from the master drive
}

// filesFinished is a files job's result (or why it could not run).
type filesFinished struct {
	res  *fileset.Result
	err  error
	meta jobMeta
	line bool // one port of production-line mode
	port int  // with line
}

func (filesFinished) loopEvent() {}

// setList lists the file sets for the panel.
func (a *Appliance) setList() ui.SetsLoaded {
	var out ui.SetsLoaded
	if a.sets == nil {
		return out
	}
	infos, err := a.sets.List()
	if err != nil {
		a.log.Error("file sets", "err", err)
	}
	for _, in := range infos {
		s := ui.SetInfo{Name: in.Name}
		if in.Err != nil {
			s.Err = in.Err.Error()
		} else {
			s.Files, s.Bytes = in.Manifest.Files, in.Manifest.Bytes
		}
		out.Sets = append(out.Sets, s)
	}
	return out
}

// filesSource opens what a files job copies: a stored set (checked
// against its manifest before its first job of the day), or the FAT or
// exFAT volume on the master drive, which is opened write-blocked and
// listed and hashed first. It runs as a task.
func (a *Appliance) filesSource(ctx context.Context, set string, master hal.Master) (fileset.Source, error) {
	if set != "" {
		s, err := a.sets.OpenForJob(ctx, set, nil)
		if err != nil {
			return fileset.Source{}, err
		}
		return s.Source(), nil
	}
	d := master.Info()
	vol, err := fileset.OpenVolume(master, master.Size(), d.LogicalSectorSize)
	if err != nil {
		return fileset.Source{}, fmt.Errorf("master: %w", err)
	}
	m, err := fileset.Hash(ctx, vol, "port "+d.Label+" "+strings.TrimSpace(d.Vendor+" "+d.Model), nil)
	if err != nil {
		return fileset.Source{}, fmt.Errorf("master: %w", err)
	}
	return fileset.Source{Manifest: m, Files: vol, ID: master.ID()}, nil
}

// filesOptions are a files job's options: the library's folder to build
// the file systems in, and the appliance's engine options.
func (a *Appliance) filesOptions() fileset.Options {
	o := fileset.Options{WorkDir: a.sets.Dir, Engine: a.jobOpts}
	o.Engine.OnProgress = a.onProgress
	if a.settings.Qualify {
		o.Engine.Qualify = &engine.QualifyOptions{MinWriteMBps: a.settings.MinWriteMBps}
	}
	return o
}

// startFiles opens the targets (and the master drive, when its files are
// the source) and runs a files job as a task.
func (a *Appliance) startFiles(ctx context.Context, c ui.StartJob) ui.Event {
	if a.sets == nil {
		return ui.JobRefused{Reason: "no file set library"}
	}
	j := &runningJob{done: make(chan struct{}), meta: jobMeta{lot: a.lot.Name, started: time.Now(), id: newJobID(), targets: map[int]hal.DriveInfo{},
		files: &filesMeta{set: c.Set}}}
	var master hal.Master
	if c.Set == "" {
		m, d, err := a.openMaster(c.Master)
		if err != nil {
			return ui.JobRefused{Reason: err.Error()}
		}
		master, j.meta.master, j.drives = m, d, []hal.DriveReader{m}
	}
	var targets []engine.PortTarget
	for _, port := range c.Targets {
		d, ok := a.drives[port]
		if !ok {
			j.prefail = append(j.prefail, ui.PortResult{Port: port, Cause: "removed", Reason: "the drive left before the job"})
			continue
		}
		w, err := a.hw.Opener.OpenWrite(d.Node)
		if err != nil {
			a.log.Error("job: target", "port", d.Label, "err", err)
			j.prefail = append(j.prefail, ui.PortResult{Port: port, Cause: "cannot open", Reason: err.Error()})
			continue
		}
		j.drives = append(j.drives, w)
		j.meta.targets[port] = d
		targets = append(targets, engine.PortTarget{Port: port, Label: d.Label, Dev: w})
	}
	if len(targets) == 0 {
		j.close()
		return ui.JobRefused{Reason: "no target could be opened"}
	}
	jctx, cancel := context.WithCancel(ctx)
	j.cancel = cancel
	a.job = j
	var bytes int64
	if c.Set != "" {
		if in, err := a.sets.Info(c.Set); err == nil && in.Manifest != nil {
			bytes = in.Manifest.Bytes
		}
	}
	opts := a.filesOptions()
	a.log.Info("files job started", "set", c.Set, "targets", len(targets))
	a.spawn(ctx, func(ctx context.Context) {
		defer cancel()
		var res *fileset.Result
		src, err := a.filesSource(jctx, c.Set, master)
		if err == nil {
			res, err = fileset.Run(jctx, src, targets, opts)
		}
		j.close()
		close(j.done)
		a.send(ctx, filesFinished{res: res, err: err, meta: j.meta})
	})
	return ui.JobStarted{Bytes: bytes, Area: "files"}
}

// filesResult is a files job's outcome as the panel shows it; a job
// refused as a whole fails every port with the reason.
func filesResult(e filesFinished, ports []int) ui.JobResult {
	r := ui.JobResult{Mode: ui.CopyFiles}
	if e.res != nil {
		r.Duration = e.res.Duration
		if e.res.Manifest != nil {
			r.Bytes = e.res.Manifest.Bytes
		}
		for _, p := range e.res.Ports {
			r.Ports = append(r.Ports, portResult(p.PortResult))
		}
		return r
	}
	for _, port := range ports {
		abort := errors.Is(e.err, context.Canceled)
		r.Ports = append(r.Ports, ui.PortResult{Port: port, Abort: abort, Cause: map[bool]string{true: "aborted", false: "refused"}[abort],
			Reason: e.err.Error()})
	}
	return r
}

// filesDone records a files job and tells the panel its result.
func (a *Appliance) filesDone(e filesFinished) []ui.Event {
	if e.line {
		return a.lineFilesEnded(e)
	}
	j := a.job
	a.job = nil
	ports := make([]int, 0, len(e.meta.targets))
	for p := range e.meta.targets {
		ports = append(ports, p)
	}
	slices.Sort(ports)
	r := filesResult(e, ports)
	var out []ui.Event
	if j != nil {
		r.Ports = append(r.Ports, j.prefail...)
	}
	out = append(out, a.writeEntries(filesEntries(e, ports, time.Now()))...)
	if e.err != nil {
		a.log.Error("files job refused", "err", e.err)
	}
	for _, p := range r.Ports {
		a.log.Info("files job port result", "port", p.Port, "pass", p.Pass, "reason", p.Reason)
	}
	slices.SortFunc(r.Ports, func(x, y ui.PortResult) int { return x.Port - y.Port })
	a.log.Info("files job done", "passed", r.Passed(), "ports", len(r.Ports))
	return append([]ui.Event{ui.JobDone{Result: r}, a.setList()}, out...)
}

// filesEntries are a files job's production-record entries (see
// jobrecord.Files): the set, or the master drive, as the master.
func filesEntries(e filesFinished, ports []int, when time.Time) []record.Entry {
	m := e.meta
	j := jobrecord.Job{ID: m.id, Lot: m.lot, Started: m.started, Ended: when, Master: m.master, Targets: m.targets}
	if m.files != nil && m.files.set != "" {
		j.MasterKind, j.Image = jobrecord.MasterSet, m.files.set
	}
	return jobrecord.Files(j, e.res, ports, e.err)
}

// importSet stores the files of the stick in a port as a new file set,
// read through the firmware's own FAT and exFAT reader, as a task.
func (a *Appliance) importSet(ctx context.Context, c ui.ImportSet) ui.Event {
	if a.sets == nil {
		return noLibrary
	}
	d, ok := a.drives[c.Port]
	if !ok || d.Size == 0 {
		return ui.BusyDone{Title: "Not imported", Text: "The stick was removed."}
	}
	stamp := "files-" + time.Now().Format("0102-1504")
	name := stamp
	for i := 2; a.sets.Has(name); i++ {
		name = fmt.Sprintf("%s-%d", stamp, i)
	}
	sets, opener, log := a.sets, a.hw.Opener, a.log
	progress := a.progressTo("Importing " + name)
	a.spawn(ctx, func(ctx context.Context) {
		done := ui.BusyDone{Title: "Imported"}
		err := func() error {
			r, err := opener.OpenRead(d.Node)
			if err != nil {
				return err
			}
			defer r.Close()
			var vol fs.FS
			fat, err := fileset.OpenVolume(r, d.Size, d.LogicalSectorSize)
			switch {
			case err == nil:
				vol = fat
			case errors.Is(err, fatfs.ErrNotFAT):
				// NTFS or ext4: read through that file system's tools.
				f, err := fileset.OpenForeign(ctx, d.Node, r, d.Size, d.LogicalSectorSize, sets.Dir)
				if err != nil {
					return err
				}
				defer f.Close()
				vol = f
			default:
				return err
			}
			origin := strings.Join(strings.Fields(fmt.Sprintf("port %s, %s %s %s", d.Label, d.Vendor, d.Model, d.Serial)), " ")
			m, err := sets.Import(ctx, name, vol, origin, fileset.Progress(progress))
			if err != nil {
				return err
			}
			done.Text = fmt.Sprintf("%s: %d files, %s.", name, m.Files, engine.FormatSize(m.Bytes))
			log.Info("file set imported", "name", name, "port", d.Label, "files", m.Files, "bytes", m.Bytes, "sha256", m.SHA256)
			return nil
		}()
		if err != nil {
			done = ui.BusyDone{Title: "Not imported", Text: err.Error()}
			log.Error("import files", "port", d.Label, "err", err)
		}
		a.send(ctx, panelEvent{done})
		a.send(ctx, setsChanged{})
	})
	return nil
}

// setsChanged asks the loop to list the file sets again.
type setsChanged struct{}

func (setsChanged) loopEvent() {}
