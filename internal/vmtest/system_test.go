//go:build systemtest

package vmtest_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/board"
	"github.com/clonebay/clonebay/internal/vmtest"
)

// The system test: the clonebay package installed on a Debian system that
// boots in QEMU, with systemd and udev of its own, and drives plugged into
// the ports of an emulated USB hub. `make system-test` builds the machine
// and runs it; it reads
//
//	CLONEBAY_VM_DIR        the machine: root.ext4, vmlinuz, initrd.img
//	CLONEBAY_VM_ARTIFACTS  where the serial log, the journal and the record are kept
//	CI_REQUIRE_ALL=1       a test that cannot run fails instead of skipping

// maxShowTime is how long a drive may take from its plug to its port on
// the appliance. Only a drive slower than that fails; the test prints
// every drive's time.
const maxShowTime = 15 * time.Second

// drive is one drive of the test, on its port of the hub.
type drive struct {
	port  board.Port
	role  string
	size  int64
	usb   vmtest.USBDrive
	node  string        // the guest's device node, as the appliance logged it
	shown time.Duration // from the plug to the appliance's "drive on port"
	state string        // the result so far
}

type rig struct {
	t         *testing.T
	m         *vmtest.Machine
	con       *vmtest.Console
	board     *board.Board
	master    *drive
	drives    []*drive // by port: master, targets
	artifacts string
	job       string // what became of the job
}

func TestApplianceInVM(t *testing.T) {
	if os.Geteuid() != 0 {
		skip(t, "needs root (it builds a root file system and boots it; run 'sudo make system-test')")
	}
	vmDir := os.Getenv("CLONEBAY_VM_DIR")
	if vmDir == "" {
		skip(t, "CLONEBAY_VM_DIR is not set: run 'make system-test', which builds the machine")
	}
	artifacts := os.Getenv("CLONEBAY_VM_ARTIFACTS")
	if artifacts == "" {
		artifacts = t.TempDir()
	}
	require.NoError(t, os.MkdirAll(artifacts, 0o755))
	for _, tool := range []string{"qemu-system-x86_64", "sgdisk", "mkfs.vfat", "mcopy", "mkfs.ext4"} {
		if _, err := exec.LookPath(tool); err != nil {
			skip(t, "%s is missing (scripts/deps.sh installs it)", tool)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 9*time.Minute)
	defer cancel()

	b, err := board.Builtin("qemu-usb")
	require.NoError(t, err)
	r := &rig{t: t, board: b, artifacts: artifacts, job: "not started: the test ended before it"}
	r.makeDrives()
	defer r.summary()

	// The machine, booted from the cached root file system.
	serial, err := os.Create(filepath.Join(artifacts, "serial.log"))
	require.NoError(t, err)
	defer serial.Close()
	r.con = vmtest.NewConsole(serial)
	sockets, err := os.MkdirTemp("", "cbvm") // short: Unix socket paths
	require.NoError(t, err)
	defer os.RemoveAll(sockets)
	bootStart := time.Now()
	r.m, err = vmtest.Start(ctx, vmtest.Config{
		Kernel: filepath.Join(vmDir, "vmlinuz"), Initrd: filepath.Join(vmDir, "initrd.img"),
		Root: filepath.Join(vmDir, "root.ext4"), Dir: sockets, Console: r.con,
		// quiet: after boot only journald writes to the console, whole
		// lines, which the test reads.
		Append: "quiet",
	})
	require.NoError(t, err)
	defer r.m.Close()
	defer r.keepArtifacts()
	require.NoError(t, r.m.Agent.Wait(ctx), "the guest agent did not answer: see %s", serial.Name())
	fmt.Printf("system-test: the machine is up %.1f s after its start (accel %s)\n", time.Since(bootStart).Seconds(), vmtest.Accel())

	t.Run("the package is installed and its service runs with the test board", func(t *testing.T) {
		out := r.sh(t, ctx, "systemctl is-enabled clonebay.service; systemctl is-active clonebay.service; dpkg-query -W -f='${Status}\\n' clonebay")
		assert.Equal(t, "enabled\nactive\ninstall ok installed\n", out)
		_, _, err := r.con.WaitLine(ctx, 0, r.m.Exited(), "the appliance's first drive scan", func(s string) bool {
			return vmtest.AppLog(s, "drive scan done") != nil
		})
		require.NoError(t, err)
		assert.Contains(t, r.sh(t, ctx, "journalctl -u clonebay -o cat --no-pager"), "board=qemu-usb")
		assert.Contains(t, r.sh(t, ctx, "clonebay check --board /etc/clonebay/board.yaml"), "board qemu-usb: valid (8 ports, master on port 1)")
	})
	if t.Failed() {
		return
	}

	t.Run("every drive appears on the port its slot says", func(t *testing.T) {
		for _, d := range r.drives {
			r.plug(t, ctx, d)
		}
		journal := r.sh(t, ctx, "journalctl -u clonebay -o cat --no-pager")
		check := r.sh(t, ctx, "clonebay check --board /etc/clonebay/board.yaml")
		for _, d := range r.drives {
			if d.node == "" {
				continue // plug already failed
			}
			assert.Contains(t, journal, fmt.Sprintf(`msg="drive on port" port=%d label=%s node=%s`, d.port.Number, d.port.Label, d.node))
			// The appliance read the drive: its identity, and the master's
			// partition table.
			table := `table=""`
			if d == r.master {
				table = "table=GPT"
			}
			assert.Contains(t, journal, fmt.Sprintf(`msg=drive port=%s node=%s model="QEMU QEMU HARDDISK" serial=%s size=%d %s`,
				d.port.Label, d.node, d.usb.Serial, d.size, table))
			assert.Contains(t, check, fmt.Sprintf("port %d (%s): %s (QEMU QEMU HARDDISK, %d bytes)", d.port.Number, d.port.Label, d.node, d.size))
			props := vmtest.Properties(r.sh(t, ctx, "udevadm info --query=property --name="+d.node))
			ok, _ := path.Match(d.port.Match, props["ID_PATH"])
			assert.True(t, ok, "port %d: ID_PATH %q does not match the board's %q", d.port.Number, props["ID_PATH"], d.port.Match)
			assert.Equal(t, d.usb.Serial, props["ID_SERIAL_SHORT"], "port %d", d.port.Number)
			assert.Equal(t, "1", props["UDISKS_IGNORE"], "port %d: the package's udev rule keeps the automounter off", d.port.Number)
		}
		for _, p := range r.board.Ports[len(r.drives):] {
			assert.Contains(t, check, fmt.Sprintf("port %d (%s): empty", p.Number, p.Label))
		}
	})
	if t.Failed() {
		return
	}

	t.Run("the master reads back as its image on the host", func(t *testing.T) {
		want := sha256File(t, r.master.usb.File)
		got := strings.Fields(r.sh(t, ctx, "sha256sum "+r.master.node))
		require.NotEmpty(t, got)
		assert.Equal(t, want, got[0])
	})

	t.Run("a restarted service comes back and shows the drives still plugged", func(t *testing.T) {
		pid := r.sh(t, ctx, "systemctl show -p MainPID --value clonebay")
		mark := r.con.Mark()
		r.sh(t, ctx, "systemctl restart clonebay")
		line, _, err := r.con.WaitLine(ctx, mark, r.m.Exited(), "the restarted appliance's drive scan", func(s string) bool {
			return vmtest.AppLog(s, "drive scan done") != nil
		})
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprint(len(r.drives)), vmtest.AppLog(line.Text, "drive scan done")["drives"])
		shown := map[string]string{}
		for _, l := range r.con.Lines(mark) {
			if kv := vmtest.AppLog(l.Text, "drive on port"); kv != nil {
				shown[kv["port"]] = kv["node"]
			}
		}
		for _, d := range r.drives {
			assert.Equal(t, d.node, shown[fmt.Sprint(d.port.Number)], "port %d after the restart", d.port.Number)
		}
		assert.Equal(t, "active\n", r.sh(t, ctx, "systemctl is-active clonebay"))
		assert.NotEqual(t, pid, r.sh(t, ctx, "systemctl show -p MainPID --value clonebay"), "a new process")
	})

	t.Run("the appliance logged no warning and no error", func(t *testing.T) {
		for _, l := range r.con.Lines(0) {
			if kv := vmtest.AppLog(l.Text, ""); kv != nil && kv["level"] != "INFO" {
				t.Errorf("%s", l.Text)
			}
		}
	})

	pulled := r.drives[len(r.drives)-1]
	results, err := runJobViaAPI(t, ctx, r, pulled)
	switch {
	case errors.Is(err, errNoWebAPI):
		r.job = "not yet available"
		fmt.Println("system-test: job via the web API: not yet available")
		for _, d := range r.drives {
			d.state += "; job: not run (no web API yet)"
		}
		// The pull the job will make mid-copy, made now on its own: the
		// appliance must see it.
		t.Run("a drive pulled from its port is seen", func(t *testing.T) { r.pull(t, ctx, pulled) })
	case err != nil:
		r.job = "failed: " + err.Error()
		t.Errorf("job via the web API: %v", err)
	default:
		r.job = "ran"
		for _, d := range r.drives {
			if res, ok := results[d.port.Number]; ok {
				d.state += "; job: " + strings.TrimSpace(res.Result+" "+res.Reason)
			}
		}
	}
}

// errNoWebAPI says the appliance has no web API to start a job with.
var errNoWebAPI = errors.New("the appliance has no web API yet")

// portResult is one port's result of the job, as the web API reports it.
type portResult struct {
	Result string // PASS or FAIL
	Reason string // why a port failed
}

// runJobViaAPI is where the job runs: it logs in to the web panel's HTTP
// API (POST /api/login), starts a copy+verify from the master onto every
// target (POST /api/jobs), pulls the drive `pulled` (r.pull) once bytes
// are written on its port (GET /api/status), and returns every port's
// result, by port number. Then the checks: the small target FAILs before
// any write and says why; the pulled one FAILs naming the removal; the
// others PASS and their image files on the host equal the master over the
// copy area; the production record (/var/lib/clonebay/jobs.log, kept as an
// artifact) names the right ports, labels and serials.
//
// The web panel is not there yet: this says so, and the test ends after
// the checks that need no job.
func runJobViaAPI(t *testing.T, ctx context.Context, r *rig, pulled *drive) (map[int]portResult, error) {
	return nil, errNoWebAPI
}

// makeDrives builds the master and the targets' image files on the host.
func (r *rig) makeDrives() {
	t := r.t
	dir := t.TempDir()
	master := filepath.Join(dir, "master.img")
	require.NoError(t, vmtest.MakeMaster(master, t.TempDir(), vmtest.DefaultMaster, 1))
	const mib = 1 << 20
	for i, d := range []struct {
		role, serial string
		size         int64
	}{
		{"master", "CB-1-MASTER", vmtest.DefaultMaster.Size},
		{"target", "CB-2-LARGER", 80 * mib},
		{"target, smaller than the master", "CB-3-SMALLER", 48 * mib},
		{"target", "CB-4-SAME", 64 * mib},
		{"target, to be pulled", "CB-5-PULLED", 64 * mib},
	} {
		p, ok := r.board.Port(i + 1)
		require.True(t, ok, "board qemu-usb has no port %d", i+1)
		file := master
		if i > 0 {
			file = filepath.Join(dir, fmt.Sprintf("target-%s.img", p.Label))
			require.NoError(t, vmtest.MakeBlank(file, d.size))
		}
		r.drives = append(r.drives, &drive{port: p, role: d.role, size: d.size, usb: vmtest.USBDrive{
			ID: fmt.Sprintf("port%d", p.Number), File: file, Port: vmtest.HubPath(p.Number),
			Serial: d.serial,
		}})
	}
	r.master = r.drives[0]
}

// plug plugs a drive into its port and waits for the appliance to show it
// there; a drive that takes longer than maxShowTime fails.
func (r *rig) plug(t *testing.T, ctx context.Context, d *drive) {
	mark := r.con.Mark()
	start := time.Now()
	require.NoError(t, r.m.Plug(ctx, d.usb))
	wait, cancel := context.WithTimeout(ctx, 4*maxShowTime)
	defer cancel()
	line, _, err := r.con.WaitLine(wait, mark, r.m.Exited(), fmt.Sprintf("port %d's drive", d.port.Number), func(s string) bool {
		kv := vmtest.AppLog(s, "drive on port")
		return kv != nil && kv["port"] == fmt.Sprint(d.port.Number)
	})
	if err != nil {
		d.state = "never shown"
		t.Errorf("port %d (%s): plugged at hub port %s, not shown by the appliance: %v", d.port.Number, d.port.Label, d.usb.Port, err)
		return
	}
	kv := vmtest.AppLog(line.Text, "drive on port")
	d.node, d.shown, d.state = kv["node"], line.At.Sub(start), "on its port"
	fmt.Printf("system-test: port %d (%s): %s on %s, shown %.1f s after the plug\n", d.port.Number, d.port.Label, d.role, d.node, d.shown.Seconds())
	if d.shown > maxShowTime {
		t.Errorf("port %d (%s): shown %.1f s after the plug, more than %s", d.port.Number, d.port.Label, d.shown.Seconds(), maxShowTime)
	}
	assert.Equal(t, d.port.Label, kv["label"])
}

// pull pulls a drive out of its port and waits for the appliance to see
// it go.
func (r *rig) pull(t *testing.T, ctx context.Context, d *drive) {
	mark := r.con.Mark()
	start := time.Now()
	require.NoError(t, r.m.Unplug(ctx, d.usb.ID))
	wait, cancel := context.WithTimeout(ctx, 4*maxShowTime)
	defer cancel()
	_, _, err := r.con.WaitLine(wait, mark, r.m.Exited(), fmt.Sprintf("port %d's drive to go", d.port.Number), func(s string) bool {
		kv := vmtest.AppLog(s, "drive removed")
		return kv != nil && kv["port"] == d.port.Label && kv["node"] == d.node
	})
	if err != nil {
		t.Errorf("port %d (%s): pulled, the appliance did not see it: %v", d.port.Number, d.port.Label, err)
		return
	}
	took := time.Since(start)
	d.state = fmt.Sprintf("pulled, seen gone %.1f s after", took.Seconds())
	fmt.Printf("system-test: port %d (%s): pulled, seen gone %.1f s after the pull\n", d.port.Number, d.port.Label, took.Seconds())
	assert.Contains(t, r.sh(t, ctx, "clonebay check --board /etc/clonebay/board.yaml"), fmt.Sprintf("port %d (%s): empty", d.port.Number, d.port.Label))
}

// sh runs a command in the guest; it must succeed.
func (r *rig) sh(t *testing.T, ctx context.Context, script string) string {
	t.Helper()
	res, err := r.m.Agent.Sh(ctx, script)
	require.NoError(t, err)
	return res.Stdout
}

// keepArtifacts saves the appliance's journal and the production record
// beside the serial log.
func (r *rig) keepArtifacts() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for name, script := range map[string]string{
		"journal.txt": "journalctl -b -o short-precise --no-pager",
		"check.txt":   "clonebay check --board /etc/clonebay/board.yaml",
		"jobs.log":    "if [ -s /var/lib/clonebay/jobs.log ]; then cat /var/lib/clonebay/jobs.log; else echo 'the production record is empty: no job has run'; fi",
	} {
		res, err := r.m.Agent.Sh(ctx, script)
		if err != nil {
			r.t.Logf("artifact %s: %v", name, err)
			continue
		}
		if err := os.WriteFile(filepath.Join(r.artifacts, name), []byte(res.Stdout), 0o644); err != nil {
			r.t.Logf("artifact %s: %v", name, err)
		}
	}
}

// summary writes summary.txt: what became of the job, then one line per
// port with its label, drive, result so far and the time from plug to
// port shown. make system-test prints it last.
func (r *rig) summary() {
	var sb strings.Builder
	fmt.Fprintf(&sb, "system-test: job via the web API: %s\n", r.job)
	for _, d := range r.drives {
		shown := "-"
		if d.shown > 0 {
			shown = fmt.Sprintf("%.1f s", d.shown.Seconds())
		}
		fmt.Fprintf(&sb, "  port %d (%-2s) %-33s %-9s %-12s %3d MiB  plug->shown %-7s %s\n",
			d.port.Number, d.port.Label, d.role, or(d.node, "-"), d.usb.Serial, d.size>>20, shown, or(d.state, "not plugged"))
	}
	r.t.Log("\n" + sb.String())
	_ = os.WriteFile(filepath.Join(r.artifacts, "summary.txt"), []byte(sb.String()), 0o644)
}

func or(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// skip skips the test with the reason, or fails it when CI_REQUIRE_ALL=1.
func skip(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI_REQUIRE_ALL") == "1" {
		t.Fatalf("system test cannot run, and CI_REQUIRE_ALL=1 makes that a failure: "+format, args...)
	}
	t.Skipf("system test skipped: "+format, args...)
}

func sha256File(t *testing.T, file string) string {
	t.Helper()
	f, err := os.Open(file)
	require.NoError(t, err)
	defer f.Close()
	h := sha256.New()
	_, err = io.Copy(h, f)
	require.NoError(t, err)
	return hex.EncodeToString(h.Sum(nil))
}
