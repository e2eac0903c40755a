package appliance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/fatstick"
	"github.com/clonebay/clonebay/fileset"
	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/images"
	"github.com/clonebay/clonebay/ui"
)

// openImageLibrary opens the library folder; without one the Image menu
// says so.
func (a *Appliance) openImageLibrary() []ui.Event {
	if a.paths.Library == "" {
		return nil
	}
	lib, err := images.OpenLibrary(a.paths.Library)
	if err != nil {
		a.log.Error("image library", "dir", a.paths.Library, "err", err)
		return one(ui.Notice{Title: "Images", Text: "The image library cannot be opened: " + err.Error()})
	}
	a.lib = lib
	a.shared.lib.Store(lib)
	out := []ui.Event{a.imageList()}
	if a.sets, err = fileset.OpenLibrary(a.paths.Library); err != nil {
		a.log.Error("file sets", "dir", a.paths.Library, "err", err)
		return append(out, ui.Notice{Title: "File sets", Text: "The file sets cannot be opened: " + err.Error()})
	}
	return append(out, a.setList())
}

// imageList lists the library for the panel.
func (a *Appliance) imageList() ui.ImagesLoaded {
	var out ui.ImagesLoaded
	if a.lib == nil {
		return out
	}
	ents, err := a.lib.List()
	if err != nil {
		a.log.Error("image library", "err", err)
	}
	for _, e := range ents {
		info := ui.ImageInfo{Name: e.Name}
		if e.Err != nil {
			info.Err = e.Err.Error()
		} else {
			m := e.Manifest
			info.Size, info.Bytes, info.Stored, info.Created, info.SHA256, info.Area = m.Size, m.Bytes, m.Stored, m.Created, m.SHA256, m.Area
		}
		out.Images = append(out.Images, info)
	}
	out.Free, _ = a.lib.Free()
	return out
}

// progressTo reports a long operation's progress to the panel, at most
// once a percent.
func (a *Appliance) progressTo(what string) images.Progress {
	last := -1
	return func(done, total int64) {
		if total <= 0 || int(done*100/total) == last {
			return
		}
		last = int(done * 100 / total)
		a.offer(panelEvent{ui.Busy{What: what, Done: done, Total: total}})
	}
}

// noLibrary answers a library command on an appliance without one.
var noLibrary = ui.BusyDone{Title: "Images", Text: "This appliance has no image library."}

// captureImage stores the drive in a port as a new image, named by the
// date and time, as a task. The drive is opened as a master: write-blocked
// while it is read.
func (a *Appliance) captureImage(ctx context.Context, c ui.CaptureImage) ui.Event {
	if a.lib == nil {
		return noLibrary
	}
	d, ok := a.drives[c.Port]
	if !ok || d.Size == 0 {
		return ui.BusyDone{Title: "Capture", Text: "No drive in the master port."}
	}
	stamp := "img-" + time.Now().Format("0102-1504")
	taken := a.lib.Names()
	name := stamp
	for i := 2; slices.Contains(taken, name); i++ {
		name = fmt.Sprintf("%s-%d", stamp, i)
	}
	lib, opener, area, log := a.lib, a.hw.Opener, areaFor(a.settings.Area), a.log
	origin := strings.Join(strings.Fields(fmt.Sprintf("port %s, %s %s %s", d.Label, d.Vendor, d.Model, d.Serial)), " ")
	progress := a.progressTo("Capturing " + name)
	a.spawn(ctx, func(ctx context.Context) {
		done := ui.BusyDone{Title: "Captured"}
		r, err := opener.OpenMaster(d.Node)
		if err == nil {
			var m *images.Manifest
			m, err = lib.Capture(ctx, r, name, images.CaptureOptions{Area: area, Origin: origin, Progress: progress})
			r.Close()
			if err == nil {
				done.Text = fmt.Sprintf("%s: %s of %s stored in %s.", name, engine.FormatSize(m.Bytes), engine.FormatSize(m.Size), engine.FormatSize(m.Stored))
				log.Info("image captured", "name", name, "port", d.Label, "bytes", m.Bytes, "stored", m.Stored, "sha256", m.SHA256)
			}
		}
		if err != nil {
			done = ui.BusyDone{Title: "Not captured", Text: err.Error()}
			log.Error("capture", "port", d.Label, "err", err)
		}
		a.send(ctx, panelEvent{done})
		a.send(ctx, imagesChanged{})
	})
	return nil
}

// deleteImage deletes an image.
func (a *Appliance) deleteImage(c ui.DeleteImage) []ui.Event {
	if a.lib == nil {
		return one(noLibrary)
	}
	if a.line != nil && a.line.image != nil && a.line.image.Name() == c.Name {
		return one(ui.BusyDone{Title: "Not deleted", Text: c.Name + " is the master of the running line.", Failed: true})
	}
	done := ui.BusyDone{Title: "Deleted", Text: c.Name + " is gone."}
	if err := a.lib.Remove(c.Name); err != nil {
		a.log.Error("image delete", "name", c.Name, "err", err)
		done = ui.BusyDone{Title: "Not deleted", Text: err.Error(), Failed: true}
	} else {
		a.log.Info("image deleted", "name", c.Name)
	}
	return []ui.Event{done, a.imageList()}
}

// imageExt is what an importable image file is called.
var imageExt = regexp.MustCompile(`(?i)\.(img|iso|raw|bin)(\.(gz|xz|zst))?$|\.(gz|xz|zst)$`)

// findImports lists the image files on FAT sticks in the ports, as a task.
func (a *Appliance) findImports(ctx context.Context) ui.Event {
	if a.lib == nil {
		return noLibrary
	}
	var sticks []hal.DriveInfo
	for _, p := range a.b.Ports {
		if d, ok := a.drives[p.Number]; ok && d.Size > 0 && !a.inUse(p.Number) {
			sticks = append(sticks, d)
		}
	}
	opener, log := a.hw.Opener, a.log
	a.spawn(ctx, func(ctx context.Context) {
		var files []ui.ImportFile
		for _, d := range sticks {
			node, off, cleanup, err := stickSource(opener, d)
			if err != nil {
				continue
			}
			all, err := fatstick.List(ctx, node, off)
			if err != nil {
				log.Warn("import: cannot list the stick", "port", d.Label, "err", err)
			}
			for _, f := range all {
				if imageExt.MatchString(f) && !strings.HasSuffix(f, "/") {
					size, _ := fatstick.Size(ctx, node, off, f)
					files = append(files, ui.ImportFile{Port: d.Port, Path: f, Size: size})
				}
			}
			cleanup()
		}
		a.send(ctx, panelEvent{ui.ImportFiles{Files: files}})
	})
	return nil
}

// inUse reports whether a port's drive is in a job or the line.
func (a *Appliance) inUse(port int) bool {
	if a.line != nil && a.line.ports[port] != nil {
		return true
	}
	return a.job != nil && a.job.meta.targets[port].Node != ""
}

// importImage imports a file from a stick, with its .bmap and .sha256
// files when they are next to it, as a task.
func (a *Appliance) importImage(ctx context.Context, c ui.ImportImage) ui.Event {
	if a.lib == nil {
		return noLibrary
	}
	d, ok := a.drives[c.File.Port]
	if !ok {
		return ui.BusyDone{Title: "Not imported", Text: "The stick was removed."}
	}
	lib, opener, log := a.lib, a.hw.Opener, a.log
	progress := a.progressTo("Importing " + images.NameFor(c.File.Path))
	a.spawn(ctx, func(ctx context.Context) {
		done, err := func() (ui.BusyDone, error) {
			node, off, cleanup, err := stickSource(opener, d)
			if err != nil {
				return ui.BusyDone{}, err
			}
			defer cleanup()
			m, err := ImportFromStick(ctx, lib, node, off, c.File.Path, c.File.Size, progress)
			if err != nil {
				return ui.BusyDone{}, err
			}
			log.Info("image imported", "name", m.Name, "file", c.File.Path, "port", d.Label, "bytes", m.Bytes, "sha256", m.SHA256)
			return ui.BusyDone{Title: "Imported", Text: fmt.Sprintf("%s: %s, stored in %s.", m.Name, engine.FormatSize(m.Size), engine.FormatSize(m.Stored))}, nil
		}()
		if err != nil {
			log.Error("import", "file", c.File.Path, "port", d.Label, "err", err)
			done = ui.BusyDone{Title: "Not imported", Text: err.Error()}
		}
		a.send(ctx, panelEvent{done})
		a.send(ctx, imagesChanged{})
	})
	return nil
}

// stickSource finds the FAT file system on a stick for mtools: the device
// node and the file system's offset. A drive without a node in the file
// system (the simulator's) is copied into a temporary file first.
func stickSource(opener hal.DriveOpener, d hal.DriveInfo) (node string, off int64, cleanup func(), err error) {
	r, err := opener.OpenRead(d.Node)
	if err != nil {
		return "", 0, nil, err
	}
	defer r.Close()
	off, err = fatstick.Find(r, d.Size, d.LogicalSectorSize)
	if err != nil {
		return "", 0, nil, err
	}
	if _, err := os.Stat(d.Node); err == nil {
		return d.Node, off, func() {}, nil
	}
	f, err := os.CreateTemp("", "clonebay-stick-*.img")
	if err != nil {
		return "", 0, nil, err
	}
	cleanup = func() { os.Remove(f.Name()) }
	_, err = io.Copy(f, io.NewSectionReader(r, off, d.Size-off))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		cleanup()
		return "", 0, nil, fmt.Errorf("reading the stick: %w", err)
	}
	return f.Name(), 0, cleanup, nil
}

// ImportFromStick imports the image file at path (size bytes) from the FAT
// file system at off on node, with the .bmap and .sha256 files found next
// to it.
func ImportFromStick(ctx context.Context, lib *images.Library, node string, off int64, path string, size int64, progress images.Progress) (*images.Manifest, error) {
	all, err := fatstick.List(ctx, node, off)
	if err != nil {
		return nil, err
	}
	name := images.NameFor(path)
	if slices.Contains(lib.Names(), name) {
		return nil, fmt.Errorf("an image named %s is already in the library: delete it first", name)
	}
	src := images.ImportSource{Name: strings.TrimPrefix(path, "/"), Size: size,
		Open: func() (io.ReadCloser, error) { return fatstick.Open(ctx, node, off, path) }}
	if side := findCompanion(all, path, ".bmap"); side != "" {
		data, err := fatstick.ReadFile(ctx, node, off, side)
		if err == nil {
			src.BMap, err = images.ParseBMap(data)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", side, err)
		}
	}
	if side := findCompanion(all, path, ".sha256"); side != "" {
		data, err := fatstick.ReadFile(ctx, node, off, side)
		if err == nil {
			src.SHA256, err = images.ParseSHA256File(data, path[strings.LastIndexByte(path, '/')+1:])
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", side, err)
		}
	}
	return lib.Import(ctx, src, name, progress)
}

// findCompanion finds a companion file of an image among a stick's files.
func findCompanion(all []string, file, ext string) string {
	for _, c := range images.CompanionNames(file, ext) {
		for _, f := range all {
			if strings.EqualFold(f, c) {
				return f
			}
		}
	}
	return ""
}

// checkImageThen checks an image against its manifest before its first
// deploy of the day, as a task, then lets the command that waited for it
// go on.
func (a *Appliance) checkImageThen(ctx context.Context, name string, then ui.Command) {
	lib := a.lib
	a.log.Info("image: first deploy today: checking it against its manifest", "name", name)
	cctx, cancel := context.WithCancel(ctx)
	a.stopCheck = cancel
	a.spawn(ctx, func(ctx context.Context) {
		defer cancel()
		err := lib.Check(cctx, name, nil)
		a.send(ctx, imageChecked{name: name, err: err, then: then})
	})
}

// imageChecked lets the command that waited for an image's check go on,
// or tells the panel why it will not.
func (a *Appliance) imageChecked(ctx context.Context, e imageChecked) []ui.Event {
	stopped := a.checkStopped
	a.stopCheck, a.checkStopped = nil, false
	switch {
	case !a.model.Running():
		return nil // the panel no longer waits for the job or the line
	case stopped || errors.Is(e.err, context.Canceled):
		return one(ui.JobRefused{Reason: "stopped while image " + e.name + " was being checked"})
	case e.err != nil:
		a.log.Error("image refused", "name", e.name, "err", e.err)
		return one(ui.JobRefused{Reason: e.err.Error() + "; it will not be deployed"})
	}
	a.log.Info("image matches its manifest", "name", e.name)
	return a.command(ctx, e.then)
}
