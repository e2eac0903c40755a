package jobrecord

import (
	"context"
	"errors"

	"github.com/clonebay/clonebay/fileset"
	"github.com/clonebay/clonebay/record"
)

// Master kinds of a files job, beside MasterDrive (the files on a master
// drive's volume).
const (
	MasterSet   = "set"   // a file set of the library; Job.Image names it
	MasterFiles = "files" // a folder or a volume named on the command line; Job.Master.Node names it
)

// Files turns a files job's outcome into record entries: mode "files",
// the set, folder or drive the files came from as the master, and per
// target its file system, label, the set's files and the SHA-256 of its
// listing. A job that failed before it ran (res nil, err set) gives every
// port in ports a FAIL with err as the reason, or ABORTED when err is the
// job's cancellation; otherwise the result's ports are used.
func Files(j Job, res *fileset.Result, ports []int, err error) []record.Entry {
	base := record.Entry{Time: j.Ended.UTC(), Job: j.ID, Lot: j.Lot, Mode: fileset.Mode, Area: "files", MasterKind: j.MasterKind}
	if !j.Started.IsZero() {
		base.Started = j.Started.UTC()
	}
	switch j.MasterKind {
	case MasterSet:
		base.MasterName = j.Image
	case MasterFiles:
		base.MasterName = j.Master.Node
	default:
		base.MasterKind, base.MasterName = MasterDrive, driveName(j.Master)
		base.MasterSerial, base.MasterSize = j.Master.Serial, j.Master.Size
	}
	target := func(port int) record.Entry {
		e, t := base, j.Targets[port]
		e.Port, e.Label = port, t.Label
		e.TargetModel, e.TargetSerial, e.TargetCID, e.TargetSize = driveName(t), t.Serial, t.CID, t.Size
		return e
	}
	var out []record.Entry
	if res == nil {
		for _, port := range ports {
			e := target(port)
			e.Result, e.Reason = "FAIL", err.Error()
			if errors.Is(err, context.Canceled) {
				e.Result = "ABORTED"
			}
			out = append(out, e)
		}
		return out
	}
	for _, p := range res.Ports {
		e, r := target(p.Port), res.Record(p)
		if e.Label == "" {
			e.Label = p.Label
		}
		e.Result, e.Reason, e.Written, e.Verified, e.MBps = p.Status.String(), p.Reason, p.Written, p.Verified, p.MBps
		e.Bytes, e.FileSystem, e.VolumeLabel, e.Files, e.FilesSHA256 = r.Bytes, r.FileSystem, r.Label, r.Files, r.FilesSHA256
		out = append(out, e)
	}
	return out
}
