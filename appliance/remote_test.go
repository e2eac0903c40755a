package appliance

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/internal/passwords"
	"github.com/clonebay/clonebay/record"
	"github.com/clonebay/clonebay/sim"
	"github.com/clonebay/clonebay/ui"
)

// A front end (the web panel) sends requests with Appliance.Request:
// they go through the panel's model like a key, so the LCD shows what a
// request did, and a request the panel would refuse now is refused with
// the reason.

// smallSession is the master and two blank targets (ports 2 and 3), and
// a target that holds data in port 4 when withData.
func smallSession(t *testing.T, withData bool) func(r *sim.Rig) {
	return func(r *sim.Rig) {
		_, err := r.Insert(1, sim.Stick{Master: true, ReadMBps: 120, WriteMBps: 40})
		require.NoError(t, err)
		for p := 2; p <= 3; p++ {
			_, err := r.Insert(p, sim.DefaultTarget())
			require.NoError(t, err)
		}
		if withData {
			// A stick holding the master's content: a partition table and
			// a file system.
			_, err := r.Insert(4, sim.Stick{Master: true, ReadMBps: 90, WriteMBps: 40})
			require.NoError(t, err)
		}
	}
}

// request sends a front end's request and waits for its answer.
func (r *rigApp) request(req ui.Request) ui.Answer {
	r.t.Helper()
	ans, err := r.app.Request(context.Background(), req)
	require.NoError(r.t, err)
	return ans
}

func TestRemoteStartIsSeenOnTheLCD(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logPath := filepath.Join(t.TempDir(), "jobs.log")
		r := startRig(t, Config{}, Paths{Record: logPath}, smallSession(t, false))
		r.waitText("Targets: 2", 5*time.Second)
		views, stop := r.app.Subscribe()
		defer stop()

		ans := r.request(ui.StartRequest{Mode: ui.CopyVerify, Targets: []int{3}})
		require.True(t, ans.OK(), ans.Refused)
		assert.Equal(t, "Copy+Verify started on 1 targets", ans.Text)
		synctest.Wait()
		v := <-views
		require.NotNil(t, v.Job, "the next view shows the job")
		assert.Equal(t, []int{3}, v.Job.Targets, "only the port the request named")
		assert.Equal(t, "job", v.Screen)
		r.waitText("Copying", 5*time.Second)

		r.waitText("Job done", 60*time.Second)
		assert.Contains(t, r.rig.LCD.Text(), "1 PASS 0 FAIL")
		r.stop()
		rep, err := record.Read(fsys.OS, logPath)
		require.NoError(t, err)
		require.Len(t, rep.Entries, 1)
		assert.Equal(t, 3, rep.Entries[0].Port)
		assert.Equal(t, "PASS", rep.Entries[0].Result)
	})
}

func TestRemoteStartWhilePanelJobRunsIsRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startRig(t, Config{}, Paths{}, smallSession(t, false))
		r.waitText("Targets: 2", 5*time.Second)
		r.press(hal.OK)
		r.waitText("OK: start", 3*time.Second)
		r.press(hal.OK)
		r.waitText("Copying", 5*time.Second)

		ans := r.request(ui.StartRequest{Mode: ui.CopyVerify})
		assert.False(t, ans.OK())
		assert.Equal(t, "a job is running", ans.Refused)
		assert.Equal(t, ui.RefusedBusy, ans.Code)
		ans = r.request(ui.EraseRequest{Mode: "quick", Confirm: true})
		assert.Equal(t, "a job is running", ans.Refused, "nor an erase")
		assert.Contains(t, r.rig.LCD.Text(), "Copying", "the panel's job goes on")
		r.waitText("Job done", 60*time.Second)
		assert.Contains(t, r.rig.LCD.Text(), "2 PASS 0 FAIL")
	})
}

func TestRemoteRequestsThePanelWouldRefuse(t *testing.T) {
	set := ui.DefaultSettings()
	set.PIN = "1234"
	for _, tc := range []struct {
		name string
		req  ui.Request
		code string
		want string
	}{
		{"overwrite without confirm", ui.StartRequest{Mode: ui.CopyVerify}, ui.RefusedConfirm, "port 4 holds data: confirm to overwrite it"},
		{"the master port as a target", ui.StartRequest{Mode: ui.CopyVerify, Targets: []int{1}}, ui.RefusedInvalid, "port M is the master port: never a target"},
		{"an empty port", ui.StartRequest{Mode: ui.CopyOnly, Targets: []int{6}}, ui.RefusedInvalid, "port 6 holds no drive"},
		{"no such port", ui.StartRequest{Mode: ui.CopyOnly, Targets: []int{42}}, ui.RefusedInvalid, "there is no port 42"},
		{"erase locked by the PIN", ui.EraseRequest{Mode: "quick", Confirm: true}, ui.RefusedLocked, "locked by the PIN: give it"},
		{"erase with a wrong PIN", ui.EraseRequest{Mode: "quick", Confirm: true, PIN: "9999"}, ui.RefusedLocked, "wrong PIN"},
		{"erase without confirm", ui.EraseRequest{Mode: "quick", PIN: "1234"}, ui.RefusedConfirm, "erasing 3 drives destroys their data: confirm it"},
		{"Setup locked by the PIN", ui.SettingsRequest{}, ui.RefusedLocked, "locked by the PIN: give it"},
		{"abort with no job", ui.AbortRequest{}, ui.RefusedInvalid, "no job is running"},
		{"abort a port with no job", ui.AbortPortRequest{Port: 2}, ui.RefusedInvalid, "no job is running"},
		{"deploy a missing image", ui.DeployRequest{Image: "nope"}, ui.RefusedInvalid, `no image "nope" in the library`},
		{"check of an unknown kind", ui.CheckRequest{Port: 2, Kind: "smart"}, ui.RefusedInvalid, `check "smart": give scan or speed`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := startRig(t, Config{Settings: set, Passwords: passwords.Memory(4)}, Paths{}, smallSession(t, true))
				r.waitText("Targets: 3", 5*time.Second)
				before := r.rig.LCD.Text()
				ans := r.request(tc.req)
				assert.Equal(t, tc.want, ans.Refused)
				assert.Equal(t, tc.code, ans.Code)
				synctest.Wait()
				assert.Equal(t, before, r.rig.LCD.Text(), "a refused request leaves the panel as it was")
				assert.Equal(t, hal.LEDGreen, r.rig.LEDs.States()[1], "and starts nothing")
			})
		})
	}
}

func TestRemoteEraseWithThePIN(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		set := ui.DefaultSettings()
		set.PIN = "1234"
		r := startRig(t, Config{Settings: set, Passwords: passwords.Memory(4)}, Paths{}, smallSession(t, false))
		r.waitText("Targets: 2", 5*time.Second)
		ans := r.request(ui.EraseRequest{Mode: "quick", Confirm: true, PIN: "1234", Targets: []int{2}})
		require.True(t, ans.OK(), ans.Refused)
		r.waitText("Job done", 30*time.Second)
		assert.Contains(t, r.rig.LCD.Text(), "1 PASS 0 FAIL")
	})
}

func TestRemoteStartConfirmedOverwritesData(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startRig(t, Config{}, Paths{}, smallSession(t, true))
		r.waitText("Targets: 3", 5*time.Second)
		ans := r.request(ui.StartRequest{Mode: ui.CopyOnly, Targets: []int{4}, Confirm: true})
		require.True(t, ans.OK(), ans.Refused)
		r.waitText("Job done", 60*time.Second)
		assert.Contains(t, r.rig.LCD.Text(), "1 PASS 0 FAIL")
	})
}

func TestRemoteAbortOfOnePort(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var finished []Finished
		r := startRig(t, Config{}, Paths{}, smallSession(t, false))
		r.app.OnFinished(func(f Finished) { finished = append(finished, f) })
		r.waitText("Targets: 2", 5*time.Second)
		require.True(t, r.request(ui.StartRequest{Mode: ui.CopyVerify}).OK())
		r.waitText("Copying", 5*time.Second)

		ans := r.request(ui.AbortPortRequest{Port: 3})
		require.True(t, ans.OK(), ans.Refused)
		ans = r.request(ui.AbortPortRequest{Port: 5})
		assert.Equal(t, "port 5 is not in the running job", ans.Refused)
		r.waitText("Job done", 60*time.Second)
		assert.Contains(t, r.rig.LCD.Text(), "1 PASS 1 FAIL")
		assert.Contains(t, r.rig.LCD.Text(), "P3 ABORT")
		assert.Equal(t, hal.LEDGreen, r.rig.LEDs.States()[1], "port 2 went on and passed")

		require.Len(t, finished, 1, "metrics hear of the job once")
		byPort := map[int]string{}
		for _, p := range finished[0].Ports {
			byPort[p.Port] = p.Result
		}
		assert.Equal(t, map[int]string{2: "PASS", 3: "ABORTED"}, byPort)
	})
}

func TestRemoteAbortOfTheJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startRig(t, Config{}, Paths{}, smallSession(t, false))
		r.waitText("Targets: 2", 5*time.Second)
		require.True(t, r.request(ui.StartRequest{Mode: ui.CopyVerify}).OK())
		r.waitText("Copying", 5*time.Second)
		require.True(t, r.request(ui.AbortRequest{}).OK())
		r.waitText("Job done", 30*time.Second)
		assert.Contains(t, r.rig.LCD.Text(), "0 PASS 2 FAIL")
	})
}

func TestRequestAfterStopSaysSo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startRig(t, Config{}, Paths{}, smallSession(t, false))
		r.waitText("Targets: 2", 5*time.Second)
		r.stop()
		_, err := r.app.Request(context.Background(), ui.AbortRequest{})
		assert.ErrorIs(t, err, ErrStopped)
	})
}

func TestWebPasswordMadeOnThePanel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pins := passwords.Memory(4)
		r := startRig(t, Config{Passwords: pins}, Paths{}, smallSession(t, false))
		r.waitText("Targets: 2", 5*time.Second)
		r.press(hal.Up, hal.Up, hal.OK, hal.Up, hal.Up, hal.Up, hal.Up, hal.OK) // Setup > Web password
		r.waitText("Web password", 5*time.Second)
		synctest.Wait()
		lines := strings.Split(r.rig.LCD.Text(), "\n")
		require.GreaterOrEqual(t, len(lines), 2, r.rig.LCD.Text())
		pw := strings.TrimSpace(lines[1])
		require.Len(t, pw, 12, "the new password, whole, on the LCD:\n%s", r.rig.LCD.Text())
		role, err := pins.Login(pw)
		require.NoError(t, err, "the password shown is the one kept")
		assert.Equal(t, passwords.Operator, role)
	})
}
