package images

import (
	"os"
	"syscall"
)

// inode is a file's inode, device and change time in nanoseconds: any
// write or attribute change moves the change time, and no program can set
// it back.
func inode(fi os.FileInfo) (ino, dev uint64, ctime int64, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, 0, false
	}
	return st.Ino, st.Dev, st.Ctim.Nano(), true
}
