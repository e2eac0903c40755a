package engine

import (
	"bufio"
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
	s := slab{size: 4 * h}
	b := s.take(bufAlign)
	start, end := hugeSpan(addr(b), 4*h, h)
	require.Less(t, start, end, "a slab of four huge pages holds at least three whole ones")
	eligible, err := thpEligible(addr(b) + uintptr(start))
	require.NoError(t, err)
	assert.True(t, eligible, "the slab's huge pages may be backed by huge pages")

	s.done()
	eligible, err = thpEligible(addr(b) + uintptr(start))
	require.NoError(t, err)
	assert.False(t, eligible, "once the job is over, its memory is as the heap's")
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
	return false, fmt.Errorf("no mapping in /proc/self/smaps holds %#x with a THPeligible line", a)
}
