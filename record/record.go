// Package record is the production record: an append-only log of every
// drive the appliance copied, one entry per port per job. Each entry
// carries a SHA-256 over its own content and the previous entry's sum, so
// a damaged or edited log is detected; a chain head beside the log (the
// count and the last sum) catches entries cut off its end. Entries are
// appended with one write and an fsync, so a pulled plug loses at most
// the job being written, never an earlier one.
//
// record imports only the standard library and internal/fsys.
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
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/clonebay/clonebay/internal/fsys"
)

// Range is a byte range (bad sectors on the master).
type Range struct {
	Off int64 `json:"off"`
	Len int64 `json:"len"`
}

// Entry is one port's outcome in one job.
type Entry struct {
	Seq  int64     `json:"seq"`
	Time time.Time `json:"time"` // when the job ended
	// Started is when the job started; entries of older firmware lack it.
	Started time.Time `json:"started,omitzero"`
	Job     string    `json:"job"`
	// Lot names the production order the job was run for (empty: none).
	Lot  string `json:"lot,omitempty"`
	Mode string `json:"mode"`

	MasterKind   string `json:"master_kind"` // "drive", "image" (of the library) or "file"; "" for an erase
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
	// TargetCID is an SD or MMC card's card identification register, as
	// the kernel shows it: unique where the 32-bit card serial may not be.
	TargetCID  string `json:"target_cid,omitempty"`
	TargetSize int64  `json:"target_size"`

	Result    string  `json:"result"` // PASS, FAIL or ABORTED
	Reason    string  `json:"reason,omitempty"`
	Written   int64   `json:"written"`
	Verified  int64   `json:"verified"`
	MBps      float64 `json:"mbps"`
	SHA256    string  `json:"sha256,omitempty"` // of what was written
	BadRanges []Range `json:"bad_ranges,omitempty"`

	// Data duplication (mode "files"): the file system each target was
	// formatted with, its label, the set's files and the SHA-256 of its
	// listing. Empty for other jobs, and left out of their sums.
	FileSystem  string `json:"file_system,omitempty"`
	VolumeLabel string `json:"volume_label,omitempty"`
	Files       int    `json:"files,omitempty"`
	FilesSHA256 string `json:"files_sha256,omitempty"`

	Prev string `json:"prev"`
	Sum  string `json:"sum"`

	// Problem is set by Read on an entry that does not verify; it is never
	// stored and not part of the sum.
	Problem string `json:"problem,omitempty"`
}

// sum is the entry's checksum: SHA-256 over the previous sum and the
// entry's JSON with Sum left empty.
func (e Entry) sum() string {
	e.Sum, e.Problem = "", ""
	body, err := json.Marshal(e)
	if err != nil {
		panic(err) // plain fields only
	}
	h := sha256.New()
	h.Write([]byte(e.Prev))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// Checksum is the sum an entry must carry to verify (given its Prev): a
// copy of the log kept elsewhere, such as the fleet's database, is checked
// with it, entry by entry, without the appliance.
func (e Entry) Checksum() string { return e.sum() }

// ErrDamaged is returned (wrapped) when the log does not verify.
var ErrDamaged = errors.New("the job log is damaged or was edited")

// Head is the chain head: how many entries the log holds and the last
// one's sum. It is kept in a small file beside the log ("jobs.log.head"),
// replaced after every append, so that entries cut off the end of the
// log, which the chain alone cannot show, are caught. The log may be one
// append ahead of it: the power went between the two writes.
type Head struct {
	Count int64  `json:"count"`
	Sum   string `json:"sum"`
}

// HeadPath is where the chain head of the log at path is kept.
func HeadPath(path string) string { return path + ".head" }

// evidenceSuffix marks what an appliance start set aside when it found
// the log damaged: a cut-off tail, a head that did not match.
const evidenceSuffix = ".damaged-"

// Report is what reading a log found.
type Report struct {
	Path string
	// Entries is every entry that could be read, in file order; a bad one
	// has Problem set.
	Entries []Entry
	// Torn is the length of a last line cut short (no newline): the entry
	// a power loss interrupted, or a deliberate cut.
	Torn int64
	// Head is the chain head file's content; nil when there is none.
	Head *Head
	// HeadLags says the log is one append ahead of its head (the power
	// went between the log's write and the head's).
	HeadLags bool
	// Problems is the damage found, in file order: empty when the log
	// verifies.
	Problems []string
	// Notes are findings that are not damage (a power loss's torn entry,
	// a log without a head from an older firmware).
	Notes []string

	good    int64  // bytes up to the end of the last whole line
	tail    []byte // the torn line
	headBad bool   // the head does not match the log (not a lag), or does not read
	headRaw []byte // the head file's bytes, kept as evidence when headBad
}

// Err is nil when the log verifies, else an error wrapping ErrDamaged
// that names the first problem.
func (r *Report) Err() error {
	switch len(r.Problems) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("%w: %s", ErrDamaged, r.Problems[0])
	}
	return fmt.Errorf("%w: %s (and %d more problems)", ErrDamaged, r.Problems[0], len(r.Problems)-1)
}

// Bad counts the entries that do not verify.
func (r *Report) Bad() int {
	n := 0
	for _, e := range r.Entries {
		if e.Problem != "" {
			n++
		}
	}
	return n
}

// Read reads and checks the log at path and its head without changing
// anything: the commands that verify, show and export a log use it, so
// reading never alters the evidence. The error is for a log that cannot
// be read at all; damage is in the report.
func Read(files fsys.FS, path string) (*Report, error) {
	data, err := fsys.ReadRegular(files, path)
	if err != nil {
		return nil, fmt.Errorf("job log: %w", err)
	}
	r := check(path, data)
	hdata, err := fsys.ReadRegular(files, HeadPath(path))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("job log head: %w", err)
	default:
		r.headRaw = hdata
		var h Head
		if err := json.Unmarshal(hdata, &h); err != nil || h.Count < 0 {
			r.Problems = append(r.Problems, fmt.Sprintf("the chain head %s is not readable", HeadPath(path)))
			r.headBad = true
		} else {
			r.Head = &h
		}
	}
	r.checkHead()
	if ents, err := files.ReadDir(filepath.Dir(path)); err == nil {
		var kept []string
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), filepath.Base(path)+evidenceSuffix) {
				kept = append(kept, e.Name())
			}
		}
		if len(kept) > 0 {
			r.Problems = append(r.Problems, fmt.Sprintf("an earlier start found the log damaged and kept the evidence in %s (remove it once it has been looked at)",
				strings.Join(kept, ", ")))
		}
	}
	return r, nil
}

// check verifies the chain of the log's bytes.
func check(path string, data []byte) *Report {
	r := &Report{Path: path}
	prev := ""
	br := bufio.NewReader(bytes.NewReader(data))
	for n := 1; ; n++ {
		line, rerr := br.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] != '\n' {
			r.Torn, r.tail = int64(len(line)), line // no newline: the write was cut short
			if !tornEntry(line) {
				// Not the start of an entry: no power loss left this, and
				// the file may not be a job log at all.
				r.Problems = append(r.Problems, fmt.Sprintf("line %d is not an entry, nor the start of one cut short", n))
			}
			break
		}
		if rerr != nil {
			break
		}
		r.good += int64(len(line))
		var e Entry
		if err := json.Unmarshal(line, &e); err != nil {
			r.Problems = append(r.Problems, fmt.Sprintf("line %d is not an entry: %v", n, err))
			continue
		}
		e.Problem = "" // only this check says what is wrong with an entry
		switch {
		case e.Sum != e.sum():
			e.Problem = fmt.Sprintf("entry %d (line %d): checksum does not match its content", e.Seq, n)
		case e.Prev != prev:
			e.Problem = fmt.Sprintf("entry %d (line %d): it does not follow the entry before (one is missing or was changed)", e.Seq, n)
		}
		if e.Problem != "" {
			r.Problems = append(r.Problems, e.Problem)
		}
		prev = e.Sum
		r.Entries = append(r.Entries, e)
	}
	return r
}

// entryStart is how every entry's line begins (the first field of Entry).
const entryStart = `{"seq":`

// tornEntry reports whether a last line without a newline can be an entry
// whose write a power loss cut short: it begins as every entry does (or
// is cut before that is complete).
func tornEntry(line []byte) bool {
	n := min(len(line), len(entryStart))
	return string(line[:n]) == entryStart[:n]
}

// checkHead compares the log's end with its head.
func (r *Report) checkHead() {
	n := int64(len(r.Entries))
	h := r.Head
	switch {
	case h == nil && r.headBad:
		// Not readable: Read has said so.
	case h == nil && n > 0:
		r.Notes = append(r.Notes, "the log has no chain head (an older firmware wrote it): entries cut off its end cannot be detected until the appliance starts with it")
	case h == nil:
	case n < h.Count:
		r.headBad = true
		r.Problems = append(r.Problems, fmt.Sprintf("the log ends %d entries short of its chain head (%d entries, the last with sum %.12s...): entries were cut off the end", h.Count-n, h.Count, h.Sum))
	case h.Count == 0 && n == 0:
	case h.Count > 0 && r.Entries[h.Count-1].Sum != h.Sum:
		r.headBad = true
		r.Problems = append(r.Problems, fmt.Sprintf("entry %d is not the one the chain head names: the log was changed", h.Count))
	case n > h.Count:
		// One append may have reached the log and not the head.
		job := r.Entries[h.Count].Job
		for _, e := range r.Entries[h.Count:] {
			if e.Job != job {
				r.headBad = true
				r.Problems = append(r.Problems, fmt.Sprintf("the log holds %d entries past its chain head (%d), more than one job's: entries were added", n-h.Count, h.Count))
				return
			}
		}
		r.HeadLags = true
		r.Notes = append(r.Notes, "the last job's entries were written but not the chain head (a power loss)")
	}
	if r.Torn > 0 && !r.headBad && tornEntry(r.tail) {
		r.Notes = append(r.Notes, "the last entry was cut short by a power loss")
	}
}

// Log is an open job log.
type Log struct {
	mu      sync.Mutex
	fsys    fsys.FS
	path    string
	f       fsys.File
	entries []Entry
}

// Open opens (or creates) the log at path for the appliance, checks it
// and repairs what a power loss leaves: a torn last entry is cut off, a
// head one append behind is brought up to date, a missing head is made.
// Damage is not repaired: it is returned as an error wrapping ErrDamaged
// (with the report), and the log is still returned so that new jobs are
// recorded; what would be lost by going on (a cut-off tail, a head that
// does not match) is first kept beside the log as evidence
// ("jobs.log.damaged-..."), which makes every later check fail until
// someone has looked at it and removed it.
func Open(files fsys.FS, path string) (*Log, *Report, error) {
	if err := files.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, nil, fmt.Errorf("job log: %w", err)
	}
	f, err := files.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("job log: %w", err)
	}
	fail := func(err error) (*Log, *Report, error) {
		f.Close()
		return nil, nil, fmt.Errorf("job log %s: %w", path, err)
	}
	r, err := Read(files, path)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	l := &Log{fsys: files, path: path, f: f, entries: r.Entries}
	stamp := time.Now().UTC().Format("20060102-150405.000000000")
	if r.Torn > 0 {
		if r.headBad || len(r.Problems) > 0 {
			// Not what a power loss leaves: keep the cut bytes.
			if err := fsys.WriteFileAtomic(files, path+evidenceSuffix+stamp+".tail", r.tail, 0o644); err != nil {
				return fail(fmt.Errorf("keeping a damaged tail: %w", err))
			}
		}
		if err := f.Truncate(r.good); err != nil {
			return fail(fmt.Errorf("cutting off a torn entry: %w", err))
		}
		if err := f.Sync(); err != nil {
			return fail(err)
		}
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		return fail(err)
	}
	// A new log's head also makes the log's own name durable: both are
	// in one folder, which writing the head syncs.
	if r.Head == nil || r.HeadLags || r.headBad {
		if r.headBad {
			if err := fsys.WriteFileAtomic(files, path+evidenceSuffix+stamp+".head", r.headRaw, 0o644); err != nil {
				return fail(fmt.Errorf("keeping a damaged head: %w", err))
			}
		}
		if err := l.writeHead(); err != nil {
			return fail(err)
		}
	}
	return l, r, r.Err()
}

// writeHead replaces the head file with the log's end; l.mu held or not
// yet shared.
func (l *Log) writeHead() error {
	h := Head{Count: int64(len(l.entries))}
	if h.Count > 0 {
		h.Sum = l.entries[h.Count-1].Sum
	}
	data, _ := json.Marshal(h)
	if err := fsys.WriteFileAtomic(l.fsys, HeadPath(l.path), append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("job log head: %w", err)
	}
	return nil
}

// Append adds one job's entries with one write and an fsync, then moves
// the chain head. It fills in Seq, Prev and Sum. The entries must belong
// to one job: the head check counts on it.
func (l *Log) Append(entries ...Entry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(entries) == 0 {
		return nil
	}
	prev, seq := "", int64(0)
	if n := len(l.entries); n > 0 {
		prev, seq = l.entries[n-1].Sum, l.entries[n-1].Seq
	}
	var buf bytes.Buffer
	done := make([]Entry, 0, len(entries))
	for _, e := range entries {
		if e.Job != entries[0].Job {
			return fmt.Errorf("job log: one append holds jobs %q and %q", entries[0].Job, e.Job)
		}
		seq++
		e.Seq, e.Prev, e.Problem = seq, prev, ""
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
	return l.writeHead()
}

// Entries returns every entry, oldest first.
func (l *Log) Entries() []Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Entry(nil), l.entries...)
}

// Snapshot returns the entries so far, oldest first, without copying
// them: entries are only ever appended, so the slice stays as it is while
// the log grows. It is for reading; a caller must not change an entry.
func (l *Log) Snapshot() []Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.entries[:len(l.entries):len(l.entries)]
}

// Len is how many entries the log holds.
func (l *Log) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

// Close closes the log.
func (l *Log) Close() error { return l.f.Close() }

// Path is the log's file.
func (l *Log) Path() string { return l.path }

// csvHeader names the CSV columns.
var csvHeader = []string{"seq", "time", "job", "lot", "mode", "master_kind", "master_name", "master_serial", "master_size",
	"master_sha256", "area", "bytes", "port", "label", "target_model", "target_serial", "target_cid", "target_size", "result",
	"reason", "written", "verified", "mbps", "sha256", "bad_ranges", "sum", "problem"}

// Cell keeps a spreadsheet from running a CSV field as a formula: text
// that starts like one gets a leading apostrophe. Drive models and
// serials come from the drives themselves, names from whoever typed them.
func Cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// WriteCSV writes entries as CSV with a header row; the last column says
// what is wrong with an entry that does not verify. Text fields that a
// spreadsheet would run as a formula are neutralised (see Cell).
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
		c := Cell
		if err := cw.Write([]string{i64(e.Seq), e.Time.UTC().Format(time.RFC3339), c(e.Job), c(e.Lot), c(e.Mode), c(e.MasterKind), c(e.MasterName),
			c(e.MasterSerial), i64(e.MasterSize), c(e.MasterSHA256), c(e.Area), i64(e.Bytes), strconv.Itoa(e.Port), c(e.Label),
			c(e.TargetModel), c(e.TargetSerial), c(e.TargetCID), i64(e.TargetSize), c(e.Result), c(e.Reason), i64(e.Written), i64(e.Verified),
			strconv.FormatFloat(e.MBps, 'f', 1, 64), c(e.SHA256), bad, c(e.Sum), c(e.Problem)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes entries as one JSON array; an entry that does not
// verify carries a "problem".
func WriteJSON(w io.Writer, entries []Entry) error {
	if entries == nil {
		entries = []Entry{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(entries)
}
