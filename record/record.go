// Package record is the production record: an append-only log of every
// drive the appliance copied, one entry per port per job. Each entry
// carries a SHA-256 over its own content and the previous entry's sum, so
// a damaged or edited log is detected; entries are appended with one
// write and an fsync, so a pulled plug loses at most the entry being
// written, never an earlier one.
//
// record imports only the standard library.
package record

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// Range is a byte range (bad sectors on the master).
type Range struct {
	Off int64 `json:"off"`
	Len int64 `json:"len"`
}

// Entry is one port's outcome in one job.
type Entry struct {
	Seq  int64     `json:"seq"`
	Time time.Time `json:"time"`
	Job  string    `json:"job"`
	Mode string    `json:"mode"`

	MasterKind   string `json:"master_kind"` // "drive" or "image"
	MasterName   string `json:"master_name"` // image name or drive model
	MasterSerial string `json:"master_serial,omitempty"`
	MasterSize   int64  `json:"master_size"`
	MasterSHA256 string `json:"master_sha256,omitempty"`
	Area         string `json:"area"`
	Bytes        int64  `json:"bytes"`

	Port         int    `json:"port"`
	Label        string `json:"label"`
	TargetModel  string `json:"target_model"`
	TargetSerial string `json:"target_serial"`
	TargetSize   int64  `json:"target_size"`

	Result    string  `json:"result"` // PASS, FAIL or ABORTED
	Reason    string  `json:"reason,omitempty"`
	Written   int64   `json:"written"`
	Verified  int64   `json:"verified"`
	MBps      float64 `json:"mbps"`
	SHA256    string  `json:"sha256,omitempty"` // of what was written
	BadRanges []Range `json:"bad_ranges,omitempty"`

	Prev string `json:"prev"`
	Sum  string `json:"sum"`
}

// sum is the entry's checksum: SHA-256 over the previous sum and the
// entry's JSON with Sum left empty.
func (e Entry) sum() string {
	e.Sum = ""
	body, err := json.Marshal(e)
	if err != nil {
		panic(err) // plain fields only
	}
	h := sha256.New()
	h.Write([]byte(e.Prev))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// ErrDamaged is returned (wrapped) when the log does not verify.
var ErrDamaged = errors.New("the job log is damaged or was edited")

// Log is an open job log.
type Log struct {
	mu      sync.Mutex
	path    string
	f       *os.File
	entries []Entry
}

// Open opens (or creates) the log at path and verifies it. A torn last
// line (the entry a pulled plug interrupted) is cut off and reported in
// torn; any other damage is an error wrapping ErrDamaged that names the
// entry, and the log is still returned so what is there can be read.
func Open(path string) (l *Log, torn bool, err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, false, fmt.Errorf("job log: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, false, fmt.Errorf("job log: %w", err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		f.Close()
		return nil, false, fmt.Errorf("job log %s: %w", path, err)
	}
	l = &Log{path: path, f: f}
	good := int64(0) // bytes up to the end of the last whole line
	var verr error
	prev := ""
	r := bufio.NewReader(bytes.NewReader(data))
	for n := 1; ; n++ {
		line, rerr := r.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] != '\n' {
			torn = true // no newline: the write was cut short
			break
		}
		if rerr != nil {
			break
		}
		var e Entry
		if err := json.Unmarshal(line, &e); err != nil {
			if verr == nil {
				verr = fmt.Errorf("%w: %s line %d is not an entry: %v", ErrDamaged, path, n, err)
			}
		} else {
			switch {
			case e.Sum != e.sum() && verr == nil:
				verr = fmt.Errorf("%w: %s entry %d (line %d): checksum does not match its content", ErrDamaged, path, e.Seq, n)
			case e.Prev != prev && verr == nil:
				verr = fmt.Errorf("%w: %s entry %d (line %d): it does not follow the entry before (one is missing or was changed)", ErrDamaged, path, e.Seq, n)
			}
			prev = e.Sum
			l.entries = append(l.entries, e)
		}
		good += int64(len(line))
	}
	if torn {
		if err := f.Truncate(good); err != nil {
			f.Close()
			return nil, true, fmt.Errorf("job log %s: cutting off a torn entry: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, true, fmt.Errorf("job log %s: %w", path, err)
		}
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		f.Close()
		return nil, torn, fmt.Errorf("job log %s: %w", path, err)
	}
	return l, torn, verr
}

// Append adds entries (one job's ports) with one write and an fsync. It
// fills in Seq, Prev and Sum.
func (l *Log) Append(entries ...Entry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	prev, seq := "", int64(0)
	if n := len(l.entries); n > 0 {
		prev, seq = l.entries[n-1].Sum, l.entries[n-1].Seq
	}
	var buf bytes.Buffer
	done := make([]Entry, 0, len(entries))
	for _, e := range entries {
		seq++
		e.Seq, e.Prev = seq, prev
		e.Sum = e.sum()
		prev = e.Sum
		line, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("job log: %w", err)
		}
		buf.Write(line)
		buf.WriteByte('\n')
		done = append(done, e)
	}
	if _, err := l.f.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("job log %s: %w", l.path, err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("job log %s: %w", l.path, err)
	}
	l.entries = append(l.entries, done...)
	return nil
}

// Entries returns every entry, oldest first.
func (l *Log) Entries() []Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Entry(nil), l.entries...)
}

// Close closes the log.
func (l *Log) Close() error { return l.f.Close() }

// csvHeader names the CSV columns.
var csvHeader = []string{"seq", "time", "job", "mode", "master_kind", "master_name", "master_serial", "master_size",
	"master_sha256", "area", "bytes", "port", "label", "target_model", "target_serial", "target_size", "result",
	"reason", "written", "verified", "mbps", "sha256", "bad_ranges", "sum"}

// WriteCSV writes entries as CSV with a header row.
func WriteCSV(w io.Writer, entries []Entry) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	i64 := func(n int64) string { return strconv.FormatInt(n, 10) }
	for _, e := range entries {
		bad := ""
		for i, r := range e.BadRanges {
			if i > 0 {
				bad += " "
			}
			bad += fmt.Sprintf("%d+%d", r.Off, r.Len)
		}
		if err := cw.Write([]string{i64(e.Seq), e.Time.UTC().Format(time.RFC3339), e.Job, e.Mode, e.MasterKind, e.MasterName,
			e.MasterSerial, i64(e.MasterSize), e.MasterSHA256, e.Area, i64(e.Bytes), strconv.Itoa(e.Port), e.Label,
			e.TargetModel, e.TargetSerial, i64(e.TargetSize), e.Result, e.Reason, i64(e.Written), i64(e.Verified),
			strconv.FormatFloat(e.MBps, 'f', 1, 64), e.SHA256, bad, e.Sum}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes entries as one JSON array.
func WriteJSON(w io.Writer, entries []Entry) error {
	if entries == nil {
		entries = []Entry{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(entries)
}
