package vmtest_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/board"
	"github.com/clonebay/clonebay/internal/vmtest"
)

// TestBoardMatchesTheMachine ties the built-in board qemu-usb to the
// machine Config builds: the drive in hub port N has the ID_PATH udev
// gives it there (seen with `udevadm info` in the machine), and that is
// port N.
func TestBoardMatchesTheMachine(t *testing.T) {
	b, err := board.Builtin("qemu-usb")
	require.NoError(t, err)
	require.Len(t, b.Ports, vmtest.HubPorts, "one port for each port of the hub")
	idPath := func(usbPort string) string {
		return fmt.Sprintf("pci-0000:00:%02x.0-usb-0:%s:1.0-scsi-0:0:0:0", vmtest.XHCISlot, usbPort)
	}
	assert.Equal(t, "pci-0000:00:08.0-usb-0:1.3:1.0-scsi-0:0:0:0", idPath(vmtest.HubPath(3)), "as udev named it in the machine")
	for n := 1; n <= vmtest.HubPorts; n++ {
		t.Run(fmt.Sprintf("hub port %d", n), func(t *testing.T) {
			p, ok := b.PortFor(idPath(vmtest.HubPath(n)), "/dev/sdx")
			require.True(t, ok)
			assert.Equal(t, n, p.Number)
		})
	}
	for _, stray := range []string{
		idPath("2"),     // a root port of the controller, not the hub's
		idPath("1.3.2"), // behind a second hub
		"pci-0000:00:09.0-usb-0:1.3:1.0-scsi-0:0:0:0", // another controller
		"pci-0000:00:04.0",                            // the root disk, virtio
	} {
		t.Run("no port for "+stray, func(t *testing.T) {
			_, ok := b.PortFor(stray, "/dev/sdx")
			assert.False(t, ok)
		})
	}
	assert.Equal(t, 1, b.MasterPort)
	assert.Equal(t, []string{"usb"}, b.Buses, "only USB drives: never the machine's virtio root disk")
}
