package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/hal/blockdev"
)

// cliDrives are the drives of a command-line job.
type cliDrives struct {
	master  engine.Source
	area    engine.Area // an image's own area; nil for a drive
	targets []engine.Checked
	names   []string
	open    []io.Closer
}

// openCLIDrives opens the master read-only and write-blocked, and every
// target: exclusively for writing when the job writes, refusing the
// system disk. A target file that does not exist is made as large as the
// master.
func openCLIDrives(env *cliEnv, from, library string, to []string, mode engine.Mode) (_ *cliDrives, err error) {
	d := &cliDrives{names: to}
	defer func() {
		if err != nil {
			d.close()
		}
	}()
	if name, ok := strings.CutPrefix(from, "image:"); ok {
		im, err := openImageForDeploy(env, library, name)
		if err != nil {
			return nil, err
		}
		d.master, d.area = im, im.Area()
		d.open = append(d.open, im)
	} else {
		m, err := blockdev.OpenRead(from)
		if err != nil {
			return nil, fmt.Errorf("master: %w", err)
		}
		d.master = m
		d.open = append(d.open, m)
		if err := m.WriteBlock(); err != nil {
			return nil, fmt.Errorf("master: %w (write-blocking the master needs root)", err)
		}
	}
	writes := mode == engine.CopyVerify || mode == engine.Copy
	sys, err := blockdev.SystemDisks()
	if err != nil {
		return nil, err
	}
	for _, node := range to {
		if writes {
			if err := createMissing(node, d.master.Size()); err != nil {
				return nil, err
			}
		}
		var t *blockdev.Drive
		if writes {
			t, err = blockdev.OpenWrite(node)
		} else {
			t, err = blockdev.OpenRead(node)
		}
		if err != nil {
			return nil, fmt.Errorf("target: %w", err)
		}
		d.open = append(d.open, t)
		if writes && t.IsSystemDisk(sys) {
			return nil, fmt.Errorf("target %s: refused: it holds this system's own root or boot file system", node)
		}
		d.targets = append(d.targets, t)
	}
	return d, nil
}

// openTargets opens drives exclusively for writing, refusing the system
// disk; a target file must exist.
func openTargets(to []string) (_ *cliDrives, err error) {
	d := &cliDrives{names: to}
	defer func() {
		if err != nil {
			d.close()
		}
	}()
	sys, err := blockdev.SystemDisks()
	if err != nil {
		return nil, err
	}
	for _, node := range to {
		t, err := blockdev.OpenWrite(node)
		if err != nil {
			return nil, fmt.Errorf("target: %w", err)
		}
		d.open = append(d.open, t)
		if t.IsSystemDisk(sys) {
			return nil, fmt.Errorf("target %s: refused: it holds this system's own root or boot file system", node)
		}
		d.targets = append(d.targets, t)
	}
	return d, nil
}

// createMissing makes a target image file of the given size when nothing
// is at path yet.
func createMissing(path string, size int64) error {
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return fmt.Errorf("target %s: %w", path, err)
	}
	return f.Close()
}

// close closes every drive; the master's write-block is lifted.
func (d *cliDrives) close() {
	for _, x := range d.open {
		x.Close()
	}
}
