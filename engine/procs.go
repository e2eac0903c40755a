package engine

import (
	"os"
	"runtime"
	"sync"
)

// A port that falls behind the window copies to a drive far slower than
// the others (a worn stick, a throttled bus). Its writes wait in the
// kernel, and while they wait its goroutine keeps a P, the runtime's
// right to run Go code, until the runtime's monitor hands that P on:
// late, and not at all for up to 10 ms while another P looks idle. On
// two cores that took a share of the CPUs from the ports that keep up,
// for a drive that used none of it (docs/benchmarks.md, "The throttled
// race: a straggling port lends the process a P"). So each straggling
// port lends the process one more P for as long as it straggles. Equal
// targets never straggle, so a job that keeps every CPU busy hashing
// gets no more Ps than it had. Where many straggle (sixteen targets on
// one slow disk), no more Ps are lent than the process had: more would
// only add threads, and garbage-collector workers, that the CPUs share.
//
// A GOMAXPROCS the operator set in the environment is left alone. The
// last P given back returns GOMAXPROCS to what it was; where that was the
// runtime's default, to the default, which follows the CPUs the process
// may use again (setting GOMAXPROCS stops that).
var lent struct {
	sync.Mutex
	base int // GOMAXPROCS before the first P was lent
	n    int // ports lending now
}

var (
	// procsFixed: the operator set GOMAXPROCS in the environment.
	procsFixed = os.Getenv("GOMAXPROCS") != ""
	// defaultProcs is GOMAXPROCS as the process started: the runtime's
	// default, unless procsFixed.
	defaultProcs = runtime.GOMAXPROCS(0)
)

// lendProc adds one P to GOMAXPROCS for a port that starts to straggle
// (on), or takes it back when it stops.
func lendProc(on bool) {
	if procsFixed {
		return
	}
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
	switch {
	case lent.n > 0:
		runtime.GOMAXPROCS(lent.base + min(lent.n, lent.base))
	case lent.base == defaultProcs:
		runtime.SetDefaultGOMAXPROCS()
	default:
		runtime.GOMAXPROCS(lent.base)
	}
}

// Procs is how many Ps the process has of its own: GOMAXPROCS, less any a
// straggling port has lent it for now. A worker pool sized by it (an
// image capture's compressors) does not double while a copy beside it
// has a port behind.
func Procs() int {
	lent.Lock()
	defer lent.Unlock()
	if lent.n > 0 {
		return lent.base
	}
	return runtime.GOMAXPROCS(0)
}
