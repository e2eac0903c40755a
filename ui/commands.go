package ui

import "github.com/clonebay/clonebay/hal"

// Command is what the panel asks firmware to do. The set is sealed: only
// the types below are commands.
type Command interface{ command() }

// Commands of jobs, the panel and Setup.
type (
	// StartJob asks firmware to start a job.
	StartJob struct {
		Mode    Mode
		Master  int
		Image   string // copy from this image of the library instead of Master
		Set     string // with CopyFiles: this file set; "" is the files on Master
		Targets []int
		Area    string
	}
	// AbortJob asks firmware to abort the running job.
	AbortJob struct{}
	// AbortPort asks firmware to abort one port of the running job or
	// line; the others go on.
	AbortPort struct{ Port int }
	// Beep asks for a beep pattern.
	Beep struct{ Pattern []hal.Beep }
	// SaveSettings asks firmware to store the settings.
	SaveSettings struct{ Settings Settings }
	// NewWebPassword asks firmware to make a new operator password for
	// the web panel and show it (a Notice).
	NewWebPassword struct{}
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

// Commands of the image library and production-line mode.
type (
	// CaptureImage asks firmware to store the drive in Port as an image.
	CaptureImage struct{ Port int }
	// FindImports asks firmware for the image files on sticks in the ports.
	FindImports struct{}
	// ImportImage asks firmware to import a file.
	ImportImage struct{ File ImportFile }
	// DeleteImage asks firmware to delete an image.
	DeleteImage struct{ Name string }
	// ImportSet asks firmware to store the files of the stick in Port as a
	// file set.
	ImportSet struct{ Port int }
	// StartLine asks firmware to start production-line mode from the
	// master drive in Master, or from Image when set.
	StartLine struct {
		Mode   Mode
		Master int
		Image  string
		Set    string // with CopyFiles, as in StartJob
		Area   string
	}
	// LineTarget asks firmware to copy the master onto the drive in Port.
	LineTarget struct{ Port int }
	// StopLine asks firmware to end production-line mode; running ports
	// are aborted.
	StopLine struct{}
)

func (StartJob) command()       {}
func (AbortJob) command()       {}
func (AbortPort) command()      {}
func (Beep) command()           {}
func (SaveSettings) command()   {}
func (ExportLog) command()      {}
func (NewWebPassword) command() {}
func (CheckDrive) command()     {}
func (ResumeJob) command()      {}
func (DiscardResume) command()  {}
func (StartErase) command()     {}
func (CaptureImage) command()   {}
func (FindImports) command()    {}
func (ImportImage) command()    {}
func (DeleteImage) command()    {}
func (ImportSet) command()      {}
func (StartLine) command()      {}
func (LineTarget) command()     {}
func (StopLine) command()       {}
