package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/cli"
)

// TestSimServesTheWebPanel: `clonebay sim --http` without a terminal is
// the web panel alone: log in with $CLONEBAY_PASSWORD, start a copy of
// the default session, follow the live events to 7 PASS, and find the 7
// PASS rows in the record's CSV.
func TestSimServesTheWebPanel(t *testing.T) {
	t.Setenv("CLONEBAY_PASSWORD", "sim-web-test-pw")
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, stdout := io.Pipe()
	var stderr bytes.Buffer
	env := &cli.Env{Stdin: bytes.NewReader(nil), Stdout: stdout, Stderr: &stderr}
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(ctx, env, commands(), []string{"sim", "--http", "127.0.0.1:0",
			"--images", filepath.Join(dir, "images"), "--record", filepath.Join(dir, "jobs.log")})
		stdout.Close()
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	require.NoError(t, err, "stderr: %s", stderr.String())
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "clonebay sim: the web panel is at ")
	require.True(t, ok, line)
	url = strings.TrimSuffix(url, " (Ctrl-C ends it)")
	go io.Copy(io.Discard, out)

	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	client := &http.Client{Jar: jar, Timeout: time.Minute}
	call := func(method, path, csrf string, body any) *http.Response {
		t.Helper()
		b, err := json.Marshal(body)
		require.NoError(t, err)
		req, err := http.NewRequestWithContext(ctx, method, url+strings.TrimPrefix(path, "/"), bytes.NewReader(b))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		if csrf != "" {
			req.Header.Set("X-CSRF-Token", csrf)
		}
		resp, err := client.Do(req)
		require.NoError(t, err)
		return resp
	}
	resp := call("POST", "/api/login", "", map[string]string{"password": "sim-web-test-pw"})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var login struct{ CSRF string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&login))
	resp.Body.Close()

	events := call("GET", "/api/events", "", nil)
	defer events.Body.Close()
	resp = call("POST", "/api/jobs", login.CSRF, map[string]any{"mode": "copy+verify"})
	require.Equal(t, http.StatusAccepted, resp.StatusCode)
	resp.Body.Close()

	sc := bufio.NewScanner(events.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	passed := 0
	for passed < 7 && sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var st struct{ Summary struct{ Passed int } }
		require.NoError(t, json.Unmarshal([]byte(data), &st))
		passed = st.Summary.Passed
	}
	require.Equal(t, 7, passed, "the live events reach 7 PASS")

	resp = call("GET", "/api/record.csv", "", nil)
	csv, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, 7, strings.Count(string(csv), ",PASS,"), string(csv))

	cancel()
	assert.Equal(t, 0, <-done, "stderr: %s", stderr.String())
}
