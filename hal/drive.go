package hal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Bus says how a drive is attached to the appliance.
type Bus string

// The buses the appliance knows. Unknown buses are kept as reported.
const (
	BusUSB     Bus = "usb"
	BusSD      Bus = "sd"
	BusSATA    Bus = "sata"
	BusNVMe    Bus = "nvme"
	BusLoop    Bus = "loop"
	BusVirtual Bus = "virtual"
)

// DriveInfo is the identity of a drive as the appliance shows and records it.
type DriveInfo struct {
	Port   int    // front-panel port number (1-based); 0 when on no port
	Label  string // front-panel label of the port, e.g. "P3" or "SD"
	Node   string // device node, e.g. /dev/sdb
	Path   string // stable location used for port mapping (udev ID_PATH or sysfs path)
	Vendor string
	Model  string
	Serial string
	// CID is an SD or MMC card's card identification register (32 hex
	// digits) where the kernel shows it (/sys/block/mmcblkN/device/cid):
	// it names one card, where the 32-bit serial alone may not.
	CID string
	Bus Bus

	Size               int64 // bytes; 0 means no media (an empty card reader)
	LogicalSectorSize  int   // bytes, the unit of addressing
	PhysicalSectorSize int   // bytes, the unit of the media itself
	Removable          bool
	ReadOnly           bool // write-protected media or device
}

// String names the drive the way the log and the LCD do.
func (d DriveInfo) String() string {
	name := d.Model
	if d.Vendor != "" && name != "" {
		name = d.Vendor + " " + name
	}
	if name == "" {
		name = d.Node
	}
	if d.Port > 0 {
		return fmt.Sprintf("port %d (%s, %d bytes)", d.Port, name, d.Size)
	}
	return fmt.Sprintf("%s (%d bytes)", name, d.Size)
}

// Sentinel errors that every Drive implementation returns (wrapped) so
// callers can tell the cases apart with errors.Is.
var (
	ErrReadOnly = errors.New("drive is read-only")
	// ErrRemoved also has a Removed method that reports true, so a
	// package that does not import hal (the engine) can tell it apart.
	ErrRemoved    error = removedError{}
	ErrOutOfRange       = errors.New("access beyond the end of the drive")
	ErrClosed           = errors.New("drive is closed")
	ErrBusy             = errors.New("drive is busy")
	ErrNoDiscard        = errors.New("drive does not support discard")
)

type removedError struct{}

func (removedError) Error() string { return "drive was removed" }
func (removedError) Removed() bool { return true }

// DriveReader is a drive opened for reading: a drive being probed or
// verified. ReadAt after DropCaches must return what is on the media, not
// what a cache remembers.
type DriveReader interface {
	Info() DriveInfo
	// Size is Info().Size, read from the open drive.
	Size() int64
	// ID names the media uniquely while it is open (a device number, an
	// inode), so a drive reached by two names is still seen as one.
	ID() string
	io.ReaderAt
	io.Closer
	// DropCaches forgets any cached contents so the next reads come from
	// the media. A writer Syncs first.
	DropCaches() error
}

// Master is a drive opened as a job's master: read-only, and write-blocked
// below the firmware for as long as it is open (the kernel's read-only
// flag for a block device; a read-only, locked open for an image file),
// so that nothing, on the box or in this process, changes it during a
// job. A backend that cannot do this cannot be a DriveOpener.
type Master interface {
	DriveReader
	// WriteBlock puts the write-block in place; DriveOpener.OpenMaster has
	// already done so, and doing it again changes nothing.
	WriteBlock() error
}

// Drive is a drive opened for writing: the role of a target.
type Drive interface {
	DriveReader
	io.WriterAt
	// Sync makes every completed write durable on the media.
	Sync() error
}

// Discarder is implemented by drives that can discard (TRIM) a range.
// Secure asks for a secure discard; drives that cannot do it return
// ErrNoDiscard.
type Discarder interface {
	Discard(off, length int64, secure bool) error
}

// DriveOpener opens drives that a DriveWatcher reported, by device node.
type DriveOpener interface {
	// OpenRead opens a drive read-only: to probe it, or to verify it.
	OpenRead(node string) (DriveReader, error)
	// OpenMaster opens a drive read-only and write-blocks it, as a job's
	// master; it fails rather than return a master it could not block.
	OpenMaster(node string) (Master, error)
	// OpenWrite opens a drive for writing, as a target, exclusively.
	OpenWrite(node string) (Drive, error)
}

// DriveEventKind says what happened to a drive.
type DriveEventKind int

// Drive event kinds. ScanDone carries no drive: it follows the drives that
// were present when watching began.
const (
	DriveAdded DriveEventKind = iota + 1
	DriveRemoved
	MediaChanged // a card went in or out of a reader: Drive.Size tells which
	ScanDone
)

func (k DriveEventKind) String() string {
	switch k {
	case DriveAdded:
		return "added"
	case DriveRemoved:
		return "removed"
	case MediaChanged:
		return "media-changed"
	case ScanDone:
		return "scan-done"
	}
	return fmt.Sprintf("DriveEventKind(%d)", int(k))
}

// DriveEvent is one hot-plug event.
type DriveEvent struct {
	Kind  DriveEventKind
	Drive DriveInfo
}

// DriveWatcher reports drives. Watch first sends a DriveAdded for every
// drive already present, then one ScanDone, then hot-plug events, until ctx
// ends; then it returns ctx.Err(). Every send selects on ctx.Done().
type DriveWatcher interface {
	Watch(ctx context.Context, events chan<- DriveEvent) error
}

// IOError is a failed media access at a known offset. Engines read Off to
// report where a drive failed.
type IOError struct {
	Op   string // "read" or "write"
	Node string
	Off  int64
	Err  error
}

func (e *IOError) Error() string {
	return fmt.Sprintf("%s %s at %d: %v", e.Op, e.Node, e.Off, e.Err)
}

func (e *IOError) Unwrap() error { return e.Err }

// GuessBus names a drive's bus from its sysfs device path and kernel name,
// for backends that have nothing better (no udev ID_BUS).
func GuessBus(sysPath, name string) Bus {
	switch {
	case strings.HasPrefix(name, "loop"):
		return BusLoop
	case strings.HasPrefix(name, "mmcblk"):
		return BusSD
	case strings.HasPrefix(name, "nvme"):
		return BusNVMe
	case strings.Contains(sysPath, "/usb"):
		return BusUSB
	case strings.Contains(sysPath, "/ata"):
		return BusSATA
	}
	return Bus("other")
}

// CardID returns an SD or MMC card's CID as the kernel shows it (16 bytes
// in hex), lower-cased; anything else is not a CID and reads as "".
// Backends that read sysfs share it.
func CardID(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) != 32 || strings.Trim(s, "0123456789abcdef") != "" {
		return ""
	}
	return s
}
