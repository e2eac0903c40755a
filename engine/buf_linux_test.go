package engine

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The slab asks the kernel for huge pages: the memory mapping that holds
// its whole huge pages is one the kernel may back with them
// ("THPeligible: 1" in /proc/self/smaps). Without the advice, a kernel
// whose transparent huge pages are "madvise" (the default of most
// distributions) leaves it at small pages. When the job is over the
// advice is taken back.
func TestSlabIsAdvisedHugePages(t *testing.T) {
	h := hugePage()
	if h == 0 {
		t.Skip(`this kernel offers no transparent huge pages of 2 MiB or less on advice ("madvise")`)
	}
	s := slab{left: slabPiece}
	s.take(bufAlign)
	if len(s.huge) == 0 && !hugeFree(h, 2*slabPiece/h) {
		t.Skip("the kernel holds too few free huge pages now")
	}
	require.Len(t, s.huge, 1, "a piece of four huge pages holds at least three whole ones")
	at := addr(s.huge[0])
	eligible, err := thpEligible(at)
	if errors.Is(err, errNoEligible) {
		t.Skip(err.Error())
	}
	require.NoError(t, err)
	assert.True(t, eligible, "the slab's huge pages may be backed by huge pages")

	s.done()
	eligible, err = thpEligible(at)
	require.NoError(t, err)
	assert.False(t, eligible, "once the job is over, its memory is as the heap's")
}

// The kernel's mode and page size decide whether the engine asks for huge
// pages at all.
func TestHugePageSizeFromTheKernel(t *testing.T) {
	tests := []struct {
		name, mode, size string
		want             int
	}{
		{"on advice, 2 MiB", "always [madvise] never\n", "2097152\n", 2 << 20},
		{"always: every mapping may have them already", "[always] madvise never\n", "2097152\n", 0},
		{"never", "always madvise [never]\n", "2097152\n", 0},
		{"a 16 KiB-page arm64 kernel's 32 MiB", "always [madvise] never\n", "33554432\n", 0},
		{"a 64 KiB-page kernel's 512 MiB", "always [madvise] never\n", "536870912\n", 0},
		{"no number", "always [madvise] never\n", "two megabytes\n", 0},
		{"not a power of two", "always [madvise] never\n", "3000000\n", 0},
		{"zero", "always [madvise] never\n", "0\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, hugePageSize(tt.mode, tt.size))
		})
	}
}

// errNoEligible is a kernel or process that says nothing of huge pages
// for the mapping (an old kernel, or huge pages turned off for the
// process).
var errNoEligible = errors.New("/proc/self/smaps says nothing of huge pages for the slab's mapping")

// The engine asks for huge pages only while the kernel holds free blocks
// of their size: counted over every zone, a larger block for as many as
// it holds.
func TestFreeBlocksOfAHugePage(t *testing.T) {
	const info = `Node 0, zone      DMA      0      0      0      0      0      0      0      0      1      1      3
Node 0, zone    DMA32      4      1      2      2      2      2      1      4      4      2    752
Node 0, zone   Normal    314  47151  21578  12146   4148   2112   1076    791    185     65   2101
`
	tests := []struct {
		name  string
		info  string
		order int
		want  int
	}{
		{"2 MiB of 4 KiB pages", info, 9, (1 + 2 + 65) + 2*(3+752+2101)},
		{"the largest blocks only", info, 10, 3 + 752 + 2101},
		{"a machine full of cached pages", "Node 0, zone   Normal  9000  4000  100  3  0  0  0  0  0  0  0\n", 9, 0},
		{"two nodes", "Node 0, zone Normal 0 0 0 0 0 0 0 0 0 1 0\nNode 1, zone Normal 0 0 0 0 0 0 0 0 0 0 1\n", 9, 3},
		{"not buddyinfo", "garbage\n", 9, 0},
		{"a count that is not a number", "Node 0, zone Normal 0 0 0 0 0 0 0 0 0 x 1\n", 9, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, freeBlocks(tt.info, tt.order))
		})
	}
}

// thpEligible reads /proc/self/smaps for the mapping that holds a.
func thpEligible(a uintptr) (bool, error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return false, err
	}
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		var lo, hi uintptr
		if n, _ := fmt.Sscanf(line, "%x-%x ", &lo, &hi); n == 2 {
			in = a >= lo && a < hi
			continue
		}
		if in && strings.HasPrefix(line, "THPeligible:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "THPeligible:")) == "1", nil
		}
	}
	if err := sc.Err(); err != nil {
		return false, err
	}
	return false, errNoEligible
}
