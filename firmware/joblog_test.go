package main

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/board"
	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/record"
	"github.com/clonebay/clonebay/sim"
	"github.com/clonebay/clonebay/ui"

	"github.com/clonebay/clonebay/internal/testenv"
)

// runSimJob runs the simulator with a production record, starts a copy
// from the panel and waits for the result screen.
func runSimJob(t *testing.T, set ui.Settings, logPath string, setup func(rig *simRig)) (screen string) {
	t.Helper()
	b, err := board.Builtin("sim8")
	require.NoError(t, err)
	rig := newSimRig(b)
	app := newAppliance(b, rig.hardware(), set, slog.New(slog.DiscardHandler))
	app.logPath = logPath
	setup(rig)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	defer func() { cancel(); require.NoError(t, <-done) }()
	waitText(t, rig.lcd, "Targets:", 5*time.Second)
	time.Sleep(300 * time.Millisecond) // every drive probed
	rig.buttons.Click(hal.OK)
	waitText(t, rig.lcd, "OK: start", 3*time.Second)
	rig.buttons.Click(hal.OK)
	waitText(t, rig.lcd, "Job done", 60*time.Second)
	return rig.lcd.Text()
}

func TestJobsAreRecorded(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "jobs.log")
	runSimJob(t, ui.DefaultSettings(), logPath, func(rig *simRig) {
		require.NoError(t, rig.defaultSession())
		rig.bay.Drive(4).Inject(sim.Fault{Kind: sim.Corrupt, Off: 2 << 20, Len: 1})
	})
	l, rep, err := record.Open(fsys.OS, logPath)
	require.NoError(t, err)
	require.Zero(t, rep.Torn)
	defer l.Close()
	entries := l.Entries()
	require.Len(t, entries, 7, "one entry per target")
	for _, e := range entries {
		assert.Equal(t, "Clonebay Master Stick", e.MasterName)
		assert.Equal(t, "SIM00001", e.MasterSerial)
		assert.NotEmpty(t, e.MasterSHA256)
		assert.Equal(t, "whole media", e.Area)
		assert.NotEmpty(t, e.TargetSerial)
		assert.Equal(t, int64(256<<20), e.TargetSize)
		if e.Port == 4 {
			assert.Equal(t, "FAIL", e.Result)
			assert.Contains(t, e.Reason, "mismatch at 2097152")
			assert.Empty(t, e.SHA256)
		} else {
			assert.Equal(t, "PASS", e.Result, e.Reason)
			assert.Equal(t, e.MasterSHA256, e.SHA256)
		}
	}
}

// TestBadMasterSectorsAreRecorded: a master backed by a file, with two
// unreadable sectors, under the zero-fill policy: every target passes
// "with bad sectors on the master" and the record lists the ranges.
func TestBadMasterSectorsAreRecorded(t *testing.T) {
	logPath := filepath.Join(t.TempDir(), "jobs.log")
	backing := filepath.Join(t.TempDir(), "master.img")
	require.NoError(t, os.WriteFile(backing, masterContent(), 0o644))
	set := ui.DefaultSettings()
	set.ZeroFill = true
	screen := runSimJob(t, set, logPath, func(rig *simRig) {
		m, err := sim.NewDrive(sim.DriveSpec{Size: masterSize, File: backing, Model: "File Master", Serial: "FILE1"})
		require.NoError(t, err)
		t.Cleanup(func() { m.Close() })
		m.Inject(sim.Fault{Kind: sim.ReadError, Off: 5 << 20, Len: 1024})
		require.NoError(t, rig.bay.Insert(1, m))
		for p := 2; p <= 3; p++ {
			_, err := rig.insert(p, defaultTarget())
			require.NoError(t, err)
		}
	})
	assert.Contains(t, screen, "with 2 bad on master")
	l, _, err := record.Open(fsys.OS, logPath)
	require.NoError(t, err)
	defer l.Close()
	entries := l.Entries()
	require.Len(t, entries, 2)
	for _, e := range entries {
		assert.Equal(t, "PASS", e.Result)
		assert.Equal(t, []record.Range{{Off: 5 << 20, Len: 1024}}, e.BadRanges)
	}
}

func TestExportToAStick(t *testing.T) {
	for _, tool := range []string{"mkfs.vfat", "mcopy"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Skip(t, "%s is missing (Debian packages dosfstools and mtools)", tool)
		}
	}
	dir := t.TempDir()
	l, _, err := record.Open(fsys.OS, filepath.Join(dir, "jobs.log"))
	require.NoError(t, err)
	defer l.Close()
	require.NoError(t, l.Append(record.Entry{Job: "j1", Port: 2, Result: "PASS", TargetSerial: "A1"},
		record.Entry{Job: "j1", Port: 3, Result: "FAIL", Reason: "port 3: write at 4096: input/output error"}))

	stick := filepath.Join(dir, "stick.img")
	require.NoError(t, os.WriteFile(stick, nil, 0o644))
	require.NoError(t, os.Truncate(stick, 8<<20))
	out, err := exec.Command("mkfs.vfat", stick).CombinedOutput()
	require.NoError(t, err, "%s", out)
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	n, err := exportToFAT(context.Background(), stick, 0, l.Entries(), now)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	got := filepath.Join(dir, "back.csv")
	out, err = exec.Command("mcopy", "-i", stick, "::clonebay-log-20261122-120000.csv", got).CombinedOutput()
	require.NoError(t, err, "%s", out)
	data, err := os.ReadFile(got)
	require.NoError(t, err)
	assert.Contains(t, string(data), "port 3: write at 4096: input/output error")
	assert.Equal(t, 3, strings.Count(string(data), "\n"), "a header and two entries")

	tiny := filepath.Join(dir, "tiny.img")
	require.NoError(t, os.WriteFile(tiny, nil, 0o644))
	require.NoError(t, os.Truncate(tiny, 200<<10))
	out, err = exec.Command("mkfs.vfat", tiny).CombinedOutput()
	require.NoError(t, err, "%s", out)
	big := make([]record.Entry, 3000)
	for i := range big {
		big[i] = record.Entry{Job: "j", Port: 2, Result: "PASS", Reason: strings.Repeat("x", 100)}
	}
	_, err = exportToFAT(context.Background(), tiny, 0, big, now)
	assert.ErrorIs(t, err, errStickFull, "a full stick says so")
}
