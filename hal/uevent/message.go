//go:build linux

package uevent

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrMalformed marks a netlink message that is not a well-formed uevent.
var ErrMalformed = errors.New("malformed uevent")

// udevMagic opens the header of udevd's messages, in network byte order.
const udevMagic uint32 = 0xfeedcafe

// udevPrefix starts udevd's messages; the kernel's start with the action.
var udevPrefix = []byte("libudev\x00")

// udevHeaderSize is the size of the header udevd sends: the prefix, then
// magic, header size, properties offset and length, and four filter
// hashes, as 32-bit words.
const udevHeaderSize = 40

// message is one uevent: the action on a device and its properties.
type message struct {
	action    string // add, remove, change, ...
	devPath   string // /devices/...
	subsystem string
	devType   string
	props     map[string]string
	fromUdev  bool // udevd's format, else the kernel's
}

func (m message) prop(key string) string { return m.props[key] }

// parseMessage parses a netlink uevent message of either format:
//
//	kernel: "ACTION@DEVPATH\0KEY=VALUE\0KEY=VALUE\0..."
//	udevd:  "libudev\0", a header, then "KEY=VALUE\0..." at its offset
//
// Every message names its ACTION, DEVPATH and SUBSYSTEM.
func parseMessage(b []byte) (message, error) {
	var (
		m     message
		props []byte
		base  int // offset of props in b, for the errors
		err   error
	)
	if bytes.HasPrefix(b, udevPrefix) {
		m.fromUdev = true
		props, base, err = udevProperties(b)
	} else {
		props, base, err = kernelProperties(b, &m)
	}
	if err != nil {
		return message{}, err
	}
	m.props, err = parseProperties(props, base)
	if err != nil {
		return message{}, err
	}
	action, devPath := m.props["ACTION"], m.props["DEVPATH"]
	switch {
	case action == "":
		return message{}, fmt.Errorf("%w: no ACTION property", ErrMalformed)
	case devPath == "" || devPath[0] != '/':
		return message{}, fmt.Errorf("%w: DEVPATH %q is not a path", ErrMalformed, devPath)
	case m.props["SUBSYSTEM"] == "":
		return message{}, fmt.Errorf("%w: %s %s: no SUBSYSTEM property", ErrMalformed, action, devPath)
	case !m.fromUdev && (action != m.action || devPath != m.devPath):
		return message{}, fmt.Errorf("%w: header says %s@%s, properties say %s@%s", ErrMalformed, m.action, m.devPath, action, devPath)
	}
	m.action, m.devPath = action, devPath
	m.subsystem, m.devType = m.props["SUBSYSTEM"], m.props["DEVTYPE"]
	return m, nil
}

// kernelProperties checks the kernel's "ACTION@DEVPATH\0" header, keeps
// its action and path in m, and returns what follows it.
func kernelProperties(b []byte, m *message) ([]byte, int, error) {
	end := bytes.IndexByte(b, 0)
	if end < 0 {
		return nil, 0, fmt.Errorf("%w: kernel message of %d bytes: the header has no end", ErrMalformed, len(b))
	}
	action, devPath, ok := bytes.Cut(b[:end], []byte("@"))
	if !ok || len(action) == 0 || len(devPath) == 0 || devPath[0] != '/' {
		return nil, 0, fmt.Errorf("%w: kernel message header %q is not ACTION@DEVPATH", ErrMalformed, printable(b[:end]))
	}
	m.action, m.devPath = string(action), string(devPath)
	return b[end+1:], end + 1, nil
}

// udevProperties checks udevd's header and returns the properties it
// points at.
func udevProperties(b []byte) ([]byte, int, error) {
	if len(b) < udevHeaderSize {
		return nil, 0, fmt.Errorf("%w: udev message of %d bytes, shorter than its %d-byte header", ErrMalformed, len(b), udevHeaderSize)
	}
	if magic := binary.BigEndian.Uint32(b[8:]); magic != udevMagic {
		return nil, 0, fmt.Errorf("%w: udev message magic 0x%08x, want 0x%08x", ErrMalformed, magic, udevMagic)
	}
	// udevd writes these three in its own byte order: this machine's.
	hdrSize := uint64(binary.NativeEndian.Uint32(b[12:]))
	off := uint64(binary.NativeEndian.Uint32(b[16:]))
	n := uint64(binary.NativeEndian.Uint32(b[20:]))
	switch {
	case hdrSize < udevHeaderSize || hdrSize > uint64(len(b)):
		return nil, 0, fmt.Errorf("%w: udev header size %d in a %d-byte message", ErrMalformed, hdrSize, len(b))
	case off < hdrSize:
		return nil, 0, fmt.Errorf("%w: udev properties at %d, inside the %d-byte header", ErrMalformed, off, hdrSize)
	case off+n != uint64(len(b)):
		return nil, 0, fmt.Errorf("%w: udev properties at %d, %d bytes long, in a %d-byte message (truncated or padded)", ErrMalformed, off, n, len(b))
	}
	return b[off:], int(off), nil
}

// parseProperties splits NUL-terminated KEY=VALUE strings; base is their
// offset in the message, for the errors.
func parseProperties(b []byte, base int) (map[string]string, error) {
	props := map[string]string{}
	for i := 0; len(b) > 0; i++ {
		end := bytes.IndexByte(b, 0)
		if end < 0 {
			return nil, fmt.Errorf("%w: property %d at byte %d has no end (truncated)", ErrMalformed, i+1, base)
		}
		if end > 0 { // an empty string is no property
			key, value, ok := bytes.Cut(b[:end], []byte("="))
			if !ok || len(key) == 0 {
				return nil, fmt.Errorf("%w: property %d at byte %d, %q, is not KEY=VALUE", ErrMalformed, i+1, base, printable(b[:end]))
			}
			props[string(key)] = string(value)
		}
		b, base = b[end+1:], base+end+1
	}
	return props, nil
}

// printable shortens and quotes outside bytes for an error message.
func printable(b []byte) string {
	const limit = 64
	if len(b) > limit {
		return string(b[:limit]) + "..."
	}
	return string(b)
}
