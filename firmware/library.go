package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/images"
	"github.com/clonebay/clonebay/ui"
)

// imagesChanged asks the loop to list the library again.
type imagesChanged struct{}

// imageChecked ends the check of an image before its first deploy of the
// day; then carries the command that waited for it.
type imageChecked struct {
	name string
	err  error
	then ui.Command
}

// openImageLibrary opens the library folder; without one the Image menu
// says so.
func (a *appliance) openImageLibrary() {
	if a.libraryDir == "" {
		return
	}
	lib, err := images.OpenLibrary(a.libraryDir)
	if err != nil {
		a.log.Error("image library", "dir", a.libraryDir, "err", err)
		a.model.Update(ui.Notice{Title: "Images", Text: "The image library cannot be opened: " + err.Error()})
		return
	}
	a.lib = lib
	a.model.Update(a.imageList())
}

// imageList lists the library for the panel.
func (a *appliance) imageList() ui.ImagesLoaded {
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

// send hands an event to the loop unless the appliance is stopping.
func (a *appliance) send(ctx context.Context, ev any) {
	select {
	case a.events <- ev:
	case <-ctx.Done():
	}
}

// progressTo reports a long operation's progress to the panel, at most
// once a percent.
func (a *appliance) progressTo(ctx context.Context, what string) images.Progress {
	last := -1
	return func(done, total int64) {
		if total <= 0 || int(done*100/total) == last {
			return
		}
		last = int(done * 100 / total)
		select {
		case a.events <- ui.Busy{What: what, Done: done, Total: total}:
		case <-ctx.Done():
		default:
		}
	}
}

// noLibrary answers a library command on an appliance without one.
func (a *appliance) noLibrary() bool {
	if a.lib != nil {
		return false
	}
	a.model.Update(ui.BusyDone{Title: "Images", Text: "This appliance has no image library."})
	return true
}

// captureImage stores the drive in a port as a new image, named by the
// date and time, on a goroutine.
func (a *appliance) captureImage(ctx context.Context, c ui.CaptureImage) {
	if a.noLibrary() {
		return
	}
	d, ok := a.drives[c.Port]
	if !ok || d.Size == 0 {
		a.model.Update(ui.BusyDone{Title: "Capture", Text: "No drive in the master port."})
		return
	}
	stamp := "img-" + time.Now().Format("0102-1504")
	taken := a.lib.Names()
	name := stamp
	for i := 2; slices.Contains(taken, name); i++ {
		name = fmt.Sprintf("%s-%d", stamp, i)
	}
	lib, opener, area, log := a.lib, a.hw.opener, areaFor(a.settings.Area), a.log
	origin := fmt.Sprintf("port %s, %s %s %s", d.Label, d.Vendor, d.Model, d.Serial)
	go func() {
		done := ui.BusyDone{Title: "Captured"}
		r, err := opener.OpenRead(d.Node)
		if err == nil {
			if wb, ok := r.(writeBlocker); ok {
				err = wb.WriteBlock()
			}
			var m *images.Manifest
			if err == nil {
				m, err = lib.Capture(ctx, r, name, images.CaptureOptions{Area: area, Origin: strings.Join(strings.Fields(origin), " "),
					Progress: a.progressTo(ctx, "Capturing "+name)})
			}
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
		a.send(ctx, done)
		a.send(ctx, imagesChanged{})
	}()
}

// deleteImage deletes an image.
func (a *appliance) deleteImage(c ui.DeleteImage) {
	if a.noLibrary() {
		return
	}
	if a.line != nil && a.line.image != nil && a.line.image.Name() == c.Name {
		a.model.Update(ui.BusyDone{Title: "Not deleted", Text: c.Name + " is the master of the running line."})
		return
	}
	if err := a.lib.Remove(c.Name); err != nil {
		a.log.Error("image delete", "name", c.Name, "err", err)
		a.model.Update(ui.BusyDone{Title: "Not deleted", Text: err.Error()})
	} else {
		a.log.Info("image deleted", "name", c.Name)
		a.model.Update(ui.BusyDone{Title: "Deleted", Text: c.Name + " is gone."})
	}
	a.model.Update(a.imageList())
}

// imageExt is what an importable image file is called.
var imageExt = regexp.MustCompile(`(?i)\.(img|iso|raw|bin)(\.(gz|xz|zst))?$|\.(gz|xz|zst)$`)

// findImports lists the image files on FAT sticks in the ports, on a
// goroutine.
func (a *appliance) findImports(ctx context.Context) {
	if a.noLibrary() {
		return
	}
	var sticks []hal.DriveInfo
	for _, p := range a.b.Ports {
		if d, ok := a.drives[p.Number]; ok && d.Size > 0 && !a.inUse(p.Number) {
			sticks = append(sticks, d)
		}
	}
	opener, log := a.hw.opener, a.log
	go func() {
		var files []ui.ImportFile
		for _, d := range sticks {
			node, off, cleanup, err := fatSource(opener, d)
			if err != nil {
				continue
			}
			all, err := listFAT(ctx, node, off)
			if err != nil {
				log.Warn("import: cannot list the stick", "port", d.Label, "err", err)
			}
			for _, f := range all {
				if imageExt.MatchString(f) && !strings.HasSuffix(f, "/") {
					size, _ := fatSize(ctx, node, off, f)
					files = append(files, ui.ImportFile{Port: d.Port, Path: f, Size: size})
				}
			}
			cleanup()
		}
		a.send(ctx, ui.ImportFiles{Files: files})
	}()
}

// inUse reports whether a port's drive is in a job or the line.
func (a *appliance) inUse(port int) bool {
	if a.line != nil && a.line.ports[port] != nil {
		return true
	}
	return a.job != nil && a.job.meta.targets[port].Node != ""
}

// importImage imports a file from a stick, with its .bmap and .sha256
// files when they are next to it, on a goroutine.
func (a *appliance) importImage(ctx context.Context, c ui.ImportImage) {
	if a.noLibrary() {
		return
	}
	d, ok := a.drives[c.File.Port]
	if !ok {
		a.model.Update(ui.BusyDone{Title: "Not imported", Text: "The stick was removed."})
		return
	}
	lib, opener, log := a.lib, a.hw.opener, a.log
	go func() {
		done, err := func() (ui.BusyDone, error) {
			node, off, cleanup, err := fatSource(opener, d)
			if err != nil {
				return ui.BusyDone{}, err
			}
			defer cleanup()
			name := images.NameFor(c.File.Path)
			m, err := importFromFAT(ctx, lib, node, off, c.File, a.progressTo(ctx, "Importing "+name))
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
		a.send(ctx, done)
		a.send(ctx, imagesChanged{})
	}()
}

// fatSource finds the FAT file system on a stick for mtools: the device
// node and the partition's offset. A drive without a node in the file
// system (the simulator's) is copied into a temporary file first.
func fatSource(opener hal.DriveOpener, d hal.DriveInfo) (node string, off int64, cleanup func(), err error) {
	off, err = fatPartition(opener, d)
	if err != nil {
		return "", 0, nil, err
	}
	if _, err := os.Stat(d.Node); err == nil {
		return d.Node, off, func() {}, nil
	}
	r, err := opener.OpenRead(d.Node)
	if err != nil {
		return "", 0, nil, err
	}
	defer r.Close()
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

// importFromFAT imports a file from the FAT file system at off on node,
// with the .bmap and .sha256 files found next to it.
func importFromFAT(ctx context.Context, lib *images.Library, node string, off int64, file ui.ImportFile, progress images.Progress) (*images.Manifest, error) {
	all, err := listFAT(ctx, node, off)
	if err != nil {
		return nil, err
	}
	name := images.NameFor(file.Path)
	if slices.Contains(lib.Names(), name) {
		return nil, fmt.Errorf("an image named %s is already in the library: delete it first", name)
	}
	src := images.ImportSource{Name: strings.TrimPrefix(file.Path, "/"), Size: file.Size,
		Open: func() (io.ReadCloser, error) { return catFAT(ctx, node, off, file.Path) }}
	if side := findSide(all, file.Path, ".bmap"); side != "" {
		data, err := readFAT(ctx, node, off, side)
		if err == nil {
			src.BMap, err = images.ParseBMap(data)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", side, err)
		}
	}
	if side := findSide(all, file.Path, ".sha256"); side != "" {
		data, err := readFAT(ctx, node, off, side)
		if err == nil {
			src.SHA256, err = images.ParseSHA256File(data, file.Path[strings.LastIndexByte(file.Path, '/')+1:])
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", side, err)
		}
	}
	return lib.Import(ctx, src, name, progress)
}

// sideNames are the names a companion file of an image may have, most
// specific first: "a.img.xz.bmap", "a.img.bmap", "a.bmap".
func sideNames(file, ext string) []string {
	names := []string{file + ext}
	base := file
	for _, e := range []string{".gz", ".xz", ".zst", ".img", ".iso", ".raw", ".bin"} {
		if t, ok := strings.CutSuffix(strings.ToLower(base), e); ok {
			base = base[:len(t)]
			names = append(names, base+ext)
		}
	}
	return names
}

// findSide finds a companion file of an image among a stick's files.
func findSide(all []string, file, ext string) string {
	for _, c := range sideNames(file, ext) {
		for _, f := range all {
			if strings.EqualFold(f, c) {
				return f
			}
		}
	}
	return ""
}

// The stick is read with mtools, without mounting it.
func mtoolsImage(node string, off int64) string { return fmt.Sprintf("%s@@%d", node, off) }

// listFAT lists every file and folder on a FAT file system ("/a/b.img",
// "/dir/").
func listFAT(ctx context.Context, node string, off int64) ([]string, error) {
	out, err := exec.CommandContext(ctx, "mdir", "-b", "-/", "-i", mtoolsImage(node, off), "::/").Output()
	if err != nil {
		return nil, fmt.Errorf("mdir: %w", err)
	}
	var files []string
	for _, l := range strings.Split(string(out), "\n") {
		if f, ok := strings.CutPrefix(strings.TrimRight(l, "\r"), "::"); ok && f != "" {
			files = append(files, f)
		}
	}
	return files, nil
}

var fatDate = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// fatSize reads one file's size from mdir's listing: the number before
// its date.
func fatSize(ctx context.Context, node string, off int64, path string) (int64, error) {
	out, err := exec.CommandContext(ctx, "mdir", "-i", mtoolsImage(node, off), "::"+path).Output()
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		for i := 1; i < len(f); i++ {
			if fatDate.MatchString(f[i]) {
				if n, err := strconv.ParseInt(f[i-1], 10, 64); err == nil {
					return n, nil
				}
			}
		}
	}
	return 0, errors.New("no size in the listing")
}

// catFAT streams a file off the stick.
func catFAT(ctx context.Context, node string, off int64, path string) (io.ReadCloser, error) {
	cmd := exec.CommandContext(ctx, "mcopy", "-n", "-i", mtoolsImage(node, off), "::"+path, "-")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("mcopy: %w", err)
	}
	return &cmdReader{ReadCloser: out, cmd: cmd, stderr: &stderr}, nil
}

// cmdReader is a command's output; a command that fails shows as a read
// error at the end rather than as a short file.
type cmdReader struct {
	io.ReadCloser
	cmd    *exec.Cmd
	stderr *strings.Builder
	waited bool
}

func (r *cmdReader) Read(p []byte) (int, error) {
	if r.waited {
		return 0, io.EOF
	}
	n, err := r.ReadCloser.Read(p)
	if err == io.EOF && !r.waited {
		r.waited = true
		if werr := r.cmd.Wait(); werr != nil {
			return n, fmt.Errorf("mcopy: %v: %s", werr, strings.TrimSpace(r.stderr.String()))
		}
	}
	return n, err
}

func (r *cmdReader) Close() error {
	r.ReadCloser.Close()
	if !r.waited {
		r.waited = true
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
	}
	return nil
}

// readFAT reads a small file off the stick.
func readFAT(ctx context.Context, node string, off int64, path string) ([]byte, error) {
	rc, err := catFAT(ctx, node, off, path)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, 16<<20))
}

// checkImageThen checks an image against its manifest before its first
// deploy of the day, on a goroutine, then lets the command that waited
// for it go on.
func (a *appliance) checkImageThen(ctx context.Context, name string, then ui.Command) {
	lib, log := a.lib, a.log
	log.Info("image: first deploy today: checking it against its manifest", "name", name)
	cctx, cancel := context.WithCancel(ctx)
	a.stopCheck = cancel
	go func() {
		defer cancel()
		err := lib.Check(cctx, name, nil)
		a.send(ctx, imageChecked{name: name, err: err, then: then})
	}()
}
