package appliance

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/board"
	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/sim"
	"github.com/clonebay/clonebay/ui"
)

// BenchmarkButtonToFrame measures how long a button press takes to reach
// the LCD while a 1->16 copy+verify runs at full speed on simulated drives
// (no speed limit: the engine takes all the CPU it can). It reports the
// 50th and 99th percentile; the panel's budget is 50 ms at the 99th.
func BenchmarkButtonToFrame(b *testing.B) {
	const ports = 17
	bd := &board.Board{Name: "bench17", MasterPort: 1, Buses: []string{"virtual"}}
	for i := 1; i <= ports; i++ {
		bd.Ports = append(bd.Ports, board.Port{Number: i, Label: fmt.Sprint(i), Match: sim.PortPath(i)})
	}
	require.NoError(b, bd.Validate())
	master, err := sim.FAT32Disk(1<<30, 200<<20, "BENCH", []sim.File{{Name: "A.BIN", Data: make([]byte, 1<<20)}})
	require.NoError(b, err)

	var lat []time.Duration
	for b.Loop() {
		rig := sim.NewRig(bd)
		pushed := make(chan time.Time, 1024)
		seen := make(chan time.Duration, 1024)
		observe := func(ev ui.Event, _ ui.Frame) {
			if be, ok := ev.(ui.Button); ok && be.Action == hal.Press {
				select {
				case at := <-pushed:
					seen <- time.Since(at)
				default: // a press the benchmark does not time
				}
			}
		}
		require.NoError(b, rig.Bay.Insert(1, sim.MustDrive(sim.DriveSpec{Size: int64(len(master)), Content: master})))
		for i := 2; i <= ports; i++ {
			require.NoError(b, rig.Bay.Insert(i, sim.MustDrive(sim.DriveSpec{Size: 1 << 30})))
		}
		app, err := New(Config{Board: bd, Settings: ui.DefaultSettings(), Observe: observe}, rigHardware(rig), Paths{},
			slog.New(slog.DiscardHandler))
		require.NoError(b, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- app.Run(ctx) }()
		waitText(b, rig.LCD, "Targets: 16", 5*time.Second)
		rig.Buttons.Click(hal.OK)
		waitText(b, rig.LCD, "x16", 2*time.Second)
		rig.Buttons.Click(hal.OK)
		waitText(b, rig.LCD, "Copying", 30*time.Second)
		// Page through the ports while the job runs.
		for i := 0; i < 2000 && !contains(rig.LCD.Text(), "Job done"); i++ {
			btn := hal.Down
			if i%2 == 1 {
				btn = hal.Up
			}
			pushed <- time.Now()
			rig.Buttons.Push(btn, hal.Press)
			rig.Buttons.Push(btn, hal.Release)
			lat = append(lat, <-seen)
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
		<-done
	}
	slices.Sort(lat)
	if len(lat) == 0 {
		b.Fatal("no presses measured")
	}
	p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.Logf("button-to-frame over %d presses during a 1->16 job: p50 %v, p99 %v, max %v", len(lat), p50, p99, lat[len(lat)-1])
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// waitText waits in real time: the benchmark measures real latency, so it
// runs outside a synctest bubble.
func waitText(tb testing.TB, lcd *sim.LCD, text string, within time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for !contains(lcd.Text(), text) {
		if time.Now().After(deadline) {
			tb.Fatalf("the LCD did not show %q within %v; it shows:\n%s", text, within, lcd.Text())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
