package fileset

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"slices"
	"strings"

	"github.com/clonebay/clonebay/engine/disk"
)

// Sticks formatted by a Linux machine (ext4) or a Windows one (NTFS) are
// read through those file systems' own tools, never a kernel mount of
// untrusted media: ext2/3/4 with debugfs (e2fsprogs), which copies the
// tree out of the device without mounting it; NTFS with ntfs-3g, a
// driver in user space, mounted read-only from a read-only loop device.
// What the tools show goes through Import's checks like any folder.

// ErrNoFileSystem says a drive holds no file system a set can be read
// from.
var ErrNoFileSystem = errors.New("no FAT, exFAT, NTFS or ext2/3/4 file system")

// Foreign is a stick's NTFS or ext volume as a folder, until Close.
type Foreign struct {
	fs.FS
	Kind  string // "NTFS" or "ext4" (any ext2/3/4)
	close func() error
}

// ReadDir and Stat pass on the volume's own, which hide the file
// system's folders.
func (f *Foreign) ReadDir(name string) ([]fs.DirEntry, error) { return fs.ReadDir(f.FS, name) }
func (f *Foreign) Stat(name string) (fs.FileInfo, error)      { return fs.Stat(f.FS, name) }

// Close lets the volume go: the copied tree is removed, the mount and
// its loop device undone.
func (f *Foreign) Close() error { return f.close() }

// OpenForeign finds an NTFS or ext2/3/4 volume on the drive or image
// file at node (r reads it, size bytes) and shows it as a read-only
// folder. work is a folder on the disk the set goes to: an ext volume's
// files are copied there first. It needs root for NTFS (a loop device
// and a FUSE mount).
func OpenForeign(ctx context.Context, node string, r io.ReaderAt, size int64, sectorSize int, work string) (*Foreign, error) {
	for _, p := range append(partitions(r, size, sectorSize), disk.Extent{Off: 0, Len: size}) {
		name, _, err := disk.Used(r, p.Off, p.Len)
		if err != nil {
			continue
		}
		switch name {
		case "ext":
			return extVolume(ctx, node, p, work)
		case "NTFS":
			return ntfsVolume(ctx, node, p, work)
		}
	}
	return nil, fmt.Errorf("%s: %w", node, ErrNoFileSystem)
}

// partitions are a drive's MBR or GPT partitions.
func partitions(r io.ReaderAt, size int64, sectorSize int) []disk.Extent {
	if sectorSize < 512 {
		sectorSize = 512
	}
	var parts []disk.Extent
	if g, err := disk.ReadGPT(r, size, sectorSize); err == nil {
		for _, p := range g.Partitions {
			parts = append(parts, disk.Extent{Off: int64(p.FirstLBA) * int64(sectorSize), Len: int64(p.LastLBA-p.FirstLBA+1) * int64(sectorSize)})
		}
	} else if m, err := disk.ReadMBR(r, size, sectorSize); err == nil {
		for _, p := range m.Partitions {
			if !p.IsExtended() && p.Type != 0xee {
				parts = append(parts, disk.Extent{Off: p.Start, Len: p.Size})
			}
		}
	}
	return parts
}

// run runs a tool and returns its error with what it said.
func run(ctx context.Context, name string, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return "", fmt.Errorf("%s is not installed", name)
		}
		return "", fmt.Errorf("%s: %v: %s", name, err, strings.TrimSpace(string(out)))
	}
	return strings.TrimSpace(string(out)), nil
}

// extVolume copies an ext volume's tree out with debugfs's rdump, which
// reads the device itself at the partition's offset.
func extVolume(ctx context.Context, node string, p disk.Extent, work string) (*Foreign, error) {
	dir, err := os.MkdirTemp(work, ".ext-")
	if err != nil {
		return nil, fmt.Errorf("ext volume: %w", err)
	}
	out, err := run(ctx, "debugfs", "-R", "rdump / "+dir, fmt.Sprintf("%s?offset=%d", node, p.Off))
	if err == nil && strings.Contains(out, "rdump:") {
		err = fmt.Errorf("debugfs: %s", out) // it reports a failed dump and exits 0
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("ext volume at %d of %s: %w", p.Off, node, err)
	}
	return &Foreign{FS: hideRoot(os.DirFS(dir), "lost+found"), Kind: "ext4", close: func() error { return os.RemoveAll(dir) }}, nil
}

// ntfsVolume mounts an NTFS volume read-only with ntfs-3g, from a
// read-only loop device over the partition.
func ntfsVolume(ctx context.Context, node string, p disk.Extent, work string) (*Foreign, error) {
	loop, err := run(ctx, "losetup", "--find", "--show", "--read-only",
		"--offset", fmt.Sprint(p.Off), "--sizelimit", fmt.Sprint(p.Len), node)
	if err != nil {
		return nil, fmt.Errorf("NTFS volume at %d of %s: %w", p.Off, node, err)
	}
	detach := func() error {
		_, err := run(context.Background(), "losetup", "--detach", loop)
		return err
	}
	dir, err := os.MkdirTemp(work, ".ntfs-")
	if err != nil {
		detach()
		return nil, fmt.Errorf("NTFS volume: %w", err)
	}
	if _, err := run(ctx, "ntfs-3g", "-o", "ro", loop, dir); err != nil {
		os.Remove(dir)
		detach()
		return nil, fmt.Errorf("NTFS volume at %d of %s: %w", p.Off, node, err)
	}
	closeIt := func() error {
		_, err := run(context.Background(), "umount", dir)
		if err == nil {
			err = os.Remove(dir)
		}
		return errors.Join(err, detach())
	}
	return &Foreign{FS: hideRoot(os.DirFS(dir), "System Volume Information", "$RECYCLE.BIN"), Kind: "NTFS", close: closeIt}, nil
}

// hideRoot hides the file system's own folders at the top of a volume
// (ext's lost+found, Windows' System Volume Information): they are not
// part of what the operator put on the stick.
func hideRoot(f fs.FS, names ...string) fs.FS { return hidden{f, names} }

type hidden struct {
	fs.FS
	names []string
}

func (h hidden) hides(name string) bool {
	top, _, _ := strings.Cut(name, "/")
	return slices.Contains(h.names, top)
}

func (h hidden) Open(name string) (fs.File, error) {
	if h.hides(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return h.FS.Open(name)
}

func (h hidden) Stat(name string) (fs.FileInfo, error) {
	if h.hides(name) {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrNotExist}
	}
	return fs.Stat(h.FS, name)
}

func (h hidden) ReadDir(name string) ([]fs.DirEntry, error) {
	entries, err := fs.ReadDir(h.FS, name)
	if name != "." {
		return entries, err
	}
	return slices.DeleteFunc(entries, func(e fs.DirEntry) bool { return slices.Contains(h.names, e.Name()) }), err
}
