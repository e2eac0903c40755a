package jobrecord_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/jobrecord"
	"github.com/clonebay/clonebay/record"
)

func TestEntries(t *testing.T) {
	started := time.Date(2026, 11, 22, 10, 0, 0, 0, time.FixedZone("CET", 3600))
	ended := started.Add(95 * time.Second)
	master := hal.DriveInfo{Node: "/dev/sdb", Vendor: "SanDisk", Model: "Ultra", Serial: "M-1", Size: 8e9}
	targets := map[int]hal.DriveInfo{
		2: {Node: "/dev/sdc", Vendor: "Kingston", Model: "DT", Serial: "T-2", Size: 16e9},
		3: {Node: "/dev/mmcblk0", Model: "SL08G", Serial: "0x7b013d00", CID: "035344534c3038478062b1c57b013d00", Size: 8e9},
	}
	copied := &engine.Result{Mode: engine.CopyVerify, Area: "whole media", Bytes: 8e9, SHA256: "c0ffee",
		BadRanges: []engine.Extent{{Off: 4096, Len: 512}},
		Ports: []engine.PortResult{
			{Port: 2, Label: "P2", Status: engine.Pass, Written: 8e9, Verified: 8e9, MBps: 30, SHA256: "c0ffee"},
			{Port: 3, Label: "SD", Status: engine.Fail, Reason: "port 3: write at 4096: input/output error", Written: 4096},
		}}
	erased := &engine.Result{Mode: engine.Erase, Area: "erase zeros",
		Ports: []engine.PortResult{{Port: 2, Label: "P2", Status: engine.Pass, Written: 16e9, Verified: 16e9}}}

	for _, tc := range []struct {
		name string
		job  jobrecord.Job
		res  *engine.Result
		want []record.Entry
	}{
		{"a drive master", jobrecord.Job{ID: "j1", Lot: "A17", Started: started, Ended: ended, Master: master, Targets: targets}, copied,
			[]record.Entry{
				{Time: ended.UTC(), Started: started.UTC(), Job: "j1", Lot: "A17", Mode: "copy+verify",
					MasterKind: "drive", MasterName: "SanDisk Ultra", MasterSerial: "M-1", MasterSize: 8e9, MasterSHA256: "c0ffee",
					Area: "whole media", Bytes: 8e9, Port: 2, Label: "P2", TargetModel: "Kingston DT", TargetSerial: "T-2",
					TargetSize: 16e9, Result: "PASS", Written: 8e9, Verified: 8e9, MBps: 30, SHA256: "c0ffee",
					BadRanges: []record.Range{{Off: 4096, Len: 512}}},
				{Time: ended.UTC(), Started: started.UTC(), Job: "j1", Lot: "A17", Mode: "copy+verify",
					MasterKind: "drive", MasterName: "SanDisk Ultra", MasterSerial: "M-1", MasterSize: 8e9, MasterSHA256: "c0ffee",
					Area: "whole media", Bytes: 8e9, Port: 3, Label: "SD", TargetModel: "SL08G", TargetSerial: "0x7b013d00",
					TargetCID: "035344534c3038478062b1c57b013d00", TargetSize: 8e9, Result: "FAIL",
					Reason: "port 3: write at 4096: input/output error", Written: 4096,
					BadRanges: []record.Range{{Off: 4096, Len: 512}}},
			}},
		{"an image of the library", jobrecord.Job{ID: "j2", Ended: ended, MasterKind: jobrecord.MasterImage, Image: "kiosk-v3",
			ImageSize: 7e9, Master: hal.DriveInfo{Node: "/var/lib/clonebay/images/kiosk-v3/image.zst"}, Targets: targets},
			&engine.Result{Mode: engine.Copy, Area: "used", Bytes: 6e9, SHA256: "beef",
				Ports: []engine.PortResult{{Port: 2, Label: "P2", Status: engine.Aborted, Reason: "port 2: aborted while copying"}}},
			[]record.Entry{{Time: ended.UTC(), Job: "j2", Mode: "copy", MasterKind: "image", MasterName: "kiosk-v3", MasterSize: 7e9,
				MasterSHA256: "beef", Area: "used", Bytes: 6e9, Port: 2, Label: "P2", TargetModel: "Kingston DT", TargetSerial: "T-2",
				TargetSize: 16e9, Result: "ABORTED", Reason: "port 2: aborted while copying"}}},
		{"a file on the command line", jobrecord.Job{ID: "j3", Ended: ended, MasterKind: jobrecord.MasterFile,
			Master: hal.DriveInfo{Node: "/srv/master.img", Size: 5e6}, Targets: targets},
			&engine.Result{Mode: engine.VerifyOnly, Area: "whole media", Bytes: 5e6, SHA256: "aa",
				Ports: []engine.PortResult{{Port: 2, Label: "t.img", Status: engine.Pass, Verified: 5e6}}},
			[]record.Entry{{Time: ended.UTC(), Job: "j3", Mode: "verify", MasterKind: "file", MasterName: "/srv/master.img",
				MasterSize: 5e6, MasterSHA256: "aa", Area: "whole media", Bytes: 5e6, Port: 2, Label: "t.img",
				TargetModel: "Kingston DT", TargetSerial: "T-2", TargetSize: 16e9, Result: "PASS", Verified: 5e6}}},
		{"an erase names no master", jobrecord.Job{ID: "j4", Lot: "W1", Started: started, Ended: ended, Master: master, Targets: targets}, erased,
			[]record.Entry{{Time: ended.UTC(), Started: started.UTC(), Job: "j4", Lot: "W1", Mode: "erase", Area: "erase zeros",
				Port: 2, Label: "P2", TargetModel: "Kingston DT", TargetSerial: "T-2", TargetSize: 16e9, Result: "PASS",
				Written: 16e9, Verified: 16e9}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := jobrecord.Entries(tc.job, tc.res)
			assert.Equal(t, tc.want, got)

			// What it makes is what the record stores and reads back.
			path := filepath.Join(t.TempDir(), "jobs.log")
			l, _, err := record.Open(fsys.OS, path)
			require.NoError(t, err)
			require.NoError(t, l.Append(got...))
			require.NoError(t, l.Close())
			rep, err := record.Read(fsys.OS, path)
			require.NoError(t, err)
			require.NoError(t, rep.Err())
			require.Len(t, rep.Entries, len(got))
			for i, e := range rep.Entries {
				assert.Equal(t, got[i].Lot, e.Lot)
				assert.True(t, got[i].Started.Equal(e.Started))
				assert.Equal(t, got[i].TargetCID, e.TargetCID)
			}
		})
	}
}
