package web

import (
	"crypto/subtle"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/clonebay/clonebay/appliance"
)

// metrics is what /metrics serves, in Prometheus' text format: counters
// fed by every finished job (OnFinished), and gauges read from the
// panel's view and the record when scraped.
type metrics struct {
	s        *Server
	reg      *prometheus.Registry
	written  *prometheus.CounterVec
	verified *prometheus.CounterVec
	targets  *prometheus.CounterVec
	duration *prometheus.HistogramVec

	mbps     *prometheus.Desc
	drives   *prometheus.Desc
	working  *prometheus.Desc
	entries  *prometheus.Desc
	firmware *prometheus.Desc
}

func newMetrics(s *Server) *metrics {
	m := &metrics{s: s, reg: prometheus.NewRegistry(),
		written: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "clonebay_bytes_written_total",
			Help: "Bytes written to targets, by port, since the firmware started."}, []string{"port"}),
		verified: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "clonebay_bytes_verified_total",
			Help: "Bytes verified on targets from their media, by port, since the firmware started."}, []string{"port"}),
		targets: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "clonebay_targets_total",
			Help: "Targets finished, by result (PASS, FAIL, ABORTED) and reason (the panel's short cause; none on a pass)."},
			[]string{"result", "reason"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "clonebay_job_duration_seconds",
			Help:    "How long jobs (and line-mode ports) took, by mode.",
			Buckets: []float64{10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400}}, []string{"mode"}),
		mbps:     prometheus.NewDesc("clonebay_port_mbps", "A working port's speed now, in MB/s.", []string{"port"}, nil),
		drives:   prometheus.NewDesc("clonebay_drives_present", "Drives in the ports.", nil, nil),
		working:  prometheus.NewDesc("clonebay_ports_working", "Ports in the running job or line.", nil, nil),
		entries:  prometheus.NewDesc("clonebay_record_entries", "Entries in the production record.", nil, nil),
		firmware: prometheus.NewDesc("clonebay_firmware_info", "The firmware's version.", []string{"version"}, nil),
	}
	m.reg.MustRegister(m.written, m.verified, m.targets, m.duration, m)
	return m
}

// finished counts a finished job; the appliance's loop calls it.
func (m *metrics) finished(f appliance.Finished) {
	m.duration.WithLabelValues(f.Mode).Observe(f.Duration.Seconds())
	for _, p := range f.Ports {
		port := strconv.Itoa(p.Port)
		m.written.WithLabelValues(port).Add(float64(p.Written))
		m.verified.WithLabelValues(port).Add(float64(p.Verified))
		reason := p.Cause
		if reason == "" {
			reason = "none"
		}
		m.targets.WithLabelValues(p.Result, reason).Inc()
	}
}

// Describe is prometheus.Collector's.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.mbps
	ch <- m.drives
	ch <- m.working
	ch <- m.entries
	ch <- m.firmware
}

// Collect reads the gauges when scraped.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(m.firmware, prometheus.GaugeValue, 1, m.s.o.Version)
	if l := m.s.o.App.Record(); l != nil {
		ch <- prometheus.MustNewConstMetric(m.entries, prometheus.GaugeValue, float64(l.Len()))
	}
	v := m.s.view.Load()
	if v == nil {
		return
	}
	drives, working := 0, 0
	for _, p := range v.Ports {
		if p.Drive != nil {
			drives++
		}
		rate := 0.0
		if p.Working {
			working++
			rate = p.Rate / 1e6
		}
		ch <- prometheus.MustNewConstMetric(m.mbps, prometheus.GaugeValue, rate, strconv.Itoa(p.Number))
	}
	ch <- prometheus.MustNewConstMetric(m.drives, prometheus.GaugeValue, float64(drives))
	ch <- prometheus.MustNewConstMetric(m.working, prometheus.GaugeValue, float64(working))
}

// serveMetrics writes the metrics, after the bearer token when one is
// set, then the extra metrics (the fleet's).
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		fail(w, http.StatusMethodNotAllowed, "", "GET /metrics")
		return
	}
	if t := s.o.MetricsToken; t != "" {
		got := r.Header.Get("Authorization")
		if subtle.ConstantTimeCompare([]byte(got), []byte("Bearer "+t)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="clonebay metrics"`)
			fail(w, http.StatusUnauthorized, "login", "/metrics needs its bearer token")
			return
		}
	}
	families, err := s.metrics.reg.Gather()
	if err != nil {
		s.log.Error("web: metrics", "err", err)
	}
	format := expfmt.NewFormat(expfmt.TypeTextPlain)
	w.Header().Set("Content-Type", string(format))
	enc := expfmt.NewEncoder(w, format)
	for _, f := range families {
		if err := enc.Encode(f); err != nil {
			return
		}
	}
	if s.o.ExtraMetrics != nil {
		s.o.ExtraMetrics(w)
	}
}
