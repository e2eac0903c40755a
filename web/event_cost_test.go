package web

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/ui"
)

// BenchmarkLiveEventOf16Ports is the web panel's whole work for one live
// update of a 1->16 job: the panel's view copied (the appliance does it
// at most every 100 ms while a client is connected), turned into the
// API's status and encoded as JSON (at most five times a second a
// client). Its cost per running second is bounded by those rates, not
// by the job's size: it reports it as the share of one core a second
// that ten views and five events take.
func BenchmarkLiveEventOf16Ports(b *testing.B) {
	cfg := ui.Config{Geometry: hal.Geometry{Cols: 20, Rows: 4}, MasterPort: 1, Version: "bench"}
	for p := 1; p <= 17; p++ {
		cfg.Ports = append(cfg.Ports, ui.Port{Number: p, Label: fmt.Sprint(p)})
	}
	m := ui.New(cfg, ui.DefaultSettings())
	m.Update(ui.DriveIn{Drive: ui.Drive{Port: 1, Model: "Master", Serial: "M1", Size: 8e9, HasData: true}})
	for p := 2; p <= 17; p++ {
		m.Update(ui.DriveIn{Drive: ui.Drive{Port: p, Model: "Bench Stick", Serial: fmt.Sprintf("S%03d", p), Size: 16e9}})
	}
	m.Update(ui.Button{ButtonEvent: hal.ButtonEvent{Button: hal.OK, Action: hal.Press}})
	m.Update(ui.Button{ButtonEvent: hal.ButtonEvent{Button: hal.OK, Action: hal.Press}})
	m.Update(ui.JobStarted{Bytes: 8e9, Area: "whole media"})
	for p := 2; p <= 17; p++ {
		m.Update(ui.Progress{Port: p, Phase: ui.Copying, Done: int64(p) * 1e8, Total: 8e9, Rate: 38e6, ETA: 3 * time.Minute})
	}
	s := &Server{o: Options{Version: "bench"}}
	var bytes int
	b.ResetTimer()
	for range b.N {
		v := m.View()
		data, err := json.Marshal(s.statusOf(&v))
		if err != nil {
			b.Fatal(err)
		}
		bytes = len(data)
	}
	b.StopTimer()
	per := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(bytes), "bytes/event")
	b.ReportMetric(100*float64(15*per)/float64(time.Second), "%core")
}
