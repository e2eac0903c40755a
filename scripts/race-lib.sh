# Helpers of the loop-device races that bench-speed.sh and
# bench-throttle.sh share. Source it; it runs nothing itself.

# median: the median of the numbers on stdin, "nan" when there are none.
median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "nan"; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
# med "N N ...": the median of a list.
med() { printf '%s\n' $1 | median; }

# fast_time OUT T1 T2 T3: the mean TIME, in seconds, of those three
# targets' rows in the result table `clonebay copy` wrote to OUT. Fails,
# showing OUT, unless all three passed. TIME is a Go duration ("850ms",
# "1.23s", "1m2.5s").
fast_time() {
	awk -v a="$2" -v b="$3" -v c="$4" '
		$3 == "PASS" && ($2 == a || $2 == b || $2 == c) {
			d = $9; s = 0
			if (d ~ /m[0-9]/) { split(d, p, "m"); s = p[1] * 60; d = p[2] }
			if (d ~ /ms$/) { sub(/ms$/, "", d); s += d / 1000 }
			else if (d !~ /µs$/) { sub(/s$/, "", d); s += d }
			sum += s; n++
		}
		END { if (n != 3) exit 1; printf "%.3f", sum / 3 }' "$1" || { cat "$1" >&2; return 1; }
}

# cgroup_new NAME: makes a cgroup that can throttle a device's writes
# (blkio on cgroup v1, io on v2) and sets REPLY to its directory; fails
# when the machine has neither.
cgroup_new() {
	if [ -f /sys/fs/cgroup/blkio/blkio.throttle.write_bps_device ]; then
		REPLY=/sys/fs/cgroup/blkio/$1
	elif [ -f /sys/fs/cgroup/cgroup.controllers ]; then
		REPLY=/sys/fs/cgroup/$1
	else
		return 1
	fi
	mkdir -p "$REPLY"
}
# cgroup_throttle DIR DEV BPS: the processes in cgroup DIR write to block
# device DEV at BPS bytes a second at most.
cgroup_throttle() {
	local majmin
	majmin=$(lsblk -dno MAJ:MIN "$2" | tr -d ' ')
	if [ -f "$1/blkio.throttle.write_bps_device" ]; then
		echo "$majmin $3" >"$1/blkio.throttle.write_bps_device"
	else
		echo "$majmin wbps=$3" >"$1/io.max"
	fi
}
# incg DIR CMD...: runs CMD in cgroup DIR.
incg() { sh -c 'echo $$ >"$0/cgroup.procs"; shift; exec "$@"' "$1" "$@"; }
