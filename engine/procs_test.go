package engine

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Each straggling port lends one P, no more are lent than the process
// had, and the last one given back leaves GOMAXPROCS as it was: the
// runtime's default, or a value set before the first was lent. A
// GOMAXPROCS the operator set in the environment is left alone.
func TestLendProc(t *testing.T) {
	if procsFixed {
		t.Skip("GOMAXPROCS is set in the environment")
	}
	start := runtime.GOMAXPROCS(0)
	t.Cleanup(func() { runtime.GOMAXPROCS(start) })
	tests := []struct {
		name    string
		set     int  // GOMAXPROCS set before the first is lent; 0 leaves it
		fixed   bool // GOMAXPROCS set in the environment
		lenders int
		want    func(base int) int // GOMAXPROCS while they lend
	}{
		{"one straggler", 0, false, 1, func(b int) int { return b + 1 }},
		{"as many stragglers as Ps", 0, false, start, func(b int) int { return 2 * b }},
		{"more stragglers than Ps", 0, false, start + 3, func(b int) int { return 2 * b }},
		{"GOMAXPROCS set before", start + 3, false, 2, func(b int) int { return b + 2 }},
		{"GOMAXPROCS set in the environment", 0, true, 2, func(b int) int { return b }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func(f bool) { procsFixed = f }(procsFixed)
			procsFixed = tt.fixed
			if tt.set > 0 {
				runtime.GOMAXPROCS(tt.set)
				defer runtime.SetDefaultGOMAXPROCS()
			}
			base := runtime.GOMAXPROCS(0)
			for range tt.lenders {
				lendProc(true)
			}
			assert.Equal(t, tt.want(base), runtime.GOMAXPROCS(0), "while %d ports lend", tt.lenders)
			assert.Equal(t, base, Procs(), "the process's own Ps while %d ports lend", tt.lenders)
			for range tt.lenders {
				lendProc(false)
			}
			assert.Equal(t, base, runtime.GOMAXPROCS(0), "once all gave theirs back")
		})
	}
}
