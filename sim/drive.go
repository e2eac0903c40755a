package sim

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/clonebay/clonebay/hal"
)

// DriveSpec describes a virtual drive.
type DriveSpec struct {
	Size                  int64 // bytes the drive reports
	SectorSize            int   // logical sector size; 512 when 0
	PhysicalSectorSize    int   // 4096 when 0 (at least SectorSize)
	Vendor, Model, Serial string
	Bus                   hal.Bus // hal.BusVirtual when empty
	NotRemovable          bool
	ReadMBps, WriteMBps   float64       // media speed in MB/s (10^6 bytes); 0 is unlimited
	Latency               time.Duration // added to every media access
	File                  string        // backing sparse file; in memory when empty
	Content               []byte        // written at offset 0 when the drive is made
}

// FaultKind names a fault a virtual drive can be told to have.
type FaultKind int

// The fault kinds.
const (
	// WriteError fails writes that touch [Off, Off+Len) with EIO; the bytes
	// before Off are written.
	WriteError FaultKind = iota + 1
	// ReadError fails media reads that touch [Off, Off+Len) with EIO: a bad
	// sector.
	ReadError
	// Corrupt makes media reads of [Off, Off+Len) return other bytes than
	// were written. Reads served from the cache (before DropCaches) are
	// right, which is how a cached verify would miss it.
	Corrupt
	// RemoveAt pulls the drive out when an access reaches offset Off.
	RemoveAt
	// ReadOnlyMedia write-protects the media: every write fails.
	ReadOnlyMedia
	// FakeCapacity makes the drive store only Off bytes while reporting its
	// full size: beyond Off, writes wrap around to the start (Wrap) or
	// vanish, the way counterfeit sticks behave.
	FakeCapacity
	// IgnoreWrites makes writes to [Off, Off+Len) report success and store
	// nothing: the media keeps its old contents (a dying stick).
	IgnoreWrites
)

func (k FaultKind) String() string {
	switch k {
	case WriteError:
		return "write-error"
	case ReadError:
		return "read-error"
	case Corrupt:
		return "corrupt"
	case RemoveAt:
		return "remove"
	case ReadOnlyMedia:
		return "read-only"
	case FakeCapacity:
		return "fake-capacity"
	case IgnoreWrites:
		return "ignore-writes"
	}
	return fmt.Sprintf("FaultKind(%d)", int(k))
}

// Fault is one injected fault.
type Fault struct {
	Kind FaultKind
	Off  int64
	Len  int64 // bytes from Off; 1 sector when 0 (WriteError, ReadError, Corrupt)
	// Times makes a WriteError or ReadError transient: it fires that many
	// times and then the access works. 0 means it always fires.
	Times int
	Wrap  bool // FakeCapacity: wrap around instead of dropping writes
}

func (f Fault) String() string {
	switch f.Kind {
	case ReadOnlyMedia:
		return f.Kind.String()
	case RemoveAt:
		return fmt.Sprintf("%s@%d", f.Kind, f.Off)
	case FakeCapacity:
		return fmt.Sprintf("%s(real %d)", f.Kind, f.Off)
	}
	return fmt.Sprintf("%s@%d+%d", f.Kind, f.Off, f.Len)
}

// Stats counts what a drive did.
type Stats struct {
	BytesRead, BytesWritten int64 // media bytes moved by the callers
	Reads, Writes           int   // calls
	CachedReads             int   // reads served wholly from the cache
	Syncs, Drops            int
}

// Drive is a virtual drive: the media and its faults. Open it for access;
// the Bay opens it for the firmware.
type Drive struct {
	info hal.DriveInfo

	mu        sync.Mutex
	spec      DriveSpec
	st        store
	faults    []Fault
	fired     []int     // per fault: times fired
	cached    intervals // ranges written since the last DropCaches
	unsynced  intervals // ranges written since the last Sync: a power cut loses them
	powerOff  bool
	power     int     // counts power cuts; a handle opened before one is dead
	blockedBy *handle // the master handle that write-blocks the drive, or nil
	removed   bool
	writer    bool // a handle is open for writing
	busyUntil time.Time
	stats     Stats
	onRemove  func() // set by the Bay: a removal fault pulls the drive
}

// NewDrive makes a virtual drive.
func NewDrive(spec DriveSpec) (*Drive, error) {
	if spec.SectorSize == 0 {
		spec.SectorSize = 512
	}
	if spec.PhysicalSectorSize == 0 {
		spec.PhysicalSectorSize = max(4096, spec.SectorSize)
	}
	switch {
	case spec.Size < 0:
		return nil, fmt.Errorf("sim drive: size %d is negative", spec.Size)
	case spec.SectorSize < 512 || spec.SectorSize&(spec.SectorSize-1) != 0:
		return nil, fmt.Errorf("sim drive: sector size %d is not a power of two >= 512", spec.SectorSize)
	case spec.PhysicalSectorSize < spec.SectorSize || spec.PhysicalSectorSize&(spec.PhysicalSectorSize-1) != 0:
		return nil, fmt.Errorf("sim drive: physical sector size %d is not a power of two >= %d", spec.PhysicalSectorSize, spec.SectorSize)
	case spec.Size%int64(spec.SectorSize) != 0:
		return nil, fmt.Errorf("sim drive: size %d is not a multiple of the sector size %d", spec.Size, spec.SectorSize)
	case int64(len(spec.Content)) > spec.Size:
		return nil, fmt.Errorf("sim drive: %d bytes of content do not fit %d bytes", len(spec.Content), spec.Size)
	}
	if spec.Bus == "" {
		spec.Bus = hal.BusVirtual
	}
	d := &Drive{spec: spec}
	d.info = hal.DriveInfo{
		Vendor: spec.Vendor, Model: spec.Model, Serial: spec.Serial, Bus: spec.Bus,
		Size: spec.Size, LogicalSectorSize: spec.SectorSize, PhysicalSectorSize: spec.PhysicalSectorSize,
		Removable: !spec.NotRemovable,
	}
	if spec.File != "" {
		st, err := newFileStore(spec.File, spec.Size)
		if err != nil {
			return nil, err
		}
		d.st = st
	} else {
		d.st = newMemStore()
	}
	if len(spec.Content) > 0 {
		if err := d.st.writeAt(spec.Content, 0); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// MustDrive is NewDrive for tests and built-in sessions whose specs are
// known to be right.
func MustDrive(spec DriveSpec) *Drive {
	d, err := NewDrive(spec)
	if err != nil {
		panic(err)
	}
	return d
}

// Info returns the drive's identity; Port, Label, Node and Path are set by
// the Bay it is in.
func (d *Drive) Info() hal.DriveInfo {
	d.mu.Lock()
	defer d.mu.Unlock()
	info := d.info
	info.ReadOnly = d.hasFault(ReadOnlyMedia)
	return info
}

func (d *Drive) setPlace(port int, label, node, path string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.info.Port, d.info.Label, d.info.Node, d.info.Path = port, label, node, path
}

// Inject adds a fault.
func (d *Drive) Inject(f Fault) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if f.Len == 0 {
		f.Len = int64(d.spec.SectorSize)
	}
	d.faults = append(d.faults, f)
	d.fired = append(d.fired, 0)
}

// Faults lists the injected faults.
func (d *Drive) Faults() []Fault {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.faults)
}

// ClearFaults removes every fault.
func (d *Drive) ClearFaults() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.faults, d.fired = nil, nil
}

// Stats returns what the drive did so far.
func (d *Drive) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}

// Removed reports whether the drive was pulled out.
func (d *Drive) Removed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.removed
}

// markRemoved makes every later access fail with hal.ErrRemoved.
func (d *Drive) markRemoved() {
	d.mu.Lock()
	d.removed = true
	d.mu.Unlock()
}

// Media reads n bytes of the media at off as they really are (faults that
// change reads do not apply), for tests to check what a drive holds.
func (d *Drive) Media(off, n int64) ([]byte, error) {
	if off < 0 || n < 0 || off+n > d.spec.Size {
		return nil, fmt.Errorf("sim drive: media %d+%d: %w", off, n, hal.ErrOutOfRange)
	}
	p := make([]byte, n)
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.mediaRead(p, off); err != nil {
		return nil, err
	}
	return p, nil
}

// Close releases a file-backed drive's file.
func (d *Drive) Close() error { return d.st.close() }

// Open opens the drive. A drive holds one writer at a time; readers are
// not counted.
func (d *Drive) Open(write bool) (hal.Drive, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.removed:
		return nil, fmt.Errorf("open %s: %w", d.info.Node, hal.ErrRemoved)
	case d.powerOff:
		return nil, fmt.Errorf("open %s: %w", d.info.Node, ErrPowerOff)
	case write && d.hasFault(ReadOnlyMedia):
		return nil, fmt.Errorf("open %s for writing: %w", d.info.Node, hal.ErrReadOnly)
	case write && d.blockedBy != nil:
		return nil, fmt.Errorf("open %s for writing: it is a job's master, write-blocked: %w", d.info.Node, hal.ErrReadOnly)
	case write && d.writer:
		return nil, fmt.Errorf("open %s for writing: %w", d.info.Node, hal.ErrBusy)
	}
	if write {
		d.writer = true
	}
	return &handle{d: d, write: write, power: d.power}, nil
}

// ErrPowerOff is returned (wrapped) by a drive whose power was cut, and
// by every handle opened before the cut.
var ErrPowerOff = fmt.Errorf("the power was cut: %w", hal.ErrRemoved)

// lostByPowerCut is what a range the drive never flushed holds after a
// power cut: not the old data, not the new.
const lostByPowerCut = 0xee

// PowerCut cuts the drive's power, as a pulled plug of the appliance does:
// every range written since the last Sync is lost (it holds garbage, not
// the data), every open handle fails from now on, and the drive cannot be
// opened until PowerOn.
func (d *Drive) PowerCut() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, x := range d.unsynced {
		garbage := make([]byte, x.hi-x.lo)
		for i := range garbage {
			garbage[i] = lostByPowerCut
		}
		_ = d.st.writeAt(garbage, x.lo)
	}
	d.unsynced, d.cached = nil, nil
	d.powerOff = true
	d.power++
	d.writer, d.blockedBy = false, nil
}

// PowerOn turns a drive whose power was cut on again.
func (d *Drive) PowerOn() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.powerOff = false
}

func (d *Drive) hasFault(k FaultKind) bool {
	for _, f := range d.faults {
		if f.Kind == k {
			return true
		}
	}
	return false
}

// hit returns the first armed fault of kind k touching [off, off+n) and
// counts it as fired.
func (d *Drive) hit(k FaultKind, off, n int64) (Fault, bool) {
	for i, f := range d.faults {
		if f.Kind != k || off >= f.Off+f.Len || off+n <= f.Off {
			continue
		}
		if f.Times > 0 {
			if d.fired[i] >= f.Times {
				continue
			}
		}
		d.fired[i]++
		return f, true
	}
	return Fault{}, false
}

// pace sleeps for the media time of n bytes in one direction, sharing the
// drive's bandwidth between every caller.
func (d *Drive) pace(n int64, mbps float64) {
	if mbps <= 0 && d.spec.Latency == 0 {
		return
	}
	dur := d.spec.Latency
	if mbps > 0 {
		dur += time.Duration(float64(n) / (mbps * 1e6) * float64(time.Second))
	}
	d.mu.Lock()
	now := time.Now()
	start := d.busyUntil
	if start.Before(now) {
		start = now
	}
	d.busyUntil = start.Add(dur)
	wait := d.busyUntil.Sub(now)
	d.mu.Unlock()
	time.Sleep(wait)
}

// realOff maps a reported offset onto the media a fake-capacity drive
// really has; ok is false when the byte does not exist.
func (d *Drive) realOff(off int64) (int64, bool) {
	for _, f := range d.faults {
		if f.Kind == FakeCapacity && off >= f.Off {
			if f.Wrap && f.Off > 0 {
				return off % f.Off, true
			}
			return 0, false
		}
	}
	return off, true
}

// mediaRead reads the stored bytes, mapping fake capacity; d.mu held.
func (d *Drive) mediaRead(p []byte, off int64) error {
	return d.eachReal(p, off, func(q []byte, real int64, ok bool) error {
		if !ok {
			clear(q)
			return nil
		}
		return d.st.readAt(q, real)
	})
}

func (d *Drive) mediaWrite(p []byte, off int64) error {
	return d.eachReal(p, off, func(q []byte, real int64, ok bool) error {
		if !ok {
			return nil
		}
		return d.st.writeAt(q, real)
	})
}

// mediaWriteKept writes what IgnoreWrites faults let through; d.mu held.
func (d *Drive) mediaWriteKept(p []byte, off int64) error {
	if len(p) == 0 {
		return nil
	}
	end := off + int64(len(p))
	for _, f := range d.faults {
		if f.Kind != IgnoreWrites || off >= f.Off+f.Len || end <= f.Off {
			continue
		}
		lo, hi := max(off, f.Off), min(end, f.Off+f.Len)
		if err := d.mediaWriteKept(p[:lo-off], off); err != nil {
			return err
		}
		return d.mediaWriteKept(p[hi-off:], hi)
	}
	return d.mediaWrite(p, off)
}

// eachReal splits an access at the real capacity of a fake drive.
func (d *Drive) eachReal(p []byte, off int64, fn func(q []byte, real int64, ok bool) error) error {
	limit := int64(-1)
	for _, f := range d.faults {
		if f.Kind == FakeCapacity {
			limit = f.Off
		}
	}
	for len(p) > 0 {
		n := int64(len(p))
		if limit > 0 {
			if off < limit {
				n = min(n, limit-off)
			} else if r := off % limit; n > limit-r {
				n = limit - r
			}
		}
		real, ok := d.realOff(off)
		if err := fn(p[:n], real, ok); err != nil {
			return err
		}
		p, off = p[n:], off+n
	}
	return nil
}

func (d *Drive) ioErr(op string, off int64) error {
	return &hal.IOError{Op: op, Node: d.info.Node, Off: off, Err: syscall.EIO}
}

func (d *Drive) readAt(p []byte, off int64) (int, error) {
	d.mu.Lock()
	if d.removed {
		d.mu.Unlock()
		return 0, fmt.Errorf("read %s at %d: %w", d.info.Node, off, hal.ErrRemoved)
	}
	if off < 0 {
		d.mu.Unlock()
		return 0, fmt.Errorf("read %s at %d: %w", d.info.Node, off, hal.ErrOutOfRange)
	}
	if off >= d.spec.Size {
		d.mu.Unlock()
		return 0, io.EOF
	}
	want := min(int64(len(p)), d.spec.Size-off)
	short := want < int64(len(p))
	p = p[:want]
	if f, ok := d.hit(RemoveAt, off, want); ok {
		d.mu.Unlock()
		d.pull()
		return 0, fmt.Errorf("read %s at %d: %w", d.info.Node, max(off, f.Off), hal.ErrRemoved)
	}
	fromCache := d.cached.covers(off, want)
	d.stats.Reads++
	if fromCache {
		d.stats.CachedReads++
	}
	d.mu.Unlock()
	if !fromCache {
		d.pace(want, d.spec.ReadMBps)
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	if d.removed {
		return 0, fmt.Errorf("read %s at %d: %w", d.info.Node, off, hal.ErrRemoved)
	}
	n := want
	var err error
	if !fromCache {
		if f, ok := d.hit(ReadError, off, want); ok {
			n = max(0, f.Off-off)
			err = d.ioErr("read", max(off, f.Off))
		}
	}
	if rerr := d.mediaRead(p[:n], off); rerr != nil {
		return 0, fmt.Errorf("read %s at %d: %w", d.info.Node, off, rerr)
	}
	if !fromCache {
		d.corrupt(p[:n], off)
	}
	d.stats.BytesRead += n
	if err == nil && short {
		err = io.EOF
	}
	return int(n), err
}

// corrupt flips the bytes of a read that fall in a Corrupt fault's range,
// except those still in the cache; d.mu held.
func (d *Drive) corrupt(p []byte, off int64) {
	for _, f := range d.faults {
		if f.Kind != Corrupt {
			continue
		}
		lo, hi := max(off, f.Off), min(off+int64(len(p)), f.Off+f.Len)
		for o := lo; o < hi; o++ {
			if !d.cached.covers(o, 1) {
				p[o-off] ^= 0x5a
			}
		}
	}
}

func (d *Drive) writeAt(p []byte, off int64, power int) (int, error) {
	n := int64(len(p))
	d.mu.Lock()
	switch {
	case d.removed:
		d.mu.Unlock()
		return 0, fmt.Errorf("write %s at %d: %w", d.info.Node, off, hal.ErrRemoved)
	case d.hasFault(ReadOnlyMedia):
		d.mu.Unlock()
		return 0, fmt.Errorf("write %s at %d: %w", d.info.Node, off, hal.ErrReadOnly)
	case d.blockedBy != nil:
		d.mu.Unlock()
		return 0, fmt.Errorf("write %s at %d: write-blocked: %w", d.info.Node, off, hal.ErrReadOnly)
	case off < 0 || off+n > d.spec.Size:
		d.mu.Unlock()
		return 0, fmt.Errorf("write %s at %d+%d (size %d): %w", d.info.Node, off, n, d.spec.Size, hal.ErrOutOfRange)
	}
	if f, ok := d.hit(RemoveAt, off, n); ok {
		// The bytes before the pull point made it.
		done := max(0, f.Off-off)
		_ = d.mediaWrite(p[:done], off)
		d.stats.BytesWritten += done
		d.mu.Unlock()
		d.pull()
		return int(done), fmt.Errorf("write %s at %d: %w", d.info.Node, max(off, f.Off), hal.ErrRemoved)
	}
	d.stats.Writes++
	d.mu.Unlock()
	d.pace(n, d.spec.WriteMBps)

	d.mu.Lock()
	defer d.mu.Unlock()
	if d.removed {
		return 0, fmt.Errorf("write %s at %d: %w", d.info.Node, off, hal.ErrRemoved)
	}
	if d.power != power {
		return 0, fmt.Errorf("write %s at %d: %w", d.info.Node, off, ErrPowerOff)
	}
	done, err := n, error(nil)
	if f, ok := d.hit(WriteError, off, n); ok {
		done = max(0, f.Off-off)
		err = d.ioErr("write", max(off, f.Off))
	}
	if werr := d.mediaWriteKept(p[:done], off); werr != nil {
		return 0, fmt.Errorf("write %s at %d: %w", d.info.Node, off, werr)
	}
	d.cached.add(off, done)
	d.unsynced.add(off, done)
	d.stats.BytesWritten += done
	return int(done), err
}

// pull removes the drive the way a removal fault does: from its bay when
// it is in one, so the firmware also sees the event.
func (d *Drive) pull() {
	d.mu.Lock()
	onRemove := d.onRemove
	d.mu.Unlock()
	if onRemove != nil {
		onRemove()
	} else {
		d.markRemoved()
	}
}

// handle is one open of a Drive.
type handle struct {
	d      *Drive
	write  bool
	power  int // the drive's power count when it was opened
	mu     sync.Mutex
	closed bool
}

var _ hal.Drive = (*handle)(nil)

func (h *handle) check(op string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return fmt.Errorf("%s %s: %w", op, h.d.info.Node, hal.ErrClosed)
	}
	h.d.mu.Lock()
	defer h.d.mu.Unlock()
	if h.power != h.d.power {
		return fmt.Errorf("%s %s: %w", op, h.d.info.Node, ErrPowerOff)
	}
	return nil
}

var _ hal.Master = (*handle)(nil)

// WriteBlock makes the drive read-only for every handle, and for every
// open for writing, until this handle is closed: a master's kernel
// write-block.
func (h *handle) WriteBlock() error {
	if err := h.check("write-block"); err != nil {
		return err
	}
	d := h.d
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.blockedBy == h:
		return nil
	case d.blockedBy != nil:
		return fmt.Errorf("write-block %s: %w: another job's master", d.info.Node, hal.ErrBusy)
	case d.writer:
		return fmt.Errorf("write-block %s: %w: it is open for writing", d.info.Node, hal.ErrBusy)
	}
	d.blockedBy = h
	return nil
}

// WriteBlocked reports whether a master's write-block is on the drive.
func (d *Drive) WriteBlocked() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.blockedBy != nil
}

func (h *handle) Info() hal.DriveInfo { return h.d.Info() }

func (h *handle) Size() int64 { return h.d.spec.Size }

// SectorSize is the logical sector size.
func (h *handle) SectorSize() int { return h.d.spec.SectorSize }

// ID is unique per virtual drive, wherever it is inserted.
func (h *handle) ID() string { return fmt.Sprintf("sim:%p", h.d) }

func (h *handle) ReadAt(p []byte, off int64) (int, error) {
	if err := h.check("read"); err != nil {
		return 0, err
	}
	return h.d.readAt(p, off)
}

func (h *handle) WriteAt(p []byte, off int64) (int, error) {
	if err := h.check("write"); err != nil {
		return 0, err
	}
	if !h.write {
		return 0, fmt.Errorf("write %s: opened read-only: %w", h.d.info.Node, hal.ErrReadOnly)
	}
	return h.d.writeAt(p, off, h.power)
}

func (h *handle) Sync() error {
	if err := h.check("sync"); err != nil {
		return err
	}
	d := h.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.removed {
		return fmt.Errorf("sync %s: %w", d.info.Node, hal.ErrRemoved)
	}
	d.stats.Syncs++
	d.unsynced = nil
	return nil
}

func (h *handle) DropCaches() error {
	if err := h.check("drop caches"); err != nil {
		return err
	}
	d := h.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.removed {
		return fmt.Errorf("drop caches %s: %w", d.info.Node, hal.ErrRemoved)
	}
	d.cached = nil
	d.stats.Drops++
	return nil
}

func (h *handle) Discard(off, length int64, secure bool) error {
	if err := h.check("discard"); err != nil {
		return err
	}
	if secure {
		return fmt.Errorf("secure discard %s: %w", h.d.info.Node, hal.ErrNoDiscard)
	}
	zeros := make([]byte, min(length, 1<<20))
	for done := int64(0); done < length; {
		n := min(int64(len(zeros)), length-done)
		if _, err := h.WriteAt(zeros[:n], off+done); err != nil {
			return fmt.Errorf("discard: %w", err)
		}
		done += n
	}
	return nil
}

func (h *handle) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return fmt.Errorf("close %s: %w", h.d.info.Node, hal.ErrClosed)
	}
	h.closed = true
	h.d.mu.Lock()
	if h.write && h.power == h.d.power {
		h.d.writer = false
	}
	if h.d.blockedBy == h {
		h.d.blockedBy = nil
	}
	h.d.mu.Unlock()
	return nil
}

// intervals is a sorted set of disjoint byte ranges.
type intervals []span

type span struct{ lo, hi int64 }

func (iv *intervals) add(off, n int64) {
	if n <= 0 {
		return
	}
	s := span{off, off + n}
	out := (*iv)[:0:0]
	for _, x := range *iv {
		switch {
		case x.hi < s.lo || x.lo > s.hi:
			out = append(out, x)
		default:
			s = span{min(s.lo, x.lo), max(s.hi, x.hi)}
		}
	}
	out = append(out, s)
	slices.SortFunc(out, func(a, b span) int { return cmp.Compare(a.lo, b.lo) })
	*iv = out
}

func (iv intervals) covers(off, n int64) bool {
	for _, x := range iv {
		if x.lo <= off && off+n <= x.hi {
			return true
		}
	}
	return false
}
