package fileset

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/engine/fatfs"
)

// TestShare: one build serves FAT32 targets whose layouts differ only in
// size; other file systems, cluster sizes, tables and labels get builds
// of their own.
func TestShare(t *testing.T) {
	const mib, gib = 1 << 20, 1 << 30
	m := &Manifest{Name: "promo", Entries: []Entry{{Path: "a.bin", Size: 10 * mib}}}
	plan := func(size int64, fsName, table string) Layout {
		l, err := Plan(m, size, 512, fsName, table, "", 0)
		require.NoError(t, err)
		return l
	}
	for _, tc := range []struct {
		name string
		lays []Layout
		want [][]int // indexes into lays, per build, the largest first
	}{
		{"one size", []Layout{plan(gib, "", MBR), plan(gib, "", MBR)}, [][]int{{0, 1}}},
		{"the bench's eight", []Layout{plan(300*mib, "", MBR), plan(300*mib, "", MBR), plan(512*mib, "", MBR), plan(512*mib, "", MBR),
			plan(gib, "", MBR), plan(gib, "", MBR), plan(2*gib, "", MBR), plan(4*gib, "", MBR)},
			[][]int{{7, 6, 4, 5, 2, 3, 0, 1}}},
		{"30 times smaller", []Layout{plan(8*gib, "", MBR), plan(270*mib, "", MBR)}, [][]int{{0, 1}}},
		{"another cluster size", []Layout{plan(200*mib, "", MBR), plan(300*mib, "", MBR)}, [][]int{{1}, {0}}},
		{"another table", []Layout{plan(gib, "", GPT), plan(900*mib, "", MBR)}, [][]int{{0}, {1}}},
		{"exFAT only by one size", []Layout{plan(gib, FSExFAT, MBR), plan(900*mib, FSExFAT, MBR), plan(gib, FSExFAT, MBR)}, [][]int{{0, 2}, {1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ms []*member
			for i, l := range tc.lays {
				ms = append(ms, &member{idx: i, lay: l})
			}
			var got [][]int
			for _, g := range share(ms) {
				var idx []int
				for _, mb := range g.members {
					idx = append(idx, mb.idx)
				}
				got = append(got, idx)
				assert.Equal(t, g.lay, tc.lays[idx[0]], "a build has its largest target's layout")
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestPlacedAt: a target's file passes only when its FAT chain leads to
// exactly the bytes the build placed it in, in one piece of its size.
func TestPlacedAt(t *testing.T) {
	f := placed{off: 1 << 20, size: 10000, path: "a.bin"}
	for _, tc := range []struct {
		name string
		ex   []fatfs.Extent
		ok   bool
		at   int64
	}{
		{"where it was placed", []fatfs.Extent{{Off: 1 << 20, Len: 10000}}, true, 0},
		{"in two runs end to end", []fatfs.Extent{{Off: 1 << 20, Len: 4096}, {Off: 1<<20 + 4096, Len: 5904}}, true, 0},
		{"elsewhere", []fatfs.Extent{{Off: 2 << 20, Len: 10000}}, false, 2 << 20},
		{"a run that jumps", []fatfs.Extent{{Off: 1 << 20, Len: 4096}, {Off: 3 << 20, Len: 5904}}, false, 3 << 20},
		{"shorter than the file", []fatfs.Extent{{Off: 1 << 20, Len: 4096}}, false, 1<<20 + 4096},
		{"no bytes at all", nil, false, 1 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			at, ok := f.at(tc.ex)
			assert.Equal(t, tc.ok, ok)
			assert.Equal(t, tc.at, at)
		})
	}
	_, ok := placed{off: 1 << 20, path: "empty.txt"}.at(nil)
	assert.True(t, ok, "an empty file has no bytes to lie anywhere")
}
