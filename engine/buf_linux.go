package engine

import (
	"math/bits"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"unsafe"
)

// maxHugePage is the largest huge page adviseHuge asks for. A huge page
// is faulted in whole when any byte of it is written, so the last one a
// job touches may hold memory no buffer uses: 2 MiB (amd64, and arm64
// with 4 KiB pages) costs little; a 16 KiB-page arm64 kernel's 32 MiB
// would cost more than the speed is worth.
const maxHugePage = 2 << 20

// hugePage is the transparent huge page size the kernel offers on advice,
// or 0 when advice is not what it takes.
var hugePage = sync.OnceValue(func() int {
	const thp = "/sys/kernel/mm/transparent_hugepage/"
	mode, err := os.ReadFile(thp + "enabled")
	if err != nil {
		return 0
	}
	size, err := os.ReadFile(thp + "hpage_pmd_size")
	if err != nil {
		return 0
	}
	return hugePageSize(string(mode), string(size))
})

// hugePageSize reads the kernel's transparent huge page mode ("always
// [madvise] never") and page size (in bytes): the size when huge pages
// come on advice and are at most maxHugePage, else 0. In "always" mode
// every mapping may have them already; in "never", none.
func hugePageSize(mode, size string) int {
	if !strings.Contains(mode, "[madvise]") {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(size))
	if err != nil || n <= 0 || n > maxHugePage || n&(n-1) != 0 {
		return 0
	}
	return n
}

// adviseHuge asks the kernel to back the whole huge pages inside b with
// huge pages when they are first written (madvise MADV_HUGEPAGE), and
// returns the part of b it advised. b must not have been written yet:
// pages already faulted in stay small. It is advice only: a kernel
// without transparent huge pages backs b with small pages as before.
// Where the kernel holds fewer free blocks of a huge page's size than
// twice the huge pages b spans, b is not advised at all: a fault in
// advised memory may then wait while the kernel compacts memory to make
// one (its "defrag" setting), which on a machine whose memory is full of
// cached pages costs more than the small pages' faults.
func adviseHuge(b []byte) []byte {
	h := hugePage()
	if h == 0 {
		return nil
	}
	start, end := hugeSpan(uintptr(unsafe.Pointer(unsafe.SliceData(b))), len(b), h)
	if start == end {
		return nil
	}
	if !hugeFree(h, 2*(end-start)/h) {
		return nil
	}
	if syscall.Madvise(b[start:end], syscall.MADV_HUGEPAGE) != nil {
		return nil
	}
	return b[start:end]
}

// hugeFree reports whether the kernel holds at least n free blocks of h
// bytes (/proc/buddyinfo).
func hugeFree(h, n int) bool {
	info, err := os.ReadFile("/proc/buddyinfo")
	return err == nil && freeBlocks(string(info), bits.TrailingZeros(uint(h/os.Getpagesize()))) >= n
}

// freeBlocks reads /proc/buddyinfo: how many free blocks of 2^order pages
// the kernel holds, over every zone (a larger free block counts for as
// many as it holds).
func freeBlocks(buddyinfo string, order int) int {
	n := 0
	for line := range strings.Lines(buddyinfo) {
		f := strings.Fields(line)
		// "Node 0, zone Normal 314 47151 ...": counts from order 0.
		if len(f) < 4 || f[0] != "Node" || f[2] != "zone" {
			continue
		}
		for o, c := range f[4:] {
			if o < order {
				continue
			}
			k, err := strconv.Atoi(c)
			if err != nil {
				return 0
			}
			n += k << (o - order)
		}
	}
	return n
}

// forgetHuge takes adviseHuge's advice back once the job is over
// (MADV_NOHUGEPAGE: no huge pages there, as where nothing was advised).
// The memory goes back to the heap, and the kernel's background
// collapsing (khugepaged) would otherwise turn the pages of a few small
// objects there into whole huge pages.
func forgetHuge(b []byte) {
	if len(b) > 0 {
		_ = syscall.Madvise(b, syscall.MADV_NOHUGEPAGE)
	}
}
