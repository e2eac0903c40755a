// Package fileset is data duplication: a file set (a folder of files,
// kept in the library beside the images with a manifest of every path,
// size, time and SHA-256) copied onto targets of whatever sizes, each
// partitioned and formatted fresh (FAT32 up to 32 GiB, exFAT above, or
// the file system asked for), and verified file by file from the media.
//
// A job builds the file system's structures in a sparse file beside the
// library (engine/fatfs formats FAT32, mkfs.exfat formats exFAT, and
// engine/fatfs lays the folders and FAT chains into it), and the
// engine's fan-out writes each target from a source that reads those
// structures from the file and every file's bytes from the set itself:
// the window, straggler tolerance and LBA-0-last come from the engine. One build serves the targets of
// one layout, and FAT32 targets of every size with its cluster size:
// the engine writes a smaller target through a view of it as the build's
// disk (shrunk), where each FAT keeps its first bytes, as many as the
// smaller volume's clusters need, and the cluster heap moves down to meet
// them, so the set is read once for all of them. Each target gets its
// own partition table, boot sectors and FSInfo (fatfs.Reframe) and disk
// end as engine patches. The engine verifies
// each target as it verifies a copy: every byte read back past the
// caches (caches dropped, direct I/O) and compared, chunk by chunk, with
// what the build's reader read, patches and all. The target's file
// system is then read from its media: checked by engine/fatfs, its tree
// compared with the manifest, and every file's FAT chain found to lead
// exactly to the bytes its file was written into.
//
// Every file is held to the manifest's SHA-256, with one SHA-256 of the
// set a job instead of one a target: one build's reader takes each
// file's SHA-256 of the bytes it streams into the fan-out, beside the
// job, and compares it with the manifest; with several builds, each
// build's reader also takes each file's XXH3-128, and every build's must
// equal that build's, file by file. So the files on every target that
// passes equal bytes whose SHA-256 is the manifest's, barring a
// collision of a drive's corruption with a fast hash, as in every copy
// (sums.go says more).
//
// fileset imports engine, engine/fatfs, engine/disk and internal/fsys;
// never a backend, ui or firmware.
package fileset
