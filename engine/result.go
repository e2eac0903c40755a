package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"sync"
	"time"

	"github.com/clonebay/clonebay/internal/units"
)

// Phase is where a port is in its job.
type Phase int

// Port phases, in order.
const (
	PhaseWaiting    Phase = iota
	PhaseQualifying       // checking that the target stores what its size says
	PhaseReading          // hash only: reading the master
	PhaseCopying
	PhaseSyncing
	PhaseVerifying
	PhaseDone
)

func (p Phase) String() string {
	switch p {
	case PhaseWaiting:
		return "waiting"
	case PhaseQualifying:
		return "checking"
	case PhaseReading:
		return "reading"
	case PhaseCopying:
		return "copying"
	case PhaseSyncing:
		return "syncing"
	case PhaseVerifying:
		return "verifying"
	case PhaseDone:
		return "done"
	}
	return fmt.Sprintf("Phase(%d)", int(p))
}

// Status is a port's outcome.
type Status int

// Port outcomes. A port that was cancelled is never PASS.
const (
	Pass Status = iota + 1
	Fail
	Aborted
)

func (s Status) String() string {
	switch s {
	case Pass:
		return "PASS"
	case Fail:
		return "FAIL"
	case Aborted:
		return "ABORTED"
	}
	return "RUNNING"
}

// Cause is a short, fixed name for why a port did not pass, for the LCD.
type Cause string

// Causes of failure.
const (
	CauseTooSmall Cause = "too small"
	// CauseNoMedia: the drive holds no bytes (a card reader without its
	// card).
	CauseNoMedia  Cause = "no media"
	CauseWrite    Cause = "write error"
	CauseSync     Cause = "sync error"
	CauseRead     Cause = "read error"
	CauseMismatch Cause = "mismatch"
	CauseMaster   Cause = "master error"
	// CauseMasterChanged: the master's bytes differ from what the job read
	// of them (ErrMasterChanged).
	CauseMasterChanged Cause = "master changed"
	CauseAborted       Cause = "aborted"
)

// PortResult is one port's outcome.
type PortResult struct {
	Port      int
	Label     string
	Status    Status
	Phase     Phase  // where the port ended
	Cause     Cause  // empty on PASS
	Reason    string // names the port, the operation and the offset
	Offset    int64  // first bad byte, or -1
	Written   int64  // bytes written
	Verified  int64  // bytes read back and found right
	Discarded int64  // bytes the plan skipped that were discarded (Clean)
	Duration  time.Duration
	MBps      float64 // average write speed, 10^6 bytes a second
	SHA256    string  // of the written content, once it passed
}

// Result is a job's outcome.
type Result struct {
	Mode       Mode
	Area       string
	Bytes      int64 // bytes in the plan
	Need       int64 // bytes a target must hold
	SourceSize int64
	SHA256     string // of the master's planned content
	Ports      []PortResult
	Duration   time.Duration
	Err        error // the master failed: every port failed with it
	// BadRanges are the master's unreadable ranges that were copied as
	// zeros under the zero-fill policy; the ports still PASS, "with bad
	// sectors on the master".
	BadRanges []Extent
	// BufferBytes is the memory the job's chunk buffers took, and the
	// master's own (an image's frames). It is bounded by (the window's
	// max + 2 per target + 1) chunks (a target's own, and one it still
	// writes from after the window let it go), a quarter chunk for each
	// target that is patched or re-synced and the master's bound,
	// whatever the image size.
	BufferBytes int64
	// MasterRead is the bytes read from the master: planning, the one
	// read of the plan, targets catching up, the head written last and
	// the re-check at the end.
	MasterRead int64
	// Rechecked is the part of MasterRead read again at the end of the
	// job (Options.MasterRecheck).
	Rechecked int64
}

// Count returns how many ports ended with s.
func (r *Result) Count(s Status) int {
	n := 0
	for _, p := range r.Ports {
		if p.Status == s {
			n++
		}
	}
	return n
}

// OK reports whether the job did all it was asked: the master was read,
// and every port passed.
func (r *Result) OK() bool { return r.Err == nil && r.Count(Pass) == len(r.Ports) }

// Port returns the result of port n.
func (r *Result) Port(n int) (PortResult, bool) {
	for _, p := range r.Ports {
		if p.Port == n {
			return p, true
		}
	}
	return PortResult{}, false
}

// Progress is a port's progress, reported at a bounded rate.
type Progress struct {
	Port  int // 0 is the master (hash only)
	Label string
	Phase Phase
	Done  int64   // bytes done in this phase
	Total int64   // bytes in this phase
	Rate  float64 // bytes a second, smoothed
	ETA   time.Duration
	Ended bool // the port has finished (pass, fail or abort)
}

// Percent is the share of the phase done, 0..100. A phase of no bytes
// (a drive that reports none) is 0 % done unless the port is done: a
// port still waiting, or one that failed there, did nothing.
func (p Progress) Percent() int {
	switch {
	case p.Total <= 0 && p.Phase == PhaseDone:
		return 100
	case p.Total <= 0:
		return 0
	}
	return int(min(p.Done, p.Total) * 100 / p.Total)
}

// meter turns byte counts into rate-limited progress events.
type meter struct {
	mu       sync.Mutex
	fn       func(Progress)
	every    time.Duration
	total    int64
	last     Progress
	lastAt   time.Time
	rateAt   time.Time
	rateDone int64
}

func newMeter(o Options, port int, label string, total int64) *meter {
	return &meter{fn: o.OnProgress, every: o.ProgressInterval, total: total, last: Progress{Port: port, Label: label}}
}

// more adds to the total: a port's own bytes outside the plan.
func (m *meter) more(n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.total += n
}

// totalBytes is the port's whole work: the plan and its own bytes
// outside it.
func (m *meter) totalBytes() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.total
}

// report notes done bytes in a phase; done < 0 keeps the last count and
// ends the port. force sends even within the interval.
func (m *meter) report(phase Phase, done int64, force bool) {
	if m.fn == nil {
		return
	}
	m.mu.Lock()
	now := time.Now()
	ended := done < 0 || phase == PhaseDone
	if done < 0 {
		done = m.last.Done
	}
	if phase != m.last.Phase {
		force = true
		m.rateAt, m.rateDone = now, done
		m.last.Rate = 0
	}
	if !force && now.Sub(m.lastAt) < m.every {
		m.mu.Unlock()
		return
	}
	if dt := now.Sub(m.rateAt); dt > 0 && done > m.rateDone {
		inst := float64(done-m.rateDone) / dt.Seconds()
		if m.last.Rate == 0 {
			m.last.Rate = inst
		} else {
			m.last.Rate = 0.7*m.last.Rate + 0.3*inst
		}
		m.rateAt, m.rateDone = now, done
	}
	m.last.Phase, m.last.Done, m.last.Total, m.last.Ended = phase, done, m.total, ended
	m.last.ETA = 0
	if m.last.Rate > 0 && m.total > done {
		m.last.ETA = time.Duration(float64(m.total-done) / m.last.Rate * float64(time.Second))
	}
	m.lastAt = now
	p := m.last
	m.mu.Unlock()
	m.fn(p)
}

// contentHash is the SHA-256 of the whole copied content, for the report.
type contentHash struct{ h hash.Hash }

func newContentHash() *contentHash { return &contentHash{h: sha256.New()} }

func (c *contentHash) Write(p []byte) { c.h.Write(p) }
func (c *contentHash) Sum() string    { return hex.EncodeToString(c.h.Sum(nil)) }

// FormatSize writes a byte count the way drive labels do: decimal units,
// at most two decimals ("7.45 GB", "512 MB", "900 B").
func FormatSize(n int64) string { return units.Size(n, false) }

// BadSectors counts the 512-byte sectors in the bad ranges.
func (r *Result) BadSectors() int64 {
	var n int64
	for _, e := range r.BadRanges {
		n += (e.Len + 511) / 512
	}
	return n
}
