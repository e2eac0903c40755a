#!/usr/bin/env bash
# How close `clonebay copy` comes to the raw I/O floor, and how it does
# against the tools people use, on loop devices over tmpfs (so the media
# is not what is measured) and over the disk:
#   1. 1->8 copy+verify of MiB (512) against the floor (8 parallel
#      `dd bs=4M oflag=direct` writes, then 8 parallel `dd iflag=direct`
#      reads of the same bytes) and against etcher-sdk's multi-write with
#      verify (bmaptool copy per target in parallel when etcher-sdk cannot
#      be installed); how much of the master it read.
#   2. 1->1 copy+verify against `dd oflag=direct` + cache drop + `cmp`.
#   3. 1->4 with one target throttled (blkio cgroup) to a quarter of the
#      pace the fast targets keep alone: the three fast targets' time over
#      their time alone, on tmpfs and on the disk.
#   4. Peak RSS of 1->16 drive copy, image deploy, files, erase and delta
#      re-sync of a 2 GiB master onto sparse disk-backed loop devices.
#   5. 1->8 with 1, 2 and 4 MiB chunks (the request size).
# SECTIONS="1 2 5 3 4" picks which run.
# Every figure is the median of RUNS runs (3) with the tools alternated
# in a rotating order. With BASE=an older clonebay binary, that binary
# runs beside the new one, so one run shows the gain.
# Needs root. Usage: bench-speed.sh BIN [MiB]
set -euo pipefail
bin=$(realpath "$1")
mib=${2:-512}
runs=${RUNS:-3}
base=${BASE:+$(realpath "$BASE")}
here=$(dirname "$(realpath "$0")")
if [ "$(id -u)" -ne 0 ]; then
	echo "bench-speed: the loop-device races need root; skipped" >&2
	exit 0
fi
"$here/deps.sh" coreutils util-linux bc time bmap-tools e2fsprogs fdisk dosfstools mtools
. "$here/race-lib.sh"

work=$(mktemp -d -p /dev/shm clonebay-speed.XXXXXX)
disk=$(mktemp -d -p /var/tmp clonebay-speed.XXXXXX)
loops=()
cg=
cleanup() {
	for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null || true; done
	[ -n "$cg" ] && rmdir "$cg" 2>/dev/null
	rm -rf "$work" "$disk"
}
trap cleanup EXIT

attach() { # attach FILE: sets REPLY to /dev/loopN and remembers it
	REPLY=$(losetup --find --show "$1")
	loops+=("$REPLY")
}
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; }
now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }
sectors_read() { awk '{print $3}' "/sys/block/$(basename "$1")/stat"; }
ratio() { echo "scale=3; $1 / $2" | bc -l; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
to_args() { for t in "$@"; do printf -- '--to\n%s\n' "$t"; done; }

etcher=
if flash=$("$here/bench-etcher.sh" 2>"$work/etcher.log"); then
	etcher=$flash
else
	echo "bench-speed: etcher-sdk could not be installed ($(tail -1 "$work/etcher.log")); bmaptool copy stands in" >&2
fi

echo "load average before: $(load) on $(nproc) cores"
head -c $((mib << 20)) /dev/urandom >"$work/master.img"
attach "$work/master.img"
master=$REPLY
targets=()
for i in $(seq 1 8); do
	truncate -s $((mib << 20)) "$work/t$i.img"
	attach "$work/t$i.img"
	targets+=("$REPLY")
done

floor() { # floor N: seconds for N parallel direct writes, then N parallel direct reads
	local start t
	drop; start=$(now)
	for t in "${targets[@]:0:$1}"; do dd if="$work/master.img" of="$t" bs=4M oflag=direct status=none & done
	wait
	for t in "${targets[@]:0:$1}"; do dd if="$t" of=/dev/null bs=4M iflag=direct status=none & done
	wait
	since "$start"
}
cb() { # cb BIN N [FLAG...]: seconds of a copy+verify; the master-read ratio goes to $work/read
	local b=$1 n=$2 start args
	shift 2
	mapfile -t args < <(to_args "${targets[@]:0:$n}")
	args+=("$@")
	drop
	local before; before=$(sectors_read "$master")
	start=$(now)
	"$b" copy --from "$master" "${args[@]}" >"$work/cb.out" 2>&1 || { cat "$work/cb.out" >&2; return 1; }
	since "$start"
	# The kernel's count of the master's sectors read: the same measure
	# for any build, planning and the re-check included.
	echo "scale=2; ($(sectors_read "$master") - $before) * 512 / ($mib * 1048576)" | bc -l >"$work/read"
}
other() { # other N: etcher-sdk (or bmaptool per target) with verify
	local n=$1 start t
	drop; start=$(now)
	if [ -n "$etcher" ]; then
		node "$etcher" "$work/master.img" "${targets[@]:0:$n}"
	else
		for t in "${targets[@]:0:$n}"; do bmaptool -q copy --nobmap "$work/master.img" "$t" & done
		wait
		drop
		for t in "${targets[@]:0:$n}"; do cmp -n $((mib << 20)) "$work/master.img" "$t" >/dev/null & done
		wait
	fi
	since "$start"
}
ddcmp() { # dd oflag=direct + cache drop + cmp, one target
	local start
	drop; start=$(now)
	dd if="$master" of="${targets[0]}" bs=4M oflag=direct status=none
	drop
	cmp -n $((mib << 20)) "$master" "${targets[0]}" >/dev/null
	since "$start"
}
name_other=${etcher:+etcher-sdk}
name_other=${name_other:-bmaptool}

declare -A t=()
sections=" ${SECTIONS:-1 2 5 3 4} "
on() { [[ $sections == *" $1 "* ]]; }

# 1. 1->8 against the floor and etcher-sdk.
if on 1; then
t=()
reads=()
base_reads=()
for r in $(seq 1 "$runs"); do
	order=(floor cb other base)
	for k in $(seq 1 $((r - 1))); do order=("${order[@]:1}" "${order[0]}"); done
	for what in "${order[@]}"; do
		case $what in
		floor) t[floor]+="$(floor 8) " ;;
		cb) t[cb]+="$(cb "$bin" 8) "; reads+=("$(cat "$work/read")") ;;
		other) t[other]+="$(other 8) " ;;
		base) [ -n "$base" ] && { t[base]+="$(cb "$base" 8) "; base_reads+=("$(cat "$work/read")"); } ;;
		esac
	done
done
f=$(med "${t[floor]}"); c=$(med "${t[cb]}"); o=$(med "${t[other]}")
printf '1->8, %d MiB, copy+verify, tmpfs loop devices (median of %d): floor %.2fs | clonebay %.2fs = %.2fx the floor (goal <= 1.10) | %s %.2fs: clonebay takes %.2fx of it (goal <= 0.50)\n' \
	"$mib" "$runs" "$f" "$c" "$(ratio "$c" "$f")" "$name_other" "$o" "$(ratio "$c" "$o")"
printf '  master read over the copy area at 1->8, re-check included: %s (median %s; goal <= 1.2)\n' "${reads[*]}" "$(printf '%s\n' "${reads[@]}" | median)"
if [ -n "$base" ]; then
	b=$(med "${t[base]}")
	printf '  before (BASE): %.2fs = %.2fx the floor, %.2fx %s; master read %s (median %s)\n' "$b" "$(ratio "$b" "$f")" "$(ratio "$b" "$o")" "$name_other" \
		"${base_reads[*]}" "$(printf '%s\n' "${base_reads[@]}" | median)"
fi

fi

# 2. 1->1 against dd + cmp.
if on 2; then
t=()
for r in $(seq 1 "$runs"); do
	order=(dd cb base)
	for k in $(seq 1 $((r - 1))); do order=("${order[@]:1}" "${order[0]}"); done
	for what in "${order[@]}"; do
		case $what in
		dd) t[dd]+="$(ddcmp) " ;;
		cb) t[cb]+="$(cb "$bin" 1) " ;;
		base) [ -n "$base" ] && t[base]+="$(cb "$base" 1) " ;;
		esac
	done
done
d=$(med "${t[dd]}"); c=$(med "${t[cb]}")
printf '1->1, %d MiB, copy+verify (median of %d): dd oflag=direct + drop + cmp %.2fs | clonebay %.2fs = %.2fx (goal <= 0.45)' "$mib" "$runs" "$d" "$c" "$(ratio "$c" "$d")"
[ -n "$base" ] && b=$(med "${t[base]}") && printf ' | before %.2fs = %.2fx' "$b" "$(ratio "$b" "$d")"
echo

fi

# 5. Request size: 1->8 with chunks of 1, 2 and 4 MiB (hashing and
# requests alike).
if on 5; then
	t=()
	for r in $(seq 1 "$runs"); do
		order=(1 2 4)
		for k in $(seq 1 $((r - 1))); do order=("${order[@]:1}" "${order[0]}"); done
		for c in "${order[@]}"; do t[$c]+="$(cb "$bin" 8 --chunk "$c") "; done
	done
	printf '1->8, %d MiB, chunk (request) size (median of %d): 1 MiB %.2fs | 2 MiB %.2fs | 4 MiB %.2fs\n' "$mib" "$runs" \
		"$(med "${t[1]}")" "$(med "${t[2]}")" "$(med "${t[4]}")"
fi

# 3. 1->4, one target throttled to a quarter of its speed.
throttle_race() { # throttle_race WHERE DIR: 3 fast targets alone, then with a throttled fourth
	local where=$1 dir=$2 tm=256 i m ts=() slow bps cgdir args b pace
	head -c $((tm << 20)) /dev/urandom >"$dir/tm.img"
	attach "$dir/tm.img"; m=$REPLY
	for i in 1 2 3 4; do
		truncate -s $((tm << 20)) "$dir/tt$i.img"
		attach "$dir/tt$i.img"; ts+=("$REPLY")
	done
	slow=${ts[3]}
	# Fill the targets once: the first writes to a sparse backing file
	# also allocate it, which neither the speed below nor a race should
	# pay for.
	for t in "${ts[@]}"; do dd if="$m" of="$t" bs=4M oflag=direct status=none; done
	if ! cgroup_new "clonebay-bench-$$"; then
		echo "bench-speed: no blkio or io cgroup controller; the throttled race is skipped" >&2
		return
	fi
	cgdir=$REPLY; cg=$cgdir
	cbrace() { # cbrace BIN alone|mixed: the three fast targets' mean time
		if [ "$2" = alone ]; then
			mapfile -t args < <(to_args "${ts[@]:0:3}")
		else
			mapfile -t args < <(to_args "${ts[@]}")
		fi
		drop
		incg "$cgdir" "$1" copy --from "$m" "${args[@]}" >"$work/tr.out" 2>&1 || { cat "$work/tr.out" >&2; return 1; }
		fast_time "$work/tr.out" "${ts[@]:0:3}"
	}
	# "A quarter of its speed" is a quarter of the pace the fast targets
	# keep alone: the median of three runs of this build, before any
	# throttle. A quarter of the device's own dd speed was used before;
	# on tmpfs that is close to a clonebay target's CPU-bound pace, which
	# made the fourth a fourth full-speed writer on two cores, not a slow
	# target.
	local took=()
	for i in 1 2 3; do took+=("$(cbrace "$bin" alone)"); done
	pace=$(printf '%s\n' "${took[@]}" | median)
	bps=$(echo "$tm * 1048576 / $pace / 4" | bc)
	cgroup_throttle "$cgdir" "$slow" "$bps"
	# The same race for the floor: three fast dd copies alone, then beside
	# a throttled fourth, with clonebay's requests (1 MiB, direct reads of
	# the master and direct writes). The fourth's reads of the master and
	# its writes take CPU and bandwidth the others need whoever issues
	# them; the floor's ratio shows how much of clonebay's is that.
	ddrace() { # ddrace alone|mixed: seconds until the three fast copies end
		local start sp= pids=() el t
		drop; start=$(now)
		if [ "$1" = mixed ]; then
			incg "$cgdir" dd if="$m" of="$slow" bs=1M iflag=direct oflag=direct status=none &
			sp=$!
		fi
		for t in "${ts[@]:0:3}"; do dd if="$m" of="$t" bs=1M iflag=direct oflag=direct status=none & pids+=($!); done
		wait "${pids[@]}"
		el=$(since "$start")
		[ -z "$sp" ] || wait "$sp"
		echo "$el"
	}
	# race[WHO-alone|mixed]: the runs' times, WHO being dd, cb or base.
	local -A race=()
	local who what bin_of
	# With BASE, odd runs race the builds in the order A B B A and even
	# runs B A A B, so each build is as often the first, the second...
	# after the floor's copies. Those leave work behind on disk (on a VM,
	# the host's cache of what they wrote) that falls on whoever follows:
	# an untimed race of this build follows them first. It is a race with
	# the throttled fourth, not a copy to the three alone: after the
	# floor's throttled copy, the first race beside a throttled target
	# was 1.2x to 1.8x slower on disk whichever build ran it, even with
	# copies to the three alone in between.
	local order=(cb)
	for b in $(seq 1 "$runs"); do
		race[dd-alone]+="$(ddrace alone) "; race[dd-mixed]+="$(ddrace mixed) "
		cbrace "$bin" mixed >/dev/null
		if [ -n "$base" ]; then
			order=(cb base base cb)
			[ $((b % 2)) -eq 1 ] || order=(base cb cb base)
		fi
		for who in "${order[@]}"; do
			bin_of=$([ "$who" = cb ] && echo "$bin" || echo "$base")
			for what in $([ $((b % 2)) -eq 1 ] && echo alone mixed || echo mixed alone); do
				race[$who-$what]+="$(cbrace "$bin_of" "$what") "
			done
		done
	done
	ratios() { # ratios WHO: "mixed alone ratio" of its medians
		local a x
		a=$(med "${race[$1-alone]}"); x=$(med "${race[$1-mixed]}")
		echo "$x $a $(ratio "$x" "$a")"
	}
	spread() { # spread WHO: every race beside the throttled one, over WHO's median alone
		local a
		a=$(med "${race[$1-alone]}")
		printf '%s\n' ${race[$1-mixed]} | sort -g | while read -r x; do printf ' %.2f' "$(ratio "$x" "$a")"; done
	}
	printf '1->4, %d MiB, one target throttled to %d MB/s (a quarter of the fast targets'"'"' pace alone), %s (median of %d): the three fast targets %.2fs, alone %.2fs: %.3fx (goal <= 1.05)\n' \
		"$tm" "$((bps / 1000000))" "$where" "$((runs * (${#order[@]} == 4 ? 2 : 1)))" $(ratios cb)
	[ -z "$base" ] || printf '  before (BASE): the three fast targets %.2fs, alone %.2fs: %.3fx\n' $(ratios base)
	printf '  the floor in the same race: three dd copies %.2fs beside the throttled one, alone %.2fs: %.3fx\n' $(ratios dd)
	# The medians hide how the races spread: on a shared disk some take
	# twice the others, whichever build runs them.
	printf '  each race over the median alone: this build%s' "$(spread cb)"
	[ -z "$base" ] || printf '; before%s' "$(spread base)"
	printf '; the floor%s\n' "$(spread dd)"
	rmdir "$cgdir"; cg=
}
if on 3; then
	throttle_race "tmpfs loop devices" "$work"
	throttle_race "disk-backed loop devices" "$disk"
fi

# 4. Peak RSS at 1->16 of a 2 GiB master: a GPT disk whose ext4 partition
# holds 256 MiB of files, copied by its allocated blocks (smart), so the
# targets are written a few hundred MiB each.
rss() { # rss OUT CMD...: runs CMD under /usr/bin/time, prints its peak RSS in MiB
	local out=$1; shift
	/usr/bin/time -f 'rss %M' "$@" >"$out" 2>&1 || { cat "$out" >&2; return 1; }
	awk '$1 == "rss" {printf "%.1f", $2 / 1024}' "$out"
}
if on 4; then
mkdir -p "$disk/files"
for i in $(seq 1 8); do head -c $((32 << 20)) /dev/urandom >"$disk/files/f$i.bin"; done
truncate -s 2G "$disk/big.img"
printf 'label: gpt\nstart=2048, size=%d, type=L\n' $(((2 << 30) / 512 - 4096)) | sfdisk -q "$disk/big.img"
part=$(losetup --find --show -o $((2048 * 512)) --sizelimit $(((2 << 30) - (2 << 20))) "$disk/big.img")
mkfs.ext4 -q -F -d "$disk/files" "$part"
losetup -d "$part"
attach "$disk/big.img"; big=$REPLY
big16=()
for i in $(seq 1 16); do
	truncate -s 2G "$disk/b$i.img"
	attach "$disk/b$i.img"; big16+=("$REPLY")
done
mapfile -t args < <(to_args "${big16[@]}")
lib="$disk/lib"
"$bin" image capture --from "$big" --name big --area smart --library "$lib" >/dev/null 2>&1
peaks() { # peaks BIN: the peak RSS of each kind of job, in MiB
	local b=$1
	printf 'drive copy %s MiB | delta re-sync %s MiB | image deploy %s MiB | erase %s MiB | files (256 MiB) %s MiB' \
		"$(rss "$work/rss.out" "$b" copy --area smart --from "$big" "${args[@]}")" \
		"$(rss "$work/rss.out" "$b" copy --area smart --delta --from "$big" "${args[@]}")" \
		"$(rss "$work/rss.out" "$b" copy --from image:big --library "$lib" "${args[@]}")" \
		"$(rss "$work/rss.out" "$b" erase --mode quick --verify --yes "${args[@]}")" \
		"$(rss "$work/rss.out" "$b" files --from "$disk/files" --library "$lib" --yes "${args[@]}")"
}
printf 'peak RSS at 1->16, 2 GiB master on disk-backed loop devices (goal <= 64 MiB each): %s\n' "$(peaks "$bin")"
[ -z "$base" ] || printf '  before (BASE): %s\n' "$(peaks "$base")"
fi

echo "load average after: $(load)"
