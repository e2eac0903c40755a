//go:build windows

package filelock

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/windows"
)

// The whole file: LockFileEx locks a byte range; this one covers any size.
const allLow, allHigh = ^uint32(0), ^uint32(0)

func lock(f *os.File, exclusive bool) error {
	flags := uint32(windows.LOCKFILE_FAIL_IMMEDIATELY)
	if exclusive {
		flags |= windows.LOCKFILE_EXCLUSIVE_LOCK
	}
	err := windows.LockFileEx(windows.Handle(f.Fd()), flags, 0, allLow, allHigh, new(windows.Overlapped))
	switch {
	case err == nil:
		return nil
	case errors.Is(err, windows.ERROR_LOCK_VIOLATION):
		return fmt.Errorf("lock %s: %w", f.Name(), ErrLocked)
	}
	return fmt.Errorf("lock %s: %w", f.Name(), os.NewSyscallError("LockFileEx", err))
}

func unlock(f *os.File) error {
	if err := windows.UnlockFileEx(windows.Handle(f.Fd()), 0, allLow, allHigh, new(windows.Overlapped)); err != nil {
		return fmt.Errorf("unlock %s: %w", f.Name(), os.NewSyscallError("UnlockFileEx", err))
	}
	return nil
}

func free(dir string) (int64, error) {
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return 0, err
	}
	var avail, total, totalFree uint64
	if err := windows.GetDiskFreeSpaceEx(p, &avail, &total, &totalFree); err != nil {
		return 0, &os.PathError{Op: "GetDiskFreeSpaceEx", Path: dir, Err: err}
	}
	return int64(avail), nil
}
