//go:build linux

package uevent

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// FuzzParseMessage: any bytes are refused with ErrMalformed or parsed into
// a message that names its action, path and subsystem, and that reads the
// same again once written out in udevd's format.
func FuzzParseMessage(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.uevent"))
	require.NoError(f, err)
	for _, file := range files {
		b, err := os.ReadFile(file)
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add(udevMessage("ACTION=add", "DEVPATH=/devices/x/block/sdb", "SUBSYSTEM=block", "DEVTYPE=disk", "ID_PATH=p"))
	f.Add(kernelMessage("remove", "/devices/x", "ACTION=remove", "DEVPATH=/devices/x", "SUBSYSTEM=usb"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseMessage(b)
		if err != nil {
			assert.ErrorIs(t, err, ErrMalformed)
			return
		}
		assert.NotEmpty(t, m.action)
		assert.Equal(t, byte('/'), m.devPath[0])
		assert.NotEmpty(t, m.subsystem)
		var props []string
		for k, v := range m.props {
			props = append(props, k+"="+v)
		}
		again, err := parseMessage(udevMessage(props...))
		require.NoError(t, err)
		assert.Equal(t, m.props, again.props)
		assert.Equal(t, m.action, again.action)
		assert.Equal(t, m.devPath, again.devPath)
	})
}
