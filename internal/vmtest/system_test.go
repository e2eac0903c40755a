//go:build linux && systemtest

package vmtest_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
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
	"github.com/clonebay/clonebay/internal/imgtest"
	"github.com/clonebay/clonebay/internal/vmtest"
	"github.com/clonebay/clonebay/record"
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

// portResult is one port's result of the job, as the web API reports it.
type portResult struct {
	Result string // PASS or FAIL
	Reason string // why a port failed
}

// runJobViaAPI is where the job runs: it sets an operator password with
// clonebay passwd, logs in to the web panel's HTTP API (POST /api/login),
// starts a copy+verify from the master onto every target (POST
// /api/jobs), pulls the drive `pulled` (r.pull) once bytes are written on
// its port (GET /api/status), and returns every port's result, by port
// number. Then the checks: the small target FAILs before any write; the
// pulled one FAILs; the others PASS and their image files on the host
// equal the master over the copy area (the whole master: the package's
// settings say area: whole); the production record
// (/var/lib/clonebay/jobs.log, kept as an artifact) names the right ports,
// labels and serials with the same results.
//
// The machine has no network card: the guest's bash talks HTTP to the
// appliance on 127.0.0.1 through /dev/tcp, the requests made and the
// answers read here.
func runJobViaAPI(t *testing.T, ctx context.Context, r *rig, pulled *drive) (map[int]portResult, error) {
	const password = "system-test-operator"
	if _, err := r.m.Agent.Sh(ctx, "printf '%s\\n' "+password+" | clonebay passwd --role operator"); err != nil {
		return nil, fmt.Errorf("clonebay passwd: %w", err)
	}
	c := &apiClient{r: r}
	var login struct{ Role, CSRF string }
	if err := c.call(ctx, "POST", "/api/login", map[string]string{"password": password}, http.StatusOK, &login); err != nil {
		return nil, err
	}
	c.csrf = login.CSRF
	if login.Role != "operator" {
		return nil, fmt.Errorf("logged in as %q, not operator", login.Role)
	}
	var targets []int
	for _, d := range r.drives[1:] {
		targets = append(targets, d.port.Number)
	}
	var started struct{ Text string }
	if err := c.call(ctx, "POST", "/api/jobs", map[string]any{"mode": "copy+verify", "targets": targets, "confirm": true},
		http.StatusAccepted, &started); err != nil {
		return nil, fmt.Errorf("start: %w", err)
	}
	fmt.Printf("system-test: job via the web API: %s\n", started.Text)

	// Follow the job: the API has no push a shell can wait on here, so
	// the status is read every 200 ms.
	results := map[int]portResult{}
	pulledAt := int64(-1)
	seenJob := false
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		var st apiStatus
		if err := c.call(ctx, "GET", "/api/status", nil, http.StatusOK, &st); err != nil {
			return nil, err
		}
		for _, p := range st.Ports {
			if p.Result != nil {
				results[p.Number] = portResult{Result: p.Result.Result, Reason: strings.TrimSpace(p.Result.Cause + ": " + p.Result.Reason)}
			}
			if p.Number == pulled.port.Number && pulledAt < 0 && p.Working && p.Phase == "copying" && p.Done > 0 {
				pulledAt = p.Done
				fmt.Printf("system-test: port %d pulled with %d of %d bytes written\n", p.Number, p.Done, p.Total)
				r.pull(t, ctx, pulled)
			}
		}
		// The job's end shows its results at once (a pulled drive's port
		// may show none once it is empty).
		seenJob = seenJob || st.Job != nil
		if st.Job == nil && (seenJob || len(results) >= len(targets)) {
			break
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return results, fmt.Errorf("the job did not end: %w", ctx.Err())
		}
	}

	entries := r.recordEntries(t, ctx)
	for _, d := range r.drives[1:] {
		e, ok := entries[d.port.Number]
		if !assert.True(t, ok, "port %d: no entry in the production record", d.port.Number) {
			continue
		}
		assert.Equal(t, d.port.Label, e.Label, "port %d: the record's label", d.port.Number)
		assert.Equal(t, d.usb.Serial, e.TargetSerial, "port %d: the record's serial", d.port.Number)
		assert.Equal(t, r.master.usb.Serial, e.MasterSerial, "port %d: the record's master", d.port.Number)
		if _, seen := results[d.port.Number]; !seen {
			// A pulled drive's port may show nothing once it is empty:
			// the record has its result.
			results[d.port.Number] = portResult{Result: e.Result, Reason: e.Reason}
		}
		assert.Equal(t, results[d.port.Number].Result, e.Result, "port %d: the record says what the API said", d.port.Number)
	}

	want := sha256Prefix(t, r.master.usb.File, r.master.size)
	for _, d := range r.drives[1:] {
		res := results[d.port.Number]
		switch {
		case d.size < r.master.size:
			assert.Equal(t, "FAIL", res.Result, "port %d: smaller than the master", d.port.Number)
			assert.Zero(t, entries[d.port.Number].Written, "port %d: failed before any write", d.port.Number)
		case d == pulled:
			if pulledAt < 0 {
				t.Errorf("port %d: the job ended before any byte was seen written there, so it was never pulled", d.port.Number)
				continue
			}
			assert.Equal(t, "FAIL", res.Result, "port %d: pulled mid-copy", d.port.Number)
			// Whatever the kernel answered first (an I/O error while it
			// tears the drive down, "no such device" after), the operator
			// reads that the drive was removed.
			assert.Contains(t, res.Reason, "drive was removed", "port %d: pulled mid-copy", d.port.Number)
		case d.size > r.master.size:
			// A larger target gets the master's GPT moved to its own end:
			// the headers differ by design; between them it is the master,
			// and the moved table must check.
			if assert.Equal(t, "PASS", res.Result, "port %d: %s", d.port.Number, res.Reason) {
				const head, tail = 34 * 512, 33 * 512
				assert.Equal(t, sha256Range(t, r.master.usb.File, head, r.master.size-tail), sha256Range(t, d.usb.File, head, r.master.size-tail),
					"port %d: the target holds the master between its GPTs", d.port.Number)
				out, err := exec.Command("sgdisk", "-v", d.usb.File).CombinedOutput()
				assert.NoError(t, err, "port %d: sgdisk -v: %s", d.port.Number, out)
				imgtest.GPTGood(t, string(out), fmt.Sprintf("port %d: the moved GPT", d.port.Number))
			}
		default:
			if assert.Equal(t, "PASS", res.Result, "port %d: %s", d.port.Number, res.Reason) {
				assert.Equal(t, want, sha256Prefix(t, d.usb.File, r.master.size), "port %d: the target holds the master", d.port.Number)
			}
		}
	}
	return results, nil
}

// apiClient talks to the appliance's web API from inside the guest.
type apiClient struct {
	r      *rig
	cookie *http.Cookie
	csrf   string
}

// apiStatus is what the test reads of GET /api/status.
type apiStatus struct {
	Job   *struct{ Mode string } `json:"job"`
	Ports []struct {
		Number  int    `json:"number"`
		Working bool   `json:"working"`
		Phase   string `json:"phase"`
		Done    int64  `json:"done"`
		Total   int64  `json:"total"`
		Result  *struct {
			Result, Cause, Reason string
		} `json:"result"`
	} `json:"ports"`
}

// call makes one request of the API on the guest's 127.0.0.1:8080 and
// decodes the answer, which must have status want, into out.
func (c *apiClient) call(ctx context.Context, method, target string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://127.0.0.1:8080"+target, rd)
	if err != nil {
		return err
	}
	req.Close = true // the answer ends with the connection
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.cookie != nil {
		req.AddCookie(c.cookie)
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	var raw bytes.Buffer
	if err := req.Write(&raw); err != nil {
		return err
	}
	script := "exec bash -c 'exec 3<>/dev/tcp/127.0.0.1/8080 && echo " + base64.StdEncoding.EncodeToString(raw.Bytes()) +
		" | base64 -d >&3 && cat <&3'"
	res, err := c.r.m.Agent.Sh(ctx, script)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, target, err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(res.Stdout)), req)
	if err != nil {
		return fmt.Errorf("%s %s: the answer: %w", method, target, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: the answer's body: %w", method, target, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %s: %s", method, target, resp.Status, bytes.TrimSpace(data))
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == "clonebay_session" {
			c.cookie = &http.Cookie{Name: ck.Name, Value: ck.Value}
		}
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: the answer %q: %w", method, target, data, err)
	}
	return nil
}

// recordEntries reads the production record's newest entry for each port.
func (r *rig) recordEntries(t *testing.T, ctx context.Context) map[int]record.Entry {
	out := map[int]record.Entry{}
	for _, line := range strings.Split(strings.TrimSpace(r.sh(t, ctx, "cat /var/lib/clonebay/jobs.log")), "\n") {
		var e record.Entry
		if json.Unmarshal([]byte(line), &e) == nil && e.Port != 0 {
			out[e.Port] = e
		}
	}
	return out
}

// sha256Prefix is the checksum of a file's first n bytes.
func sha256Prefix(t *testing.T, file string, n int64) string {
	t.Helper()
	f, err := os.Open(file)
	require.NoError(t, err)
	defer f.Close()
	h := sha256.New()
	got, err := io.Copy(h, io.LimitReader(f, n))
	require.NoError(t, err)
	require.Equal(t, n, got, "%s is shorter than %d bytes", file, n)
	return hex.EncodeToString(h.Sum(nil))
}

// sha256Range hashes the bytes [from, to) of a file.
func sha256Range(t *testing.T, file string, from, to int64) string {
	t.Helper()
	f, err := os.Open(file)
	require.NoError(t, err)
	defer f.Close()
	h := sha256.New()
	got, err := io.Copy(h, io.NewSectionReader(f, from, to-from))
	require.NoError(t, err)
	require.Equal(t, to-from, got, "%s is shorter than %d bytes", file, to)
	return hex.EncodeToString(h.Sum(nil))
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
