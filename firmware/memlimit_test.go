package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The appliance's soft memory limit comes from /proc/meminfo's MemTotal;
// a file without a readable one sets none.
func TestMemTotal(t *testing.T) {
	tests := []struct {
		name    string
		meminfo string
		want    int64
	}{
		{"a 1 GB board", "MemTotal:         944268 kB\nMemFree:          500000 kB\n", 944268 << 10},
		{"not the first line", "Foo: 1 kB\nMemTotal: 4096 kB\n", 4 << 20},
		{"no MemTotal", "MemFree: 1000 kB\n", 0},
		{"another unit", "MemTotal: 1000 MB\n", 0},
		{"not a number", "MemTotal: lots kB\n", 0},
		{"negative", "MemTotal: -5 kB\n", 0},
		{"empty", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, memTotal(strings.NewReader(tt.meminfo)))
		})
	}
}

// A cgroup's memory.max lowers the limit when the service runs under one.
func TestCgroupMemoryMax(t *testing.T) {
	tests := []struct {
		name      string
		cgroup    string
		dir       string
		ok        bool
		memoryMax string
		max       int64
	}{
		{"a service's cgroup", "0::/system.slice/clonebay.service\n", "/system.slice/clonebay.service", true, "536870912\n", 512 << 20},
		{"no limit", "0::/user.slice\n", "/user.slice", true, "max\n", 0},
		{"cgroup v1 only", "12:memory:/user.slice\n", "", false, "", 0},
		{"a path that climbs out", "0::/../etc\n", "", false, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, ok := cgroupDir(tt.cgroup)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.dir, dir)
			assert.Equal(t, tt.max, cgroupMax(tt.memoryMax))
		})
	}
}
