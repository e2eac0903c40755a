#!/usr/bin/env bash
# Races `clonebay files` (a file set onto 8 targets of mixed sizes, each
# partitioned, formatted and verified file by file) against mkfs.vfat and
# `mcopy -s` per target, run in parallel (no partition table and no
# verify: less work than clonebay does), and against `clonebay copy`
# (binary copy+verify) of a master as large as the bytes a target gets.
# The drives are loop devices over files on tmpfs, so the media is not
# what is measured. Needs root. Usage: bench-files.sh BIN [MiB] [FILES]
set -euo pipefail
bin=$(realpath "$1")
mib=${2:-200}
count=${3:-2000}
if [ "$(id -u)" -ne 0 ]; then
	echo "bench-files: the loop-device race needs root; skipped" >&2
	exit 0
fi
"$(dirname "$0")/deps.sh" dosfstools mtools exfatprogs util-linux bc coreutils

work=$(mktemp -d -p /dev/shm clonebay-bench.XXXXXX)
loops=()
cleanup() {
	for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT; [ -n "${KEEP:-}" ] && trap - EXIT

# The set: $count files in 20 folders, $mib MiB in all, of assorted sizes
# (a tenth of the files are ten times the others).
mkdir -p "$work/src"
head -c $((mib << 20)) /dev/urandom >"$work/blob"
unit=$(((mib << 20) / (count * 19 / 10)))
off=0
for i in $(seq 0 $((count - 1))); do
	n=$unit
	[ $((i % 10)) -eq 0 ] && n=$((unit * 10))
	dir="$work/src/folder $((i % 20))"
	mkdir -p "$dir"
	dd if="$work/blob" of="$dir/file $i.bin" iflag=skip_bytes,count_bytes skip="$off" count="$n" status=none
	off=$((off + n))
done
rm "$work/blob"
bytes=$(du -sb "$work/src" | cut -f1)

sizes=(300M 300M 512M 512M 1G 1G 2G 4G)
targets=()
for i in "${!sizes[@]}"; do
	truncate -s "${sizes[$i]}" "$work/t$i.img"
	l=$(losetup --find --show "$work/t$i.img")
	loops+=("$l")
	targets+=("$l")
done

drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
now() { date +%s.%N; }
to_args() { for t in "${targets[@]}"; do printf -- '--to\n%s\n' "$t"; done; }
mapfile -t args < <(to_args)

"$bin" image import-files "$work/src" --name bench --library "$work/lib" >/dev/null 2>&1
load=$(cut -d' ' -f1 /proc/loadavg)

drop; start=$(now)
"$bin" files --from set:bench "${args[@]}" --library "$work/lib" --yes >"$work/files.out" 2>&1 || { cat "$work/files.out"; exit 1; }
t_files=$(echo "$(now) - $start" | bc)
written=$(awk '$3 == "PASS" {print $0}' "$work/files.out" | wc -l)

drop; start=$(now)
"$bin" files --from "$work/src" "${args[@]}" --library "$work/lib" --yes >"$work/dir.out" 2>&1 || { cat "$work/dir.out"; exit 1; }
t_dir=$(echo "$(now) - $start" | bc)

drop; start=$(now)
for t in "${targets[@]}"; do
	(mkfs.vfat -F 32 "$t" >/dev/null && mcopy -s -i "$t" "$work/src"/* ::/ && blockdev --flushbufs "$t") &
done
wait
sync
t_mcopy=$(echo "$(now) - $start" | bc)

# The binary copy of the same bytes: a master as large as the set, onto
# the same targets, fresh again.
master_bytes=$bytes
head -c "$master_bytes" /dev/urandom >"$work/master.img"
for i in "${!sizes[@]}"; do
	truncate -s 0 "$work/t$i.img" && truncate -s "${sizes[$i]}" "$work/t$i.img"
done
drop; start=$(now)
"$bin" copy --from "$work/master.img" "${args[@]}" >/dev/null 2>&1
t_copy=$(echo "$(now) - $start" | bc)

printf '1->8 files, %d files, %d MiB, targets %s: %d passed (load average %s on %d cores)\n' "$count" "$((bytes >> 20))" "${sizes[*]}" "$written" "$load" "$(nproc)"
printf 'clonebay files (set) %.2fs | from the folder (hashed first) %.2fs\n' "$t_files" "$t_dir"
printf 'mkfs.vfat + mcopy -s, 8 in parallel, no verify: %.2fs; clonebay files takes %.2fx of it (goal: at most 0.5x)\n' \
	"$t_mcopy" "$(echo "$t_files / $t_mcopy" | bc -l)"
printf 'clonebay copy (binary copy+verify) of the same %s bytes: %.2fs; clonebay files takes %.2fx of it (goal: at most 1.3x)\n' \
	"$master_bytes" "$t_copy" "$(echo "$t_files / $t_copy" | bc -l)"
