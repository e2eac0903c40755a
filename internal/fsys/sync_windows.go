//go:build windows

package fsys

import (
	"errors"
	"io/fs"
	"syscall"
)

func syncDirUnsupported(err error) bool {
	return errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.ERROR_ACCESS_DENIED) ||
		errors.Is(err, syscall.Errno(1)) // ERROR_INVALID_FUNCTION
}
