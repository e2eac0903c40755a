package vmtest

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

const mib = 1 << 20

// MasterLayout is the bootable master's partitioning: a GPT with a FAT32
// EFI system partition and an ext4 root, both filled with files.
type MasterLayout struct {
	Size     int64 // the whole drive
	BootSize int64 // the FAT32 partition, from 1 MiB on
	RootSize int64 // the ext4 partition, right after it
}

// DefaultMaster is small enough for a test and large enough for FAT32
// (which needs 65525 clusters) with 512-byte clusters.
var DefaultMaster = MasterLayout{Size: 64 * mib, BootSize: 40 * mib, RootSize: 20 * mib}

// UsedEnd is where the last partition ends: the area a used-area copy
// takes.
func (l MasterLayout) UsedEnd() int64 { return mib + l.BootSize + l.RootSize }

// MakeMaster builds the master drive image at file with sgdisk,
// mkfs.vfat, mcopy and mkfs.ext4, with reproducible file contents from
// seed. work is a scratch folder.
func MakeMaster(file, work string, l MasterLayout, seed uint64) error {
	if l.UsedEnd()+mib > l.Size {
		return fmt.Errorf("master %s: partitions end at %d, past the room a GPT leaves in %d bytes", file, l.UsedEnd(), l.Size)
	}
	if err := makeSparse(file, l.Size); err != nil {
		return err
	}
	const sector = 512
	bootStart := int64(mib / sector)
	rootStart := bootStart + l.BootSize/sector
	if err := run("sgdisk", "--clear",
		fmt.Sprintf("--new=1:%d:%d", bootStart, rootStart-1), "--typecode=1:ef00", "--change-name=1:boot",
		fmt.Sprintf("--new=2:%d:%d", rootStart, rootStart+l.RootSize/sector-1), "--typecode=2:8300", "--change-name=2:root",
		file); err != nil {
		return fmt.Errorf("master %s: %w", file, err)
	}

	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	boot := filepath.Join(work, "boot.vfat")
	if err := makeSparse(boot, l.BootSize); err != nil {
		return err
	}
	if err := run("mkfs.vfat", "-F", "32", "-s", "1", "-S", "512", "-n", "CLONEBOOT", boot); err != nil {
		return fmt.Errorf("master %s: boot partition: %w", file, err)
	}
	bootFiles := filepath.Join(work, "bootfiles")
	if err := writeFiles(filepath.Join(bootFiles, "EFI", "BOOT"), r, map[string]int{"BOOTX64.EFI": 900 << 10, "grub.cfg": 2 << 10}); err != nil {
		return err
	}
	if err := run("mcopy", "-s", "-i", boot, filepath.Join(bootFiles, "EFI"), "::/"); err != nil {
		return fmt.Errorf("master %s: boot partition files: %w", file, err)
	}

	rootFiles := filepath.Join(work, "rootfiles")
	if err := writeFiles(filepath.Join(rootFiles, "srv"), r, map[string]int{"data-a.bin": 3 << 20, "data-b.bin": 5 << 20, "notes.txt": 40 << 10}); err != nil {
		return err
	}
	root := filepath.Join(work, "root.ext4")
	if err := makeSparse(root, l.RootSize); err != nil {
		return err
	}
	if err := run("mkfs.ext4", "-q", "-F", "-L", "cloneroot", "-d", rootFiles, root); err != nil {
		return fmt.Errorf("master %s: root partition: %w", file, err)
	}
	for _, p := range []struct {
		file string
		at   int64
	}{{boot, mib}, {root, mib + l.BootSize}} {
		if err := copyAt(file, p.file, p.at); err != nil {
			return fmt.Errorf("master %s: %w", file, err)
		}
	}
	return nil
}

// MakeBlank makes a target image of size bytes that holds zeros.
func MakeBlank(file string, size int64) error { return makeSparse(file, size) }

func makeSparse(file string, size int64) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", file, err)
	}
	return f.Close()
}

func writeFiles(dir string, r *rand.Rand, sizes map[string]int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(sizes)) {
		size := sizes[name]
		p := make([]byte, size)
		for i := range p {
			p[i] = byte(r.Uint32())
		}
		if err := os.WriteFile(filepath.Join(dir, name), p, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// copyAt writes the whole of src into dst at offset at.
func copyAt(dst, src string, at int64) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(dst, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(data, at); err != nil {
		f.Close()
		return fmt.Errorf("%s: write at %d: %w", dst, at, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", dst, err)
	}
	return f.Close()
}

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, out)
	}
	return nil
}
