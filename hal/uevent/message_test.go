//go:build linux

package uevent

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// kernelMessage encodes a uevent the way the kernel sends it.
func kernelMessage(action, devPath string, props ...string) []byte {
	b := []byte(action + "@" + devPath + "\x00")
	for _, p := range props {
		b = append(b, p+"\x00"...)
	}
	return b
}

// udevMessage encodes a uevent the way udevd sends it: the prefix, the
// header, then the properties.
func udevMessage(props ...string) []byte {
	var body []byte
	for _, p := range props {
		body = append(body, p+"\x00"...)
	}
	h := make([]byte, udevHeaderSize)
	copy(h, udevPrefix)
	binary.BigEndian.PutUint32(h[8:], udevMagic)
	binary.NativeEndian.PutUint32(h[12:], udevHeaderSize)
	binary.NativeEndian.PutUint32(h[16:], udevHeaderSize)
	binary.NativeEndian.PutUint32(h[20:], uint32(len(body)))
	return append(h, body...)
}

func recorded(t testing.TB, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

// The recorded messages were captured from this kind of machine's kernel
// (6.x) and systemd-udevd (252) while a loop device was made, attached,
// detached and removed.
func TestParseRecorded(t *testing.T) {
	for _, tc := range []struct {
		file      string
		fromUdev  bool
		action    string
		devPath   string
		subsystem string
		devType   string
		props     map[string]string
	}{
		{"kernel-add.uevent", false, "add", "/devices/virtual/block/loop250", "block", "disk",
			map[string]string{"DEVNAME": "loop250", "MAJOR": "7", "MINOR": "250", "SEQNUM": "1222"}},
		{"kernel-add-bdi.uevent", false, "add", "/devices/virtual/bdi/7:250", "bdi", "", nil},
		{"kernel-change-attach.uevent", false, "change", "/devices/virtual/block/loop0", "block", "disk",
			map[string]string{"DEVNAME": "loop0", "DISK_MEDIA_CHANGE": ""}},
		{"kernel-change-synthetic.uevent", false, "change", "/devices/virtual/block/loop0", "block", "disk",
			map[string]string{"SYNTH_UUID": "0"}},
		{"kernel-change-detach.uevent", false, "change", "/devices/virtual/block/loop0", "block", "disk",
			map[string]string{"DISK_MEDIA_CHANGE": "1"}},
		{"kernel-remove.uevent", false, "remove", "/devices/virtual/block/loop250", "block", "disk", nil},
		{"udev-change-attach.uevent", true, "change", "/devices/virtual/block/loop0", "block", "disk",
			map[string]string{"DEVNAME": "/dev/loop0", "DEVLINKS": "/dev/disk/by-diskseq/237", "TAGS": ":systemd:"}},
		{"udev-change-detach.uevent", true, "change", "/devices/virtual/block/loop0", "block", "disk",
			map[string]string{"DISK_MEDIA_CHANGE": "1", "SYSTEMD_READY": "0"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			m, err := parseMessage(recorded(t, tc.file))
			require.NoError(t, err)
			assert.Equal(t, tc.fromUdev, m.fromUdev)
			assert.Equal(t, tc.action, m.action)
			assert.Equal(t, tc.devPath, m.devPath)
			assert.Equal(t, tc.subsystem, m.subsystem)
			assert.Equal(t, tc.devType, m.devType)
			for k, v := range tc.props {
				assert.Equal(t, v, m.prop(k), k)
			}
		})
	}
}

func TestParseBuilt(t *testing.T) {
	stick := []string{"ACTION=add", "DEVPATH=/devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0/block/sdb",
		"SUBSYSTEM=block", "DEVTYPE=disk", "DEVNAME=/dev/sdb", "ID_BUS=usb", "ID_VENDOR=SanDisk", "ID_MODEL=Cruzer_Blade",
		"ID_SERIAL_SHORT=4C530001231219115235", "ID_PATH=pci-0000:00:14.0-usb-0:1:1.0-scsi-0:0:0:0", "ID_FS_LABEL=A=B"}
	m, err := parseMessage(udevMessage(stick...))
	require.NoError(t, err)
	assert.Equal(t, "add", m.action)
	assert.Equal(t, "pci-0000:00:14.0-usb-0:1:1.0-scsi-0:0:0:0", m.prop("ID_PATH"))
	assert.Equal(t, "A=B", m.prop("ID_FS_LABEL"), "a value may hold '='")

	// udevd places the properties where its header says, after a longer
	// header of a later version.
	longer := udevMessage(stick...)
	body := append([]byte(nil), longer[udevHeaderSize:]...)
	longer = append(longer[:udevHeaderSize:udevHeaderSize], make([]byte, 8)...)
	binary.NativeEndian.PutUint32(longer[12:], udevHeaderSize+8)
	binary.NativeEndian.PutUint32(longer[16:], udevHeaderSize+8)
	longer = append(longer, body...)
	m, err = parseMessage(longer)
	require.NoError(t, err)
	assert.Equal(t, "SanDisk", m.prop("ID_VENDOR"))
}

func TestParseBad(t *testing.T) {
	attach := recorded(t, "kernel-change-attach.uevent")
	udev := recorded(t, "udev-change-attach.uevent")
	withHeader := func(b []byte, at int, v uint32) []byte {
		b = append([]byte(nil), b...)
		binary.NativeEndian.PutUint32(b[at:], v)
		return b
	}
	for _, tc := range []struct {
		name string
		msg  []byte
		want string // in the error
	}{
		{"empty", nil, "the header has no end"},
		{"garbage", []byte("\xff\xfe\x00\x01"), "not ACTION@DEVPATH"},
		{"kernel header cut", attach[:20], "the header has no end"},
		{"kernel property cut", attach[:len(attach)-5], "property 9 at byte 158 has no end (truncated)"},
		{"kernel header without a path", kernelMessage("change", "", "ACTION=change"), "not ACTION@DEVPATH"},
		{"kernel header with a relative path", kernelMessage("add", "devices/x", "ACTION=add", "DEVPATH=devices/x", "SUBSYSTEM=block"), "not ACTION@DEVPATH"},
		{"kernel header and properties disagree", kernelMessage("add", "/devices/virtual/block/loop1",
			"ACTION=remove", "DEVPATH=/devices/virtual/block/loop1", "SUBSYSTEM=block"), "header says add@/devices/virtual/block/loop1, properties say remove@"},
		{"no ACTION", kernelMessage("add", "/devices/x", "DEVPATH=/devices/x", "SUBSYSTEM=block"), "no ACTION"},
		{"no SUBSYSTEM", kernelMessage("add", "/devices/x", "ACTION=add", "DEVPATH=/devices/x"), "no SUBSYSTEM"},
		{"a property without '='", kernelMessage("add", "/devices/x", "ACTION=add", "DEVPATH=/devices/x", "SUBSYSTEM=block", "junk"),
			`property 4 at byte 61, "junk", is not KEY=VALUE`},
		{"a property without a key", kernelMessage("add", "/devices/x", "ACTION=add", "=v"), "is not KEY=VALUE"},
		{"udev prefix only", []byte("libudev\x00"), "udev message of 8 bytes, shorter than its 40-byte header"},
		{"udev header cut", udev[:39], "shorter than its 40-byte header"},
		{"udev properties cut", udev[:len(udev)-10], "in a 292-byte message (truncated or padded)"},
		{"udev message padded", append(append([]byte(nil), udev...), 0, 0), "(truncated or padded)"},
		{"udev wrong magic", func() []byte {
			b := append([]byte(nil), udev...)
			binary.BigEndian.PutUint32(b[8:], 0xcafefeed)
			return b
		}(), "magic 0xcafefeed, want 0xfeedcafe"},
		{"udev header size too small", withHeader(udev, 12, 8), "udev header size 8"},
		{"udev header size past the end", withHeader(udev, 12, 1<<20), "udev header size 1048576"},
		{"udev properties inside the header", withHeader(udev, 16, 16), "udev properties at 16, inside the 40-byte header"},
		{"udev properties length overflows", withHeader(udev, 20, 0xffffffff), "(truncated or padded)"},
		{"udev without DEVPATH", udevMessage("ACTION=add", "SUBSYSTEM=block"), `DEVPATH "" is not a path`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseMessage(tc.msg)
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrMalformed)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// Every cut of a recorded message is refused or parsed, never a crash; a
// cut that ends on a property's end may parse, as a shorter message.
func TestParseEveryCut(t *testing.T) {
	for _, name := range []string{"kernel-change-detach.uevent", "udev-change-detach.uevent"} {
		full := recorded(t, name)
		for n := range len(full) {
			m, err := parseMessage(full[:n])
			if err == nil {
				assert.False(t, strings.HasPrefix(name, "udev"), "%s cut at %d: a udev message knows its length", name, n)
				assert.Equal(t, byte(0), full[n-1], "%s cut at %d parses only at a property's end", name, n)
				assert.NotEmpty(t, m.action)
			}
		}
	}
}
