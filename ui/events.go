package ui

import (
	"time"

	"github.com/clonebay/clonebay/hal"
)

// Event is what goes into the panel. The set is sealed: only the types
// below are events, so Update can never be handed something it ignores
// by mistake.
type Event interface{ event() }

// Events of the panel, drives and jobs.
type (
	// Tick carries the time since the firmware started. Firmware sends
	// one at least every 100 ms.
	Tick struct{ Now time.Duration }
	// Button is a debounced button event.
	Button struct{ hal.ButtonEvent }
	// DriveIn says a drive is in a port (added, or its media changed).
	DriveIn struct{ Drive Drive }
	// DriveOut says a port is empty.
	DriveOut struct{ Port int }
	// JobStarted says the firmware started the job the panel asked for.
	JobStarted struct {
		Bytes   int64  // bytes the job copies per target
		Area    string // how the copy area was made
		Targets []int  // the ports in the job, when the panel did not pick them (a resumed job)
	}
	// JobRefused says the firmware could not start the job.
	JobRefused struct{ Reason string }
	// Progress is one port's progress.
	Progress struct {
		Port  int
		Phase Phase
		Done  int64
		Total int64
		Rate  float64 // bytes a second
		ETA   time.Duration
	}
	// JobDone carries a job's result.
	JobDone struct{ Result JobResult }
	// LogLoaded carries the jobs of the production record, newest first,
	// for the Job log screen after a restart.
	LogLoaded struct{ Results []JobResult }
	// ResumeOffer says a job was interrupted (a power loss) and can be
	// resumed on the drives that are still there.
	ResumeOffer struct {
		Mode    Mode
		Targets int
	}
	// Notice is something the operator must read (a damaged settings
	// file, a failed save); any key dismisses it.
	Notice struct{ Title, Text string }
	// PlanInfo says what the copy area comes to on the master in the
	// master port: Bytes of Of bytes. Error is set when the master's
	// partition table or file systems could not be read.
	PlanInfo struct {
		Area  string
		Bytes int64
		Of    int64
		Error string
	}
)

// Events of the image library and production-line mode.
type (
	// ImagesLoaded carries the library's images and free space.
	ImagesLoaded struct {
		Images []ImageInfo
		Free   int64
	}
	// ImportFiles answers FindImports.
	ImportFiles struct{ Files []ImportFile }
	// SetsLoaded carries the library's file sets.
	SetsLoaded struct{ Sets []SetInfo }
	// BoxInfo is the appliance's own: its ID in the fleet and how the
	// replication of its record stands ("Sync: 12 behind"; "" when the
	// record is not replicated).
	BoxInfo struct{ ID, Sync string }
	// Busy is the progress of a capture, import or image check.
	Busy struct {
		What        string
		Done, Total int64
	}
	// BusyDone ends a capture, import or deletion with what to read;
	// Failed says it did not happen.
	BusyDone struct {
		Title, Text string
		Failed      bool
	}
	// LineStarted says production-line mode runs: each target gets Bytes.
	LineStarted struct {
		Bytes int64
		Area  string
	}
	// LineDone is one target's result in production-line mode.
	LineDone struct{ Result PortResult }
	// LineStopped says production-line mode ended: no port is working.
	LineStopped struct{}
)

func (Tick) event()         {}
func (Button) event()       {}
func (DriveIn) event()      {}
func (DriveOut) event()     {}
func (JobStarted) event()   {}
func (JobRefused) event()   {}
func (Progress) event()     {}
func (JobDone) event()      {}
func (LogLoaded) event()    {}
func (ResumeOffer) event()  {}
func (Notice) event()       {}
func (PlanInfo) event()     {}
func (ImagesLoaded) event() {}
func (ImportFiles) event()  {}
func (SetsLoaded) event()   {}
func (BoxInfo) event()      {}
func (Busy) event()         {}
func (BusyDone) event()     {}
func (LineStarted) event()  {}
func (LineDone) event()     {}
func (LineStopped) event()  {}
