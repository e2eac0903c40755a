//go:build linux

package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/internal/imgtest"

	"github.com/clonebay/clonebay/internal/testenv"
)

// rescueImage is Debian's GRUB rescue image (package grub-rescue-pc): a
// bootable hybrid image with an MBR.
const rescueImage = "/usr/lib/grub-rescue/grub-rescue-usb.img"

// TestCloneBoots clones a bootable master onto a larger target that holds
// old data and boots the clone under QEMU: GRUB must come up.
func TestCloneBoots(t *testing.T) {
	imgtest.Need(t, "qemu-system-x86_64")
	if _, err := os.Stat(rescueImage); err != nil {
		testenv.Skip(t, "%s is missing (Debian package grub-rescue-pc)", rescueImage)
	}
	for _, area := range []engine.Area{engine.WholeMedia{}, engine.UsedArea{}, engine.Smart{}} {
		t.Run(area.Name(), func(t *testing.T) {
			dir := t.TempDir()
			master := filepath.Join(dir, "master.img")
			data, err := os.ReadFile(rescueImage)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(master, data[:len(data)/512*512], 0o644))
			clone := filepath.Join(dir, "clone.img")
			imgtest.Garbage(t, clone, 64<<20)

			res, err := engine.Job{Source: fileDrive(t, master), Area: area,
				Targets: []engine.PortTarget{{Port: 2, Dev: fileDrive(t, clone)}}}.Run(context.Background())
			require.NoError(t, err)
			require.True(t, res.OK(), "%+v", res.Ports)
			bootsToGRUB(t, clone)
		})
	}
}

// bootsToGRUB boots a disk image under QEMU (TCG) and waits for GRUB on
// the serial console.
func bootsToGRUB(t *testing.T, img string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := execContext(ctx, "qemu-system-x86_64", "-nographic", "-m", "128", "-no-reboot",
		"-drive", "file="+img+",format=raw", "-serial", "mon:stdio")
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	// GRUB draws its menu with cursor moves, which can split "GNU GRUB"
	// anywhere: look for it in the text with the escape sequences removed.
	var seen strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := out.Read(buf)
		seen.Write(buf[:n])
		if strings.Contains(ansi.ReplaceAllString(seen.String(), ""), "GNU GRUB") {
			return
		}
		if err != nil {
			break
		}
	}
	t.Fatalf("GRUB did not come up on the clone; QEMU printed:\n%s", ansi.ReplaceAllString(seen.String(), ""))
}

// ansi matches a terminal escape sequence (CSI and the short ESC forms).
var ansi = regexp.MustCompile(`\x1b(\[[0-9;?]*[ -/]*[@-~]|[()][0-9A-Za-z]|[=>78])`)
