#!/usr/bin/env bash
# The throttled race of bench-speed.sh (section 3) on its own, for A/B
# runs of builds: 1 -> 4 of a 256 MiB master, the fourth target throttled
# (blkio or io cgroup) to BPS bytes a second. Each round times the floor
# (three `dd` copies alone, then beside a throttled fourth), runs an
# untimed race of the first build beside the throttled fourth (the
# floor's copies leave work on the disk that falls on whoever follows),
# then each BIN in turn, alone and beside it. A build named twice runs in
# two slots of each round: name them A B B A, and the next run B A A B.
# Prints every round, then each slot's medians and their ratio (the fast
# targets' time beside the throttled one over their time alone).
#
# WHERE=disk (the default) puts the loop devices' files under /var/tmp,
# WHERE=tmpfs under /dev/shm; DIRECT_IO=1 attaches them in direct-I/O
# mode, so no page cache stands between them and the disk.
# Needs root. Usage: [BPS=98000000] [ROUNDS=8] [WHERE=disk|tmpfs]
# [DIRECT_IO=1] bench-throttle.sh BIN...
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: bench-throttle.sh BIN..." >&2; exit 2; }
bins=()
for b in "$@"; do bins+=("$(realpath "$b")"); done
bps=${BPS:-98000000}
rounds=${ROUNDS:-8}
where=${WHERE:-disk}
here=$(dirname "$(realpath "$0")")
if [ "$(id -u)" -ne 0 ]; then
	echo "bench-throttle: the loop devices and the cgroup need root" >&2
	exit 1
fi
"$here/deps.sh" coreutils util-linux bc
. "$here/race-lib.sh"

case $where in
disk) parent=/var/tmp ;;
tmpfs) parent=/dev/shm ;;
*) echo "bench-throttle: WHERE is disk or tmpfs, not $where" >&2; exit 2 ;;
esac
dir=$(mktemp -d -p "$parent" clonebay-throttle.XXXXXX)
loops=()
cg=
cleanup() {
	for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null || true; done
	[ -z "$cg" ] || rmdir "$cg" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT
attach() { # attach FILE: sets REPLY to /dev/loopN and remembers it
	REPLY=$(losetup ${DIRECT_IO:+--direct-io=on} --find --show "$1")
	loops+=("$REPLY")
}
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }

head -c $((256 << 20)) /dev/urandom >"$dir/master.img"
attach "$dir/master.img"
m=$REPLY
ts=()
for i in 1 2 3 4; do
	truncate -s $((256 << 20)) "$dir/t$i.img"
	attach "$dir/t$i.img"
	ts+=("$REPLY")
done
# The first writes to a sparse file also allocate it: not what a race
# should pay for.
for t in "${ts[@]}"; do dd if="$m" of="$t" bs=4M oflag=direct status=none; done
slow=${ts[3]}
cgroup_new "clonebay-throttle-$$" || { echo "bench-throttle: no blkio or io cgroup controller" >&2; exit 1; }
cg=$REPLY
cgroup_throttle "$cg" "$slow" "$bps"

# race BIN alone|mixed: the three fast targets' mean TIME, in seconds
race() {
	local args=() n=3 out=$dir/race.out
	[ "$2" = alone ] || n=4
	for t in "${ts[@]:0:n}"; do args+=(--to "$t"); done
	drop
	incg "$cg" "$1" copy --from "$m" "${args[@]}" >"$out" 2>&1 || { cat "$out" >&2; return 1; }
	fast_time "$out" "${ts[@]:0:3}"
}
# floor alone|mixed: seconds until three direct `dd` copies end
floor() {
	local start pids=() sp= el
	drop
	start=$(date +%s.%N)
	if [ "$1" = mixed ]; then
		incg "$cg" dd if="$m" of="$slow" bs=1M iflag=direct oflag=direct status=none &
		sp=$!
	fi
	for t in "${ts[@]:0:3}"; do dd if="$m" of="$t" bs=1M iflag=direct oflag=direct status=none & pids+=($!); done
	wait "${pids[@]}"
	el=$(echo "$(date +%s.%N) - $start" | bc)
	[ -z "$sp" ] || wait "$sp"
	printf '%.3f' "$el"
}

echo "1->4, 256 MiB on $where loop devices${DIRECT_IO:+ (direct I/O)}, the fourth throttled to $((bps / 1000000)) MB/s, $rounds rounds; load average $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A alone=() mixed=()
for r in $(seq 1 "$rounds"); do
	line="round $r:"
	a=$(floor alone); x=$(floor mixed)
	alone[floor]+="$a "; mixed[floor]+="$x "
	line+=" floor $a $x;"
	race "${bins[0]}" mixed >/dev/null
	for i in "${!bins[@]}"; do
		slot="$((i + 1)):$(basename "${bins[$i]}")"
		a=$(race "${bins[$i]}" alone); x=$(race "${bins[$i]}" mixed)
		alone[$slot]+="$a "; mixed[$slot]+="$x "
		line+=" $slot $a $x;"
	done
	echo "$line"
done
for slot in floor $(printf '%s\n' "${!alone[@]}" | grep -v '^floor$' | sort -n); do
	a=$(med "${alone[$slot]}"); x=$(med "${mixed[$slot]}")
	printf '%-24s alone %.3fs  beside the throttled one %.3fs  %.3fx\n' "$slot" "$a" "$x" "$(echo "$x / $a" | bc -l)"
done
