package appliance

import (
	"os/exec"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/record"
	"github.com/clonebay/clonebay/sim"
)

// TestAMasterMustBeWriteBlocked: a backend whose masters cannot be
// write-blocked is not a hal.DriveOpener, so the appliance cannot be
// given it: the program does not compile. (No type assertion anywhere can
// skip the step at run time.)
func TestAMasterMustBeWriteBlocked(t *testing.T) {
	out, err := exec.Command("go", "build", "-o", t.TempDir()+"/x", "./testdata/nowriteblock").CombinedOutput()
	require.Error(t, err, "a backend without write-blocking compiled:\n%s", out)
	assert.Contains(t, string(out), "does not implement hal.DriveOpener")
	assert.Contains(t, string(out), "OpenMaster")
}

// TestRunLeavesNoGoroutine stops the appliance in the middle of a copy,
// with a drive check and a plan running beside it: Run returns only once
// every goroutine it started has ended (synctest fails the test if one
// outlives the bubble), and the job is recorded as aborted.
func TestRunLeavesNoGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logPath := filepath.Join(t.TempDir(), "jobs.log")
		r := startRig(t, Config{}, Paths{Record: logPath}, func(r *sim.Rig) { require.NoError(t, r.DefaultSession()) })
		r.waitText("Targets: 7", 5*time.Second)
		r.press(hal.OK)
		r.waitText("OK: start", 3*time.Second)
		r.press(hal.OK)
		r.waitText("Copying", 10*time.Second)
		r.stop()
		assert.Contains(t, r.rig.LCD.Text(), "Shut down")
		rep, err := record.Read(fsys.OS, logPath)
		require.NoError(t, err)
		require.Len(t, rep.Entries, 7)
		for _, e := range rep.Entries {
			assert.Equal(t, "ABORTED", e.Result)
		}
	})
}
