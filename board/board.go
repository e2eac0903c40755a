package board

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"unicode/utf8"
)

// Board is one appliance's hardware, as data.
type Board struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description,omitempty"`

	// MasterPort is the number of the port whose drive is the master.
	MasterPort int    `yaml:"master_port"`
	Ports      []Port `yaml:"ports"`

	// Extra offers drives that match no port on ports numbered after the
	// board's own, in the order they appear. Off on real appliances.
	Extra bool `yaml:"extra,omitempty"`

	// Buses lists the kinds of drive that may be offered at all ("usb",
	// "sd", "sata", "nvme", "loop", "virtual"). Loop devices belong on test
	// boards only.
	Buses []string `yaml:"buses"`

	// Exclude lists device nodes or path globs that are never offered, on
	// top of the appliance's own system disk, which never is.
	Exclude []string `yaml:"exclude,omitempty"`

	// Images is the image library's folder on the appliance's own
	// storage; the firmware's default when empty.
	Images string `yaml:"images,omitempty"`

	Buttons Buttons `yaml:"buttons"`
	Buzzer  *Pin    `yaml:"buzzer,omitempty"`
	LCD     *LCD    `yaml:"lcd,omitempty"`

	// Scanner is a USB barcode scanner for lot names; none when nil.
	Scanner *Scanner `yaml:"scanner,omitempty"`
	// StackLight is a signal tower over the line; none when nil.
	StackLight *StackLight `yaml:"stack_light,omitempty"`
}

// Scanner is a USB barcode scanner: a keyboard whose keys the appliance
// takes for itself.
type Scanner struct {
	// Device is its input event device, best named by its stable link:
	// /dev/input/by-id/usb-...-event-kbd.
	Device string `yaml:"device"`
	// Layout is the keyboard layout the scanner types in: one of
	// ScannerLayouts; "us" when empty.
	Layout string `yaml:"layout,omitempty"`
}

// ScannerLayouts are the keyboard layouts a scanner may type in.
var ScannerLayouts = []string{"us", "de"}

// StackLight names the GPIO outputs of a signal tower's lamps: green
// while the line runs, amber when a lot is done or the line waits, red
// when a port failed. A tower may lack a lamp, not all of them.
type StackLight struct {
	Green *Pin `yaml:"green,omitempty"`
	Amber *Pin `yaml:"amber,omitempty"`
	Red   *Pin `yaml:"red,omitempty"`
}

// Port is one front-panel drive port.
type Port struct {
	Number int    `yaml:"number"`
	Label  string `yaml:"label"`
	// Match is a glob (path.Match syntax) tried against the drive's stable
	// path (udev ID_PATH, or its sysfs path) and then its device node.
	Match    string `yaml:"match"`
	GreenLED *Pin   `yaml:"green_led,omitempty"`
	RedLED   *Pin   `yaml:"red_led,omitempty"`
}

// Pin names a GPIO pin as the host's GPIO driver knows it ("GPIO17").
type Pin struct {
	Name      string `yaml:"pin"`
	ActiveLow bool   `yaml:"active_low,omitempty"`
}

// Buttons holds the four front-panel buttons' pins.
type Buttons struct {
	Up   *Pin `yaml:"up,omitempty"`
	Down *Pin `yaml:"down,omitempty"`
	OK   *Pin `yaml:"ok,omitempty"`
	Back *Pin `yaml:"back,omitempty"`
}

// LCD is an HD44780 character display on an I2C PCF8574 backpack.
type LCD struct {
	Bus     int `yaml:"bus"`     // I2C bus number: /dev/i2c-N
	Address int `yaml:"address"` // 7-bit I2C address, usually 0x27 or 0x3f
	Cols    int `yaml:"cols"`
	Rows    int `yaml:"rows"`
}

// knownBuses are the drive kinds a board may offer.
var knownBuses = []string{"usb", "sd", "sata", "nvme", "loop", "virtual"}

// Bounds of a board's numbers. Ports are numbered from 1; 64 is more than
// any front panel holds, and every port costs memory and a row of state.
const (
	MaxPorts    = 64
	maxI2CBus   = 255
	maxPinName  = 32
	minI2CAddr  = 0x03
	maxI2CAddr  = 0x77
	maxMatchLen = 128 // an ID_PATH is about 60
	maxDevice   = 255 // a by-id link is about 80
)

// FieldError says which field of a board is wrong and why.
type FieldError struct {
	Board string
	Field string
	Err   error
}

func (e *FieldError) Error() string {
	if e.Board == "" {
		return fmt.Sprintf("board: %s: %v", e.Field, e.Err)
	}
	return fmt.Sprintf("board %s: %s: %v", e.Board, e.Field, e.Err)
}

func (e *FieldError) Unwrap() error { return e.Err }

// Validate checks the board and returns a *FieldError (joined with
// errors.Join when there are several) naming every wrong field.
func (b *Board) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Board: b.Name, Field: field, Err: fmt.Errorf(format, args...)})
	}
	if b.Name == "" {
		bad("name", "is empty")
	} else if strings.ContainsAny(b.Name, " /\t") {
		bad("name", "%q must be one word without slashes", b.Name)
	}
	if len(b.Ports) == 0 {
		bad("ports", "a board needs at least one port")
	}
	if b.Images != "" && !strings.HasPrefix(b.Images, "/") {
		bad("images", "%q must be an absolute folder", b.Images)
	}
	pins := map[string]string{} // pin name -> field that uses it
	usePin := func(field string, p *Pin) {
		if p == nil {
			return
		}
		switch {
		case p.Name == "":
			bad(field+".pin", "is empty")
			return
		case len(p.Name) > maxPinName || !isASCII(p.Name) || strings.Contains(p.Name, " "):
			bad(field+".pin", "%q is not a pin name (up to %d printable characters, no spaces)", p.Name, maxPinName)
			return
		}
		if other, ok := pins[p.Name]; ok {
			bad(field+".pin", "%s is already used by %s", p.Name, other)
			return
		}
		pins[p.Name] = field
	}
	numbers := map[int]bool{}
	labels := map[string]bool{}
	for i, p := range b.Ports {
		f := fmt.Sprintf("ports[%d]", i)
		switch {
		case p.Number < 1 || p.Number > MaxPorts:
			bad(f+".number", "%d is not a port number (1..%d)", p.Number, MaxPorts)
		case numbers[p.Number]:
			bad(f+".number", "port %d is defined twice", p.Number)
		}
		numbers[p.Number] = true
		switch {
		case p.Label == "":
			bad(f+".label", "is empty")
		case len(p.Label) > 4:
			bad(f+".label", "%q is longer than 4 characters (it must fit the LCD)", p.Label)
		case !isASCII(p.Label):
			bad(f+".label", "%q is not printable ASCII", p.Label)
		case labels[p.Label]:
			bad(f+".label", "%q is used twice", p.Label)
		}
		labels[p.Label] = true
		switch _, err := path.Match(p.Match, ""); {
		case p.Match == "":
			bad(f+".match", "is empty")
		case len(p.Match) > maxMatchLen:
			bad(f+".match", "is longer than %d characters", maxMatchLen)
		case err != nil || !utf8.ValidString(p.Match):
			bad(f+".match", "%q is not a valid pattern", p.Match)
		default:
			// A drive must land on one port: no two patterns may match one.
			for j, q := range b.Ports[:i] {
				if how := overlap(q.Match, p.Match); how != "" {
					bad(f+".match", "port %d's %q and port %d's %q (ports[%d]) can match one drive: %s", p.Number, p.Match, q.Number, q.Match, j, how)
				}
			}
		}
		usePin(f+".green_led", p.GreenLED)
		usePin(f+".red_led", p.RedLED)
	}
	if b.MasterPort != 0 && !numbers[b.MasterPort] {
		bad("master_port", "%d is not one of the board's ports", b.MasterPort)
	}
	if len(b.Buses) == 0 {
		bad("buses", "lists no kind of drive to offer")
	}
	for i, bus := range b.Buses {
		if !slices.Contains(knownBuses, bus) {
			bad(fmt.Sprintf("buses[%d]", i), "%q is not one of %s", bus, strings.Join(knownBuses, ", "))
		}
	}
	for i, x := range b.Exclude {
		if _, err := path.Match(x, ""); err != nil || x == "" {
			bad(fmt.Sprintf("exclude[%d]", i), "%q is not a valid pattern", x)
		}
	}
	usePin("buttons.up", b.Buttons.Up)
	usePin("buttons.down", b.Buttons.Down)
	usePin("buttons.ok", b.Buttons.OK)
	usePin("buttons.back", b.Buttons.Back)
	usePin("buzzer", b.Buzzer)
	if l := b.LCD; l != nil {
		if l.Bus < 0 || l.Bus > maxI2CBus {
			bad("lcd.bus", "%d is not an I2C bus number (0..%d)", l.Bus, maxI2CBus)
		}
		if l.Address < minI2CAddr || l.Address > maxI2CAddr {
			bad("lcd.address", "%#x is not a 7-bit I2C device address (0x03..0x77)", l.Address)
		}
		if !(l.Cols == 16 && l.Rows == 2) && !(l.Cols == 20 && l.Rows == 4) {
			bad("lcd", "%dx%d is not a supported geometry (16x2 or 20x4)", l.Cols, l.Rows)
		}
	}
	if sc := b.Scanner; sc != nil {
		switch d := sc.Device; {
		case d == "":
			bad("scanner.device", "is empty")
		case len(d) > maxDevice || !isASCII(d) || strings.ContainsAny(d, " \t"):
			bad("scanner.device", "%q is not a device path (up to %d printable characters, no spaces)", d, maxDevice)
		case !strings.HasPrefix(d, "/dev/input/") || path.Clean(d) != d:
			bad("scanner.device", "%q is not an input device under /dev/input/ (such as /dev/input/by-id/usb-...-event-kbd)", d)
		}
		if sc.Layout != "" && !slices.Contains(ScannerLayouts, sc.Layout) {
			bad("scanner.layout", "%q is not one of %s", sc.Layout, strings.Join(ScannerLayouts, ", "))
		}
	}
	if l := b.StackLight; l != nil {
		if l.Green == nil && l.Amber == nil && l.Red == nil {
			bad("stack_light", "names no lamp (green, amber, red)")
		}
		usePin("stack_light.green", l.Green)
		usePin("stack_light.amber", l.Amber)
		usePin("stack_light.red", l.Red)
	}
	return errors.Join(errs...)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// Port returns the port with the given number.
func (b *Board) Port(n int) (Port, bool) {
	for _, p := range b.Ports {
		if p.Number == n {
			return p, true
		}
	}
	return Port{}, false
}

// MaxPort is the highest port number the board defines.
func (b *Board) MaxPort() int {
	m := 0
	for _, p := range b.Ports {
		m = max(m, p.Number)
	}
	return m
}

// Offers reports whether a drive on the given bus may be offered at all.
func (b *Board) Offers(bus string) bool { return slices.Contains(b.Buses, bus) }

// Excluded reports whether a drive is on the board's exclude list.
func (b *Board) Excluded(devPath, node string) bool {
	for _, x := range b.Exclude {
		if globMatch(x, devPath) || globMatch(x, node) {
			return true
		}
	}
	return false
}

// PortFor finds the port whose pattern matches a drive's stable path or,
// failing that, its device node.
func (b *Board) PortFor(devPath, node string) (Port, bool) {
	for _, p := range b.Ports {
		if globMatch(p.Match, devPath) || globMatch(p.Match, node) {
			return p, true
		}
	}
	return Port{}, false
}

func globMatch(pattern, s string) bool {
	if s == "" {
		return false
	}
	ok, err := path.Match(pattern, s)
	return err == nil && ok
}

// Geometry returns the LCD's columns and rows, or 20x4 when the board has
// no LCD (the simulator and headless boxes still render frames).
func (b *Board) Geometry() (cols, rows int) {
	if b.LCD == nil {
		return 20, 4
	}
	return b.LCD.Cols, b.LCD.Rows
}
