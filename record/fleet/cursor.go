package fleet

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"

	"github.com/clonebay/clonebay/internal/fsys"
)

// cursor is what the server has acknowledged: every entry of this box up
// to seq, the last with sum. It is kept crash-safe in the state folder;
// losing it costs a resend (the server skips what it holds), never an
// entry.
type cursor struct {
	ID  string `json:"appliance_id"`
	Seq int64  `json:"seq"`
	Sum string `json:"sum"`
}

func loadCursor(files fsys.FS, path, id string) (cursor, error) {
	if path == "" {
		return cursor{ID: id}, nil
	}
	data, err := files.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cursor{ID: id}, nil
	}
	if err != nil {
		return cursor{}, fmt.Errorf("replication cursor: %w", err)
	}
	var c cursor
	if err := json.Unmarshal(data, &c); err != nil || c.Seq < 0 {
		// Not worth stopping for: the server says what it holds.
		return cursor{ID: id}, nil
	}
	if c.ID != id {
		return cursor{ID: id}, nil // another box's: start over
	}
	return c, nil
}

func saveCursor(files fsys.FS, path string, c cursor) error {
	if path == "" {
		return nil
	}
	data, _ := json.Marshal(c)
	if err := fsys.WriteFileAtomic(files, path, append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("replication cursor: %w", err)
	}
	return nil
}
