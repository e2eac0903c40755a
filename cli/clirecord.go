package cli

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/hal/blockdev"
	"github.com/clonebay/clonebay/images"
	"github.com/clonebay/clonebay/internal/filelock"
	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/jobrecord"
	"github.com/clonebay/clonebay/lots"
	"github.com/clonebay/clonebay/record"
)

// recordFlags are the flags of the commands that write drives (copy,
// erase, and files, which takes them as well): a job may be recorded in a
// production record, for a lot. The command line records nothing unless
// asked: its jobs are often trials on a bench.
type recordFlags struct {
	path string
	lot  string
}

func (f *recordFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.path, "record", "", "append the job to this production record (hash-chained job log); none when empty")
	fs.StringVar(&f.lot, "lot", "", "the lot (production order) the job is for, kept in the record; needs --record")
}

// check refuses a lot without a record, and a lot name the record, its
// reports and their file names cannot hold.
func (f *recordFlags) check() error {
	if f.lot == "" {
		return nil
	}
	if f.path == "" {
		return UsageError("--lot %s needs --record FILE: the lot is kept in the production record", f.lot)
	}
	if err := lots.CheckName(f.lot); err != nil {
		return UsageError("--lot: %v", err)
	}
	return nil
}

// cliRecord is a production record a command-line job appends to. It is
// opened, checked and locked before any drive is touched, so a job is
// never run that could not be recorded.
type cliRecord struct {
	lot  string
	log  *record.Log
	lock *os.File
}

// openCLIRecord opens the record at path for one job, or returns nil when
// none was asked for. A record that does not verify is refused, and left
// as it was: a job appended to it would be chained to entries no one can
// vouch for, and only the appliance's start sets damage aside (keeping
// the evidence). So is a record that is one of the job's drives, or whose
// chain head is: the record is written during the job, and a master never
// is. The record's file is locked for the job, so two command-line jobs
// never append to one record at once. What a power loss leaves (a torn
// last entry, a head one job behind) is repaired as the appliance does.
func openCLIRecord(f recordFlags, drives ...hal.DriveReader) (*cliRecord, error) {
	if f.path == "" {
		return nil, nil
	}
	if underDev(f.path) {
		return nil, fmt.Errorf("record %s: refused: a production record is a file, never under /dev", f.path)
	}
	exists := false
	for _, path := range []string{f.path, record.HeadPath(f.path)} {
		switch st, err := os.Stat(path); {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("record %s: %w", path, err)
		case !st.Mode().IsRegular():
			return nil, fmt.Errorf("record %s: refused: it is not a regular file", path)
		default:
			exists = exists || path == f.path
			s, err := blockdev.Resolve(path)
			if err != nil {
				return nil, fmt.Errorf("record %s: %w", path, err)
			}
			for _, d := range drives {
				if d.ID() == s.Key() {
					return nil, fmt.Errorf("record %s: refused: it is a drive of this job (%s)", path, d.Info().Node)
				}
			}
		}
	}
	if err := os.MkdirAll(filepath.Dir(f.path), 0o755); err != nil {
		return nil, fmt.Errorf("record %s: %w", f.path, err)
	}
	lock, err := os.OpenFile(f.path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", f.path, err)
	}
	if err := filelock.Lock(lock, true); err != nil {
		lock.Close()
		if errors.Is(err, filelock.ErrLocked) {
			return nil, fmt.Errorf("record %s: another job is writing to it", f.path)
		}
		return nil, fmt.Errorf("record %s: %w", f.path, err)
	}
	if exists {
		// Checked before anything is written: record.Open repairs.
		rep, err := record.Read(fsys.OS, f.path)
		if err == nil {
			err = rep.Err()
		}
		if err != nil {
			lock.Close()
			return nil, fmt.Errorf("record %s does not verify, so nothing was run and it was left as it is: %w (see clonebay log verify --log %s)", f.path, err, f.path)
		}
	}
	l, rep, err := record.Open(fsys.OS, f.path)
	if err != nil {
		if l != nil {
			l.Close()
		}
		lock.Close()
		if rep != nil && len(rep.Problems) > 0 {
			return nil, fmt.Errorf("record %s does not verify, so nothing was run: %w (see clonebay log verify --log %s)", f.path, err, f.path)
		}
		return nil, err
	}
	return &cliRecord{lot: f.lot, log: l, lock: lock}, nil
}

// append records a finished job and returns its entries as stored (with
// their sequence numbers and sums).
func (r *cliRecord) append(j jobrecord.Job, res *engine.Result) ([]record.Entry, error) {
	if r == nil {
		return nil, nil
	}
	return r.appendEntries(jobrecord.Entries(j, res))
}

// appendEntries records one job's entries, for the lot.
func (r *cliRecord) appendEntries(entries []record.Entry) ([]record.Entry, error) {
	if r == nil || len(entries) == 0 {
		return nil, nil
	}
	for i := range entries {
		entries[i].Lot = r.lot
	}
	if err := r.log.Append(entries...); err != nil {
		return nil, fmt.Errorf("the job ran but was not recorded: %w", err)
	}
	all := r.log.Entries()
	return all[len(all)-len(entries):], nil
}

func (r *cliRecord) close() {
	if r == nil {
		return
	}
	r.log.Close()
	r.lock.Close()
}

// cliJobID names a command-line job in the record.
func cliJobID(started time.Time) string { return "cli-" + started.UTC().Format("20060102-150405.000") }

// cliMaster is how the record names a command-line job's master.
func cliMaster(j *jobrecord.Job, src engine.Source) {
	switch m := src.(type) {
	case *images.Image:
		j.MasterKind, j.Image, j.ImageSize = jobrecord.MasterImage, m.Name(), m.Size()
	case hal.DriveReader:
		j.Master = m.Info()
		j.MasterKind = jobrecord.MasterDrive
		if j.Master.Bus == fileBus {
			j.MasterKind = jobrecord.MasterFile
		}
	}
}

// fileBus is the bus blockdev gives a drive that is an image file.
const fileBus = hal.Bus("file")

// cliTargets are a command-line job's targets by port, as the record
// names them.
func cliTargets(targets []engine.Checked) map[int]hal.DriveInfo {
	out := map[int]hal.DriveInfo{}
	for i, t := range targets {
		if d, ok := t.(hal.DriveReader); ok {
			out[i+1] = d.Info()
		}
	}
	return out
}

// driveReaders lists a job's master (when it is a drive or a file) and
// targets as drives.
func driveReaders(master engine.Source, targets []engine.Checked) []hal.DriveReader {
	var out []hal.DriveReader
	if d, ok := master.(hal.DriveReader); ok {
		out = append(out, d)
	}
	for _, t := range targets {
		if d, ok := t.(hal.DriveReader); ok {
			out = append(out, d)
		}
	}
	return out
}
