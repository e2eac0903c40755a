// Package fatfs reads, checks and fills the file systems a data
// duplication writes onto sticks and cards: FAT12/16/32 and exFAT.
//
// The reader (Open, the fs.FS it returns, Check) is a set of pure
// functions over an io.ReaderAt: it reads a stick a file set is imported
// from, a master drive's partition used as a source, and every target read
// back from its media after a job. It returns a clear error for a damaged
// structure and never panics (each entry point has a fuzz target).
//
// The writer formats FAT32 (FormatFAT32) and lays a tree of folders and
// files (Populate) into a volume that it or mkfs.exfat has just
// formatted: directory entries with long names, FAT chains, the
// allocation bitmap and the free-space counters. It writes only the file
// system's structures; where each file's bytes go is returned, so the
// caller streams them from the files themselves.
//
// fatfs imports only the standard library.
package fatfs
