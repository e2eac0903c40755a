// Package blockdev is the real Linux drive backend: whole-disk block
// devices (and plain image files, for the command line) opened for reading
// or exclusively for writing, with aligned direct I/O, fsync, BLKFLSBUF for
// verification, BLKDISCARD/BLKSECDISCARD, and BLKROSET write-blocking of a
// master for the length of a job.
//
// It imports hal and golang.org/x/sys/unix only; never sim, engine, ui or
// firmware.
package blockdev
