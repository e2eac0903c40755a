package blockdev

import (
	"fmt"

	"github.com/clonebay/clonebay/hal"
)

var _ hal.Master = (*Drive)(nil)

// OpenMaster opens a drive as a job's master: read-only, and write-blocked
// until it is closed. It fails, closing the drive, when the block cannot
// be put in place (writing BLKROSET needs root).
func OpenMaster(node string) (*Drive, error) {
	// A job killed before it could restore a master leaves the master
	// read-only; give every such device its state back first.
	if _, err := RestoreStale(); err != nil {
		return nil, fmt.Errorf("master %s: %w", node, err)
	}
	d, err := OpenRead(node)
	if err != nil {
		return nil, err
	}
	if err := d.WriteBlock(); err != nil {
		d.Close()
		return nil, fmt.Errorf("master %s: %w (write-blocking the master needs root)", node, err)
	}
	return d, nil
}

func (Opener) OpenMaster(node string) (hal.Master, error) { return OpenMaster(node) }
