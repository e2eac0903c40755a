//go:build linux && cgo

package uevent_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/hal/udev"
	"github.com/clonebay/clonebay/hal/uevent"
	"github.com/clonebay/clonebay/internal/looptest"
)

// Both backends' Scan reports the same DriveInfo, field for field, for the
// same drives: loop devices with and without a udev identity, and the
// machine's other disks (which no test touches). The loop devices of
// other tests come and go meanwhile, so they are left out.
func TestScanMatchesTheUdevBackend(t *testing.T) {
	requireUdevd(t)
	looptest.LockUdevd(t)
	looptest.RestoreUdevd(t)
	identityRules(t)
	looptest.StopUdevd(t)
	looptest.StartUdevd(t)
	plain := looptest.Attach(t, 3*MiB, nil)
	named := attachWithIdentity(t, 5*MiB)
	// Wait until udevd has written its database entries of both.
	var sysPaths []string
	for _, d := range []looptest.Device{plain, named} {
		sysPaths = append(sysPaths, "/sys/class/block/"+filepath.Base(d.Node))
	}
	out, err := exec.Command("udevadm", append([]string{"trigger", "--action=change", "--settle"}, sysPaths...)...).CombinedOutput()
	require.NoError(t, err, "udevadm trigger: %s", out)

	scans := func(t *testing.T) (fromUdev, fromUevent map[string]hal.DriveInfo) {
		a, err := udev.Scan()
		require.NoError(t, err)
		b, err := uevent.Scan()
		require.NoError(t, err)
		byNode := func(drives []hal.DriveInfo) map[string]hal.DriveInfo {
			m := map[string]hal.DriveInfo{}
			for _, d := range drives {
				if !strings.HasPrefix(filepath.Base(d.Node), "loop") || d.Node == plain.Node || d.Node == named.Node {
					m[d.Node] = d
				}
			}
			return m
		}
		return byNode(a), byNode(b)
	}

	t.Run("with udevd", func(t *testing.T) {
		fromUdev, fromUevent := scans(t)
		assert.Equal(t, fromUdev, fromUevent)
		assert.Equal(t, "Clonebay", fromUevent[named.Node].Vendor, "udev's properties are read")
		assert.Contains(t, fromUevent, plain.Node)
	})

	looptest.StopUdevd(t)
	t.Run("without udevd", func(t *testing.T) {
		fromUdev, fromUevent := scans(t)
		// libudev reads udev's database even when udevd is gone, and its
		// entries may describe drives pulled since; hal/uevent reads
		// sysfs alone then, as the kernel's events that follow do.
		stale := fromUdev[named.Node]
		assert.Equal(t, "clonebay-test-"+filepath.Base(named.Node), stale.Path, "libudev reads the database")
		want := stale
		want.Path, want.Vendor, want.Model, want.Serial, want.Bus = "/devices/virtual/block/"+filepath.Base(named.Node), "", "", "", hal.BusLoop
		assert.Equal(t, want, fromUevent[named.Node], "hal/uevent reads sysfs")
		delete(fromUdev, named.Node)
		delete(fromUevent, named.Node)
		assert.Equal(t, fromUdev, fromUevent, "the drives without a udev identity")
		assert.Contains(t, fromUevent, plain.Node)
	})
}
