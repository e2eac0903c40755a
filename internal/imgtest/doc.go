// Package imgtest builds disk images with the real tools (sfdisk, sgdisk,
// mkfs.vfat, mkfs.exfat, mkfs.ext4, mkntfs) and checks them with the real
// checkers, for the tests of partition and file-system code. Tests that
// need a missing tool skip and say which Debian package has it.
//
// It builds on Linux only; elsewhere the package is empty.
package imgtest
