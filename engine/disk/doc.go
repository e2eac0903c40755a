// Package disk reads what real media hold: MBR partition tables (with
// extended and logical partitions), GPT (headers, entries, CRCs,
// protective and hybrid MBRs), and the allocation maps of FAT12/16/32,
// exFAT, ext2/3/4 and NTFS, so the engine can copy only what is used and
// keep every copy bootable.
//
// Every reader is a pure function over io.ReaderAt that returns a clear
// error for a damaged structure and never panics (each has a fuzz
// target). disk imports only the standard library.
package disk
