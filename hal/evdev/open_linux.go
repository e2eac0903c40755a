//go:build linux

package evdev

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// evIOCGrab is EVIOCGRAB, _IOW('E', 0x90, int): the caller gets every
// event of the device, and nobody else (the console, a login prompt)
// gets any.
const evIOCGrab = 0x40044590

// Open opens a scanner's event device and grabs it, so its keys reach no
// console. The device is released when the reader's Run returns.
func Open(path string, l Layout) (*Reader, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("scanner: %w", err)
	}
	// Control keeps the file non-blocking (Fd would not), so closing it
	// ends a read that waits for a key.
	raw, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("scanner %s: %w", path, err)
	}
	var grabErr error
	if err := raw.Control(func(fd uintptr) { grabErr = unix.IoctlSetInt(int(fd), evIOCGrab, 1) }); err != nil {
		f.Close()
		return nil, fmt.Errorf("scanner %s: %w", path, err)
	}
	switch {
	case grabErr == nil:
	case errors.Is(grabErr, unix.ENOTTY) || errors.Is(grabErr, unix.EINVAL):
		f.Close()
		return nil, fmt.Errorf("scanner %s: not an input event device (EVIOCGRAB: %v)", path, grabErr)
	case errors.Is(grabErr, unix.EBUSY):
		f.Close()
		return nil, fmt.Errorf("scanner %s: another program holds the device", path)
	default:
		f.Close()
		return nil, fmt.Errorf("scanner %s: %w", path, os.NewSyscallError("EVIOCGRAB", grabErr))
	}
	return NewReader(path, f, l), nil
}
