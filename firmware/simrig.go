package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/clonebay/clonebay/board"
	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/sim"
)

// simRig is the simulated hardware of a board.
type simRig struct {
	b       *board.Board
	bay     *sim.Bay
	buttons *sim.Buttons
	lcd     *sim.LCD
	leds    *sim.LEDs
	buzzer  *sim.Buzzer
	serial  int
}

func newSimRig(b *board.Board) *simRig {
	cols, rows := b.Geometry()
	r := &simRig{
		b:       b,
		bay:     sim.NewBay(b.MaxPort()),
		buttons: sim.NewButtons(),
		lcd:     sim.NewLCD(hal.Geometry{Cols: cols, Rows: rows}),
		leds:    sim.NewLEDs(b.MaxPort()),
		buzzer:  sim.NewBuzzer(),
	}
	for _, p := range b.Ports {
		r.bay.SetLabel(p.Number, p.Label)
	}
	return r
}

func (r *simRig) hardware() hardware {
	return hardware{watcher: r.bay, opener: r.bay, buttons: r.buttons, display: r.lcd, leds: r.leds, buzzer: r.buzzer}
}

// The default session's drives: a 64 MiB master holding an MBR and a
// 48 MiB FAT32 partition with a few files, and targets at USB-stick
// speeds, so a copy+verify takes a few seconds.
const (
	masterSize = 64 << 20
	masterPart = 48 << 20
)

// masterContent is the default master's image.
func masterContent() []byte {
	files := []sim.File{
		{Name: "README.TXT", Data: []byte("This master was made by the Clonebay simulator.\r\nCopy it onto the targets and check the copies.\r\n")},
		{Name: "BOOT.CFG", Data: []byte("timeout=5\r\ndefault=clonebay\r\n")},
		{Name: "DATA.BIN", Data: bytes.Repeat([]byte("Clonebay duplicates drives. "), 40000)},
	}
	img, err := sim.FAT32Disk(masterSize, masterPart, "CLONEBAY", files)
	if err != nil {
		panic(err) // fixed input; a failure is a bug caught by the tests
	}
	return img
}

// driveSpec describes a drive to insert, as scripts and keys give it.
type driveSpec struct {
	master            bool
	size              int64
	readMBps, writeMB float64
	faults            []sim.Fault
	model             string
	files             []sim.File // a FAT32 stick holding these files
}

func defaultTarget() driveSpec {
	return driveSpec{size: 256 << 20, readMBps: 90, writeMB: 40, model: "Virtual Stick"}
}

// insert puts a new virtual drive into a port.
func (r *simRig) insert(port int, s driveSpec) (*sim.Drive, error) {
	r.serial++
	spec := sim.DriveSpec{Size: s.size, ReadMBps: s.readMBps, WriteMBps: s.writeMB, Vendor: "Clonebay",
		Model: s.model, Serial: fmt.Sprintf("SIM%05d", r.serial)}
	if s.master {
		spec.Content = masterContent()
		spec.Size = max(spec.Size, masterSize)
		spec.Model = "Master Stick"
	}
	if len(s.files) > 0 {
		spec.Size -= spec.Size % (1 << 20)
		img, err := sim.FAT32Disk(spec.Size, spec.Size-1<<20, "FILES", s.files)
		if err != nil {
			return nil, err
		}
		spec.Content = img
	}
	spec.Size -= spec.Size % 512
	d, err := sim.NewDrive(spec)
	if err != nil {
		return nil, err
	}
	for _, f := range s.faults {
		d.Inject(f)
	}
	if err := r.bay.Insert(port, d); err != nil {
		return nil, err
	}
	return d, nil
}

// imageFile is a stick file holding the default master as an image:
// NAME.GZ (gzip) or NAME.IMG (raw).
func imageFile(name string) (sim.File, error) {
	upper := strings.ToUpper(name)
	switch {
	case strings.HasSuffix(upper, ".IMG"):
		return sim.File{Name: upper, Data: masterContent()}, nil
	case strings.HasSuffix(upper, ".GZ"):
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(masterContent())
		zw.Close()
		return sim.File{Name: upper, Data: buf.Bytes()}, nil
	}
	return sim.File{}, fmt.Errorf("image file %q: name it NAME.IMG or NAME.GZ (8.3)", name)
}

// defaultSession fills the bay: the master in the master port, a target
// in every other port, one of them slower.
func (r *simRig) defaultSession() error {
	for _, p := range r.b.Ports {
		s := defaultTarget()
		switch {
		case p.Number == r.b.MasterPort:
			s = driveSpec{master: true, readMBps: 120, writeMB: 40}
		case p.Number == r.b.MaxPort():
			s.writeMB, s.model = 20, "Slow Stick"
		}
		if _, err := r.insert(p.Number, s); err != nil {
			return err
		}
	}
	return nil
}

// parseSize reads "64MB", "1GB", "512MiB", "1000000": 0 to 16 TB.
func parseSize(s string) (int64, error) {
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
			if f*float64(u.mult) > maxSimSize {
				return 0, fmt.Errorf("size %q: more than 16 TB", s)
			}
			return int64(f * float64(u.mult)), nil
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("size %q: give bytes or a unit (MB, GB, MiB, ...)", s)
	}
	if n > maxSimSize {
		return 0, fmt.Errorf("size %q: more than 16 TB", s)
	}
	return n, nil
}

// parseFault reads "corrupt@1048576", "write-error@1MB", "remove@50MB",
// "read-only", "fake-capacity@64MB".
func parseFault(s string) (sim.Fault, error) {
	kind, at, _ := strings.Cut(s, "@")
	kinds := map[string]sim.FaultKind{"write-error": sim.WriteError, "read-error": sim.ReadError, "corrupt": sim.Corrupt,
		"remove": sim.RemoveAt, "read-only": sim.ReadOnlyMedia, "fake-capacity": sim.FakeCapacity, "ignore-writes": sim.IgnoreWrites}
	k, ok := kinds[kind]
	if !ok {
		return sim.Fault{}, fmt.Errorf("fault %q: kinds are write-error, read-error, corrupt, remove, read-only, fake-capacity, ignore-writes", kind)
	}
	f := sim.Fault{Kind: k}
	if k == sim.ReadOnlyMedia {
		return f, nil
	}
	if at == "" {
		return sim.Fault{}, fmt.Errorf("fault %q: give an offset, e.g. %s@1MB", s, kind)
	}
	off, err := parseSize(at)
	if err != nil {
		return sim.Fault{}, fmt.Errorf("fault %q: %w", s, err)
	}
	f.Off = off
	f.Wrap = k == sim.FakeCapacity
	if k == sim.IgnoreWrites {
		f.Len = 1 << 40 // from the offset to the end
	}
	return f, nil
}
