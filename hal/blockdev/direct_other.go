//go:build !linux && !darwin && !windows

package blockdev

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// openDirect: this system has no way the firmware knows to read past its
// cache; DropCaches says so.
func openDirect(string, bool) (*os.File, error) {
	return nil, errors.New("no uncached I/O on this system")
}

func fileID(f *os.File) (string, error) {
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return fmt.Sprintf("file:%d:%d", s.Dev, s.Ino), nil
	}
	return "file:" + f.Name(), nil
}
