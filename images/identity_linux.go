package images

import "syscall"

// changeTime is the inode's change time in nanoseconds: any write or
// attribute change moves it, and no program can set it back.
func changeTime(st *syscall.Stat_t) int64 { return st.Ctim.Nano() }
