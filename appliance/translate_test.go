package appliance

import (
	"fmt"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/ui"
)

// TestEveryEnginePhaseReachesThePanel: each of the engine's port phases
// becomes its own panel phase, under the name the engine logs it by.
func TestEveryEnginePhaseReachesThePanel(t *testing.T) {
	seen := map[ui.Phase]engine.Phase{}
	for p := engine.PhaseWaiting; p <= engine.PhaseDone; p++ {
		t.Run(p.String(), func(t *testing.T) {
			got := uiPhase(p)
			assert.Equal(t, p.String(), got.String())
			if other, dup := seen[got]; dup {
				t.Errorf("%s and %s both become %s", other, p, got)
			}
			seen[got] = p
		})
	}
}

// The LCD says in a word or two why the master failed a job; each fits
// the 16 columns of the smallest panel.
func TestMasterCause(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("master: %w", hal.ErrRemoved), "removed"},
		{fmt.Errorf("master: %w: bytes 0..1048576 differ", engine.ErrMasterChanged), "changed"},
		{fmt.Errorf("master: %w: 2049 (1049088 bytes)", engine.ErrMasterWorn), "too many bad"},
		{fmt.Errorf("master: read at 0: %w", syscall.EIO), "read error"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			got := masterCause(tt.err)
			assert.Equal(t, tt.want, got)
			assert.LessOrEqual(t, len(got), 16)
		})
	}
}
