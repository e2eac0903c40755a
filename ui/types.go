package ui

import (
	"time"

	"github.com/clonebay/clonebay/hal"
)

// Port is one front-panel port as the panel knows it.
type Port struct {
	Number int
	Label  string
}

// Config is what the panel needs to know of the board and firmware.
type Config struct {
	Geometry   hal.Geometry
	Ports      []Port
	MasterPort int
	Version    string
}

// Settings are the operator's Setup choices.
type Settings struct {
	Verify       bool          // copy jobs verify (the default)
	AutoStart    int           // start a copy when this many targets are ready; 0 is off
	Buzzer       bool          // job-end and failure beeps
	KeyClick     bool          // a short beep on every key
	Backlight    time.Duration // idle time before the backlight goes off; 0 never
	Area         string        // copy area: "whole", "used" or "smart"
	Clean        bool          // discard what the area skips, instead of keeping old data
	ZeroFill     bool          // unreadable master sectors: copy zeros and record them (else abort)
	PIN          string        // four digits that lock Setup and Erase; "" is no lock
	Qualify      bool          // check every target stores what its size says before a copy
	MinWriteMBps float64       // with Qualify: reject targets that write slower; 0 is no floor
}

// DefaultSettings are the factory settings.
func DefaultSettings() Settings {
	return Settings{Verify: true, Buzzer: true, KeyClick: true, Backlight: 5 * time.Minute, Area: "whole", Qualify: true}
}

// Drive is a drive in a port.
type Drive struct {
	Port    int
	Model   string
	Serial  string
	Size    int64
	HasData bool   // holds a partition table or a file system
	Problem string // why it cannot be a target (read-only, no media), or ""
}

// Mode is what a job does.
type Mode int

// Job modes the panel starts.
const (
	CopyVerify Mode = iota
	CopyOnly
	VerifyOnly
	EraseDrives
)

func (m Mode) String() string {
	switch m {
	case CopyOnly:
		return "Copy"
	case VerifyOnly:
		return "Verify"
	case EraseDrives:
		return "Erase"
	}
	return "Copy+Verify"
}

// Events.
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
		Phase string // "copying", "verifying", ...
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

// PortResult is one port's outcome.
type PortResult struct {
	Port   int
	Pass   bool
	Abort  bool
	Cause  string // short, for the LCD: "write error", "mismatch", ...
	Reason string // long, for the log
}

// JobResult is a job's outcome.
type JobResult struct {
	Mode        Mode
	Ports       []PortResult
	MasterError string // the master failed: every port failed
	MasterCause string // the same, short, for the LCD: "read error"
	// MasterBadSectors counts the master's unreadable sectors that were
	// copied as zeros (zero-fill policy): the ports PASS with them.
	MasterBadSectors int64
	Bytes            int64
	Duration         time.Duration
}

// Passed counts the ports that passed.
func (r JobResult) Passed() int {
	n := 0
	for _, p := range r.Ports {
		if p.Pass {
			n++
		}
	}
	return n
}

// Commands.
type (
	Command interface{ command() }
	// StartJob asks firmware to start a job.
	StartJob struct {
		Mode    Mode
		Master  int
		Image   string // copy from this image of the library instead of Master
		Targets []int
		Area    string
	}
	// AbortJob asks firmware to abort the running job.
	AbortJob struct{}
	// Beep asks for a beep pattern.
	Beep struct{ Pattern []hal.Beep }
	// SaveSettings asks firmware to store the settings.
	SaveSettings struct{ Settings Settings }
	// ExportLog asks firmware to copy the production record to a USB
	// stick in a port.
	ExportLog struct{}
	// CheckDrive asks firmware to check the drive in Port: Kind is "scan"
	// (read every sector) or "speed" (a short read and write test).
	CheckDrive struct {
		Port int
		Kind string
	}
	// ResumeJob asks firmware to resume the interrupted job; DiscardResume
	// to forget it.
	ResumeJob     struct{}
	DiscardResume struct{}
	// StartErase asks firmware to wipe the drives in Targets.
	StartErase struct {
		Mode    string // quick, zeros, random, dod, discard, secure-discard
		Verify  bool
		Targets []int
	}
)

func (StartJob) command()      {}
func (AbortJob) command()      {}
func (Beep) command()          {}
func (SaveSettings) command()  {}
func (ExportLog) command()     {}
func (StartErase) command()    {}
func (CheckDrive) command()    {}
func (ResumeJob) command()     {}
func (DiscardResume) command() {}

// Frame is what the panel shows.
type Frame struct {
	Lines     []string       // bytes 0..7 are the progress-bar glyphs
	LEDs      []hal.LEDState // index 0 is port 1
	Backlight bool
}
