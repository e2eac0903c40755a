//go:build linux

package blockdev

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// SystemDisks returns the device numbers ("MAJ:MIN") of every block
// device the appliance's own system sits on: the file systems mounted at
// /, /boot and /boot/firmware (or /boot/efi), their partitions, the whole
// disks those belong to and what a device-mapper or loop device under
// them is built from. The firmware never offers them, whatever a board
// says.
func SystemDisks() (map[string]bool, error) {
	return systemDisks("/proc/self/mountinfo", sysfs{root: "/sys"})
}

func systemDisks(mountinfo string, fs sysfs) (map[string]bool, error) {
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
		s := Storage{Name: fields[4]}
		if err := fs.block(&s, devno); err != nil {
			return nil, fmt.Errorf("system disk: %s: %w", fields[4], err)
		}
		for _, d := range s.devs {
			disks[d] = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("system disk: %s: %w", mountinfo, err)
	}
	return disks, nil
}

// IsSystemDisk reports whether an open drive sits on one of the system
// disks (SystemDisks): the disk itself, a partition of it, or a loop or
// device-mapper device over it.
func (d *Drive) IsSystemDisk(disks map[string]bool) bool { return d.storage.OnDevices(disks) }

// SystemCheck returns a function that tells whether a device node sits on
// one of the system disks. A node that cannot be looked at counts as a
// system disk: refusing a drive is safe, offering the wrong one is not.
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
		s, err := sysfs{root: "/sys"}.fromStat(node, &st)
		return err != nil || s.OnDevices(disks)
	}, nil
}
