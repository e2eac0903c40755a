//go:build linux

package blockdev

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Storage is the media a drive name stands for: the files and whole disks
// that a write to it lands on. Two names are one storage when they share
// any of those, however they reach it: a hard link or a symbolic link to a
// file, a loop device on the file (at any offset), a partition of a disk,
// a device-mapper or RAID device built from the disk.
type Storage struct {
	// Name is the name the storage was looked up by.
	Name string
	// leaves are the files and whole disks at the bottom, sorted.
	leaves []leaf
	// devs are the block devices passed on the way down ("MAJ:MIN"): the
	// named device itself, a partition's disk, a loop device, the parts
	// of a device-mapper device. Empty for a file.
	devs []string
}

// leaf is a file (by device and inode) or a whole disk (by device number).
type leaf struct {
	disk bool
	a, b uint64 // a file's st_dev and st_ino; a disk's major and minor
}

func (l leaf) key() string {
	if l.disk {
		return fmt.Sprintf("blk:%d:%d", l.a, l.b)
	}
	return fmt.Sprintf("file:%d:%d", l.a, l.b)
}

func compareLeaves(x, y leaf) int {
	disk := func(l leaf) int {
		if l.disk {
			return 1
		}
		return 0
	}
	return cmp.Or(cmp.Compare(disk(x), disk(y)), cmp.Compare(x.a, y.a), cmp.Compare(x.b, y.b))
}

// Same reports whether two storages share media: a write to one may
// change what the other reads.
func (s Storage) Same(o Storage) bool {
	for _, l := range s.leaves {
		if slices.Contains(o.leaves, l) {
			return true
		}
	}
	return false
}

// Key names the storage's media, the same for every name of it: the ID
// of a drive.
func (s Storage) Key() string {
	keys := make([]string, len(s.leaves))
	for i, l := range s.leaves {
		keys[i] = l.key()
	}
	return strings.Join(keys, "+")
}

// OnDevices reports whether the storage sits on any of the block devices
// ("MAJ:MIN") in set.
func (s Storage) OnDevices(set map[string]bool) bool {
	for _, d := range s.devs {
		if set[d] {
			return true
		}
	}
	return false
}

// errNotADrive is the error for a name that is neither a block device nor
// a regular file.
var errNotADrive = errors.New("not a block device or a file")

// Resolve looks up the storage behind a file or block device name,
// following symbolic links.
func Resolve(name string) (Storage, error) { return sysfs{root: "/sys"}.resolve(name) }

// Join adds the media of o to s: the storage of a set of files.
func (s Storage) Join(o Storage) Storage {
	s.leaves = addLeaves(slices.Clone(s.leaves), o.leaves...)
	s.devs = addDevs(slices.Clone(s.devs), o.devs...)
	return s
}

func addLeaves(ls []leaf, more ...leaf) []leaf {
	for _, l := range more {
		if !slices.Contains(ls, l) {
			ls = append(ls, l)
		}
	}
	slices.SortFunc(ls, compareLeaves)
	return ls
}

func addDevs(ds []string, more ...string) []string {
	for _, d := range more {
		if !slices.Contains(ds, d) {
			ds = append(ds, d)
		}
	}
	return ds
}

// sysfs resolves storage through a sysfs tree (root "/sys", or a fake one
// in tests).
type sysfs struct{ root string }

// maxDepth bounds the layers a block device may be built of (a partition
// of a loop device on a file on ...), so a strange sysfs cannot loop.
const maxDepth = 16

func (fs sysfs) resolve(name string) (Storage, error) {
	var st unix.Stat_t
	if err := unix.Stat(name, &st); err != nil {
		return Storage{}, &os.PathError{Op: "stat", Path: name, Err: err}
	}
	return fs.fromStat(name, &st)
}

func (fs sysfs) fromStat(name string, st *unix.Stat_t) (Storage, error) {
	s := Storage{Name: name}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		s.leaves = []leaf{{a: st.Dev, b: st.Ino}}
		return s, nil
	case unix.S_IFBLK:
		if err := fs.block(&s, devno(st.Rdev)); err != nil {
			return Storage{}, err
		}
		return s, nil
	}
	return Storage{}, errNotADrive
}

func devno(rdev uint64) string { return fmt.Sprintf("%d:%d", unix.Major(rdev), unix.Minor(rdev)) }

// block adds what block device dev ("MAJ:MIN") is made of to s: a
// partition's whole disk, a loop device's backing file or device, the
// parts of a device-mapper or RAID device, or the device itself when it
// is a whole disk of its own.
func (fs sysfs) block(s *Storage, dev string) error {
	return fs.layer(s, dev, nil)
}

// layer is block with the devices above dev: a device built from itself,
// or a pile too high to be real, is an error rather than a loop.
func (fs sysfs) layer(s *Storage, dev string, above []string) error {
	switch {
	case slices.Contains(above, dev):
		return fmt.Errorf("block device %s is built from itself", dev)
	case len(above) > maxDepth:
		return fmt.Errorf("block device %s: more than %d layers of devices", dev, maxDepth)
	case slices.Contains(s.devs, dev):
		return nil // reached twice: a device built from two partitions of one disk
	}
	above = append(slices.Clip(above), dev)
	s.devs = append(s.devs, dev)
	dir, err := filepath.EvalSymlinks(filepath.Join(fs.root, "dev/block", dev))
	if err != nil {
		// Unknown to sysfs: the device is its own disk.
		return fs.disk(s, dev)
	}
	if _, err := os.Stat(filepath.Join(dir, "partition")); err == nil {
		parent, err := readTrim(filepath.Join(filepath.Dir(dir), "dev"))
		if err != nil {
			return fmt.Errorf("partition %s: its disk: %w", dev, err)
		}
		return fs.layer(s, parent, above)
	}
	if _, err := os.Stat(filepath.Join(dir, "loop")); err == nil {
		return fs.loop(s, dev, dir, above)
	}
	slaves, _ := os.ReadDir(filepath.Join(dir, "slaves"))
	if len(slaves) == 0 {
		return fs.disk(s, dev)
	}
	for _, e := range slaves {
		part, err := readTrim(filepath.Join(dir, "slaves", e.Name(), "dev"))
		if err != nil {
			return fmt.Errorf("block device %s: its part %s: %w", dev, e.Name(), err)
		}
		if err := fs.layer(s, part, above); err != nil {
			return err
		}
	}
	return nil
}

func (fs sysfs) disk(s *Storage, dev string) error {
	maj, min, err := parseDevno(dev)
	if err != nil {
		return err
	}
	s.leaves = addLeaves(s.leaves, leaf{disk: true, a: maj, b: min})
	return nil
}

func parseDevno(dev string) (uint64, uint64, error) {
	a, b, ok := strings.Cut(dev, ":")
	maj, err1 := strconv.ParseUint(a, 10, 32)
	min, err2 := strconv.ParseUint(b, 10, 32)
	if !ok || err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("%q is not a device number MAJ:MIN", dev)
	}
	return maj, min, nil
}

// ErrLoopUnknown is returned (wrapped) for a loop device whose backing
// file cannot be told: its name was deleted and the device cannot be
// asked (that needs root).
var ErrLoopUnknown = errors.New("cannot tell which file backs the loop device")

// loop adds a loop device's backing file (or device). sysfs names the
// file; when that name no longer leads to it (the file was deleted or
// renamed under another link), the device itself is asked
// (LOOP_GET_STATUS64), which knows the inode.
func (fs sysfs) loop(s *Storage, dev, dir string, above []string) error {
	backing, err := readTrim(filepath.Join(dir, "loop", "backing_file"))
	if err != nil {
		return fmt.Errorf("loop device %s: %w", dev, err)
	}
	var st unix.Stat_t
	if !strings.HasSuffix(backing, " (deleted)") && unix.Stat(backing, &st) == nil {
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			s.leaves = addLeaves(s.leaves, leaf{a: st.Dev, b: st.Ino})
			return nil
		case unix.S_IFBLK:
			return fs.layer(s, devno(st.Rdev), above)
		}
	}
	info, err := fs.loopStatus(dev, dir)
	if err != nil {
		return fmt.Errorf("loop device %s on %s: %w (%v)", dev, backing, ErrLoopUnknown, err)
	}
	if info.Rdevice != 0 {
		return fs.layer(s, devno(info.Rdevice), above)
	}
	s.leaves = addLeaves(s.leaves, leaf{a: info.Device, b: info.Inode})
	return nil
}

// loopStatus asks a loop device what backs it. A device set to clear
// itself on its last close is not opened: closing it might detach it.
func (fs sysfs) loopStatus(dev, dir string) (*unix.LoopInfo64, error) {
	if v, _ := readTrim(filepath.Join(dir, "loop", "autoclear")); v == "1" {
		return nil, errors.New("it detaches on its last close, so it is not opened")
	}
	node := "/dev/" + filepath.Base(dir)
	if uevent, err := os.ReadFile(filepath.Join(dir, "uevent")); err == nil {
		for line := range strings.Lines(string(uevent)) {
			if name, ok := strings.CutPrefix(strings.TrimSpace(line), "DEVNAME="); ok {
				node = "/dev/" + name
			}
		}
	}
	fd, err := unix.Open(node, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: node, Err: err}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFBLK || devno(st.Rdev) != dev {
		return nil, fmt.Errorf("%s is not device %s", node, dev)
	}
	info, err := unix.IoctlLoopGetStatus64(fd)
	if err != nil {
		return nil, os.NewSyscallError("LOOP_GET_STATUS64", err)
	}
	return info, nil
}

// LoopsOn returns the loop devices (their nodes) whose backing storage is
// s, leaving out those s itself is reached through: a file that backs a
// loop device may be mounted or in use through it, whatever its own
// openers.
func LoopsOn(s Storage) ([]string, error) { return sysfs{root: "/sys"}.loopsOn(s) }

// Loops are the loop devices attached when AttachedLoops looked, each
// with the storage it is built on: a job that checks many targets lists
// them once.
type Loops struct {
	on []Storage // each loop's own device first in its devs
}

// AttachedLoops lists the loop devices attached now.
func AttachedLoops() (Loops, error) { return sysfs{root: "/sys"}.loops() }

// On names the loop devices over s, as LoopsOn does.
func (ls Loops) On(s Storage) []string {
	var out []string
	for _, l := range ls.on {
		if !slices.Contains(s.devs, l.devs[0]) && l.Same(s) {
			out = append(out, l.Name)
		}
	}
	// loop2 before loop10
	slices.SortFunc(out, func(a, b string) int { return cmp.Or(cmp.Compare(len(a), len(b)), strings.Compare(a, b)) })
	return out
}

func (fs sysfs) loopsOn(s Storage) ([]string, error) {
	ls, err := fs.loops()
	if err != nil {
		return nil, err
	}
	return ls.On(s), nil
}

func (fs sysfs) loops() (Loops, error) {
	var ls Loops
	ents, err := os.ReadDir(filepath.Join(fs.root, "block"))
	if err != nil {
		return ls, fmt.Errorf("loop devices: %w", err)
	}
	for _, e := range ents {
		dir := filepath.Join(fs.root, "block", e.Name())
		if !strings.HasPrefix(e.Name(), "loop") {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "loop")); err != nil {
			continue // not attached
		}
		dev, err := readTrim(filepath.Join(dir, "dev"))
		if err != nil {
			continue
		}
		l := Storage{Name: "/dev/" + e.Name()}
		if err := fs.block(&l, dev); err != nil {
			if _, serr := os.Stat(filepath.Join(dir, "loop")); serr != nil {
				continue // detached while we looked
			}
			return ls, err
		}
		ls.on = append(ls.on, l)
	}
	return ls, nil
}

func readTrim(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}
