package appliance

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/clonebay/clonebay/engine"
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
