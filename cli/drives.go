package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/fileset"
	"github.com/clonebay/clonebay/hal/blockdev"
	"github.com/clonebay/clonebay/images"
)

// cliDrives are the drives of a command-line job.
type cliDrives struct {
	master  engine.Source
	area    engine.Area // what the job copies: an image's own area, or --area
	targets []engine.Checked
	names   []string
	open    []io.Closer
	created []string // target files this job made; removed unless kept
	keep    bool     // the job ran: what it made stays, whatever its result
}

// openCLIDrives opens the master read-only and write-blocked, and every
// target: exclusively for writing when the job writes. Each target is
// looked up first and refused when it is the master's storage under
// another name, named twice, a file of the image library, on the system
// disk, or under a loop device (see targetRules). A target file that does
// not exist is made, as large as the copy area, only with --create.
func openCLIDrives(env *Env, jf jobFlags, mode engine.Mode) (_ *cliDrives, err error) {
	d := &cliDrives{names: jf.to}
	defer func() {
		if err != nil {
			d.close()
		}
	}()
	rules := targetRules{writes: mode == engine.CopyVerify || mode == engine.Copy, from: jf.from}
	if name, ok := strings.CutPrefix(jf.from, "image:"); ok {
		im, err := openImageForDeploy(env, jf.library, name)
		if err != nil {
			return nil, err
		}
		d.master, d.area = im, im.Area()
		d.open = append(d.open, im)
		if jf.area != "" && jf.area != "whole" {
			return nil, UsageError("--area %s: an image is deployed with the area it was captured with (%s)", jf.area, d.area.Name())
		}
	} else {
		m, err := blockdev.OpenRead(jf.from)
		if err != nil {
			return nil, fmt.Errorf("master: %w", err)
		}
		d.master = m
		d.open = append(d.open, m)
		if err := m.WriteBlock(); err != nil {
			return nil, fmt.Errorf("master: %w (write-blocking the master needs root)", err)
		}
		rules.master = m.Storage()
		if d.area, err = cliArea(jf.area); err != nil {
			return nil, err
		}
	}
	if len(jf.to) == 0 {
		return d, nil
	}
	if err := rules.load(jf.library); err != nil {
		return nil, err
	}
	// Every target is looked up before any is opened, so a name given
	// twice is reported as such, whatever else is wrong with it.
	storages := make([]blockdev.Storage, len(jf.to))
	for i, node := range jf.to {
		if rules.writes {
			if err := d.createMissing(node, jf.create); err != nil {
				return nil, err
			}
		}
		if storages[i], err = rules.identify(node); err != nil {
			return nil, err
		}
	}
	for i, node := range jf.to {
		if err := rules.allowed(node, storages[i]); err != nil {
			return nil, err
		}
		var t *blockdev.Drive
		if rules.writes {
			t, err = blockdev.OpenWrite(node)
		} else {
			t, err = blockdev.OpenRead(node)
		}
		if err != nil {
			return nil, fmt.Errorf("target: %w", err)
		}
		d.open = append(d.open, t)
		if t.Storage().Key() != storages[i].Key() {
			return nil, fmt.Errorf("target %s: refused: it changed while it was being opened", node)
		}
		d.targets = append(d.targets, t)
	}
	return d, nil
}

// openTargets opens drives exclusively for writing, by the same rules as
// a copy's targets (the files of library, the command's image library,
// are never written; nor is master, the drive or file a file duplication
// reads, when it has one, under any name); a target file must exist.
func openTargets(library string, master *blockdev.Drive, to []string) (_ *cliDrives, err error) {
	d := &cliDrives{names: to}
	defer func() {
		if err != nil {
			d.close()
		}
	}()
	rules := targetRules{writes: true}
	if master != nil {
		d.master = master
		rules.from, rules.master = master.Info().Node, master.Storage()
	}
	if err := rules.load(library); err != nil {
		return nil, err
	}
	storages := make([]blockdev.Storage, len(to))
	for i, node := range to {
		if storages[i], err = rules.identify(node); err != nil {
			return nil, err
		}
	}
	for i, node := range to {
		if err := rules.allowed(node, storages[i]); err != nil {
			return nil, err
		}
		t, err := blockdev.OpenWrite(node)
		if err != nil {
			return nil, fmt.Errorf("target: %w", err)
		}
		d.open = append(d.open, t)
		if t.Storage().Key() != storages[i].Key() {
			return nil, fmt.Errorf("target %s: refused: it changed while it was being opened", node)
		}
		d.targets = append(d.targets, t)
	}
	return d, nil
}

// targetRules say which targets a job refuses, and why.
type targetRules struct {
	writes  bool
	from    string           // the master as given
	master  blockdev.Storage // a drive master's storage; zero for an image
	library []libraryFiles
	system  map[string]bool // the system disks' devices
	seen    []blockdev.Storage
	loops   *blockdev.Loops // the attached loop devices, listed at the first target
}

// libraryFiles are the files of one image library folder.
type libraryFiles struct {
	dir   string
	files blockdev.Storage
}

// load reads what the rules protect: the system disks and the files of
// the image library (the given one and the appliance's).
func (r *targetRules) load(library string) error {
	if !r.writes {
		return nil
	}
	sys, err := blockdev.SystemDisks()
	if err != nil {
		return err
	}
	r.system = sys
	for _, dir := range []string{library, DefaultLibrary} {
		dir = filepath.Clean(dir)
		if slices.ContainsFunc(r.library, func(l libraryFiles) bool { return l.dir == dir }) {
			continue
		}
		lib := libraryFiles{dir: dir}
		found := true
		err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
			switch {
			case err != nil && path == dir && errors.Is(err, fs.ErrNotExist):
				found = false // no library there: nothing to protect
				return filepath.SkipAll
			case err != nil:
				return err
			case e.IsDir():
				return nil
			}
			if st, err := os.Stat(path); err != nil || !st.Mode().IsRegular() {
				return nil // a dangling link, a socket: nothing a target could name
			}
			s, err := blockdev.Resolve(path)
			if err != nil {
				return err
			}
			lib.files = lib.files.Join(s)
			return nil
		})
		if err != nil {
			return fmt.Errorf("image library %s: %w (its files are never targets, so they must be known)", dir, err)
		}
		if found {
			r.library = append(r.library, lib)
		}
	}
	return nil
}

// check looks a target up and refuses it when a job must not use it.
func (r *targetRules) check(node string) (blockdev.Storage, error) {
	s, err := r.identify(node)
	if err != nil {
		return s, err
	}
	return s, r.allowed(node, s)
}

// identify looks a target up and refuses it when it is the master or an
// earlier target under another name.
func (r *targetRules) identify(node string) (blockdev.Storage, error) {
	s, err := blockdev.Resolve(node)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return s, fmt.Errorf("target %s: no such device or file", node)
	case err != nil:
		return s, fmt.Errorf("target %s: %w", node, err)
	case r.master.Same(s):
		return s, fmt.Errorf("target %s is the master itself (same storage as --from %s)", node, r.from)
	}
	for _, o := range r.seen {
		if o.Same(s) {
			return s, fmt.Errorf("target %s is given twice (same storage as %s)", node, o.Name)
		}
	}
	r.seen = append(r.seen, s)
	return s, nil
}

// allowed refuses a target a job must not write: a file of the image
// library, a system disk, storage under a loop device.
func (r *targetRules) allowed(node string, s blockdev.Storage) error {
	if !r.writes {
		return nil
	}
	for _, lib := range r.library {
		if lib.files.Same(s) {
			return fmt.Errorf("target %s: refused: it is a file of the image library %s, which a job never writes", node, lib.dir)
		}
	}
	if dir := imageFolder(node); dir != "" {
		return fmt.Errorf("target %s: refused: it lies in %s, the folder of a stored image or file set (of a library this command was not given), which a job never writes", node, dir)
	}
	if s.OnDevices(r.system) {
		return fmt.Errorf("target %s: refused: it holds this system's own root or boot file system", node)
	}
	if r.loops == nil {
		ls, err := blockdev.AttachedLoops()
		if err != nil {
			return fmt.Errorf("target %s: %w", node, err)
		}
		r.loops = &ls
	}
	if loops := r.loops.On(s); len(loops) > 0 {
		return fmt.Errorf("target %s: refused: it is under loop device %s, which may be mounted or in use; detach it first (losetup -d %s)",
			node, strings.Join(loops, ", "), strings.Join(loops, " "))
	}
	return nil
}

// imageFolder returns the folder of a stored image or file set that the
// file at path lies in (a folder above it, however far: a set's files
// nest, is one as its library tells), or "" when there is none: a library
// the command was not told of (erase and log export protect the
// appliance's own) is still never written.
func imageFolder(path string) string {
	st, err := os.Stat(path)
	if err != nil || !st.Mode().IsRegular() {
		return ""
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return ""
	}
	for dir := filepath.Dir(abs); ; {
		if images.IsImageFolder(dir) || fileset.IsSetFolder(dir) {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			return ""
		}
		dir = up
	}
}

// createMissing makes a target image file as large as the copy area
// when nothing is at path and --create was given; a missing target is an
// error otherwise (most likely a mistyped device name).
func (d *cliDrives) createMissing(path string, create bool) error {
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if !create {
		return fmt.Errorf("target %s: no such device or file; to make a new image file give --create", path)
	}
	if underDev(path) {
		return fmt.Errorf("target %s: refused: --create makes image files, never under /dev", path)
	}
	plan, err := d.area.Plan(d.master)
	if err != nil {
		return fmt.Errorf("target %s: the copy area's size: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("target %s: create: %w", path, err)
	}
	d.created = append(d.created, path)
	if err := f.Truncate(plan.Need); err != nil {
		f.Close()
		return fmt.Errorf("target %s: size %d: %w", path, plan.Need, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("target %s: %w", path, err)
	}
	return nil
}

// underDev reports whether path is in /dev, where device nodes live and
// a new file is always a mistyped device name.
func underDev(path string) bool {
	abs, err := filepath.Abs(path)
	if err != nil {
		return true
	}
	dir := filepath.Dir(abs)
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	return dir == "/dev" || strings.HasPrefix(dir, "/dev/")
}

// close closes every drive (the master's write-block is lifted) and
// removes the target files this job made when it never ran.
func (d *cliDrives) close() {
	for _, x := range d.open {
		x.Close()
	}
	d.open = nil
	if !d.keep {
		for _, p := range d.created {
			os.Remove(p)
		}
	}
}
