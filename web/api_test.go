package web_test

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/fileset"
	"github.com/clonebay/clonebay/sim"
	"github.com/clonebay/clonebay/web"
)

// The API's security rules, each shown by a request that breaks it. The
// appliance runs on a simulated rig in a synctest bubble, so session
// times pass in virtual time; requests go straight to the handler.

// blankTargets are two small blank drives and no master: enough for the
// rules that start no job, and quick to probe.
func blankTargets(t *testing.T) func(r *sim.Rig) {
	return func(r *sim.Rig) {
		for p := 2; p <= 3; p++ {
			_, err := r.Insert(p, sim.Stick{Size: 8 << 20, ReadMBps: 90, WriteMBps: 40, Model: "Small Stick"})
			require.NoError(t, err)
		}
	}
}

// twoTargets is a master and two blank targets.
func twoTargets(t *testing.T) func(r *sim.Rig) {
	return func(r *sim.Rig) {
		_, err := r.Insert(1, sim.Stick{Master: true, ReadMBps: 120, WriteMBps: 40})
		require.NoError(t, err)
		for p := 2; p <= 3; p++ {
			_, err := r.Insert(p, sim.DefaultTarget())
			require.NoError(t, err)
		}
	}
}

func TestEverythingButHealthAndMetricsNeedsALogin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := startPanel(t, panelOptions{setup: blankTargets(t)})
		p.settle()
		anon := p.client("192.0.2.1:1000")
		for _, tc := range []struct{ method, path string }{
			{"GET", "/api/status"}, {"GET", "/api/events"}, {"GET", "/api/session"},
			{"POST", "/api/jobs"}, {"DELETE", "/api/jobs/current"}, {"DELETE", "/api/jobs/current/ports/2"},
			{"POST", "/api/drives/2/check"}, {"GET", "/api/settings"}, {"PUT", "/api/settings"},
			{"GET", "/api/images"}, {"POST", "/api/images?name=x"}, {"GET", "/api/images/x"}, {"DELETE", "/api/images/x"},
			{"PUT", "/api/master"}, {"GET", "/api/record"}, {"GET", "/api/record.csv"}, {"GET", "/api/record.json"},
			{"GET", "/api/nothing"},
		} {
			w := anon.do(tc.method, tc.path, nil)
			assert.Equal(t, http.StatusUnauthorized, w.Code, "%s %s", tc.method, tc.path)
			assert.Equal(t, "login", jsonOf(t, w)["code"], "%s %s", tc.method, tc.path)
		}
		assert.Equal(t, http.StatusOK, anon.do("GET", "/healthz", nil).Code)
		m := anon.do("GET", "/metrics", nil)
		assert.Equal(t, http.StatusOK, m.Code)
		assert.Contains(t, m.Body.String(), `clonebay_firmware_info{version="test"} 1`)
		assert.Contains(t, m.Body.String(), "clonebay_drives_present 2")
		page := anon.do("GET", "/", nil)
		assert.Equal(t, http.StatusOK, page.Code, "the page itself (the login form) is open")
		assert.Contains(t, page.Body.String(), `id="login-form"`)
		assert.Contains(t, page.Header().Get("Content-Security-Policy"), "default-src 'self'")
	})
}

func TestLogin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := startPanel(t, panelOptions{setup: blankTargets(t)})
		p.settle()
		c := p.client("192.0.2.2:1000")
		for _, tc := range []struct {
			name string
			body string
			code int
			want string
		}{
			{"wrong password", `{"password": "guess-guess"}`, 401, "wrong password"},
			{"no password", `{"password": ""}`, 400, "password: give one"},
			{"not JSON", `password=x`, 400, "the JSON body"},
			{"unknown field", `{"password": "x", "user": "root"}`, 400, "unknown field"},
		} {
			w := c.do("POST", "/api/login", tc.body)
			assert.Equal(t, tc.code, w.Code, tc.name)
			assert.Contains(t, jsonOf(t, w)["error"], tc.want, tc.name)
			assert.Empty(t, w.Result().Cookies(), "%s: no session", tc.name)
		}
		w := c.login(operatorPassword)
		require.Equal(t, http.StatusOK, w.Code)
		require.NotNil(t, c.cookie)
		assert.True(t, c.cookie.HttpOnly)
		assert.Equal(t, http.SameSiteStrictMode, c.cookie.SameSite)
		assert.Equal(t, 12*3600, c.cookie.MaxAge)
		assert.Len(t, c.csrf, 43, "a CSRF token of 32 random bytes")
		assert.Equal(t, "operator", jsonOf(t, w)["role"])
		st := c.do("GET", "/api/status", nil)
		require.Equal(t, http.StatusOK, st.Code)
		assert.Contains(t, st.Body.String(), `"screen":"idle"`)

		assert.Equal(t, http.StatusForbidden, c.do("POST", "/api/login", map[string]string{"password": operatorPassword},
			"Origin", "https://evil.example").Code, "a login posted from another site")
		require.Equal(t, http.StatusOK, c.do("POST", "/api/logout", nil).Code)
		assert.Equal(t, http.StatusUnauthorized, c.do("GET", "/api/status", nil).Code, "logged out")
	})
}

func TestSessionsExpire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Times as configured on the appliance, shortened: idle 30 s and
		// at most 10 minutes.
		p := startPanel(t, panelOptions{setup: blankTargets(t), opts: func(o *web.Options) {
			o.SessionIdle, o.SessionMax = 30*time.Second, 10*time.Minute
		}})
		p.settle()
		idle := p.client("192.0.2.3:1000")
		require.Equal(t, http.StatusOK, idle.login(operatorPassword).Code)
		busy := p.client("192.0.2.4:1000")
		require.Equal(t, http.StatusOK, busy.login(viewerPassword).Code)

		time.Sleep(29 * time.Second)
		require.Equal(t, http.StatusOK, busy.do("GET", "/api/session", nil).Code)
		time.Sleep(2 * time.Second)
		w := idle.do("GET", "/api/status", nil)
		assert.Equal(t, http.StatusUnauthorized, w.Code, "30 s unused")
		assert.Equal(t, "the session expired: log in again", jsonOf(t, w)["error"])
		assert.Equal(t, http.StatusUnauthorized, idle.do("GET", "/api/status", nil).Code, "and it stays ended")

		// Used every 20 s, a session still ends 10 minutes after the login.
		for elapsed := 31 * time.Second; elapsed < 10*time.Minute-20*time.Second; elapsed += 20 * time.Second {
			time.Sleep(20 * time.Second)
			require.Equal(t, http.StatusOK, busy.do("GET", "/api/session", nil).Code, "after %v", elapsed)
		}
		time.Sleep(20 * time.Second)
		assert.Equal(t, http.StatusUnauthorized, busy.do("GET", "/api/session", nil).Code, "10 minutes after the login")
	})
}

func TestChangesNeedTheCSRFTokenAndAnOperator(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := startPanel(t, panelOptions{setup: twoTargets(t)})
		p.settle()
		op := p.client("192.0.2.5:1000")
		require.Equal(t, http.StatusOK, op.login(operatorPassword).Code)
		token := op.csrf
		for _, csrf := range []string{"", "not-the-token"} {
			op.csrf = csrf
			w := op.do("POST", "/api/jobs", map[string]any{"mode": "copy+verify"})
			assert.Equal(t, http.StatusForbidden, w.Code, "token %q", csrf)
			assert.Equal(t, "csrf", jsonOf(t, w)["code"])
		}
		synctest.Wait()
		assert.NotContains(t, p.rig.LCD.Text(), "Copying", "nothing started")

		viewer := p.client("192.0.2.6:1000")
		require.Equal(t, http.StatusOK, viewer.login(viewerPassword).Code)
		assert.Equal(t, http.StatusOK, viewer.do("GET", "/api/status", nil).Code, "a viewer watches")
		for _, tc := range []struct {
			method, path string
			body         any
		}{
			{"POST", "/api/jobs", map[string]any{"mode": "copy+verify"}},
			{"DELETE", "/api/jobs/current", nil},
			{"PUT", "/api/settings", map[string]any{"verify": false}},
			{"POST", "/api/drives/2/check", map[string]any{"kind": "scan"}},
			{"DELETE", "/api/images/x", nil},
		} {
			w := viewer.do(tc.method, tc.path, tc.body)
			assert.Equal(t, http.StatusForbidden, w.Code, "%s %s", tc.method, tc.path)
			assert.Equal(t, "a viewer cannot change anything: log in as an operator", jsonOf(t, w)["error"])
		}
		synctest.Wait()
		assert.NotContains(t, p.rig.LCD.Text(), "Copying", "the viewer started nothing")

		op.csrf = token
		w := op.do("POST", "/api/jobs", map[string]any{"mode": "copy+verify"})
		require.Equal(t, http.StatusAccepted, w.Code, w.Body.String())
		assert.Equal(t, "Copy+Verify started on 2 targets", jsonOf(t, w)["text"])
		w = op.do("POST", "/api/jobs", map[string]any{"mode": "verify"})
		assert.Equal(t, http.StatusConflict, w.Code)
		assert.Equal(t, "a job is running", jsonOf(t, w)["error"], "the web cannot start a second job")
		p.waitLCD("Copying", 5*time.Second, synctest.Wait)
		w = op.do("DELETE", "/api/jobs/current/ports/3", nil)
		assert.Equal(t, http.StatusAccepted, w.Code, w.Body.String())
		p.waitLCD("Job done", 60*time.Second, synctest.Wait)
		assert.Contains(t, p.rig.LCD.Text(), "P3 ABORT", "the LCD shows what the web did")
	})
}

func TestLoginAttemptsAreLimited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := startPanel(t, panelOptions{setup: blankTargets(t)})
		p.settle()
		guesser := p.client("198.51.100.7:5000")
		for i := range 5 {
			assert.Equal(t, http.StatusUnauthorized, guesser.do("POST", "/api/login", `{"password":"guess-guess"}`).Code, "guess %d", i+1)
		}
		w := guesser.do("POST", "/api/login", map[string]string{"password": operatorPassword})
		assert.Equal(t, http.StatusTooManyRequests, w.Code, "even the right password waits")
		assert.Equal(t, "12", w.Header().Get("Retry-After"))
		assert.Equal(t, http.StatusOK, p.client("198.51.100.8:5000").login(operatorPassword).Code, "another client is not held up")
		time.Sleep(12 * time.Second)
		assert.Equal(t, http.StatusOK, guesser.login(operatorPassword).Code, "a try comes back after 12 s")

		// Many clients together: the overall limit.
		limited := 0
		for i := range 40 {
			c := p.client(fmt.Sprintf("203.0.113.%d:6000", i))
			if c.do("POST", "/api/login", `{"password":"guess-guess"}`).Code == http.StatusTooManyRequests {
				limited++
			}
		}
		assert.GreaterOrEqual(t, limited, 10, "40 guesses from 40 clients at once are not all tried")
	})
}

func TestNoOperatorPasswordServesOnlyHealthAndMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := startPanel(t, panelOptions{setup: blankTargets(t), noPassword: true})
		p.settle()
		c := p.client("192.0.2.9:1000")
		for _, path := range []string{"/", "/static/app.js", "/api/status"} {
			w := c.do("GET", path, nil)
			assert.Equal(t, http.StatusServiceUnavailable, w.Code, path)
			assert.Contains(t, w.Body.String(), "no operator password is set")
		}
		assert.Equal(t, http.StatusServiceUnavailable, c.do("POST", "/api/login", `{"password":"anything-at-all"}`).Code)
		assert.Equal(t, http.StatusOK, c.do("GET", "/healthz", nil).Code)
		assert.Equal(t, http.StatusOK, c.do("GET", "/metrics", nil).Code)
	})
}

func TestMetricsToken(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := startPanel(t, panelOptions{setup: blankTargets(t), metricsToken: "0123456789abcdef-token"})
		p.settle()
		c := p.client("192.0.2.10:1000")
		assert.Equal(t, http.StatusUnauthorized, c.do("GET", "/metrics", nil).Code)
		assert.Equal(t, http.StatusUnauthorized, c.do("GET", "/metrics", nil, "Authorization", "Bearer wrong").Code)
		w := c.do("GET", "/metrics", nil, "Authorization", "Bearer 0123456789abcdef-token")
		assert.Equal(t, http.StatusOK, w.Code)
		assert.Contains(t, w.Body.String(), "clonebay_ports_working 0")
	})
}

// gzipped is a compressed image file of n bytes of content.
func gzipped(t *testing.T, n int) []byte {
	content := make([]byte, n)
	r := rand.New(rand.NewPCG(9, 9))
	for i := range content[:n/2] {
		content[i] = byte(r.IntN(8))
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, err := zw.Write(content)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return b.Bytes()
}

// libraryEntries lists the library's folder, hidden entries too.
func libraryEntries(t *testing.T, p *panel) []string {
	ents, err := os.ReadDir(filepath.Join(p.dir, "images"))
	require.NoError(t, err)
	var out []string
	for _, e := range ents {
		if e.Name() == fileset.SetsFolder && e.IsDir() {
			continue // the file sets' own folder, made when the library opens
		}
		out = append(out, e.Name())
	}
	return out
}

// shortBody is an upload body that ends early, as a dropped connection's
// does.
type shortBody struct{ r io.Reader }

func (s shortBody) Read(p []byte) (int, error) { return s.r.Read(p) }

func TestUploads(t *testing.T) {
	file := gzipped(t, 2<<20)
	sum := fmt.Sprintf("%x", sha256.Sum256(file))
	upload := func(c *client, query string, body io.Reader, length int64, header ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/api/images"+query, body)
		req.ContentLength = length
		req.RemoteAddr = c.addr
		req.AddCookie(c.cookie)
		req.Header.Set("X-CSRF-Token", c.csrf)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		w := httptest.NewRecorder()
		c.p.handler.ServeHTTP(w, req)
		return w
	}
	synctest.Test(t, func(t *testing.T) {
		p := startPanel(t, panelOptions{setup: blankTargets(t), maxUpload: 4 << 20})
		p.settle()
		c := p.client("192.0.2.11:1000")
		require.Equal(t, http.StatusOK, c.login(operatorPassword).Code)
		for _, tc := range []struct {
			name    string
			query   string
			body    io.Reader
			length  int64
			header  []string
			code    int
			want    string
			library []string // what the library folder holds after
		}{
			{"a good upload", "?name=kiosk-7&sha256=" + sum, bytes.NewReader(file), int64(len(file)), nil, 201, `"name":"kiosk-7"`, []string{"kiosk-7"}},
			{"named from the file", "", bytes.NewReader(file), int64(len(file)), []string{"X-File-Name", `C:\Users\qa\Kiosk Build 8.img.gz`}, 201, `"name":"Kiosk-Build-8"`, []string{"Kiosk-Build-8"}},
			{"path traversal in the name", "?name=../../etc/cron.d/x", bytes.NewReader(file), int64(len(file)), nil, 400, "image name", nil},
			{"path traversal in the file name", "", bytes.NewReader(file), int64(len(file)), []string{"X-File-Name", "../../../../etc/passwd"}, 201, `"name":"passwd"`, []string{"passwd"}},
			{"a hidden name", "?name=.partial", bytes.NewReader(file), int64(len(file)), nil, 400, "image name", nil},
			{"over the limit", "?name=big", bytes.NewReader(file), 5 << 20, nil, 413, "the limit is 4194304", nil},
			{"no length", "?name=nolen", bytes.NewReader(file), -1, nil, 411, "Content-Length", nil},
			{"cut short", "?name=cut", shortBody{bytes.NewReader(file[:len(file)/2])}, int64(len(file)), nil, 400, "cut short", nil},
			{"a wrong checksum", "?name=bad&sha256=" + strings.Repeat("ab", 32), bytes.NewReader(file), int64(len(file)), nil, 422, "damaged", nil},
			{"a bad checksum", "?name=bad&sha256=xyz", bytes.NewReader(file), int64(len(file)), nil, 400, "give 64 hex digits", nil},
		} {
			func() { // one case; t.Run cannot be called in a bubble
				{
					w := upload(c, tc.query, tc.body, tc.length, tc.header...)
					assert.Equal(t, tc.code, w.Code, "%s: %s", tc.name, w.Body.String())
					assert.Contains(t, w.Body.String(), tc.want, tc.name)
					synctest.Wait()
					assert.Equal(t, tc.library, libraryEntries(t, p), "%s: nothing half-written is left, nothing outside the library", tc.name)
					_, err := os.Stat(filepath.Join(p.dir, "passwd"))
					assert.ErrorIs(t, err, os.ErrNotExist)
					if tc.code == 201 {
						// The panel's list follows, and the image downloads.
						time.Sleep(200 * time.Millisecond)
						synctest.Wait()
						st := c.do("GET", "/api/images", nil)
						assert.Contains(t, st.Body.String(), tc.library[0])
						dl := c.do("GET", "/api/images/"+tc.library[0], nil)
						assert.Equal(t, http.StatusOK, dl.Code)
						assert.Equal(t, []byte{0x28, 0xb5, 0x2f, 0xfd}, dl.Body.Bytes()[:4], "seekable zstd")
						del := c.do("DELETE", "/api/images/"+tc.library[0], nil)
						assert.Equal(t, http.StatusAccepted, del.Code, del.Body.String())
						assert.Empty(t, libraryEntries(t, p))
					}
				}
			}()
		}
	})
}

func TestSettingsThroughThePanel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := startPanel(t, panelOptions{setup: blankTargets(t)})
		p.settle()
		c := p.client("192.0.2.12:1000")
		require.Equal(t, http.StatusOK, c.login(operatorPassword).Code)
		w := c.do("PUT", "/api/settings", map[string]any{"area": "smart", "verify": false})
		require.Equal(t, http.StatusAccepted, w.Code, w.Body.String())
		synctest.Wait()
		got := jsonOf(t, c.do("GET", "/api/settings", nil))["settings"].(map[string]any)
		assert.Equal(t, "smart", got["area"])
		assert.Equal(t, false, got["verify"])
		assert.Equal(t, true, got["buzzer"], "what the request leaves out stays")
		for _, tc := range []struct {
			body any
			code int
			want string
		}{
			{map[string]any{"area": "half"}, 422, `area "half": give whole, used or smart`},
			{map[string]any{"auto_start": 99}, 422, "auto-start 99: give 0 (off) to 7 targets"},
			{map[string]any{"backlight_seconds": -5}, 400, "backlight_seconds: -5 is not 0..86400"},
			{map[string]any{"colour": "blue"}, 400, "unknown field"},
		} {
			w := c.do("PUT", "/api/settings", tc.body)
			assert.Equal(t, tc.code, w.Code, "%v", tc.body)
			assert.Contains(t, jsonOf(t, w)["error"], tc.want)
		}
	})
}
