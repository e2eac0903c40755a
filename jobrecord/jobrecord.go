// Package jobrecord turns a finished job's result into production-record
// entries, one a port, the same way for every front end that runs jobs
// (the appliance, the command line), so that an entry means the same
// whoever wrote it.
//
// jobrecord imports engine, fileset, hal and record only; never a
// backend, ui or firmware.
package jobrecord

import (
	"strings"
	"time"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/record"
)

// Master kinds, as the record keeps them.
const (
	MasterDrive = "drive" // a drive in the master port, or a block device
	MasterImage = "image" // an image of the library
	MasterFile  = "file"  // an image file given on the command line
)

// Job is what the record needs of a job that its result lacks: who the
// master and the targets were, when it ran, and for which lot.
type Job struct {
	ID      string
	Lot     string // "" for none
	Started time.Time
	Ended   time.Time

	// Master is a drive master's identity; for an image or a file master
	// its Node names the file. Unused by an erase.
	Master     hal.DriveInfo
	MasterKind string // MasterDrive (when empty), MasterImage or MasterFile
	// Image is the library image's name and size when MasterKind is
	// MasterImage.
	Image     string
	ImageSize int64

	Targets map[int]hal.DriveInfo // by port
}

// Entries turns a job's result into record entries, one a port, in the
// result's order. Erase entries name no master.
func Entries(j Job, res *engine.Result) []record.Entry {
	kind := j.MasterKind
	if kind == "" {
		kind = MasterDrive
	}
	var out []record.Entry
	for _, p := range res.Ports {
		t := j.Targets[p.Port]
		e := record.Entry{
			Time: j.Ended.UTC(), Job: j.ID, Lot: j.Lot, Mode: res.Mode.String(),
			MasterKind: kind, MasterName: driveName(j.Master),
			MasterSerial: j.Master.Serial, MasterSize: j.Master.Size, MasterSHA256: res.SHA256,
			Area: res.Area, Bytes: res.Bytes,
			Port: p.Port, Label: p.Label, TargetModel: driveName(t),
			TargetSerial: t.Serial, TargetCID: t.CID, TargetSize: t.Size,
			Result: p.Status.String(), Reason: p.Reason, Written: p.Written, Verified: p.Verified,
			MBps: p.MBps, SHA256: p.SHA256,
		}
		if !j.Started.IsZero() {
			e.Started = j.Started.UTC()
		}
		switch {
		case res.Mode == engine.Erase:
			e.MasterKind, e.MasterName, e.MasterSerial, e.MasterSize = "", "", "", 0
		case kind == MasterImage:
			e.MasterName, e.MasterSerial, e.MasterSize = j.Image, "", j.ImageSize
		case kind == MasterFile:
			e.MasterName, e.MasterSerial = j.Master.Node, ""
		}
		for _, r := range res.BadRanges {
			e.BadRanges = append(e.BadRanges, record.Range{Off: r.Off, Len: r.Len})
		}
		out = append(out, e)
	}
	return out
}

// driveName is a drive's vendor and model, as the record keeps them.
func driveName(d hal.DriveInfo) string { return strings.TrimSpace(d.Vendor + " " + d.Model) }
