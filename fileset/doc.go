// Package fileset is data duplication: a file set (a folder of files,
// kept in the library beside the images with a manifest of every path,
// size, time and SHA-256) copied onto targets of whatever sizes, each
// partitioned and formatted fresh (FAT32 up to 32 GiB, exFAT above, or
// the file system asked for), and verified file by file from the media.
//
// A job builds the file system's structures once per distinct target size
// in a sparse file beside the library (mkfs.fat or mkfs.exfat formats it,
// engine/fatfs lays the folders and FAT chains into it), and the engine's
// fan-out writes each target from a source that reads those structures
// from the file and every file's bytes from the set itself: the window,
// straggler tolerance and LBA-0-last come from the engine. Each target is
// then read back past the caches: the structures byte for byte, the file
// system checked by engine/fatfs, every file against the manifest's
// SHA-256.
//
// fileset imports engine, engine/fatfs, engine/disk and internal/fsys;
// never a backend, ui or firmware.
package fileset
