//go:build linux

package hotplug

import (
	"bufio"
	"io"
	"os"
	"strconv"
	"strings"
)

// UdevdControl is systemd-udevd's control socket.
const UdevdControl = "/run/udev/control"

// UdevdRunning reports whether systemd-udevd is running: a socket listens
// at its control socket's path. A socket file alone is not enough: a udevd
// that was told to exit leaves it behind, and listening for udev's events
// then would hear nothing. It looks, and never connects: udevd takes one
// control connection at a time, and a probe would turn away udevadm.
func UdevdRunning() bool {
	f, err := os.Open("/proc/net/unix")
	if err != nil {
		// No procfs: the socket file is all there is to go by.
		st, err := os.Stat(UdevdControl)
		return err == nil && st.Mode()&os.ModeSocket != 0
	}
	defer f.Close()
	return listening(f, UdevdControl)
}

// soAcceptCon is the kernel's flag of a listening socket in
// /proc/net/unix.
const soAcceptCon = 1 << 16

// listening says whether the /proc/net/unix table r lists a listening
// socket bound to path. Its lines are
// "Num RefCount Protocol Flags Type St Inode Path", numbers in hex but the
// inode.
func listening(r io.Reader, path string) bool {
	s := bufio.NewScanner(r)
	for s.Scan() {
		f := strings.Fields(s.Text())
		if len(f) < 8 || f[7] != path {
			continue
		}
		if flags, err := strconv.ParseUint(f[3], 16, 32); err == nil && flags&soAcceptCon != 0 {
			return true
		}
	}
	return false
}
