//go:build linux

package blockdev_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/clonebay/clonebay/hal/blockdev"
	"github.com/clonebay/clonebay/internal/looptest"
)

// holdEnv makes the test binary a job that write-blocks a master and is
// then killed: TestHelperHoldMaster runs in the child.
const holdEnv = "CLONEBAY_TEST_HOLD_MASTER"

// TestHelperHoldMaster is not a test: it is the killed job of
// TestKilledJobLeavesNoReadOnlyMaster, run in a child process.
func TestHelperHoldMaster(t *testing.T) {
	node := os.Getenv(holdEnv)
	if node == "" {
		t.Skip("runs only as the child of TestKilledJobLeavesNoReadOnlyMaster")
	}
	blockdev.LedgerDir = os.Getenv(holdEnv + "_LEDGER")
	if _, err := blockdev.OpenMaster(node); err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("write-blocked")
	select {} // until killed
}

// sysRO is the kernel's read-only flag of a loop device.
func sysRO(t *testing.T, node string) string {
	t.Helper()
	b, err := os.ReadFile("/sys/block/" + filepath.Base(node) + "/ro")
	require.NoError(t, err)
	return strings.TrimSpace(string(b))
}

func setRO(t *testing.T, node string, v int) {
	t.Helper()
	f, err := os.Open(node)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, unix.IoctlSetPointerInt(int(f.Fd()), unix.BLKROSET, v))
}

// TestKilledJobLeavesNoReadOnlyMaster: a job killed with SIGKILL while it
// write-blocks a master leaves the flag set; the ledger gives the drive
// its own state back at the next start (RestoreStale) or the next
// write-block, and a drive that was read-only before stays so.
func TestKilledJobLeavesNoReadOnlyMaster(t *testing.T) {
	looptest.Require(t)
	ledger := t.TempDir()
	old := blockdev.LedgerDir
	blockdev.LedgerDir = ledger
	t.Cleanup(func() { blockdev.LedgerDir = old })

	killedJob := func(t *testing.T, node string) {
		t.Helper()
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldMaster$", "-test.count=1")
		cmd.Env = append(os.Environ(), holdEnv+"="+node, holdEnv+"_LEDGER="+ledger)
		out, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		line, err := bufio.NewReader(out).ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, "write-blocked\n", line, "the child job blocked the master")
		require.NoError(t, cmd.Process.Kill())
		_ = cmd.Wait()
		require.Equal(t, "1", sysRO(t, node), "the killed job left the master read-only")
	}

	for _, tc := range []struct {
		name   string
		before int // the drive's own flag
		after  func(t *testing.T, node string)
	}{
		{"restored at the next start", 0, func(t *testing.T, node string) {
			restored, err := blockdev.RestoreStale()
			require.NoError(t, err)
			assert.Equal(t, []string{node}, restored)
		}},
		{"restored by the next job on it", 0, func(t *testing.T, node string) {
			d, err := blockdev.OpenMaster(node)
			require.NoError(t, err)
			assert.Equal(t, "1", sysRO(t, node), "blocked for this job")
			require.NoError(t, d.Close())
		}},
		{"a drive read-only before stays so", 1, func(t *testing.T, node string) {
			_, err := blockdev.RestoreStale()
			require.NoError(t, err)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dev := looptest.Attach(t, 4*MiB, nil)
			setRO(t, dev.Node, tc.before)
			t.Cleanup(func() { setRO(t, dev.Node, 0) })
			killedJob(t, dev.Node)
			tc.after(t, dev.Node)
			assert.Equal(t, fmt.Sprint(tc.before), sysRO(t, dev.Node), "the drive's own state")
			entries, err := filepath.Glob(filepath.Join(ledger, "*.json"))
			require.NoError(t, err)
			assert.Empty(t, entries, "the ledger is empty again")
		})
	}

	t.Run("a running job's block is left alone", func(t *testing.T) {
		dev := looptest.Attach(t, 4*MiB, nil)
		d, err := blockdev.OpenMaster(dev.Node)
		require.NoError(t, err)
		restored, err := blockdev.RestoreStale()
		require.NoError(t, err)
		assert.Empty(t, restored)
		assert.Equal(t, "1", sysRO(t, dev.Node))
		require.NoError(t, d.Close())
		assert.Equal(t, "0", sysRO(t, dev.Node))
	})
}
