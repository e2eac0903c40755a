#!/usr/bin/env bash
# Makes the fuzz seed corpus of engine/disk with the real tools: partition
# tables written by sfdisk and sgdisk, file systems made by mkfs.vfat,
# mkfs.exfat, mkfs.ext4 and mkntfs. Each seed keeps the first 1 MiB (exFAT: 4 MiB) of its
# image (where the structures are), gzipped. Run it again when a tool
# changes; the seeds are committed.
set -euo pipefail
out=$(realpath "$(dirname "$0")/../engine/disk/testdata/seeds")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
keep() { head -c "${3:-1048576}" "$1" | gzip -9n >"$out/$2.gz"; }

# A compact table whose extended boot records lie in the first 512 KiB.
truncate -s 1M mbr.img
printf 'label: dos\nunit: sectors\nstart=64, size=100, type=c, bootable\nstart=200, size=800, type=5\nstart=210, size=100, type=83\nstart=400, size=100, type=7\n' | sfdisk -q mbr.img
keep mbr.img mbr-extended
truncate -s 4M gpt.img
sgdisk -q -n 1:2048:+1M -t 1:ef00 -c 1:EFI -n 2:0:0 -t 2:8300 -c 2:root gpt.img
cp gpt.img gpt-full.img
keep gpt.img gpt
tail -c 16896 gpt-full.img | gzip -9n >"$out/gpt-backup.gz"
sgdisk -q -h 2 gpt.img
keep gpt.img gpt-hybrid

truncate -s 2M fat12.img && mkfs.vfat -F 12 fat12.img >/dev/null && keep fat12.img fat12
truncate -s 20M fat16.img && mkfs.vfat -F 16 fat16.img >/dev/null && keep fat16.img fat16
truncate -s 40M fat32.img && mkfs.vfat -F 32 -s 1 fat32.img >/dev/null && keep fat32.img fat32
truncate -s 8M exfat.img && mkfs.exfat exfat.img >/dev/null && keep exfat.img exfat 4194304
truncate -s 8M ext4.img && mkfs.ext4 -q -F ext4.img && keep ext4.img ext4
truncate -s 64M ext4-64bit.img && mkfs.ext4 -q -F -O 64bit ext4-64bit.img && keep ext4-64bit.img ext4-64bit
truncate -s 8M ntfs.img && mkntfs -q -F -Q ntfs.img 2>/dev/null && keep ntfs.img ntfs
ls -la "$out"
