#!/usr/bin/env bash
# Races `clonebay files` (a file set onto 8 targets of mixed sizes, each
# partitioned, formatted and verified file by file) against mkfs.vfat and
# `mcopy -s` per target, run in parallel (no partition table and no
# verify: less work than clonebay does), and against `clonebay copy`
# (binary copy+verify) of a master as large as the bytes a target gets.
# The drives are loop devices over files on tmpfs, so the media is not
# what is measured. Medians of RUNS runs (3), the tools alternated; with
# BASE=an older clonebay binary, it races too. Needs root.
# Usage: bench-files.sh BIN [MiB] [FILES]
set -euo pipefail
bin=$(realpath "$1")
mib=${2:-200}
count=${3:-2000}
runs=${RUNS:-3}
base=${BASE:+$(realpath "$BASE")}
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
load=$(cut -d' ' -f1-3 /proc/loadavg)
head -c "$bytes" /dev/urandom >"$work/master.img"
fresh() { # the targets as new: every run starts from empty drives
	for i in "${!sizes[@]}"; do
		truncate -s 0 "$work/t$i.img" && truncate -s "${sizes[$i]}" "$work/t$i.img"
	done
}
median() { sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
files() { # files BIN: clonebay files from the stored set
	local start
	fresh; drop; start=$(now)
	"$1" files --from set:bench "${args[@]}" --library "$work/lib" --yes >"$work/files.out" 2>&1 || { cat "$work/files.out" >&2; exit 1; }
	echo "$(now) - $start" | bc
}
mcopy_all() {
	local start t
	fresh; drop; start=$(now)
	for t in "${targets[@]}"; do
		(mkfs.vfat -F 32 "$t" >/dev/null 2>>"$work/mcopy.err" && mcopy -s -i "$t" "$work/src"/* ::/ 2>>"$work/mcopy.err" && blockdev --flushbufs "$t") &
	done
	wait
	sync
	echo "$(now) - $start" | bc
	# mtools' "Could not get geometry" on a loop device is noise (written
	# without a newline, so it is cut out, not a line left out)
	sed 's/Could not get geometry of device (Inappropriate ioctl for device)//g' "$work/mcopy.err" | grep . >&2 || true
	: >"$work/mcopy.err"
}
binary() { # the binary copy+verify of a master as large as the set
	local start
	fresh; drop; start=$(now)
	"$bin" copy --from "$work/master.img" "${args[@]}" >/dev/null 2>&1
	echo "$(now) - $start" | bc
}
declare -A t=()
for r in $(seq 1 "$runs"); do
	order=(files mcopy binary base)
	for k in $(seq 1 $((r - 1))); do order=("${order[@]:1}" "${order[0]}"); done
	for what in "${order[@]}"; do
		case $what in
		files) t[files]+="$(files "$bin") " ;;
		mcopy) t[mcopy]+="$(mcopy_all) " ;;
		binary) t[binary]+="$(binary) " ;;
		base) [ -n "$base" ] && t[base]+="$(files "$base") " ;;
		esac
	done
done
med() { printf '%s\n' $1 | median; }
t_files=$(med "${t[files]}"); t_mcopy=$(med "${t[mcopy]}"); t_copy=$(med "${t[binary]}")
written=$(awk '$3 == "PASS"' "$work/files.out" | wc -l)

printf '1->8 files, %d files, %d MiB, targets %s: %d passed (median of %d; load average %s on %d cores)\n' "$count" "$((bytes >> 20))" "${sizes[*]}" "$written" "$runs" "$load" "$(nproc)"
printf 'clonebay files (stored set) %.2fs | mkfs.vfat + mcopy -s, 8 in parallel, no verify: %.2fs; clonebay files takes %.2fx of it (goal: at most 0.5x)\n' \
	"$t_files" "$t_mcopy" "$(echo "$t_files / $t_mcopy" | bc -l)"
printf 'clonebay copy (binary copy+verify) of the same %s bytes: %.2fs; clonebay files takes %.2fx of it (goal: at most 1.3x)\n' \
	"$bytes" "$t_copy" "$(echo "$t_files / $t_copy" | bc -l)"
if [ -n "$base" ]; then
	b=$(med "${t[base]}")
	printf '  before (BASE): clonebay files %.2fs = %.2fx mcopy, %.2fx the binary copy\n' "$b" "$(echo "$b / $t_mcopy" | bc -l)" "$(echo "$b / $t_copy" | bc -l)"
fi
