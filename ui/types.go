package ui

import (
	"fmt"
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
	// PINLock hashes and checks the Setup PIN; Settings.PIN then holds
	// the hash. Without one, Settings.PIN is the PIN itself.
	PINLock PINLock
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
	PIN          string        // what locks Setup and Erase: the PIN's hash (Config.PINLock), or the PIN; "" is no lock
	Qualify      bool          // check every target stores what its size says before a copy
	MinWriteMBps float64       // with Qualify: reject targets that write slower; 0 is no floor
	// Files is the copy mode: a file set onto every target, each
	// partitioned and formatted fresh (else the master, sector by sector).
	Files bool
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
	// Done says where the drive already passed in the running lot ("" when
	// it did not, or the record cannot tell): it is not written again
	// unless the operator confirms.
	Done string
}

// Mode is what a job does.
type Mode int

// Job modes the panel starts.
const (
	CopyVerify Mode = iota
	CopyOnly
	VerifyOnly
	EraseDrives
	CopyFiles // a file set onto targets of any sizes, each formatted fresh and verified file by file
)

func (m Mode) String() string {
	switch m {
	case CopyOnly:
		return "Copy"
	case VerifyOnly:
		return "Verify"
	case EraseDrives:
		return "Erase"
	case CopyFiles:
		return "Files"
	}
	return "Copy+Verify"
}

// Phase is where a port is in its job. Firmware translates the engine's
// phases into these; the panel never reads a phase from text.
type Phase int

// Port phases, in the order a port goes through them.
const (
	Waiting  Phase = iota // not started yet
	Checking              // checking that the target stores what its size says
	Reading               // reading the master only (a hash)
	Copying
	Syncing
	Verifying
	Done
)

// String is the phase as the port page of a job shows it.
func (p Phase) String() string {
	switch p {
	case Waiting:
		return "waiting"
	case Checking:
		return "checking"
	case Reading:
		return "reading"
	case Copying:
		return "copying"
	case Syncing:
		return "syncing"
	case Verifying:
		return "verifying"
	case Done:
		return "done"
	}
	return fmt.Sprintf("Phase(%d)", int(p))
}

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

// Frame is what the panel shows.
type Frame struct {
	Lines     []string       // bytes 0..7 are the progress-bar glyphs
	LEDs      []hal.LEDState // index 0 is port 1
	Backlight bool
}

// ImageInfo is one image of the library as the panel shows it.
type ImageInfo struct {
	Name    string
	Size    int64 // the content's size
	Bytes   int64 // what a deploy writes
	Stored  int64 // bytes on the appliance's storage
	Created time.Time
	SHA256  string
	Area    string
	Err     string // why it cannot be read (listed so it can be deleted)
}

// SetInfo is a file set of the library as the panel lists it.
type SetInfo struct {
	Name  string
	Files int
	Bytes int64
	Err   string // why it cannot be read (listed so it can be deleted)
}

// ImportFile is an image file found on a USB stick in a port.
type ImportFile struct {
	Port int
	Path string
	Size int64
}
