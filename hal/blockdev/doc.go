// Package blockdev is the real drive backend. On Linux: whole-disk block
// devices (and plain image files, for the command line) opened for reading
// or exclusively for writing, with aligned direct I/O, fsync, BLKFLSBUF for
// verification, BLKDISCARD/BLKSECDISCARD, and BLKROSET write-blocking of a
// master for the length of a job. Elsewhere (the command line on a
// developer's Mac or Windows machine): image files only, verified past the
// system's cache with F_NOCACHE (macOS) or unbuffered I/O (Windows), or a
// plain refusal to verify where neither exists.
//
// It imports hal and golang.org/x/sys only; never sim, engine, ui or
// firmware.
package blockdev
