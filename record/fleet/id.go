package fleet

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"

	"github.com/clonebay/clonebay/internal/fsys"
)

// idRE is what an appliance ID may look like: generated ones are 32 hex
// digits; one given on the command line may be any short name of this
// kind (a box's asset tag).
var idRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// CheckID accepts an appliance ID.
func CheckID(id string) error {
	if !idRE.MatchString(id) {
		return fmt.Errorf("appliance ID %q: use 1 to 64 letters, digits, '.', '-' or '_', starting with a letter or digit", id)
	}
	return nil
}

// NewID makes a random appliance ID: 128 bits as 32 hex digits.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// LoadOrCreateID returns the appliance ID kept at path, making one (and
// storing it crash-safe) the first time. A file that holds something
// that is not an ID is reported, never replaced: the box's entries on the
// server are filed under the ID, and a new one would start a second box.
func LoadOrCreateID(files fsys.FS, path string) (string, error) {
	data, err := files.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		id := NewID()
		if err := fsys.WriteFileAtomic(files, path, []byte(id+"\n"), 0o644); err != nil {
			return "", fmt.Errorf("appliance ID %s: %w", path, err)
		}
		return id, nil
	case err != nil:
		return "", fmt.Errorf("appliance ID %s: %w", path, err)
	}
	id := strings.TrimSpace(string(data))
	if err := CheckID(id); err != nil {
		return "", fmt.Errorf("appliance ID %s is damaged (%v): it is left as it is; restore it, or remove it to make the box a new one on the server", path, err)
	}
	return id, nil
}

// The files replication keeps in the appliance's state folder.
const (
	// IDFile holds the appliance ID.
	IDFile = "appliance-id"
	// CursorFile holds what the server acknowledged.
	CursorFile = "replicate.cursor"
)
