package blockdev

import (
	"fmt"
	"os"

	"golang.org/x/sys/windows"
)

// openDirect opens the file a second time with FILE_FLAG_NO_BUFFERING:
// its aligned reads and writes bypass Windows' file cache.
func openDirect(node string, write bool) (*os.File, error) {
	name, err := windows.UTF16PtrFromString(node)
	if err != nil {
		return nil, err
	}
	access := uint32(windows.GENERIC_READ)
	if write {
		access |= windows.GENERIC_WRITE
	}
	h, err := windows.CreateFile(name, access, windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE, nil,
		windows.OPEN_EXISTING, windows.FILE_FLAG_NO_BUFFERING|windows.FILE_FLAG_WRITE_THROUGH, 0)
	if err != nil {
		return nil, os.NewSyscallError("CreateFile", err)
	}
	return os.NewFile(uintptr(h), node), nil
}

func fileID(f *os.File) (string, error) {
	var fi windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(windows.Handle(f.Fd()), &fi); err != nil {
		return "", os.NewSyscallError("GetFileInformationByHandle", err)
	}
	return fmt.Sprintf("file:%x:%x%08x", fi.VolumeSerialNumber, fi.FileIndexHigh, fi.FileIndexLow), nil
}
