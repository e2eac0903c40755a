//go:build !linux

package evdev

import "errors"

// Open needs Linux's input event interface.
func Open(path string, l Layout) (*Reader, error) {
	return nil, errors.New("scanner " + path + ": reading a scanner needs Linux (/dev/input)")
}
