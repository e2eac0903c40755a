package jobrecord_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/engine/fatfs"
	"github.com/clonebay/clonebay/fileset"
	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/jobrecord"
	"github.com/clonebay/clonebay/record"
)

// TestFiles: a files job's entries name where the files came from (a set,
// a folder, a master drive), and per target its file system and the set's
// listing; a job that failed before it ran fails, or is aborted on, every
// port.
func TestFiles(t *testing.T) {
	started := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	ended := started.Add(40 * time.Second)
	targets := map[int]hal.DriveInfo{2: {Label: "2", Vendor: "Kingston", Model: "DT", Serial: "T-2", CID: "", Size: 16e9}}
	res := &fileset.Result{Manifest: &fileset.Manifest{Files: 312, Bytes: 1.2e9, SHA256: "5e7"},
		Ports: []fileset.PortResult{{PortResult: engine.PortResult{Port: 2, Label: "/dev/sdc", Status: engine.Pass, Written: 1.3e9, Verified: 1.2e9, MBps: 20},
			Layout: fileset.Layout{FS: fatfs.FAT32, Label: "COURSE"}}}}
	base := record.Entry{Time: ended, Started: started, Job: "j1", Lot: "A17", Mode: "files", Area: "files",
		Port: 2, Label: "2", TargetModel: "Kingston DT", TargetSerial: "T-2", TargetSize: 16e9}
	passed := base
	passed.Result, passed.Written, passed.Verified, passed.MBps = "PASS", 1.3e9, 1.2e9, 20
	passed.Bytes, passed.FileSystem, passed.VolumeLabel, passed.Files, passed.FilesSHA256 = 1.2e9, "FAT32", "COURSE", 312, "5e7"
	with := func(e record.Entry, kind, name, serial string, size int64) record.Entry {
		e.MasterKind, e.MasterName, e.MasterSerial, e.MasterSize = kind, name, serial, size
		return e
	}
	job := func(kind, image string, master hal.DriveInfo) jobrecord.Job {
		return jobrecord.Job{ID: "j1", Lot: "A17", Started: started, Ended: ended, MasterKind: kind, Image: image, Master: master, Targets: targets}
	}
	for _, tc := range []struct {
		name string
		job  jobrecord.Job
		res  *fileset.Result
		err  error
		want record.Entry
	}{
		{"a set", job(jobrecord.MasterSet, "course", hal.DriveInfo{}), res, nil, with(passed, "set", "course", "", 0)},
		{"a folder", job(jobrecord.MasterFiles, "", hal.DriveInfo{Node: "/srv/course"}), res, nil, with(passed, "files", "/srv/course", "", 0)},
		{"the master drive", job("", "", hal.DriveInfo{Vendor: "SanDisk", Model: "Ultra", Serial: "M-1", Size: 8e9}), res, nil,
			with(passed, "drive", "SanDisk Ultra", "M-1", 8e9)},
		{"failed before it ran", job(jobrecord.MasterSet, "course", hal.DriveInfo{}), nil, errors.New("the set does not fit"),
			func() record.Entry {
				e := with(base, "set", "course", "", 0)
				e.Result, e.Reason = "FAIL", "the set does not fit"
				return e
			}()},
		{"aborted before it ran", job(jobrecord.MasterSet, "course", hal.DriveInfo{}), nil, fmt.Errorf("check: %w", context.Canceled),
			func() record.Entry {
				e := with(base, "set", "course", "", 0)
				e.Result, e.Reason = "ABORTED", "check: context canceled"
				return e
			}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, []record.Entry{tc.want}, jobrecord.Files(tc.job, tc.res, []int{2}, tc.err))
		})
	}
}
