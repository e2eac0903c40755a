package web

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clonebay/clonebay/appliance"
	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/internal/passwords"
	"github.com/clonebay/clonebay/ui"
)

// Options configure the web panel.
type Options struct {
	App       *appliance.Appliance
	Passwords *passwords.Store
	Version   string
	Log       *slog.Logger // nil: no log
	// Files reads the production record; nil is the machine's own.
	Files fsys.FS
	// MetricsToken, when set, is the bearer token /metrics asks for.
	MetricsToken string
	// TLSCert and TLSKey, when both set, make Serve speak HTTPS only.
	TLSCert, TLSKey string
	// MaxUpload bounds an image upload in bytes; 0 is DefaultMaxUpload.
	MaxUpload int64
	// SessionIdle and SessionMax end a login after that long unused, and
	// after that long whatever happens; 0 is the default.
	SessionIdle, SessionMax time.Duration
	// ExtraMetrics, when set, writes more metrics in Prometheus' text
	// format after the panel's own (the fleet replicator's status).
	ExtraMetrics func(w io.Writer)
	// EventInterval is the shortest time between two live updates to one
	// client; 0 is DefaultEventInterval.
	EventInterval time.Duration
}

// TLS reports whether the panel is served over HTTPS.
func (o Options) TLS() bool { return o.TLSCert != "" && o.TLSKey != "" }

// Defaults.
const (
	DefaultMaxUpload     = 64 << 30
	DefaultEventInterval = 200 * time.Millisecond // 5 updates a second
)

// Server is the web panel.
type Server struct {
	o        Options
	log      *slog.Logger
	mux      *http.ServeMux
	sessions *sessions
	limiter  *limiter
	metrics  *metrics

	view    atomic.Pointer[ui.View] // the panel's latest view
	viewSeq atomic.Uint64

	upMu    sync.Mutex
	upload  *uploadState // the upload under way; nil when none
	upDone  *uploadState // the last one finished
	running atomic.Bool
}

// New makes the web panel for an appliance.
func New(o Options) (*Server, error) {
	switch {
	case o.App == nil:
		return nil, errors.New("web: no appliance")
	case o.Passwords == nil:
		return nil, errors.New("web: no passwords store")
	case (o.TLSCert == "") != (o.TLSKey == ""):
		return nil, errors.New("web: tls_cert and tls_key go together: give both or neither")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Files == nil {
		o.Files = fsys.OS
	}
	if o.MaxUpload <= 0 {
		o.MaxUpload = DefaultMaxUpload
	}
	if o.SessionIdle <= 0 {
		o.SessionIdle = DefaultSessionIdle
	}
	if o.SessionMax <= 0 {
		o.SessionMax = DefaultSessionMax
	}
	if o.EventInterval <= 0 {
		o.EventInterval = DefaultEventInterval
	}
	s := &Server{o: o, log: o.Log, mux: http.NewServeMux(), sessions: newSessions(o.SessionIdle, o.SessionMax), limiter: newLimiter()}
	s.metrics = newMetrics(s)
	o.App.OnFinished(s.metrics.finished)
	s.routes()
	return s, nil
}

// Handler is the panel's HTTP handler.
func (s *Server) Handler() http.Handler { return s }

// Run follows the appliance's view (for the status, the metrics and the
// health check) until ctx ends or the appliance stops.
func (s *Server) Run(ctx context.Context) error {
	views, stop := s.o.App.Subscribe()
	defer stop()
	s.running.Store(true)
	defer s.running.Store(false)
	for {
		select {
		case v, ok := <-views:
			if !ok {
				return nil
			}
			s.view.Store(&v)
			s.viewSeq.Add(1)
		case <-ctx.Done():
			return nil
		}
	}
}

// Serve runs the panel on ln until ctx ends: HTTPS when a certificate is
// configured. It returns once every connection is closed.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog:    slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext: func(net.Listener) context.Context { return ctx }}
	if s.o.TLS() {
		cert, err := tls.LoadX509KeyPair(s.o.TLSCert, s.o.TLSKey)
		if err != nil {
			return fmt.Errorf("web: tls_cert %s, tls_key %s: %w", s.o.TLSCert, s.o.TLSKey, err)
		}
		hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, hs.TLSConfig)
	}
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	ran := make(chan error, 1)
	go func() { ran <- s.Run(runCtx) }()
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	var err error
	select {
	case <-ctx.Done():
	case err = <-served:
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = hs.Shutdown(shut) // live-event streams end with ctx
	if err == nil {
		err = <-served
	}
	stopRun()
	<-ran
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// Listen opens addr for Serve.
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("web: listen on %s: %w", addr, err)
	}
	return ln, nil
}

// apiError is every error's JSON body.
type apiError struct {
	Error string `json:"error"`
	Code  string `json:"code,omitempty"`
}

// writeJSON writes v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// fail writes an error.
func fail(w http.ResponseWriter, status int, code, format string, args ...any) {
	writeJSON(w, status, apiError{Error: fmt.Sprintf(format, args...), Code: code})
}

// clientOf names a request's client for the log.
func clientOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// ServeHTTP guards every request: the health check and (without a token
// or with the right one) the metrics are open; until an operator
// password exists nothing else is served; the page's own files and the
// login are open; everything else needs a session, and a call that
// changes something needs the session's CSRF token and, but for logging
// out, an operator.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'")
	if s.o.TLS() {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	switch r.URL.Path {
	case "/healthz":
		s.healthz(w, r)
		return
	case "/metrics":
		s.serveMetrics(w, r)
		return
	}
	has, err := s.o.Passwords.Has(passwords.Operator)
	if err != nil {
		s.log.Error("web: passwords", "err", err)
		fail(w, http.StatusServiceUnavailable, "", "the passwords file cannot be read: see the appliance's log")
		return
	}
	if !has {
		fail(w, http.StatusServiceUnavailable, "no_password",
			"no operator password is set: set one on the panel (Setup > Web password) or with 'clonebay passwd'")
		return
	}
	if !strings.HasPrefix(r.URL.Path, "/api/") || r.URL.Path == "/api/login" {
		s.mux.ServeHTTP(w, r)
		return
	}
	c, err := r.Cookie(cookieName)
	if err != nil {
		fail(w, http.StatusUnauthorized, "login", "not logged in")
		return
	}
	sess, err := s.sessions.get(c.Value)
	if err != nil {
		http.SetCookie(w, s.cookie("", -time.Second))
		fail(w, http.StatusUnauthorized, "login", "%v", err)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if !sameToken(r.Header.Get(csrfHeader), sess.csrf) {
			s.log.Warn("web: a call without the CSRF token was refused", "client", clientOf(r), "method", r.Method, "path", r.URL.Path)
			fail(w, http.StatusForbidden, "csrf", "the %s header is missing or wrong: reload the page", csrfHeader)
			return
		}
		if sess.role != passwords.Operator && r.URL.Path != "/api/logout" {
			fail(w, http.StatusForbidden, "role", "a viewer cannot change anything: log in as an operator")
			return
		}
	}
	s.mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, sessCtx{session: sess, token: c.Value})))
}

// sessionKey finds a request's session in its context.
type sessionKey struct{}

type sessCtx struct {
	session
	token string
}

func sessionOf(r *http.Request) (sessCtx, bool) {
	x, ok := r.Context().Value(sessionKey{}).(sessCtx)
	return x, ok
}
