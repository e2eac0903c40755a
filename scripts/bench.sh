#!/usr/bin/env bash
# Races `clonebay copy` (copy+verify) against dcfldd, dc3dd and tee on the
# same loop devices, 1->4 and 1->8, and prints the ratios. Every tool's run
# includes its verification: dcfldd and tee are followed by a cmp of each
# target with the master (page cache dropped first, so cmp reads the
# media, as clonebay's verify does); dc3dd verifies with hof=.
# Needs root. Usage: bench.sh BIN [MiB]
set -euo pipefail
bin=$(realpath "$1")
mib=${2:-256}
if [ "$(id -u)" -ne 0 ]; then
	echo "bench: the loop-device race needs root; skipped" >&2
	exit 0
fi
"$(dirname "$0")/deps.sh" dcfldd dc3dd coreutils diffutils util-linux bc e2fsprogs fdisk

work=$(mktemp -d)
loops=()
cleanup() {
	for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

attach() { # attach FILE: sets REPLY to /dev/loopN and remembers it for cleanup
	REPLY=$(losetup --find --show "$1")
	loops+=("$REPLY")
}

head -c $((mib << 20)) /dev/urandom >"$work/master.img"
attach "$work/master.img"
master=$REPLY
targets=()
for i in $(seq 1 8); do
	truncate -s $((mib << 20)) "$work/t$i.img"
	attach "$work/t$i.img"
	targets+=("$REPLY")
done

drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
now() { date +%s.%N; }
cmp_all() { for t in "$@"; do cmp -n $((mib << 20)) "$master" "$t" >/dev/null; done; }

race() { # race N
	local n=$1 ts=("${targets[@]:0:$1}") start t_cb t_dcfldd t_dc3dd t_tee args
	args=(); for t in "${ts[@]}"; do args+=(--to "$t"); done
	drop; start=$(now)
	"$bin" copy --from "$master" "${args[@]}" >/dev/null 2>&1
	t_cb=$(echo "$(now) - $start" | bc)

	args=(); for t in "${ts[@]}"; do args+=("of=$t"); done
	drop; start=$(now)
	dcfldd if="$master" "${args[@]}" bs=1M status=off 2>/dev/null
	drop; cmp_all "${ts[@]}"
	t_dcfldd=$(echo "$(now) - $start" | bc)

	args=(); for t in "${ts[@]}"; do args+=("hof=$t"); done
	drop; start=$(now)
	dc3dd if="$master" "${args[@]}" hash=sha256 nwspc=on >/dev/null 2>&1
	t_dc3dd=$(echo "$(now) - $start" | bc)

	drop; start=$(now)
	tee "${ts[@]}" <"$master" >/dev/null
	drop; cmp_all "${ts[@]}"
	t_tee=$(echo "$(now) - $start" | bc)

	printf '1->%d, %d MiB, copy+verify:  clonebay %.2fs | dcfldd+cmp %.2fs (%.2fx) | dc3dd hof %.2fs (%.2fx) | tee+cmp %.2fs (%.2fx)\n' \
		"$n" "$mib" "$t_cb" "$t_dcfldd" "$(echo "$t_dcfldd / $t_cb" | bc -l)" \
		"$t_dc3dd" "$(echo "$t_dc3dd / $t_cb" | bc -l)" "$t_tee" "$(echo "$t_tee / $t_cb" | bc -l)"
}

echo "ratios are the other tool's time over clonebay's: above 1 means clonebay is faster"
race 4
race 8

# Smart copy against whole-media copy: an 8 GiB master whose ext4 file
# system holds 512 MiB of files, copy+verify onto one target each way.
smart_vs_whole() {
	local dir="$work/smart" t_smart t_whole start
	mkdir -p "$dir/files"
	for i in $(seq 1 16); do head -c $((32 << 20)) /dev/urandom >"$dir/files/f$i.bin"; done
	truncate -s 8G "$dir/master.img"
	printf 'label: gpt\nstart=2048, size=%d, type=L\n' $(((8 << 30) / 512 - 4096)) | sfdisk -q "$dir/master.img"
	local part
	part=$(losetup --find --show -o $((2048 * 512)) --sizelimit $((8 << 30) - (2 << 20)) "$dir/master.img")
	loops+=("$part")
	mkfs.ext4 -q -F -d "$dir/files" "$part"
	losetup -d "$part"
	truncate -s 8G "$dir/target.img"
	drop; start=$(now)
	"$bin" copy --area smart --from "$dir/master.img" --to "$dir/target.img" >/dev/null 2>&1
	t_smart=$(echo "$(now) - $start" | bc)
	drop; start=$(now)
	"$bin" copy --area whole --from "$dir/master.img" --to "$dir/target.img" >/dev/null 2>&1
	t_whole=$(echo "$(now) - $start" | bc)
	printf '8 GiB master, 512 MiB of files, copy+verify:  smart %.2fs | whole media %.2fs (%.1fx)\n' \
		"$t_smart" "$t_whole" "$(echo "$t_whole / $t_smart" | bc -l)"
}
smart_vs_whole

# Data duplication: a file set onto targets of mixed sizes.
"$(dirname "$0")/bench-files.sh" "$bin"
