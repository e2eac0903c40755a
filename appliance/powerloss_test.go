package appliance

import (
	"bufio"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/record"
)

// TestPowerLoss kills a process at random points while it appends to the
// job log and saves the settings, 120 times. After every kill, every
// earlier entry is intact, the chain verifies, and the settings file is a
// whole version (the old one or the new one). A kill leaves the kernel's
// cache alone, so this shows the writes' order and atomicity; that every
// sync is there is shown on a disk that loses unsynced writes
// (TestStateSurvivesAPowerCut, record's TestAppendSurvivesAPowerCutAtAnyPoint).
func TestPowerLoss(t *testing.T) {
	// The writer is built without the race detector, whose start-up would
	// make each of the 120 runs slow.
	writer := filepath.Join(t.TempDir(), "powerwriter")
	out, err := exec.Command("go", "build", "-o", writer, "./testdata/powerwriter").CombinedOutput()
	require.NoError(t, err, "%s", out)
	dir := t.TempDir()
	logPath := filepath.Join(dir, "jobs.log")
	setPath := filepath.Join(dir, "settings.yaml")
	var kept []record.Entry
	r := rand.New(rand.NewPCG(1, 2))
	for run := 0; run < 120; run++ {
		cmd := exec.Command(writer, dir)
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		// However slowly the writer starts, it is killed only once it has
		// shown that it writes.
		line, err := bufio.NewReader(out).ReadString('\n')
		require.NoError(t, err, "run %d: the writer reports its first append", run)
		require.Equal(t, "writing\n", line)
		time.Sleep(time.Duration(r.IntN(30_000)) * time.Microsecond)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()

		l, _, err := record.Open(fsys.OS, logPath)
		require.NoError(t, err, "run %d: the log verifies", run)
		got := l.Entries()
		require.NoError(t, l.Close())
		require.GreaterOrEqual(t, len(got), len(kept), "run %d: no entry was lost", run)
		for i, e := range kept {
			require.Equal(t, e, got[i], "run %d: entry %d is unchanged", run, i+1)
		}
		kept = got

		if data, err := os.ReadFile(setPath); err == nil {
			s, err := ParseSettings(data, DefaultSettings(), setPath)
			require.NoError(t, err, "run %d: the settings file is whole", run)
			require.GreaterOrEqual(t, s.Panel.AutoStart, 0)
		}
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		for _, e := range entries {
			// A temporary settings file a kill left behind is harmless: the
			// real one is always whole. Clear it so the folder stays small.
			if name := e.Name(); name != "jobs.log" && name != "jobs.log.head" && name != "settings.yaml" {
				os.Remove(filepath.Join(dir, name))
			}
		}
	}
	t.Logf("%d entries written across 120 killed writers", len(kept))
	require.NotEmpty(t, kept)
}
