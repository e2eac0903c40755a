package blockdev

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"golang.org/x/sys/unix"

	"github.com/clonebay/clonebay/hal"
)

// A pulled drive's I/O fails with whatever the kernel has at hand at that
// moment; the operator reads "drive was removed" whenever the kernel's
// word or the drive's size says so, and the kernel's word beside it.
func TestRemovedCause(t *testing.T) {
	for _, tc := range []struct {
		name    string
		err     error
		gone    bool
		removed bool
	}{
		{"torn down before its size reads 0", unix.ENODEV, false, true},
		{"no such device or address", unix.ENXIO, false, true},
		{"wrapped by the os package", fmt.Errorf("pwrite: %w", unix.ENODEV), false, true},
		{"an I/O error once the size reads 0", unix.EIO, true, true},
		{"no space once the size reads 0", unix.ENOSPC, true, true},
		{"an I/O error on a drive still there", unix.EIO, false, false},
		{"a bad argument on a drive still there", unix.EINVAL, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			asked := false
			err := removedCause(tc.err, func() bool { asked = true; return tc.gone })
			assert.ErrorIs(t, err, tc.err, "the kernel's word stays")
			assert.Equal(t, tc.removed, errors.Is(err, hal.ErrRemoved), "%v", err)
			if tc.removed {
				assert.Contains(t, err.Error(), fmt.Sprintf("drive was removed (%v)", tc.err))
			} else {
				assert.True(t, asked, "the size was asked")
				assert.Equal(t, tc.err.Error(), err.Error())
			}
		})
	}
}
