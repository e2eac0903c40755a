package web

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/clonebay/clonebay/record"
)

// The production record, read with record.Read (which changes nothing)
// and filtered by date, result, serial, port and lot.

// recordFilter picks entries.
type recordFilter struct {
	From, To time.Time // local days, inclusive; zero: open
	Result   string    // PASS, FAIL or ABORTED; "" any
	Serial   string    // a part of the target's or master's serial, any case
	Port     int       // 0 any
	Lot      string    // the lot's name, any case; "" any
	Limit    int       // entries a page (browse only)
	Offset   int
}

// parseFilter reads a filter from a query.
func parseFilter(q url.Values) (recordFilter, error) {
	f := recordFilter{Limit: 200}
	day := func(k string) (time.Time, error) {
		v := q.Get(k)
		if v == "" {
			return time.Time{}, nil
		}
		t, err := time.ParseInLocation("2006-01-02", v, time.Local)
		if err != nil {
			return t, fmt.Errorf("%s %q: give a date as YYYY-MM-DD", k, v)
		}
		return t, nil
	}
	var err error
	if f.From, err = day("from"); err != nil {
		return f, err
	}
	if f.To, err = day("to"); err != nil {
		return f, err
	}
	if !f.To.IsZero() {
		f.To = f.To.AddDate(0, 0, 1) // the whole day
	}
	switch r := strings.ToUpper(q.Get("result")); r {
	case "", "PASS", "FAIL", "ABORTED":
		f.Result = r
	default:
		return f, fmt.Errorf("result %q: give PASS, FAIL or ABORTED", q.Get("result"))
	}
	if f.Serial = q.Get("serial"); len(f.Serial) > 64 {
		return f, errors.New("serial: at most 64 characters")
	}
	if f.Lot = strings.TrimSpace(q.Get("lot")); len(f.Lot) > 64 {
		return f, errors.New("lot: at most 64 characters")
	}
	num := func(k string, lo, hi, def int) (int, error) {
		v := q.Get(k)
		if v == "" {
			return def, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return 0, fmt.Errorf("%s %q: give a number %d..%d", k, v, lo, hi)
		}
		return n, nil
	}
	if f.Port, err = num("port", 1, maxPort, 0); err != nil {
		return f, err
	}
	if f.Limit, err = num("limit", 1, 1000, 200); err != nil {
		return f, err
	}
	if f.Offset, err = num("offset", 0, 1<<30, 0); err != nil {
		return f, err
	}
	return f, nil
}

// match reports whether an entry passes the filter.
func (f recordFilter) match(e record.Entry) bool {
	switch {
	case !f.From.IsZero() && e.Time.Before(f.From):
		return false
	case !f.To.IsZero() && !e.Time.Before(f.To):
		return false
	case f.Result != "" && e.Result != f.Result:
		return false
	case f.Port != 0 && e.Port != f.Port:
		return false
	case f.Lot != "" && !strings.EqualFold(e.Lot, f.Lot):
		return false
	case f.Serial != "" && !strings.Contains(strings.ToLower(e.TargetSerial), strings.ToLower(f.Serial)) &&
		!strings.Contains(strings.ToLower(e.MasterSerial), strings.ToLower(f.Serial)):
		return false
	}
	return true
}

// chainJSON is what record.Read found.
type chainJSON struct {
	OK       bool     `json:"ok"`
	Entries  int      `json:"entries"`
	Bad      int      `json:"bad"`
	Problems []string `json:"problems"`
	Notes    []string `json:"notes"`
}

// loadRecord reads and checks the production record (record.Read changes
// nothing); a record not written yet is an empty one. What went wrong is
// written to w.
func (s *Server) loadRecord(w http.ResponseWriter) (*record.Report, bool) {
	p := s.o.App.RecordPath()
	if p == "" {
		fail(w, http.StatusNotFound, "invalid", "this appliance keeps no production record")
		return nil, false
	}
	rep, err := record.Read(s.o.Files, p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &record.Report{Path: p}, true
	case err != nil:
		fail(w, http.StatusInternalServerError, "failed", "%v", err)
		return nil, false
	}
	return rep, true
}

// readRecord reads and checks the record, and the entries the query
// picks, oldest first.
func (s *Server) readRecord(w http.ResponseWriter, r *http.Request) (*record.Report, recordFilter, []record.Entry, bool) {
	f, err := parseFilter(r.URL.Query())
	if err != nil {
		fail(w, http.StatusBadRequest, "invalid", "%v", err)
		return nil, f, nil, false
	}
	rep, ok := s.loadRecord(w)
	if !ok {
		return nil, f, nil, false
	}
	var picked []record.Entry
	for _, e := range rep.Entries {
		if f.match(e) {
			picked = append(picked, e)
		}
	}
	return rep, f, picked, true
}

func (s *Server) browseRecord(w http.ResponseWriter, r *http.Request) {
	rep, f, picked, ok := s.readRecord(w, r)
	if !ok {
		return
	}
	slices.Reverse(picked) // newest first
	total := len(picked)
	page := picked[min(f.Offset, total):min(f.Offset+f.Limit, total)]
	if page == nil {
		page = []record.Entry{}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"chain": chainJSON{OK: rep.Err() == nil, Entries: len(rep.Entries), Bad: rep.Bad(),
			Problems: append([]string{}, rep.Problems...), Notes: append([]string{}, rep.Notes...)},
		"total": total, "entries": page})
}

// attachment names a download.
func attachment(w http.ResponseWriter, ctype, name string) {
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
}

func (s *Server) recordCSV(w http.ResponseWriter, r *http.Request) {
	_, _, picked, ok := s.readRecord(w, r)
	if !ok {
		return
	}
	attachment(w, "text/csv; charset=utf-8", "clonebay-record.csv")
	if err := record.WriteCSV(w, picked); err != nil {
		s.log.Warn("web: record CSV", "client", clientOf(r), "err", err)
	}
}

func (s *Server) recordJSON(w http.ResponseWriter, r *http.Request) {
	_, _, picked, ok := s.readRecord(w, r)
	if !ok {
		return
	}
	attachment(w, "application/json; charset=utf-8", "clonebay-record.json")
	if err := record.WriteJSON(w, picked); err != nil {
		s.log.Warn("web: record JSON", "client", clientOf(r), "err", err)
	}
}
