//go:build linux

package blockdev

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// SystemDisks returns the device numbers ("MAJ:MIN") of the whole disks
// that hold the appliance's own system: the file systems mounted at /,
// /boot and /boot/firmware (or /boot/efi). The firmware never offers them,
// whatever a board says.
func SystemDisks() (map[string]bool, error) {
	return systemDisks("/proc/self/mountinfo", "/sys")
}

func systemDisks(mountinfo, sys string) (map[string]bool, error) {
	f, err := os.Open(mountinfo)
	if err != nil {
		return nil, fmt.Errorf("system disk: %w", err)
	}
	defer f.Close()
	disks := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		switch fields[4] {
		case "/", "/boot", "/boot/firmware", "/boot/efi":
		default:
			continue
		}
		devno := fields[2]
		if strings.HasPrefix(devno, "0:") {
			continue // not a block device (overlay, tmpfs, a container)
		}
		disks[wholeDisk(sys, devno)] = true
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("system disk: %s: %w", mountinfo, err)
	}
	return disks, nil
}

// wholeDisk maps a partition's device number to its disk's, through
// sysfs: a partition's folder holds a "partition" file and sits inside
// its disk's folder.
func wholeDisk(sys, devno string) string {
	dir, err := filepath.EvalSymlinks(filepath.Join(sys, "dev/block", devno))
	if err != nil {
		return devno
	}
	if _, err := os.Stat(filepath.Join(dir, "partition")); err != nil {
		return devno
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(dir), "dev"))
	if err != nil {
		return devno
	}
	return strings.TrimSpace(string(b))
}

// IsSystemDisk reports whether an open drive is one of the system disks.
func (d *Drive) IsSystemDisk(disks map[string]bool) bool {
	return d.block && disks[strings.TrimPrefix(d.id, "blk:")]
}

// SystemCheck returns a function that tells whether a device node is one
// of the system disks. A node that cannot be looked at counts as a system
// disk: refusing a drive is safe, offering the wrong one is not.
func SystemCheck() (func(node string) bool, error) {
	disks, err := SystemDisks()
	if err != nil {
		return nil, err
	}
	return func(node string) bool {
		var st unix.Stat_t
		if err := unix.Stat(node, &st); err != nil {
			return true
		}
		if st.Mode&unix.S_IFMT != unix.S_IFBLK {
			return false
		}
		return disks[fmt.Sprintf("%d:%d", unix.Major(uint64(st.Rdev)), unix.Minor(uint64(st.Rdev)))]
	}, nil
}
