//go:build linux

package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/internal/pgtest"
	"github.com/clonebay/clonebay/record"
	"github.com/clonebay/clonebay/record/fleet"
)

// twoJobs is a scenario of two copies of the default session, then a
// wait for the record to be on the fleet's server.
const twoJobs = `session default
expect led 2 green within 5s
press OK
press OK
expect lcd "Job done" within 120s
press OK
press OK
hold OK 2.5s
expect lcd "Job done" within 120s
expect sync up-to-date within 180s
`

// TestThreeSimulatedAppliancesReplicate runs three simulated appliances
// (clonebay sim --script, each with its own settings, state folder and
// record) that replicate to one PostgreSQL server, which goes away after
// their first jobs and comes back after their second: at the end the
// server holds every entry of every box exactly once, every box's chain
// verifies from the server's copy, and log push --check is clean.
func TestThreeSimulatedAppliancesReplicate(t *testing.T) {
	c := pgtest.Start(t)
	db := c.NewDatabase(t)
	bin := filepath.Join(t.TempDir(), "clonebay")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)

	type box struct {
		dir, record string
		cmd         *exec.Cmd
		jobs        chan struct{} // a "Job done" was seen
		done        chan error
		out         strings.Builder
	}
	boxes := make([]*box, 3)
	for i := range boxes {
		b := &box{dir: t.TempDir(), jobs: make(chan struct{}, 4), done: make(chan error, 1)}
		b.record = filepath.Join(b.dir, "jobs.log")
		settings := filepath.Join(b.dir, "settings.yaml")
		require.NoError(t, os.WriteFile(settings, []byte("replicate: "+db.URL+"\n"), 0o600))
		script := filepath.Join(b.dir, "two-jobs.scn")
		require.NoError(t, os.WriteFile(script, []byte(twoJobs), 0o644))
		b.cmd = exec.Command(bin, "sim", "--script", script, "--settings", settings, "--state", filepath.Join(b.dir, "state"),
			"--record", b.record, "--log", filepath.Join(b.dir, "sim.log"))
		stdout, err := b.cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, b.cmd.Start())
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				b.out.WriteString(sc.Text() + "\n")
				if strings.Contains(sc.Text(), `the LCD to show "Job done"`) {
					b.jobs <- struct{}{}
				}
			}
			b.done <- b.cmd.Wait()
		}()
		boxes[i] = b
	}
	t.Cleanup(func() {
		for _, b := range boxes {
			_ = b.cmd.Process.Kill()
		}
	})
	waitJobs := func(what string) {
		t.Helper()
		for i, b := range boxes {
			select {
			case <-b.jobs:
			case err := <-b.done:
				t.Fatalf("box %d ended before %s: %v\n%s", i, what, err, b.out.String())
			case <-time.After(5 * time.Minute):
				t.Fatalf("box %d: no %s within 5 minutes\n%s", i, what, b.out.String())
			}
		}
	}
	waitJobs("its first job")
	require.NoError(t, c.Stop(), "the server goes away")
	waitJobs("its second job")
	require.NoError(t, c.Start(), "the server comes back")
	for i, b := range boxes {
		select {
		case err := <-b.done:
			require.NoError(t, err, "box %d:\n%s", i, b.out.String())
		case <-time.After(5 * time.Minute):
			t.Fatalf("box %d did not finish within 5 minutes\n%s", i, b.out.String())
		}
	}

	ids := map[string]bool{}
	for i, b := range boxes {
		id, err := os.ReadFile(filepath.Join(b.dir, "state", fleet.IDFile))
		require.NoError(t, err)
		o := fleet.Options{URL: db.URL, ID: strings.TrimSpace(string(id)), Log: b.record}
		ids[o.ID] = true
		rep, err := record.Read(fsys.OS, b.record)
		require.NoError(t, err)
		require.NoError(t, rep.Err())
		require.Len(t, rep.Entries, 14, "box %d: two jobs of 7 targets", i)
		check, err := fleet.Check(context.Background(), o)
		require.NoError(t, err)
		assert.True(t, check.Clean(), "box %d: the server's copy is the local log: %+v", i, check)
		code, stdout, stderr := runCLI(t, "log", "push", "--check", "--log", b.record, "--to", db.URL, "--state", filepath.Join(b.dir, "state"))
		assert.Equal(t, 0, code, "box %d: log push --check\n%s%s", i, stdout, stderr)
		assert.NotContains(t, stdout+stderr, db.Password, "the password is never shown")
	}
	assert.Len(t, ids, 3, "each box has an ID of its own")
	fmt.Fprintln(os.Stderr) // keep the subprocesses' output apart from the test's
}
