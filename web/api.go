package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/clonebay/clonebay/ui"
)

// routes lists the API (docs/api.md describes it).
func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /{$}", s.page)
	m.HandleFunc("GET /static/{file}", s.static)
	m.HandleFunc("POST /api/login", s.login)
	m.HandleFunc("POST /api/logout", s.logout)
	m.HandleFunc("GET /api/session", s.sessionInfo)
	m.HandleFunc("GET /api/status", s.status)
	m.HandleFunc("GET /api/events", s.events)
	m.HandleFunc("POST /api/jobs", s.startJob)
	m.HandleFunc("DELETE /api/jobs/current", s.abortJob)
	m.HandleFunc("DELETE /api/jobs/current/ports/{port}", s.abortPort)
	m.HandleFunc("POST /api/drives/{port}/check", s.checkDrive)
	m.HandleFunc("GET /api/settings", s.getSettings)
	m.HandleFunc("PUT /api/settings", s.putSettings)
	m.HandleFunc("GET /api/images", s.listImages)
	m.HandleFunc("POST /api/images", s.uploadImage)
	m.HandleFunc("GET /api/images/{name}", s.downloadImage)
	m.HandleFunc("DELETE /api/images/{name}", s.deleteImage)
	m.HandleFunc("PUT /api/master", s.setMaster)
	m.HandleFunc("GET /api/record", s.browseRecord)
	m.HandleFunc("GET /api/record.csv", s.recordCSV)
	m.HandleFunc("GET /api/record.json", s.recordJSON)
	m.HandleFunc("POST /api/lot", s.startLot)
	m.HandleFunc("DELETE /api/lot", s.endLot)
	m.HandleFunc("GET /api/lots/{name}/{format}", s.lotReport)
	m.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		fail(w, http.StatusNotFound, "", "no API call %s %s", r.Method, r.URL.Path)
	})
}

// maxJSON bounds a JSON request body.
const maxJSON = 64 << 10

// readJSON reads a request's body for a decoder, bounded.
func readJSON(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSON))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			fail(w, http.StatusRequestEntityTooLarge, "invalid", "the request body is over %d bytes", maxJSON)
		} else {
			fail(w, http.StatusBadRequest, "invalid", "reading the request body: %v", err)
		}
		return nil, false
	}
	return data, true
}

// strictJSON decodes one JSON object into v: unknown fields and
// anything after the object are errors.
func strictJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("the JSON body: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("the JSON body: more than one value")
	}
	return nil
}

// answer sends a request to the appliance and writes what became of it.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, req ui.Request) {
	ans, err := s.o.App.Request(r.Context(), req)
	if err != nil {
		fail(w, http.StatusServiceUnavailable, "", "the appliance did not answer: %v", err)
		return
	}
	sess, _ := sessionOf(r)
	if ans.OK() {
		s.log.Info("web: request done", "client", clientOf(r), "role", sess.role, "request", fmt.Sprintf("%T", req), "text", ans.Text)
		writeJSON(w, http.StatusAccepted, map[string]any{"ok": true, "text": ans.Text})
		return
	}
	status := http.StatusConflict
	switch ans.Code {
	case ui.RefusedInvalid:
		status = http.StatusUnprocessableEntity
	case ui.RefusedLocked:
		status = http.StatusForbidden
	}
	s.log.Info("web: request refused", "client", clientOf(r), "request", fmt.Sprintf("%T", req), "reason", ans.Refused)
	writeJSON(w, status, apiError{Error: ans.Refused, Code: ans.Code})
}

// loginRequest is POST /api/login's body.
type loginRequest struct {
	Password string `json:"password"`
}

// decodeLogin reads a login.
func decodeLogin(data []byte) (loginRequest, error) {
	var l loginRequest
	if err := strictJSON(data, &l); err != nil {
		return l, err
	}
	if l.Password == "" {
		return l, errors.New("password: give one")
	}
	return l, nil
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if o := r.Header.Get("Origin"); o != "" && !sameOrigin(o, r) {
		fail(w, http.StatusForbidden, "csrf", "a login from another site (%s) is refused", o)
		return
	}
	if ok, wait := s.limiter.allow(r.RemoteAddr); !ok {
		secs := max(1, int(math.Ceil(wait.Seconds())))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		s.log.Warn("web: login attempts limited", "client", clientOf(r))
		fail(w, http.StatusTooManyRequests, "rate", "too many login attempts: try again in %d s", secs)
		return
	}
	data, ok := readJSON(w, r)
	if !ok {
		return
	}
	req, err := decodeLogin(data)
	if err != nil {
		fail(w, http.StatusBadRequest, "invalid", "%v", err)
		return
	}
	role, err := s.o.Passwords.Login(req.Password)
	if err != nil {
		s.log.Warn("web: login failed", "client", clientOf(r)) // never the password
		fail(w, http.StatusUnauthorized, "login", "wrong password")
		return
	}
	token, sess := s.sessions.create(role)
	http.SetCookie(w, s.cookie(token, s.o.SessionMax))
	s.log.Info("web: logged in", "client", clientOf(r), "role", role)
	writeJSON(w, http.StatusOK, map[string]any{"role": role, "csrf": sess.csrf})
}

// sameOrigin reports whether an Origin header names the server itself.
func sameOrigin(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if x, ok := sessionOf(r); ok {
		s.sessions.end(x.token)
	}
	http.SetCookie(w, s.cookie("", -time.Second))
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

func (s *Server) sessionInfo(w http.ResponseWriter, r *http.Request) {
	x, _ := sessionOf(r)
	writeJSON(w, http.StatusOK, map[string]any{"role": x.role, "csrf": x.csrf, "version": s.o.Version})
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	if !s.running.Load() || s.view.Load() == nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ok": false, "version": s.o.Version})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "version": s.o.Version})
}

// current is the status now, with the upload under way.
func (s *Server) current() statusJSON {
	st := s.statusOf(s.view.Load())
	st.Upload = s.uploadStatus()
	return st
}

func (s *Server) status(w http.ResponseWriter, _ *http.Request) {
	if s.view.Load() == nil {
		fail(w, http.StatusServiceUnavailable, "", "the appliance is starting")
		return
	}
	writeJSON(w, http.StatusOK, s.current())
}

// jobRequest is POST /api/jobs's body.
type jobRequest struct {
	Mode        string `json:"mode"` // copy+verify, copy, verify, files or erase
	Targets     []int  `json:"targets"`
	Confirm     bool   `json:"confirm"`
	EraseMode   string `json:"erase_mode"`
	EraseVerify bool   `json:"erase_verify"`
	PIN         string `json:"pin"`
}

// maxPort bounds a port number a request may name.
const maxPort = 1024

// decodeJob reads a job's start into the panel's request.
func decodeJob(data []byte) (ui.Request, error) {
	var j jobRequest
	if err := strictJSON(data, &j); err != nil {
		return nil, err
	}
	if len(j.Targets) > maxPort {
		return nil, fmt.Errorf("targets: %d ports is more than any board has", len(j.Targets))
	}
	for _, p := range j.Targets {
		if p < 1 || p > maxPort {
			return nil, fmt.Errorf("targets: port %d is not 1..%d", p, maxPort)
		}
	}
	if len(j.PIN) > 16 {
		return nil, errors.New("pin: too long")
	}
	mode := map[string]ui.Mode{"copy+verify": ui.CopyVerify, "copy": ui.CopyOnly, "verify": ui.VerifyOnly, "files": ui.CopyFiles}
	switch m, ok := mode[j.Mode]; {
	case ok:
		if j.EraseMode != "" || j.EraseVerify {
			return nil, fmt.Errorf("erase_mode, erase_verify: only for mode erase, not %s", j.Mode)
		}
		return ui.StartRequest{Mode: m, Targets: j.Targets, Confirm: j.Confirm}, nil
	case j.Mode == "erase":
		if j.EraseMode == "" {
			return nil, errors.New("erase_mode: give quick, zeros, random, dod, discard or secure-discard")
		}
		return ui.EraseRequest{Mode: j.EraseMode, Verify: j.EraseVerify, Targets: j.Targets, Confirm: j.Confirm, PIN: j.PIN}, nil
	}
	return nil, fmt.Errorf("mode %q: give copy+verify, copy, verify, files or erase", j.Mode)
}

// answerBody reads a request's JSON body, decodes it into what it asks of
// the appliance and hands that on; a body that does not decode is a 400
// naming what is wrong.
func answerBody[T ui.Request](s *Server, w http.ResponseWriter, r *http.Request, decode func([]byte) (T, error)) {
	data, ok := readJSON(w, r)
	if !ok {
		return
	}
	req, err := decode(data)
	if err != nil {
		fail(w, http.StatusBadRequest, "invalid", "%v", err)
		return
	}
	s.answer(w, r, req)
}

func (s *Server) startJob(w http.ResponseWriter, r *http.Request) {
	answerBody(s, w, r, decodeJob)
}

func (s *Server) abortJob(w http.ResponseWriter, r *http.Request) {
	s.answer(w, r, ui.AbortRequest{})
}

// portOf reads the port in a request's path.
func portOf(w http.ResponseWriter, r *http.Request) (int, bool) {
	n, err := strconv.Atoi(r.PathValue("port"))
	if err != nil || n < 1 || n > maxPort {
		fail(w, http.StatusBadRequest, "invalid", "port %q: give a number 1..%d", r.PathValue("port"), maxPort)
		return 0, false
	}
	return n, true
}

func (s *Server) abortPort(w http.ResponseWriter, r *http.Request) {
	if n, ok := portOf(w, r); ok {
		s.answer(w, r, ui.AbortPortRequest{Port: n})
	}
}

// checkRequest is POST /api/drives/N/check's body.
type checkRequest struct {
	Kind string `json:"kind"` // scan or speed
}

func (s *Server) checkDrive(w http.ResponseWriter, r *http.Request) {
	n, ok := portOf(w, r)
	if !ok {
		return
	}
	answerBody(s, w, r, func(data []byte) (ui.CheckRequest, error) {
		var c checkRequest
		err := strictJSON(data, &c)
		return ui.CheckRequest{Port: n, Kind: c.Kind}, err
	})
}

// settingsJSON is the Setup choices as the API has them.
type settingsJSON struct {
	Verify           bool    `json:"verify"`
	AutoStart        int     `json:"auto_start"`
	Buzzer           bool    `json:"buzzer"`
	KeyClick         bool    `json:"key_click"`
	BacklightSeconds int64   `json:"backlight_seconds"` // 0: never off
	Area             string  `json:"area"`              // whole, used or smart
	Clean            bool    `json:"clean"`
	ZeroFill         bool    `json:"zero_fill_bad_sectors"`
	Qualify          bool    `json:"check_targets"`
	MinWriteMBps     float64 `json:"min_write_mbps"`
}

func settingsOf(s ui.Settings) settingsJSON {
	return settingsJSON{Verify: s.Verify, AutoStart: s.AutoStart, Buzzer: s.Buzzer, KeyClick: s.KeyClick,
		BacklightSeconds: int64(s.Backlight / time.Second), Area: s.Area, Clean: s.Clean, ZeroFill: s.ZeroFill,
		Qualify: s.Qualify, MinWriteMBps: s.MinWriteMBps}
}

// settingsPut is PUT /api/settings's body: the fields to change (those
// it leaves out keep their values), and the PIN when a PIN locks Setup.
type settingsPut struct {
	Verify           *bool    `json:"verify"`
	AutoStart        *int     `json:"auto_start"`
	Buzzer           *bool    `json:"buzzer"`
	KeyClick         *bool    `json:"key_click"`
	BacklightSeconds *int64   `json:"backlight_seconds"`
	Area             *string  `json:"area"`
	Clean            *bool    `json:"clean"`
	ZeroFill         *bool    `json:"zero_fill_bad_sectors"`
	Qualify          *bool    `json:"check_targets"`
	MinWriteMBps     *float64 `json:"min_write_mbps"`
	PIN              string   `json:"pin"`
}

// maxBacklight bounds the backlight's time: a day.
const maxBacklight = 24 * 3600

// decodeSettings reads the settings a request changes. They are applied
// by the appliance over its own, so two requests at once each keep the
// other's change.
func decodeSettings(data []byte) (ui.SettingsRequest, error) {
	var p settingsPut
	if err := strictJSON(data, &p); err != nil {
		return ui.SettingsRequest{}, err
	}
	c := ui.SettingsChange{Verify: p.Verify, AutoStart: p.AutoStart, Buzzer: p.Buzzer, KeyClick: p.KeyClick, Area: p.Area,
		Clean: p.Clean, ZeroFill: p.ZeroFill, Qualify: p.Qualify, MinWriteMBps: p.MinWriteMBps}
	if b := p.BacklightSeconds; b != nil {
		if *b < 0 || *b > maxBacklight {
			return ui.SettingsRequest{}, fmt.Errorf("backlight_seconds: %d is not 0..%d", *b, maxBacklight)
		}
		d := time.Duration(*b) * time.Second
		c.Backlight = &d
	}
	if len(p.PIN) > 16 {
		return ui.SettingsRequest{}, errors.New("pin: too long")
	}
	return ui.SettingsRequest{Change: c, PIN: p.PIN}, nil
}

func (s *Server) getSettings(w http.ResponseWriter, _ *http.Request) {
	v := s.view.Load()
	if v == nil {
		fail(w, http.StatusServiceUnavailable, "", "the appliance is starting")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"settings": settingsOf(v.Settings), "pin_lock": v.PINLock})
}

func (s *Server) putSettings(w http.ResponseWriter, r *http.Request) {
	answerBody(s, w, r, decodeSettings)
}

// masterRequest is PUT /api/master's body.
type masterRequest struct {
	Image string `json:"image"` // "" the master drive
}

func (s *Server) setMaster(w http.ResponseWriter, r *http.Request) {
	answerBody(s, w, r, func(data []byte) (ui.DeployRequest, error) {
		var m masterRequest
		err := strictJSON(data, &m)
		return ui.DeployRequest{Image: m.Image}, err
	})
}

func (s *Server) listImages(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.current().Images)
}

func (s *Server) deleteImage(w http.ResponseWriter, r *http.Request) {
	s.answer(w, r, ui.DeleteImageRequest{Name: r.PathValue("name")})
}
