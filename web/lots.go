package web

import (
	"bytes"
	"mime"
	"net/http"
	"time"

	"github.com/clonebay/clonebay/lots"
	"github.com/clonebay/clonebay/report"
	"github.com/clonebay/clonebay/ui"
)

// Lots on the web: the counter in the status, a lot started and ended as
// on the panel, and a lot's batch report (PDF or CSV) to download.

type lotJSON struct {
	Name   string   `json:"name"` // "" when no lot runs
	Goal   int      `json:"goal"` // 0: no count
	Pass   int      `json:"pass"`
	Fail   int      `json:"fail"`
	Done   bool     `json:"done"` // the count is reached
	Recent []string `json:"recent"`
	Next   string   `json:"next"` // the default name of a new lot
}

type lampsJSON struct {
	Green bool `json:"green"`
	Amber bool `json:"amber"`
	Red   bool `json:"red"`
}

func lotOf(v *ui.View) lotJSON {
	l := v.Lot
	out := lotJSON{Name: l.Name, Goal: l.Goal, Pass: l.Pass, Fail: l.Fail, Done: v.LotDone, Recent: l.Recent, Next: l.Next}
	if out.Recent == nil {
		out.Recent = []string{}
	}
	return out
}

// lotRequest is POST /api/lot's body.
type lotRequest struct {
	Name string `json:"name"`
	Goal int    `json:"goal"` // 0: no count
}

// decodeLot reads a lot to start, checked as the appliance checks it.
func decodeLot(data []byte) (ui.LotRequest, error) {
	var l lotRequest
	if err := strictJSON(data, &l); err != nil {
		return ui.LotRequest{}, err
	}
	if err := lots.CheckLot(l.Name, l.Goal); err != nil {
		return ui.LotRequest{}, err
	}
	return ui.LotRequest{Name: l.Name, Goal: l.Goal}, nil
}

func (s *Server) startLot(w http.ResponseWriter, r *http.Request) {
	answerBody(s, w, r, decodeLot)
}

func (s *Server) endLot(w http.ResponseWriter, r *http.Request) {
	s.answer(w, r, ui.LotRequest{End: true})
}

// lotReport sends a lot's batch report (GET /api/lots/{name}/report.pdf
// or report.csv) or its erase certificates (certificates.pdf or .json),
// from a record that verifies.
func (s *Server) lotReport(w http.ResponseWriter, r *http.Request) {
	name, format := r.PathValue("name"), r.PathValue("format")
	if err := lots.CheckName(name); err != nil {
		fail(w, http.StatusBadRequest, "invalid", "%v", err)
		return
	}
	switch format {
	case "report.pdf", "report.csv", "certificates.pdf", "certificates.json":
	default:
		fail(w, http.StatusNotFound, "invalid", "%s: a lot has report.pdf, report.csv, certificates.pdf and certificates.json", format)
		return
	}
	rep, ok := s.loadRecord(w)
	if !ok {
		return
	}
	if rep.Err() != nil {
		fail(w, http.StatusConflict, "failed", "the record does not verify (%v): a report would vouch for entries no one can trust", rep.Err())
		return
	}
	meta := report.Meta{Firmware: s.o.Version, ApplianceID: s.o.App.ID(), Generated: time.Now()}
	var out bytes.Buffer
	ctype := "application/pdf"
	if format == "certificates.pdf" || format == "certificates.json" {
		// An erase certificate for every erased drive of the lot.
		certs, err := report.Certificates(rep.Entries, name, meta)
		if err != nil {
			fail(w, http.StatusNotFound, "invalid", "%v", err)
			return
		}
		if format == "certificates.json" {
			ctype = "application/json; charset=utf-8"
			err = report.WriteCertificatesJSON(&out, certs)
		} else {
			err = report.WriteCertificatesPDF(&out, certs, meta)
		}
		s.sendLotFile(w, name, format, ctype, out.Bytes(), err)
		return
	}
	entries, err := report.LotEntries(rep.Entries, name)
	if err != nil {
		fail(w, http.StatusNotFound, "invalid", "%v", err)
		return
	}
	b := report.Batch{Lot: name, Entries: entries, Head: report.HeadOf(rep), Meta: meta}
	if format == "report.csv" {
		ctype = "text/csv; charset=utf-8"
		err = report.WriteBatchCSV(&out, b)
	} else {
		err = report.WriteBatchPDF(&out, b)
	}
	s.sendLotFile(w, name, format, ctype, out.Bytes(), err)
}

// sendLotFile sends a lot's report or certificates, or why it could not
// be made.
func (s *Server) sendLotFile(w http.ResponseWriter, name, format, ctype string, data []byte, err error) {
	if err != nil {
		fail(w, http.StatusInternalServerError, "failed", "the report of lot %s: %v", name, err)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": "lot-" + name + "-" + format}))
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(data)
}
