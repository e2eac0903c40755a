package main

import (
	"bufio"
	"io"
	"os"
	"path"
	"runtime/debug"
	"strconv"
	"strings"
)

// limitRunMemory gives the appliance's garbage collector a soft memory
// limit of half the memory the process may use (the machine's RAM, or
// its cgroup's memory.max when that is less), unless GOMEMLIMIT is set.
// The appliance runs for months on boards with as little as 1 GB, and
// some of its work makes garbage in bulk: a lot's PDF report of 100,000
// drives allocates about 3.7 GB over its run, a compressor for every
// page. With the collector's default (collect when the heap has doubled)
// a second such report, or a web panel's burst beside a job, could take
// the heap past the board's RAM, and the kernel would kill the process
// mid-job. Near the limit the collector runs sooner instead: making that
// PDF under a limit of 200 MiB peaked at 209 MB of RSS rather than 315
// MB, in 2.0 s rather than 1.9 s. It returns the limit set (0: none).
func limitRunMemory() int64 {
	if os.Getenv("GOMEMLIMIT") != "" {
		return 0
	}
	total := int64(0)
	if f, err := os.Open("/proc/meminfo"); err == nil {
		total = memTotal(f)
		f.Close()
	}
	if cg, err := os.ReadFile("/proc/self/cgroup"); err == nil {
		if dir, ok := cgroupDir(string(cg)); ok {
			if b, err := os.ReadFile(path.Join("/sys/fs/cgroup", dir, "memory.max")); err == nil {
				if n := cgroupMax(string(b)); n > 0 && (total == 0 || n < total) {
					total = n
				}
			}
		}
	}
	if total <= 0 {
		return 0
	}
	debug.SetMemoryLimit(total / 2)
	return total / 2
}

// memTotal reads the MemTotal line of /proc/meminfo ("MemTotal:  3884
// kB"), in bytes; 0 when there is none.
func memTotal(r io.Reader) int64 {
	s := bufio.NewScanner(r)
	for s.Scan() {
		rest, ok := strings.CutPrefix(s.Text(), "MemTotal:")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil || kb <= 0 || kb > 1<<40 {
			return 0
		}
		return kb << 10
	}
	return 0
}

// cgroupDir is the process's cgroup v2 folder from /proc/self/cgroup (its
// "0::/system.slice/clonebay.service" line), relative to /sys/fs/cgroup.
func cgroupDir(procCgroup string) (string, bool) {
	for line := range strings.SplitSeq(procCgroup, "\n") {
		if dir, ok := strings.CutPrefix(line, "0::"); ok && strings.HasPrefix(dir, "/") && !strings.Contains(dir, "..") {
			return dir, true
		}
	}
	return "", false
}

// cgroupMax reads a cgroup v2 memory.max: bytes, or 0 for "max" (no
// limit) and anything else.
func cgroupMax(s string) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return n
}
