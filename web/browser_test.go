package web_test

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/internal/testenv"
	"github.com/clonebay/clonebay/sim"
)

// TestBrowser drives the web panel in a real headless Chromium, as a
// supervisor at a desk would: log in, start a copy of the simulator's
// default session (a master and seven targets), watch the bars move, see
// seven PASS, and download the production record as CSV. A screenshot of
// the finished page (and of it on a phone) is kept in dist/test-artifacts.
func TestBrowser(t *testing.T) {
	browser, err := exec.LookPath("chromium")
	if err != nil {
		testenv.Skip(t, "no chromium (the Debian package chromium)")
	}
	if os.Geteuid() != 0 {
		testenv.Skip(t, "the browser test runs Chromium without its sandbox, which needs root here")
	}
	p := startPanel(t, panelOptions{realTime: true, setup: func(r *sim.Rig) { require.NoError(t, r.DefaultSession()) }})

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(browser), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 1100))
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()

	start := time.Now()
	require.NoError(t, chromedp.Do(bctx,
		chromedp.Navigate(p.url),
		chromedp.WaitVisible(chromedp.ID("password")),
		chromedp.SendKeys(chromedp.ID("password"), operatorPassword),
		chromedp.Click(chromedp.ID("login-btn")),
		chromedp.WaitVisible(chromedp.ID("app-view")),
	), "log in")
	_, err = chromedp.Run(bctx, chromedp.Poll[bool](`document.querySelectorAll('#ports .port').length === 8 && document.querySelectorAll('#targets input:checked').length === 7`,
		chromedp.WithPollingTimeout(10*time.Second)))
	require.NoError(t, err, "the page shows the eight ports and the seven targets")

	require.NoError(t, chromedp.Do(bctx,
		chromedp.SetValue(chromedp.ID("lot-name"), "A17"),
		chromedp.SetValue(chromedp.ID("lot-goal"), "7"),
		chromedp.Click(chromedp.ID("lot-start"))), "start a lot")
	_, err = chromedp.Run(bctx, chromedp.Poll[bool](`document.getElementById('lot-line').textContent === 'Lot A17: 0/7 passed, 0 failed'`,
		chromedp.WithPollingTimeout(10*time.Second)))
	require.NoError(t, err, "the lot's counter shows")

	require.NoError(t, chromedp.Do(bctx, chromedp.Click(chromedp.ID("start"))), "start")
	answer, err := chromedp.Run(bctx, chromedp.Poll[string](`document.getElementById('answer').textContent`, chromedp.WithPollingTimeout(10*time.Second)))
	require.NoError(t, err)
	assert.Equal(t, "Copy+Verify started on 7 targets", answer)

	// The bars move: a port is seen part-way, then further on.
	first, err := chromedp.Run(bctx, chromedp.Poll[float64](
		`(() => { const v = Math.max(0, ...[...document.querySelectorAll('#ports progress')].map(p => p.value)); return v > 0 && v < 90 ? v : 0; })()`,
		chromedp.WithPollingTimeout(20*time.Second), chromedp.WithPollingInterval(50*time.Millisecond)))
	require.NoError(t, err, "a progress bar between 0 and 90 %")
	_, err = chromedp.Run(bctx, chromedp.PollFunction[bool](
		`(first) => [...document.querySelectorAll('#ports .port')].some(c => { const p = c.querySelector('progress'); return !p || p.value > first; })`,
		chromedp.WithPollingArgs(first), chromedp.WithPollingTimeout(20*time.Second)))
	require.NoError(t, err, "the progress moved on from %v %%", first)

	_, err = chromedp.Run(bctx, chromedp.Poll[bool](`document.querySelectorAll('#ports .result.pass').length === 7`,
		chromedp.WithPollingTimeout(40*time.Second)))
	require.NoError(t, err, "seven PASS")
	lcd, err := chromedp.Run(bctx, chromedp.Text(chromedp.ID("lcd")))
	require.NoError(t, err)
	assert.Contains(t, lcd, "7 PASS 0 FAIL", "the LCD's frame is mirrored")

	csv, err := chromedp.Run(bctx, chromedp.Evaluate[string](
		`fetch(document.getElementById('dl-csv').href).then(r => r.text())`, chromedp.EvalAwaitPromise))
	require.NoError(t, err, "download the CSV")
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	require.Len(t, lines, 8, "a header and seven entries:\n%s", csv)
	assert.True(t, strings.HasPrefix(lines[0], "seq,time,job,"), lines[0])
	for _, l := range lines[1:] {
		assert.Contains(t, l, ",PASS,", l)
	}
	_, err = chromedp.Run(bctx, chromedp.Poll[bool](`document.querySelectorAll('#record-table tbody td.pass').length === 7`,
		chromedp.WithPollingTimeout(10*time.Second)))
	assert.NoError(t, err, "the record's table on the page follows the finished job")
	_, err = chromedp.Run(bctx, chromedp.Poll[bool](`document.getElementById('lot-line').textContent === 'Lot A17: 7/7 passed, 0 failed · done'`,
		chromedp.WithPollingTimeout(10*time.Second)))
	assert.NoError(t, err, "the lot's count is reached")
	report, err := chromedp.Run(bctx, chromedp.Evaluate[string](
		`fetch(document.getElementById('lot-csv').href).then(r => r.text())`, chromedp.EvalAwaitPromise))
	require.NoError(t, err, "download the lot's report")
	assert.Contains(t, report, "lot,A17\n")
	assert.Contains(t, report, "pass,7\n")
	t.Logf("log in to 7 PASS and the CSV: %v", time.Since(start).Round(100*time.Millisecond))

	// Setup saves only what the operator changed: a value another panel
	// changed since the form was filled is not put back.
	sent, err := chromedp.Run(bctx, chromedp.Evaluate[string](`(async () => {
		let body = "";
		const orig = window.fetch;
		window.fetch = (url, opts) => {
			if (String(url).endsWith("/api/settings") && opts && opts.method === "PUT") body = opts.body;
			return orig(url, opts);
		};
		const b = document.getElementById("s-buzzer");
		b.checked = !b.checked;
		document.getElementById("setup-form").requestSubmit();
		for (let i = 0; i < 200 && !body; i++) await new Promise(r => setTimeout(r, 50));
		window.fetch = orig;
		return body;
	})()`, chromedp.EvalAwaitPromise))
	require.NoError(t, err, "save a changed setting")
	var put map[string]any
	require.NoError(t, json.Unmarshal([]byte(sent), &put), "the PUT's body: %q", sent)
	assert.Equal(t, []string{"buzzer"}, slices.Collect(maps.Keys(put)), "only the changed field is sent")

	artifacts := filepath.Join("..", "dist", "test-artifacts")
	require.NoError(t, os.MkdirAll(artifacts, 0o755))
	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(artifacts, "web-panel.png"), shot, 0o644))
	require.NoError(t, chromedp.Do(bctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2))))
	wide, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth + 1`))
	require.NoError(t, err)
	assert.True(t, wide, "on a phone the page fits the screen's width")
	shot, err = chromedp.Run(bctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(artifacts, "web-panel-phone.png"), shot, 0o644))
}
