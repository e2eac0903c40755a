package engine

import (
	"runtime"
	"sync"
)

// A port that falls behind the window copies to a drive far slower than
// the others (a worn stick, a throttled bus). Its writes wait in the
// kernel, and while they wait its goroutine keeps a P, the runtime's
// right to run Go code, until the runtime's monitor hands that P on:
// late, and not at all for up to 10 ms while another P looks idle. On
// two cores that took a share of the CPUs from the ports that keep up
// for a drive that used none of it (three fast targets took 1.06x to
// 1.09x their time alone beside one throttled to a quarter of their
// pace, 0.96x to 1.01x with the P lent; docs/benchmarks.md). So each straggling port lends the
// process one more P for as long as it straggles. Equal targets never
// straggle, so a job that keeps every CPU busy hashing gets no P more
// than it has CPUs. Where many straggle (sixteen targets on one slow
// disk), at most one P more per CPU is lent: more would only add
// threads, and the garbage collector's workers, that the CPUs share.
var lent struct {
	sync.Mutex
	base int // GOMAXPROCS before the first P was lent
	n    int // ports lending now
}

// lendProc adds one P to GOMAXPROCS for a port that starts to straggle
// (on), or takes it back when it stops; the last one taken back leaves
// GOMAXPROCS as it was before the first was lent.
func lendProc(on bool) {
	lent.Lock()
	defer lent.Unlock()
	if on {
		if lent.n == 0 {
			lent.base = runtime.GOMAXPROCS(0)
		}
		lent.n++
	} else {
		lent.n--
	}
	runtime.GOMAXPROCS(lent.base + min(lent.n, runtime.NumCPU()))
}
