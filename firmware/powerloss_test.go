package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/record"
	"github.com/clonebay/clonebay/ui"
)

// TestPowerLoss kills a process at random points while it appends to the
// job log and saves the settings, 120 times. After every kill, every
// earlier entry is intact, the chain verifies, and the settings file is a
// whole version (the old one or the new one).
func TestPowerLoss(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "jobs.log")
	setPath := filepath.Join(dir, "settings.yaml")
	var kept []record.Entry
	r := rand.New(rand.NewPCG(1, 2))
	for run := 0; run < 120; run++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperPowerLossWriter$")
		cmd.Env = append(os.Environ(), "CLONEBAY_POWERLOSS_DIR="+dir)
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		// However slowly the child starts (a race-detector build can take a
		// second), it is killed only once it has shown that it writes.
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
			s, err := parseSettings(data, ui.DefaultSettings(), setPath)
			require.NoError(t, err, "run %d: the settings file is whole", run)
			require.GreaterOrEqual(t, s.AutoStart, 0)
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

// TestHelperPowerLossWriter is not a test: TestPowerLoss runs it in a
// child process and kills it.
func TestHelperPowerLossWriter(t *testing.T) {
	dir := os.Getenv("CLONEBAY_POWERLOSS_DIR")
	if dir == "" {
		t.Skip("helper process for TestPowerLoss")
	}
	l, _, err := record.Open(fsys.OS, filepath.Join(dir, "jobs.log"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	for i := 0; ; i++ {
		e := record.Entry{Time: time.Now(), Job: "power-" + strconv.Itoa(i), Mode: "copy+verify", Port: 2 + i%7,
			Result: "PASS", Written: int64(i) << 20, Reason: "writer " + strconv.Itoa(os.Getpid())}
		if err := l.Append(e, e); err != nil {
			os.Exit(4)
		}
		s := ui.DefaultSettings()
		s.AutoStart = i % 8
		if err := fsys.WriteFileAtomic(fsys.OS, filepath.Join(dir, "settings.yaml"), marshalSettings(s), 0o644); err != nil {
			os.Exit(5)
		}
		if i == 0 {
			fmt.Println("writing")
		}
	}
}
