package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"time"
)

// events streams the status as server-sent events: one at once, then one
// whenever it changed, at most one an EventInterval (five a second by
// default: a running job's bars move smoothly), and a comment every
// keepAlive so proxies keep the stream open.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		fail(w, http.StatusInternalServerError, "", "live events need a streaming connection")
		return
	}
	views, stop := s.o.App.Subscribe()
	defer stop()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	flusher.Flush()

	const keepAlive = 15 * time.Second
	tick := time.NewTicker(s.o.EventInterval)
	defer tick.Stop()
	var last []byte
	lastSent := time.Now()
	var buf bytes.Buffer
	send := func() bool {
		data, err := json.Marshal(s.current())
		if err != nil {
			return false
		}
		if bytes.Equal(data, last) {
			if time.Since(lastSent) < keepAlive {
				return true
			}
			buf.Reset()
			buf.WriteString(": keep-alive\n\n")
		} else {
			buf.Reset()
			buf.WriteString("event: status\ndata: ")
			buf.Write(data)
			buf.WriteString("\n\n")
			last = data
		}
		if _, err := w.Write(buf.Bytes()); err != nil {
			return false
		}
		flusher.Flush()
		lastSent = time.Now()
		return true
	}
	if s.view.Load() != nil && !send() {
		return
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case _, open := <-views:
			if !open {
				return // the appliance stopped
			}
			// The view is also the server's; it is sent on the next tick,
			// so a burst of changes costs one event.
		case <-tick.C:
			if s.view.Load() != nil && !send() {
				return
			}
		}
	}
}
