//go:build unix

package web_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/sys/unix"

	"github.com/clonebay/clonebay/appliance"
	"github.com/clonebay/clonebay/board"
	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/internal/passwords"
	"github.com/clonebay/clonebay/sim"
	"github.com/clonebay/clonebay/sim/scenario"
	"github.com/clonebay/clonebay/ui"
	"github.com/clonebay/clonebay/web"
)

// BenchmarkJobWithWebPanel measures what the web panel costs a job: the
// process's CPU time (getrusage: user and system) for a copy+verify of
// the simulator's master onto 16 targets, on an appliance without the
// web panel and on one whose web panel serves a live client that reads
// every event. The two run turn about, each on its own rig kept from
// job to job (so no run pays the page faults of a fresh rig's memory),
// and it reports the CPU time of each and the difference in percent.
func BenchmarkJobWithWebPanel(b *testing.B) {
	var yaml strings.Builder
	yaml.WriteString("name: bench17\nmaster_port: 1\nbuses: [virtual]\nports:\n")
	for p := 1; p <= 17; p++ {
		fmt.Fprintf(&yaml, "  - {number: %d, label: \"%d\", match: \"sim-port-%d\"}\n", p, p, p)
	}
	bd, err := board.Parse([]byte(yaml.String()), "bench17")
	require.NoError(b, err)
	plain := newBenchApp(b, bd, false)
	withWeb := newBenchApp(b, bd, true)
	plain.job(b) // the first jobs fault the rigs' memory in
	withWeb.job(b)
	var cpuPlain, cpuWeb time.Duration
	b.ResetTimer()
	for range b.N {
		p, w := plain.job(b), withWeb.job(b)
		b.Logf("job: %v CPU; with the web panel: %v", p.Round(time.Millisecond), w.Round(time.Millisecond))
		cpuPlain += p
		cpuWeb += w
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(cpuPlain.Milliseconds())/n, "cpu-ms/job")
	b.ReportMetric(float64(cpuWeb.Milliseconds())/n, "cpu-ms/job+web")
	b.ReportMetric(100*float64(cpuWeb-cpuPlain)/float64(cpuPlain), "%web")
	b.Logf("%d live events to the client", withWeb.events.Load())
}

// cpuTime is the process's CPU time so far.
func cpuTime(tb testing.TB) time.Duration {
	var ru unix.Rusage
	require.NoError(tb, unix.Getrusage(unix.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchApp is an appliance with a master and 16 targets, with or
// without a web panel and a live client.
type benchApp struct {
	app    *appliance.Appliance
	done   chan struct{}
	events atomic.Int64
}

func newBenchApp(b *testing.B, bd *board.Board, withWeb bool) *benchApp {
	rig := sim.NewRig(bd)
	_, err := rig.Insert(1, sim.Stick{Master: true, ReadMBps: 400, WriteMBps: 100})
	require.NoError(b, err)
	for p := 2; p <= 17; p++ {
		_, err := rig.Insert(p, sim.Stick{Size: 128 << 20, ReadMBps: 90, WriteMBps: 40, Model: "Bench Stick"})
		require.NoError(b, err)
	}
	store := passwords.Memory(bcrypt.MinCost)
	require.NoError(b, store.Set(passwords.Operator, operatorPassword))
	// A window that holds the whole copy: no target falls behind and reads
	// the master itself, which would make the CPU time of a job depend on
	// how the machine's other work schedules its goroutines.
	app, err := appliance.New(appliance.Config{Board: bd, Settings: ui.DefaultSettings(), Version: "bench", Passwords: store,
		JobOptions: engine.Options{WindowChunks: 80}},
		scenario.Hardware(rig), appliance.Paths{Record: filepath.Join(b.TempDir(), "jobs.log")}, slog.New(slog.DiscardHandler))
	require.NoError(b, err)
	ba := &benchApp{app: app, done: make(chan struct{}, 1)}
	app.OnFinished(func(appliance.Finished) { ba.done <- struct{}{} })
	ctx, cancel := context.WithCancel(context.Background())
	appDone := make(chan error, 1)
	go func() { appDone <- app.Run(ctx) }()
	b.Cleanup(func() {
		cancel()
		require.NoError(b, <-appDone)
	})
	if !withWeb {
		return ba
	}
	srv, err := web.New(web.Options{App: app, Passwords: store, Version: "bench"})
	require.NoError(b, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	webDone := make(chan error, 1)
	go func() { webDone <- srv.Serve(ctx, ln) }()
	jar, err := cookiejar.New(nil)
	require.NoError(b, err)
	client := &http.Client{Jar: jar}
	base := "http://" + ln.Addr().String()
	resp, err := client.Post(base+"/api/login", "application/json", strings.NewReader(`{"password":"`+operatorPassword+`"}`))
	require.NoError(b, err)
	resp.Body.Close()
	require.Equal(b, http.StatusOK, resp.StatusCode)
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/api/events", nil)
	require.NoError(b, err)
	stream, err := client.Do(req)
	require.NoError(b, err)
	read := make(chan struct{})
	go func() {
		defer close(read)
		defer stream.Body.Close()
		sc := bufio.NewScanner(stream.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if bytes.HasPrefix(sc.Bytes(), []byte("event: status")) {
				ba.events.Add(1)
			}
		}
	}()
	b.Cleanup(func() {
		cancel()
		<-read
		require.NoError(b, <-webDone)
	})
	return ba
}

// job runs one 1-to-16 job and returns the process's CPU time from its
// start to its result.
func (ba *benchApp) job(b *testing.B) time.Duration {
	b.StopTimer()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ans, err := ba.app.Request(context.Background(), ui.StartRequest{Mode: ui.CopyVerify, Confirm: true})
		require.NoError(b, err)
		if ans.OK() {
			break
		}
		require.True(b, time.Now().Before(deadline), "the job did not start: %s", ans.Refused)
		time.Sleep(50 * time.Millisecond) // the drives are not on the panel yet
	}
	runtime.GC() // the last job's garbage is not this one's cost
	start := cpuTime(b)
	b.StartTimer()
	<-ba.done
	runtime.GC() // this job's garbage is
	b.StopTimer()
	return cpuTime(b) - start
}
