package sim

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/clonebay/clonebay/board"
	"github.com/clonebay/clonebay/hal"
)

// Rig is the simulated hardware of a board: its bay of ports, buttons,
// LCD, LEDs and buzzer.
type Rig struct {
	Board   *board.Board
	Bay     *Bay
	Buttons *Buttons
	LCD     *LCD
	LEDs    *LEDs
	Buzzer  *Buzzer
	Scanner *Scanner
	Light   *StackLight

	mu     sync.Mutex
	serial int
}

// NewRig makes the simulated hardware of a board, with empty ports.
func NewRig(b *board.Board) *Rig {
	cols, rows := b.Geometry()
	r := &Rig{
		Board:   b,
		Bay:     NewBay(b.MaxPort()),
		Buttons: NewButtons(),
		LCD:     NewLCD(hal.Geometry{Cols: cols, Rows: rows}),
		LEDs:    NewLEDs(b.MaxPort()),
		Buzzer:  NewBuzzer(),
		Scanner: NewScanner(),
		Light:   NewStackLight(),
	}
	for _, p := range b.Ports {
		r.Bay.SetLabel(p.Number, p.Label)
	}
	return r
}

// The default session's drives: a 64 MiB master holding an MBR and a
// 48 MiB FAT32 partition with a few files, and targets at USB-stick
// speeds, so a copy+verify takes a few seconds.
const (
	MasterSize = 64 << 20
	MasterPart = 48 << 20
)

// MasterContent is the default master's image.
func MasterContent() []byte {
	files := []File{
		{Name: "README.TXT", Data: []byte("This master was made by the Clonebay simulator.\r\nCopy it onto the targets and check the copies.\r\n")},
		{Name: "BOOT.CFG", Data: []byte("timeout=5\r\ndefault=clonebay\r\n")},
		{Name: "DATA.BIN", Data: bytes.Repeat([]byte("Clonebay duplicates drives. "), 40000)},
	}
	img, err := FAT32Disk(MasterSize, MasterPart, "CLONEBAY", files)
	if err != nil {
		panic(err) // fixed input; a failure is a bug caught by the tests
	}
	return img
}

// Stick describes a drive to insert, as scenario scripts and the
// terminal's keys give it.
type Stick struct {
	Master              bool // the default master (MasterContent)
	Size                int64
	ReadMBps, WriteMBps float64
	Faults              []Fault
	Model               string
	// Serial is the drive's serial number: "" gives a new one, NoSerial
	// none (a cheap stick that reports nothing).
	Serial string
	Files  []File // a FAT32 stick holding these files
}

// NoSerial is a Stick's Serial for a drive that reports none.
const NoSerial = "-"

// DefaultTarget is a USB stick of the default session.
func DefaultTarget() Stick {
	return Stick{Size: 256 << 20, ReadMBps: 90, WriteMBps: 40, Model: "Virtual Stick"}
}

// Insert puts a new virtual drive into a port.
func (r *Rig) Insert(port int, s Stick) (*Drive, error) {
	r.mu.Lock()
	r.serial++
	serial := fmt.Sprintf("SIM%05d", r.serial)
	r.mu.Unlock()
	switch s.Serial {
	case "":
	case NoSerial:
		serial = ""
	default:
		serial = s.Serial
	}
	spec := DriveSpec{Size: s.Size, ReadMBps: s.ReadMBps, WriteMBps: s.WriteMBps, Vendor: "Clonebay",
		Model: s.Model, Serial: serial}
	if s.Master {
		spec.Content = MasterContent()
		spec.Size = max(spec.Size, MasterSize)
		spec.Model = "Master Stick"
	}
	if len(s.Files) > 0 {
		spec.Size -= spec.Size % (1 << 20)
		img, err := FAT32Disk(spec.Size, spec.Size-1<<20, "FILES", s.Files)
		if err != nil {
			return nil, err
		}
		spec.Content = img
	}
	spec.Size -= spec.Size % 512
	d, err := NewDrive(spec)
	if err != nil {
		return nil, err
	}
	for _, f := range s.Faults {
		d.Inject(f)
	}
	if err := r.Bay.Insert(port, d); err != nil {
		return nil, err
	}
	return d, nil
}

// ImageFile is a stick file holding the default master as an image:
// NAME.GZ (gzip) or NAME.IMG (raw).
func ImageFile(name string) (File, error) {
	upper := strings.ToUpper(name)
	switch {
	case strings.HasSuffix(upper, ".IMG"):
		return File{Name: upper, Data: MasterContent()}, nil
	case strings.HasSuffix(upper, ".GZ"):
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(MasterContent())
		zw.Close()
		return File{Name: upper, Data: buf.Bytes()}, nil
	}
	return File{}, fmt.Errorf("image file %q: name it NAME.IMG or NAME.GZ (8.3)", name)
}

// DefaultSession fills the bay: the master in the master port, a target
// in every other port, one of them slower.
func (r *Rig) DefaultSession() error {
	for _, p := range r.Board.Ports {
		s := DefaultTarget()
		switch {
		case p.Number == r.Board.MasterPort:
			s = Stick{Master: true, ReadMBps: 120, WriteMBps: 40}
		case p.Number == r.Board.MaxPort():
			s.WriteMBps, s.Model = 20, "Slow Stick"
		}
		if _, err := r.Insert(p.Number, s); err != nil {
			return err
		}
	}
	return nil
}

// MaxSize is the largest drive ParseSize takes: the simulator stores only
// what is written, but a size is still a promise.
const MaxSize = 16e12

// ParseSize reads "64MB", "1GB", "512MiB", "1000000": 0 to 16 TB.
func ParseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(num, 64)
			if err != nil || math.IsNaN(f) || f < 0 {
				return 0, fmt.Errorf("size %q: not a number of %s", s, u.suffix)
			}
			if f*float64(u.mult) > MaxSize {
				return 0, fmt.Errorf("size %q: more than 16 TB", s)
			}
			return int64(f * float64(u.mult)), nil
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("size %q: give bytes or a unit (MB, GB, MiB, ...)", s)
	}
	if n > MaxSize {
		return 0, fmt.Errorf("size %q: more than 16 TB", s)
	}
	return n, nil
}

// ParseFault reads "corrupt@1048576", "write-error@1MB", "remove@50MB",
// "read-only", "fake-capacity@64MB".
func ParseFault(s string) (Fault, error) {
	kind, at, _ := strings.Cut(s, "@")
	kinds := map[string]FaultKind{"write-error": WriteError, "read-error": ReadError, "corrupt": Corrupt,
		"remove": RemoveAt, "read-only": ReadOnlyMedia, "fake-capacity": FakeCapacity, "ignore-writes": IgnoreWrites}
	k, ok := kinds[kind]
	if !ok {
		return Fault{}, fmt.Errorf("fault %q: kinds are write-error, read-error, corrupt, remove, read-only, fake-capacity, ignore-writes", kind)
	}
	f := Fault{Kind: k}
	if k == ReadOnlyMedia {
		return f, nil
	}
	if at == "" {
		return Fault{}, fmt.Errorf("fault %q: give an offset, e.g. %s@1MB", s, kind)
	}
	off, err := ParseSize(at)
	if err != nil {
		return Fault{}, fmt.Errorf("fault %q: %w", s, err)
	}
	f.Off = off
	f.Wrap = k == FakeCapacity
	if k == IgnoreWrites {
		f.Len = 1 << 40 // from the offset to the end
	}
	return f, nil
}
