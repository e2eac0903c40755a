package board

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/clonebay/clonebay/internal/fsys"
)

//go:embed builtin/*.yaml
var builtins embed.FS

// ErrUnknown is returned (wrapped) for a board name that is neither built
// in nor a file.
var ErrUnknown = errors.New("unknown board")

// Default is the board the simulator uses when none is named.
const Default = "sim8"

// Names lists the built-in boards, sorted.
func Names() []string {
	entries, err := builtins.ReadDir("builtin")
	if err != nil {
		panic(err) // the embedded folder is part of the binary
	}
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	slices.Sort(names)
	return names
}

// Builtin returns a fresh copy of a built-in board.
func Builtin(name string) (*Board, error) {
	data, err := builtins.ReadFile(path.Join("builtin", name+".yaml"))
	if err != nil {
		return nil, fmt.Errorf("%w %q (built-in boards: %s)", ErrUnknown, name, strings.Join(Names(), ", "))
	}
	return Parse(data, "built-in board "+name)
}

// Load returns the built-in board of that name, or reads and validates the
// board file at that path.
func Load(nameOrFile string) (*Board, error) {
	if !strings.ContainsAny(nameOrFile, `/\.`) {
		return Builtin(nameOrFile)
	}
	data, err := fsys.ReadRegular(fsys.OS, nameOrFile)
	if err != nil {
		return nil, fmt.Errorf("board file: %w", err)
	}
	return Parse(data, nameOrFile)
}

// Parse reads a board from YAML and validates it. Unknown fields are
// errors, so a misspelt key is caught rather than ignored. source names
// the input in error messages.
func Parse(data []byte, source string) (*Board, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var b Board
	if err := dec.Decode(&b); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: the file is empty", source)
		}
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%s: holds more than one YAML document", source)
	}
	if err := b.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	return &b, nil
}

// Marshal writes the board as YAML that Parse reads back.
func (b *Board) Marshal() ([]byte, error) { return yaml.Marshal(b) }
