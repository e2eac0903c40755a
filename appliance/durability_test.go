package appliance

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/internal/fsys/fsystest"
	"github.com/clonebay/clonebay/sim"
	"github.com/clonebay/clonebay/ui"
)

// TestStateSurvivesAPowerCut: what the appliance has saved (a Setup
// choice, a job's checkpoint, the end of a job) is what comes back after
// the power goes, on a disk that forgets everything not synced.
func TestStateSurvivesAPowerCut(t *testing.T) {
	b := sim8(t)
	newApp := func(disk *fsystest.Disk) *Appliance {
		a, err := New(Config{Board: b, Settings: ui.DefaultSettings(), Files: disk}, rigHardware(sim.NewRig(b)),
			Paths{Settings: "/var/lib/clonebay/settings.yaml", Journal: "/var/lib/clonebay/job.journal"},
			slog.New(slog.DiscardHandler))
		require.NoError(t, err)
		return a
	}

	t.Run("a saved setting", func(t *testing.T) {
		disk := fsystest.NewDisk()
		set := ui.DefaultSettings()
		set.AutoStart = 6
		newApp(disk).command(context.Background(), ui.SaveSettings{Settings: set})
		got, problem, err := LoadSettings(disk.Cut(nil), "", "/var/lib/clonebay/settings.yaml")
		require.NoError(t, err)
		require.Empty(t, problem)
		assert.Equal(t, 6, got.Panel.AutoStart)
	})
	t.Run("a checkpoint", func(t *testing.T) {
		disk := fsystest.NewDisk()
		a := newApp(disk)
		a.journal = &journal{Job: "j1", Mode: "copy+verify", Targets: []journalDrive{{Port: 2, Synced: 7}}}
		a.saveJournal()
		back := newApp(disk.Cut(nil))
		back.loadJournal()
		require.NotNil(t, back.pendingResume)
		assert.Equal(t, 7, back.pendingResume.Targets[0].Synced)
	})
	t.Run("a finished job", func(t *testing.T) {
		disk := fsystest.NewDisk()
		a := newApp(disk)
		a.journal = &journal{Job: "j1", Mode: "copy+verify", Targets: []journalDrive{{Port: 2, Synced: 7}}}
		a.saveJournal()
		a.dropJournal()
		back := newApp(disk.Cut(nil))
		back.loadJournal()
		assert.Nil(t, back.pendingResume, "a finished job is never offered for resuming")
	})
}
