package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/internal/testenv"
)

// TestTerminalPanelInTmux starts `clonebay sim` in a tmux pane, presses
// keys the way a developer would and reads the panel off the screen.
func TestTerminalPanelInTmux(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		testenv.Skip(t, "tmux is missing (Debian package tmux)")
	}
	bin := filepath.Join(t.TempDir(), "clonebay")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	sock := filepath.Join(t.TempDir(), "tmux.sock")
	tmux := func(args ...string) string {
		out, err := exec.Command("tmux", append([]string{"-S", sock}, args...)...).CombinedOutput()
		require.NoError(t, err, "tmux %v: %s", args, out)
		return string(out)
	}
	tmux("new-session", "-d", "-s", "panel", "-x", "100", "-y", "32", bin+" sim; echo exited-$?; sleep 30")
	t.Cleanup(func() { _ = exec.Command("tmux", "-S", sock, "kill-server").Run() })

	screen := func() string { return tmux("capture-pane", "-p", "-t", "panel") }
	waitFor := func(text string, within time.Duration) string {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			s := screen()
			if strings.Contains(s, text) {
				return s
			}
			if time.Now().After(deadline) {
				t.Fatalf("the panel did not show %q within %v; it shows:\n%s", text, within, s)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	s := waitFor("Targets: 7", 10*time.Second)
	assert.Contains(t, s, "|Clonebay Copy+Verify|")
	assert.Contains(t, s, "port 8 (8)  Slow Stick")

	tmux("send-keys", "-t", "panel", "Down")
	waitFor(">1 Copy", 3*time.Second)
	tmux("send-keys", "-t", "panel", "Escape")
	waitFor("Targets: 7", 3*time.Second)

	tmux("send-keys", "-t", "panel", "3") // pull the drive out of port 3
	waitFor("port 3 (3)  (empty)", 3*time.Second)
	waitFor("Targets: 6", 3*time.Second)

	tmux("send-keys", "-t", "panel", "Enter")
	waitFor("x6", 3*time.Second)
	tmux("send-keys", "-t", "panel", "Enter")
	waitFor("Copying 6x", 30*time.Second)
	waitFor("6 PASS 0 FAIL", 60*time.Second)

	tmux("send-keys", "-t", "panel", "q")
	s = waitFor("exited-0", 5*time.Second)
	assert.NotContains(t, s, "Clonebay simulator", "the terminal was restored: the panel is gone from the screen")
}
