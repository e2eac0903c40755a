package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/clonebay/clonebay/appliance"
	"github.com/clonebay/clonebay/board"
	"github.com/clonebay/clonebay/internal/passwords"
	"github.com/clonebay/clonebay/sim"
	"github.com/clonebay/clonebay/sim/scenario"
	"github.com/clonebay/clonebay/ui"
	"github.com/clonebay/clonebay/web"
)

// The passwords of the test panels.
const (
	operatorPassword = "operator-test-pw"
	viewerPassword   = "viewer-test-pw"
)

// panelOptions shape a test panel.
type panelOptions struct {
	realTime     bool // serve on a real socket (a browser, a benchmark); else call the handler directly in a synctest bubble
	setup        func(r *sim.Rig)
	board        *board.Board
	noPassword   bool
	maxUpload    int64
	metricsToken string
	noLibrary    bool
	opts         func(o *web.Options)
}

// panel is an appliance on a simulated rig with its web panel.
type panel struct {
	t       testing.TB
	rig     *sim.Rig
	app     *appliance.Appliance
	srv     *web.Server
	store   *passwords.Store
	dir     string
	url     string // with realTime
	handler http.Handler
}

// startPanel starts an appliance and its web panel; both stop when the
// test ends.
func startPanel(t testing.TB, o panelOptions) *panel {
	t.Helper()
	b := o.board
	if b == nil {
		var err error
		b, err = board.Builtin("sim8")
		require.NoError(t, err)
	}
	rig := sim.NewRig(b)
	if o.setup != nil {
		o.setup(rig)
	}
	store := passwords.Memory(bcrypt.MinCost)
	if !o.noPassword {
		require.NoError(t, store.Set(passwords.Operator, operatorPassword))
		require.NoError(t, store.Set(passwords.Viewer, viewerPassword))
	}
	dir := t.TempDir()
	paths := appliance.Paths{Record: filepath.Join(dir, "jobs.log"), Library: filepath.Join(dir, "images")}
	if o.noLibrary {
		paths.Library = ""
	}
	app, err := appliance.New(appliance.Config{Board: b, Settings: ui.DefaultSettings(), Version: "test", Passwords: store},
		scenario.Hardware(rig), paths, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	wo := web.Options{App: app, Passwords: store, Version: "test", MaxUpload: o.maxUpload, MetricsToken: o.metricsToken}
	if o.opts != nil {
		o.opts(&wo)
	}
	srv, err := web.New(wo)
	require.NoError(t, err)
	p := &panel{t: t, rig: rig, app: app, srv: srv, store: store, dir: dir, handler: srv.Handler()}

	ctx, cancel := context.WithCancel(context.Background())
	appDone, webDone := make(chan error, 1), make(chan error, 1)
	go func() { appDone <- app.Run(ctx) }()
	if o.realTime {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		p.url = "http://" + ln.Addr().String() + "/"
		go func() { webDone <- srv.Serve(ctx, ln) }()
	} else {
		go func() { webDone <- srv.Run(ctx) }()
	}
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-appDone)
		require.NoError(t, <-webDone)
	})
	return p
}

// client is a browser's cookie jar and CSRF token, for handler calls.
type client struct {
	p      *panel
	addr   string
	cookie *http.Cookie
	csrf   string
}

func (p *panel) client(addr string) *client { return &client{p: p, addr: addr} }

// do calls the panel's handler.
func (c *client) do(method, path string, body any, header ...string) *httptest.ResponseRecorder {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	case string:
		r = bytes.NewReader([]byte(b))
	default:
		data, err := json.Marshal(b)
		require.NoError(c.p.t, err)
		r = bytes.NewReader(data)
	}
	req := httptest.NewRequest(method, path, r)
	req.RemoteAddr = c.addr
	if c.cookie != nil {
		req.AddCookie(c.cookie)
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	c.p.handler.ServeHTTP(w, req)
	return w
}

// login logs in and keeps the cookie and the CSRF token.
func (c *client) login(password string) *httptest.ResponseRecorder {
	w := c.do("POST", "/api/login", map[string]string{"password": password})
	if w.Code == http.StatusOK {
		for _, ck := range w.Result().Cookies() {
			if ck.Name == "clonebay_session" {
				c.cookie = ck
			}
		}
		var body struct{ CSRF string }
		require.NoError(c.p.t, json.Unmarshal(w.Body.Bytes(), &body))
		c.csrf = body.CSRF
	}
	return w
}

// jsonOf decodes a response.
func jsonOf(t *testing.T, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &m), "%s", w.Body.String())
	return m
}

// settle lets the appliance take its drives and the panel see them, in
// virtual time.
func (p *panel) settle() {
	time.Sleep(300 * time.Millisecond)
	synctest.Wait()
}

// waitLCD waits, in virtual time, until the panel's view satisfies ok.
func (p *panel) waitLCD(text string, within time.Duration, wait func()) {
	p.t.Helper()
	deadline := time.Now().Add(within)
	for {
		wait()
		if bytes.Contains([]byte(p.rig.LCD.Text()), []byte(text)) {
			return
		}
		if !time.Now().Before(deadline) {
			p.t.Fatalf("the LCD did not show %q within %v; it shows:\n%s", text, within, p.rig.LCD.Text())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
