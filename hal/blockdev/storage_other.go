//go:build !linux

package blockdev

import (
	"fmt"
	"os"
	"slices"
	"strings"
)

// Storage is the media a name stands for. Outside Linux only image files
// are opened, so a storage is a set of files, each known by its volume
// and file number: a hard link or a symbolic link is the same storage.
type Storage struct {
	// Name is the name the storage was looked up by.
	Name string
	keys []string // sorted
}

// Same reports whether two storages share a file.
func (s Storage) Same(o Storage) bool {
	for _, k := range s.keys {
		if slices.Contains(o.keys, k) {
			return true
		}
	}
	return false
}

// Key names the storage's files, the same for every name of them.
func (s Storage) Key() string { return strings.Join(s.keys, "+") }

// OnDevices is false: outside Linux no storage sits on a block device the
// firmware knows of.
func (s Storage) OnDevices(map[string]bool) bool { return false }

// Join adds the files of o to s.
func (s Storage) Join(o Storage) Storage {
	keys := slices.Clone(s.keys)
	for _, k := range o.keys {
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	s.keys = keys
	return s
}

// Resolve looks up the storage behind a file name, following symbolic
// links.
func Resolve(name string) (Storage, error) {
	st, err := os.Stat(name)
	if err != nil {
		return Storage{}, err
	}
	if !st.Mode().IsRegular() {
		return Storage{}, fmt.Errorf("%s: not an image file", name)
	}
	f, err := os.Open(name)
	if err != nil {
		return Storage{}, err
	}
	defer f.Close()
	id, err := fileID(f)
	if err != nil {
		return Storage{}, fmt.Errorf("%s: %w", name, err)
	}
	return Storage{Name: name, keys: []string{id}}, nil
}

// LoopsOn finds no loop devices: there are none outside Linux.
func LoopsOn(Storage) ([]string, error) { return nil, nil }

// Loops are none outside Linux.
type Loops struct{}

// AttachedLoops finds no loop devices outside Linux.
func AttachedLoops() (Loops, error) { return Loops{}, nil }

// On names no loop devices.
func (Loops) On(Storage) []string { return nil }
