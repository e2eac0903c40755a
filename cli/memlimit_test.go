package cli

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A job's run sets the soft memory limit to its budget and the process's
// allowance, and puts the previous one back; a GOMEMLIMIT the user set
// stays as it is.
func TestLimitMemory(t *testing.T) {
	const budget = 40 << 20
	for _, tc := range []struct {
		name, env string
		set       bool
	}{
		{"from the job's budget", "", true},
		{"GOMEMLIMIT set by the user", "48MiB", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOMEMLIMIT", tc.env)
			before := debug.SetMemoryLimit(-1)
			restore := limitMemory(budget)
			during := debug.SetMemoryLimit(-1)
			restore()
			if tc.set {
				assert.Equal(t, int64(budget+processAllowance), during)
			} else {
				assert.Equal(t, before, during)
			}
			assert.Equal(t, before, debug.SetMemoryLimit(-1), "the previous limit is back")
		})
	}
}
