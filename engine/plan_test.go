package engine

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestChunksSplitAtChunkMultiples(t *testing.T) {
	for _, tc := range []struct {
		name    string
		extents []Extent
		want    []chunk
	}{
		{"one aligned extent", []Extent{{0, 3 * 4096}}, []chunk{{0, 4096}, {4096, 4096}, {8192, 4096}}},
		{"short tail", []Extent{{0, 4096 + 512}}, []chunk{{0, 4096}, {4096, 512}}},
		{"unaligned start", []Extent{{1024, 8192}}, []chunk{{1024, 3072}, {4096, 4096}, {8192, 1024}}},
		{"two extents", []Extent{{0, 512}, {8192, 4096}}, []chunk{{0, 512}, {8192, 4096}}},
		{"empty plan", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, Plan{Extents: tc.extents}.chunks(4096))
		})
	}
}

func TestPlanCheck(t *testing.T) {
	for _, tc := range []struct {
		name    string
		plan    Plan
		wantErr string
	}{
		{"whole", Plan{Extents: []Extent{{0, 4096}}, Need: 4096, SourceSize: 4096}, ""},
		{"odd-sized master ends unaligned", Plan{Extents: []Extent{{0, 1000}}, Need: 1000, SourceSize: 1000}, ""},
		{"nothing to copy", Plan{Area: "smart", Need: 4096, SourceSize: 4096}, `the copy area "smart" comes to 0 bytes`},
		{"empty extent", Plan{Extents: []Extent{{0, 0}}, SourceSize: 4096}, "extent 0 (0+0) is empty"},
		{"overlap", Plan{Extents: []Extent{{0, 1024}, {512, 512}}, Need: 4096, SourceSize: 4096}, "extent 1 at 512 overlaps"},
		{"beyond the master", Plan{Extents: []Extent{{0, 8192}}, Need: 8192, SourceSize: 4096}, "ends beyond the master's 4096 bytes"},
		{"unaligned", Plan{Extents: []Extent{{100, 512}}, Need: 4096, SourceSize: 4096}, "not aligned to 512 bytes"},
		{"need too small", Plan{Extents: []Extent{{0, 4096}}, Need: 512, SourceSize: 4096}, "targets need 512 bytes but the last extent ends at 4096"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.plan.Check(512)
			if tc.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, ErrBadPlan)
			assert.ErrorContains(t, err, tc.wantErr)
		})
	}
}

func TestAlignedBuf(t *testing.T) {
	for _, n := range []int{512, 4096, 1 << 20} {
		b := alignedBuf(n)
		assert.Len(t, b, n)
		assert.Equal(t, n, cap(b))
	}
}
