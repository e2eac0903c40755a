package appliance

import (
	"errors"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/ui"
)

// This file is the one place where the engine's words become the panel's.

// progressFor is a port's progress as the panel shows it.
func progressFor(p engine.Progress) ui.Progress {
	return ui.Progress{Port: p.Port, Phase: uiPhase(p.Phase), Done: p.Done, Total: p.Total, Rate: p.Rate, ETA: p.ETA}
}

// uiPhase is a port's phase as the panel knows it.
func uiPhase(p engine.Phase) ui.Phase {
	switch p {
	case engine.PhaseQualifying:
		return ui.Checking
	case engine.PhaseReading:
		return ui.Reading
	case engine.PhaseCopying:
		return ui.Copying
	case engine.PhaseSyncing:
		return ui.Syncing
	case engine.PhaseVerifying:
		return ui.Verifying
	case engine.PhaseDone:
		return ui.Done
	}
	return ui.Waiting
}

func uiMode(m engine.Mode) ui.Mode {
	switch m {
	case engine.Copy:
		return ui.CopyOnly
	case engine.VerifyOnly:
		return ui.VerifyOnly
	case engine.Erase:
		return ui.EraseDrives
	}
	return ui.CopyVerify
}

// portResult is one port's outcome as the panel shows it.
func portResult(p engine.PortResult) ui.PortResult {
	return ui.PortResult{Port: p.Port, Pass: p.Status == engine.Pass, Abort: p.Status == engine.Aborted,
		Cause: string(p.Cause), Reason: p.Reason}
}

// jobResult is a job's outcome as the panel shows it.
func jobResult(e *engine.Result) ui.JobResult {
	r := ui.JobResult{Mode: uiMode(e.Mode), Bytes: e.Bytes, Duration: e.Duration, MasterBadSectors: e.BadSectors()}
	if e.Err != nil {
		r.MasterError = e.Err.Error()
		r.MasterCause = masterCause(e.Err)
	}
	for _, p := range e.Ports {
		r.Ports = append(r.Ports, portResult(p))
	}
	return r
}

// masterCause is a short word for the LCD on why the master failed.
func masterCause(err error) string {
	switch {
	case errors.Is(err, hal.ErrRemoved):
		return "removed"
	case errors.Is(err, engine.ErrMasterChanged):
		return "changed"
	case errors.Is(err, engine.ErrMasterWorn):
		return "too many bad"
	}
	return "read error"
}
