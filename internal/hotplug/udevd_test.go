//go:build linux

package hotplug

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestListening(t *testing.T) {
	const table = `Num       RefCount Protocol Flags    Type St Inode Path
0000000000000000: 00000002 00000000 00010000 0005 01 92816 /run/udev/control
0000000000000000: 00000003 00000000 00000000 0005 03 92817 /run/udev/control
0000000000000000: 00000002 00000000 00010000 0001 01 12345 /run/systemd/notify
0000000000000000: 00000003 00000000 00000000 0001 03 12346
`
	for _, tc := range []struct {
		name  string
		table string
		path  string
		want  bool
	}{
		{"a listener at the path", table, "/run/udev/control", true},
		{"only a connection at the path", strings.Replace(table, "00010000 0005", "00000000 0005", 1), "/run/udev/control", false},
		{"nothing at the path", table, "/run/other", false},
		{"an empty table", "", "/run/udev/control", false},
		{"garbage", "x y z\n\n\x00", "/run/udev/control", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, listening(strings.NewReader(tc.table), tc.path))
		})
	}
}

// The machine's own table: a socket file stays when its listener closes,
// as an exiting udevd's does, and only the listener counts.
func TestListeningOnThisMachine(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "control")
	isListening := func() bool {
		f, err := os.Open("/proc/net/unix")
		require.NoError(t, err)
		defer f.Close()
		return listening(f, sock)
	}
	assert.False(t, isListening(), "no socket")

	l, err := net.Listen("unixpacket", sock)
	require.NoError(t, err)
	assert.True(t, isListening(), "a listener")

	l.(*net.UnixListener).SetUnlinkOnClose(false)
	require.NoError(t, l.Close())
	_, err = os.Stat(sock)
	require.NoError(t, err, "the socket file stays")
	assert.False(t, isListening(), "a stale socket file")
}
