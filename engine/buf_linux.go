package engine

import (
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

// hugePage is the transparent huge page size the kernel offers, or 0 when
// it offers none this engine will use.
var hugePage = sync.OnceValue(func() int {
	mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || strings.Contains(string(mode), "[never]") {
		return 0
	}
	raw, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size")
	if err != nil {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil || n <= 0 || n > maxHugePage {
		return 0
	}
	return n
})

// adviseHuge asks the kernel to back the whole huge pages inside b with
// huge pages when they are first written (madvise MADV_HUGEPAGE). b must
// not have been written yet: pages already faulted in stay small. It is
// advice only: a kernel without transparent huge pages, or with none
// free, backs b with small pages as before.
func adviseHuge(b []byte) {
	h := hugePage()
	if h == 0 {
		return
	}
	start, end := hugeSpan(uintptr(unsafe.Pointer(unsafe.SliceData(b))), len(b), h)
	if start < end {
		_ = syscall.Madvise(b[start:end], syscall.MADV_HUGEPAGE)
	}
}
