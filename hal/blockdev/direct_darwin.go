package blockdev

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// openDirect opens the file a second time with F_NOCACHE: its reads and
// writes bypass macOS's unified buffer cache.
func openDirect(node string, write bool) (*os.File, error) {
	flag := os.O_RDONLY
	if write {
		flag = os.O_RDWR
	}
	f, err := os.OpenFile(node, flag, 0)
	if err != nil {
		return nil, err
	}
	if _, err := unix.FcntlInt(f.Fd(), unix.F_NOCACHE, 1); err != nil {
		f.Close()
		return nil, os.NewSyscallError("F_NOCACHE", err)
	}
	return f, nil
}

func fileID(f *os.File) (string, error) {
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	s, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return "", fmt.Errorf("no inode for %s", f.Name())
	}
	return fmt.Sprintf("file:%d:%d", s.Dev, s.Ino), nil
}
