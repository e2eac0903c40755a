//go:build linux

package blockdev

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// A write-block sets the kernel's read-only flag of the master's block
// device (BLKRO), which outlives the process: a firmware killed mid-job
// (kill -9, a crash) would leave the operator's master read-only, and
// the next job would take that stale 1 for the drive's own state and
// "restore" it for ever. So the state the device had is noted in a
// ledger before the flag is set, and removed once it is restored; a
// note whose process is gone is restored by RestoreStale (at the
// appliance's start, and before any master is write-blocked) and by the
// next write-block of that device. The ledger lives under /run, which is
// emptied at boot, as the flag is.

// LedgerDir is the ledger's folder. Tests point it elsewhere.
var LedgerDir = "/run/clonebay/write-block"

// ledgerEntry is one write-blocked device.
type ledgerEntry struct {
	Node    string `json:"node"`
	Dev     string `json:"dev"`               // major:minor
	DiskSeq string `json:"diskseq,omitempty"` // the kernel's number for this media, when it has one
	WasRO   bool   `json:"was_ro"`            // BLKRO before the write-block
	PID     int    `json:"pid"`               // the process that set it
	Start   string `json:"start"`             // that process's start time, so a reused PID is not taken for it
}

// devKey names a block device in the ledger: its major:minor.
func devKey(f *os.File) (string, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return "", os.NewSyscallError("fstat", err)
	}
	return fmt.Sprintf("%d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev)), nil
}

// diskSeq is the kernel's sequence number of the media behind a device
// (Linux 5.15 on); "" when the kernel has none.
func diskSeq(dev string) string {
	for _, p := range []string{"/sys/dev/block/" + dev + "/diskseq", "/sys/dev/block/" + dev + "/../diskseq"} {
		if b, err := os.ReadFile(p); err == nil {
			return strings.TrimSpace(string(b))
		}
	}
	return ""
}

// procStart is a process's start time in clock ticks since boot, from
// /proc; "" when the process is gone.
func procStart(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	// The command name may hold spaces and parentheses: the fields count
	// from the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return ""
	}
	return f[19] // field 22 of the whole line
}

// alive reports whether the process that made the entry still runs.
func (e ledgerEntry) alive() bool {
	return e.PID > 0 && procStart(e.PID) == e.Start && e.Start != ""
}

// withLedger runs fn holding the ledger's lock, so two processes never
// read and write one entry at once.
func withLedger(fn func() error) error {
	if err := os.MkdirAll(LedgerDir, 0o755); err != nil {
		return fmt.Errorf("write-block ledger: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(LedgerDir, ".lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("write-block ledger: %w", err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("write-block ledger: %w", os.NewSyscallError("flock", err))
	}
	return fn()
}

func entryPath(dev string) string {
	return filepath.Join(LedgerDir, strings.ReplaceAll(dev, ":", "-")+".json")
}

// readEntry reads a device's entry; nil when there is none. An entry that
// cannot be read is an error: the state it held is unknown.
func readEntry(dev string) (*ledgerEntry, error) {
	b, err := os.ReadFile(entryPath(dev))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("write-block ledger: %w", err)
	}
	var e ledgerEntry
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, fmt.Errorf("write-block ledger %s: %w", entryPath(dev), err)
	}
	return &e, nil
}

// writeEntry writes an entry whole (a new file renamed over the old), and
// syncs it: it must be there before the flag is set.
func writeEntry(e ledgerEntry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	path := entryPath(e.Dev)
	tmp := path + ".new"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("write-block ledger: %w", err)
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write-block ledger: %w", err)
	}
	return nil
}

func removeEntry(dev string) error {
	if err := os.Remove(entryPath(dev)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("write-block ledger: %w", err)
	}
	return nil
}

// noteBlock notes the device's state before it is write-blocked and
// returns the state to restore. When an entry is there already (a
// process died holding it), the device's flag is that process's, and the
// entry holds the true state.
func noteBlock(f *os.File, node string) (wasRO bool, dev string, err error) {
	dev, err = devKey(f)
	if err != nil {
		return false, "", err
	}
	err = withLedger(func() error {
		old, err := readEntry(dev)
		if err != nil {
			return err
		}
		seq := diskSeq(dev)
		if old != nil && (old.DiskSeq == "" || old.DiskSeq == seq) {
			wasRO = old.WasRO
		} else {
			ro, err := unix.IoctlGetInt(int(f.Fd()), unix.BLKROGET)
			if err != nil {
				return os.NewSyscallError("BLKROGET", err)
			}
			wasRO = ro != 0
		}
		pid := os.Getpid()
		return writeEntry(ledgerEntry{Node: node, Dev: dev, DiskSeq: seq, WasRO: wasRO, PID: pid, Start: procStart(pid)})
	})
	return wasRO, dev, err
}

// forgetBlock removes the device's entry once its state is restored.
func forgetBlock(dev string) error {
	return withLedger(func() error { return removeEntry(dev) })
}

// RestoreStale gives back the state every write-blocked device had when
// the process that blocked it is gone (killed mid-job), and returns the
// nodes it restored. A device that is gone, or holds other media now, is
// only taken off the ledger: its flag went with it. Without a ledger
// (nothing was ever write-blocked since boot) it does nothing.
func RestoreStale() ([]string, error) {
	if _, err := os.Stat(LedgerDir); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	var restored []string
	err := withLedger(func() error {
		names, err := filepath.Glob(filepath.Join(LedgerDir, "*.json"))
		if err != nil {
			return err
		}
		var errs []error
		for _, name := range names {
			dev := strings.ReplaceAll(strings.TrimSuffix(filepath.Base(name), ".json"), "-", ":")
			e, err := readEntry(dev)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if e.alive() {
				continue // its job runs
			}
			switch ok, err := restoreEntry(*e); {
			case err != nil:
				errs = append(errs, err)
				continue
			case ok:
				restored = append(restored, e.Node)
			}
			if err := removeEntry(dev); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	})
	return restored, err
}

// restoreEntry sets a stale entry's device back to its noted state; false
// when the device is no longer the one noted.
func restoreEntry(e ledgerEntry) (bool, error) {
	f, err := os.OpenFile(e.Node, os.O_RDONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, fmt.Errorf("restore write access %s: %w", e.Node, err)
	}
	defer f.Close()
	if dev, err := devKey(f); err != nil || dev != e.Dev {
		return false, nil // the node names another device now
	}
	if e.DiskSeq != "" && diskSeq(e.Dev) != e.DiskSeq {
		return false, nil // other media: the kernel's flag started afresh
	}
	v := 0
	if e.WasRO {
		v = 1
	}
	if err := setRO(int(f.Fd()), v); err != nil {
		return false, fmt.Errorf("restore write access %s: %w", e.Node, err)
	}
	return true, nil
}
