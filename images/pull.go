package images

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// PullOptions tune Pull.
type PullOptions struct {
	// Name is the image's name; made from the URL's file name when empty.
	Name string
	// SHA256 is the file's expected SHA-256 (a catalog's); when empty the
	// .sha256 beside the file is used when there is one. Given, it pins
	// the file: then a block map is used only when BMapURL names one.
	SHA256 string
	// SHA256URL and BMapURL are where the companion files are when they
	// are not the file's URL plus ".sha256" and ".bmap" (a presigned URL
	// of an S3-compatible store signs one object only).
	SHA256URL, BMapURL string
	// Client makes the requests; one with sane timeouts when nil.
	Client *http.Client
	// Retries is how many times a dropped download is continued (8 when
	// 0); Restarts how many times it may start over from its first byte
	// when the server cannot continue it (2 when 0).
	Retries, Restarts int
	// MinBackoff and MaxBackoff bound the wait before a retry (1 s and
	// 30 s when 0).
	MinBackoff, MaxBackoff time.Duration
	// Idle ends an attempt that received no byte for this long (1 min
	// when 0).
	Idle time.Duration
	// Progress gets the bytes of the file received; Note what the pull
	// found on the way (companion files, a restart). Both may be nil.
	Progress Progress
	Note     func(string)
}

func (o *PullOptions) defaults() {
	if o.Client == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.ResponseHeaderTimeout = 30 * time.Second
		t.DisableCompression = true
		o.Client = &http.Client{Transport: t}
	}
	if o.Retries <= 0 {
		o.Retries = 8
	}
	if o.Restarts <= 0 {
		o.Restarts = 2
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.Idle <= 0 {
		o.Idle = time.Minute
	}
	if o.Progress == nil {
		o.Progress = func(int64, int64) {}
	}
	if o.Note == nil {
		o.Note = func(string) {}
	}
}

// ErrDownload is returned (wrapped) when a file could not be fetched:
// the server refused it, or the connection failed past every retry.
var ErrDownload = errors.New("download failed")

// ShowURL is a URL fit for messages and manifests: without its query
// (a presigned URL's signature and credentials) and user part.
func ShowURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		// Not a URL that parses: the user and password run from "://" to
		// the last "@" (a password may hold "/", "?" or "#"), then the
		// query and fragment go.
		if s := strings.Index(raw, "://"); s >= 0 {
			if at := strings.LastIndex(raw, "@"); at > s {
				raw = raw[:s+3] + raw[at+1:]
			}
		}
		if i := strings.IndexAny(raw, "?#"); i >= 0 {
			raw = raw[:i]
		}
		return raw
	}
	u.User, u.RawQuery, u.ForceQuery, u.Fragment = nil, "", false, ""
	return u.String()
}

// checkURL accepts http and https URLs.
func checkURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%q is not a URL", ShowURL(raw))
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("%s: only http:// and https:// URLs can be pulled", ShowURL(raw))
	}
	return u, nil
}

// beside is the URL of a companion file: ext added to the path, the query
// kept.
func beside(u *url.URL, ext string) string {
	c := *u
	c.Path += ext
	c.RawPath = ""
	return c.String()
}

// Pull imports an image over HTTP(S) with the checks of an import from a
// stick: the .sha256 and .bmap beside the file (or given) are fetched and
// applied, and a damaged file is refused. A dropped connection is
// continued from the byte reached (a Range request, tied to the first
// answer's ETag or Last-Modified with If-Range); a server that cannot
// continue one, or a file that changed meanwhile, makes the pull start
// over. The image appears in the library only once it is complete and
// checked.
func (l *Library) Pull(ctx context.Context, rawURL string, o PullOptions) (*Manifest, error) {
	o.defaults()
	u, err := checkURL(rawURL)
	if err != nil {
		return nil, err
	}
	show := ShowURL(rawURL)
	name := o.Name
	if name == "" {
		name = NameFor(path.Base(u.Path))
	}
	if err := CheckName(name); err != nil {
		return nil, err
	}
	if _, err := l.Info(name); err == nil {
		return nil, fmt.Errorf("an image named %q already exists: delete it first or pick another name", name)
	}
	src := ImportSource{Name: show, Size: -1}
	file := path.Base(u.Path)
	if o.SHA256 != "" {
		if src.SHA256, err = ParseSHA256File([]byte(o.SHA256), file); err != nil {
			return nil, err
		}
	} else {
		where := o.SHA256URL
		if where == "" {
			where = beside(u, ".sha256")
		}
		data, err := l.fetchSide(ctx, where, 1<<20, &o)
		if err != nil {
			return nil, err
		}
		if data != nil {
			if src.SHA256, err = ParseSHA256File(data, file); err != nil {
				return nil, fmt.Errorf("%s: %w", ShowURL(where), err)
			}
			o.Note(fmt.Sprintf("checksum %s: the file must hash to %s…", ShowURL(where), src.SHA256[:12]))
		}
	}
	where := o.BMapURL
	if where == "" {
		where = beside(u, ".bmap")
	}
	// A block map decides which of the file's bytes are kept: one that
	// maps nothing stores zeros, and the file's checksum still matches.
	// When the checksum is pinned (a catalog's, or given as a hash), only
	// a block map named with it is used; one that merely lies beside the
	// file is vouched for by no one.
	var data []byte
	if o.BMapURL == "" && o.SHA256 != "" {
		o.Note(fmt.Sprintf("%s: no block map named beside its pinned checksum: every block is kept", show))
	} else if data, err = l.fetchSide(ctx, where, 64<<20, &o); err != nil {
		return nil, err
	}
	if data != nil {
		if src.BMap, err = ParseBMap(data); err != nil {
			return nil, fmt.Errorf("%s: %w", ShowURL(where), err)
		}
		o.Note(fmt.Sprintf("block map %s: %d of %d bytes mapped", ShowURL(where), src.BMap.Mapped(), src.BMap.ImageSize))
	}

	for start := 0; ; start++ {
		d := &download{ctx: ctx, url: rawURL, show: show, o: &o}
		if err := d.open(); err != nil {
			return nil, err
		}
		src.Size = max(d.size, 0)
		src.Open = func() (io.ReadCloser, error) { return d, nil }
		m, err := l.Import(ctx, src, name, func(_, _ int64) { o.Progress(d.got.Load(), d.size) })
		d.Close()
		restart, failed := d.outcome()
		switch {
		case err == nil:
			return m, nil
		case ctx.Err() != nil:
			return nil, fmt.Errorf("%s: %w; nothing was imported", show, ctx.Err())
		case restart == "" && failed != nil:
			// Import names a read error as damage; it was the network.
			return nil, fmt.Errorf("%w; nothing was imported", failed)
		case restart == "":
			return nil, err
		case start >= o.Restarts:
			return nil, fmt.Errorf("%s: %w: %s, and it started over %d times; nothing was imported", show, ErrDownload, restart, start)
		}
		o.Note(fmt.Sprintf("%s: %s: starting over", show, restart))
	}
}

// fetchSide fetches a small companion file; nil when the server has
// none (404, 410, or 403: a presigned URL signs its own object only). An
// attempt that receives no byte for o.Idle is given up, as a download's
// is: a server that stalls must not hold the pull (or the catalog's
// follower) for ever.
func (l *Library) fetchSide(ctx context.Context, rawURL string, limit int64, o *PullOptions) ([]byte, error) {
	if _, err := checkURL(rawURL); err != nil {
		return nil, err
	}
	show := ShowURL(rawURL)
	var last error
	for attempt := 0; attempt <= o.Retries; attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, backoff(attempt, o.MinBackoff, o.MaxBackoff)); err != nil {
				return nil, err
			}
		}
		data, done, err := fetchSideOnce(ctx, rawURL, show, limit, o)
		if done {
			return data, err
		}
		last = err
	}
	return nil, fmt.Errorf("%w: %v (gave up after %d attempts)", ErrDownload, last, o.Retries+1)
}

// fetchSideOnce is one attempt of fetchSide: done says its answer is
// final; else err is why it may be tried again.
func fetchSideOnce(ctx context.Context, rawURL, show string, limit int64, o *PullOptions) (data []byte, done bool, err error) {
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	var stalled atomic.Bool
	idle := time.AfterFunc(o.Idle, func() { stalled.Store(true); cancel() })
	defer idle.Stop()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, true, fmt.Errorf("%s: %w", show, err)
	}
	req.Header.Set("Accept-Encoding", "identity")
	resp, err := o.Client.Do(req)
	switch {
	case err != nil && ctx.Err() != nil:
		return nil, true, ctx.Err()
	case err != nil && stalled.Load():
		return nil, false, fmt.Errorf("%s: no answer for %s", show, o.Idle)
	case err != nil:
		return nil, false, fmt.Errorf("%s: %w", show, unwrapURLError(err))
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
		body := &idleReader{r: io.LimitReader(resp.Body, limit+1), t: idle, d: o.Idle}
		data, err := io.ReadAll(body)
		switch {
		case err != nil && ctx.Err() != nil:
			return nil, true, ctx.Err()
		case err != nil && stalled.Load():
			return nil, false, fmt.Errorf("%s: no data for %s at byte %d", show, o.Idle, len(data))
		case err != nil:
			return nil, false, fmt.Errorf("%s: %w", show, err)
		case int64(len(data)) > limit:
			return nil, true, fmt.Errorf("%s: larger than %d bytes: not a companion file", show, limit)
		}
		return data, true, nil
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone || resp.StatusCode == http.StatusForbidden:
		o.Note(fmt.Sprintf("no %s (HTTP %d)", show, resp.StatusCode))
		return nil, true, nil
	case retryable(resp.StatusCode):
		return nil, false, fmt.Errorf("%s: HTTP %s", show, resp.Status)
	}
	return nil, true, fmt.Errorf("%s: %w: HTTP %s", show, ErrDownload, resp.Status)
}

// idleReader restarts an idle timer with every byte it reads.
type idleReader struct {
	r io.Reader
	t *time.Timer
	d time.Duration
}

func (i *idleReader) Read(p []byte) (int, error) {
	n, err := i.r.Read(p)
	if n > 0 {
		i.t.Reset(i.d)
	}
	return n, err
}

// retryable says a status may pass by itself.
func retryable(code int) bool {
	return code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500
}

// unwrapURLError drops net/http's "Get URL:" prefix, which would show a
// presigned URL's query.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// download is the file's content as one reader, however many requests
// it takes: a dropped connection is continued where it stopped.
type download struct {
	ctx       context.Context
	url, show string
	o         *PullOptions

	size      int64  // -1 when the server did not say
	validator string // strong ETag or Last-Modified, for If-Range
	etag      string
	got       atomic.Int64 // bytes of the file received; read by progress while the import runs

	body   io.ReadCloser
	cancel context.CancelFunc
	idle   *time.Timer

	mu      sync.Mutex
	stalled bool

	// Set by the reader, which may be a decompressor's goroutine; read by
	// Pull once the import returned.
	restart string // why the download must start over; "" if it need not
	failed  error  // why it failed for good, when it did
}

// outcome is why the download stopped short, if it did.
func (d *download) outcome() (restart string, failed error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.restart, d.failed
}

// mustRestart records that the download must start over.
func (d *download) mustRestart(why string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.restart == "" {
		d.restart = why
	}
	return errRestart
}

// get sends one request from byte off (0: the whole file).
func (d *download) get(off int64) (*http.Response, error) {
	actx, cancel := context.WithCancel(d.ctx)
	req, err := http.NewRequestWithContext(actx, http.MethodGet, d.url, nil)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("%s: %w", d.show, err)
	}
	req.Header.Set("Accept-Encoding", "identity")
	if off > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", off))
		req.Header.Set("If-Range", d.validator)
	}
	resp, err := d.o.Client.Do(req)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("%s: %w", d.show, unwrapURLError(err))
	}
	d.cancel = cancel
	return resp, nil
}

// open makes the first request, retrying what may pass by itself.
func (d *download) open() error {
	var last error
	for attempt := 0; attempt <= d.o.Retries; attempt++ {
		if attempt > 0 {
			if err := sleep(d.ctx, backoff(attempt, d.o.MinBackoff, d.o.MaxBackoff)); err != nil {
				return err
			}
		}
		resp, err := d.get(0)
		if err != nil {
			if d.ctx.Err() != nil {
				return d.ctx.Err()
			}
			last = err
			continue
		}
		if resp.StatusCode == http.StatusOK {
			d.size = resp.ContentLength
			d.etag = resp.Header.Get("ETag")
			switch lm := resp.Header.Get("Last-Modified"); {
			case d.etag != "" && !strings.HasPrefix(d.etag, "W/"):
				d.validator = d.etag // a weak ETag may not be used with If-Range
			case lm != "":
				d.validator = lm
			}
			if resp.Header.Get("Accept-Ranges") == "none" {
				d.validator = ""
			}
			d.start(resp.Body)
			return nil
		}
		resp.Body.Close()
		d.cancel()
		if !retryable(resp.StatusCode) {
			return fmt.Errorf("%s: %w: HTTP %s", d.show, ErrDownload, resp.Status)
		}
		last = fmt.Errorf("%s: HTTP %s", d.show, resp.Status)
	}
	return fmt.Errorf("%w: %v (gave up after %d attempts)", ErrDownload, last, d.o.Retries+1)
}

// start reads a response body, ending the attempt when no byte arrives
// for the idle time (a connection that hangs rather than drops).
func (d *download) start(body io.ReadCloser) {
	d.body = body
	d.mu.Lock()
	d.stalled = false
	d.mu.Unlock()
	cancel := d.cancel
	d.idle = time.AfterFunc(d.o.Idle, func() {
		d.mu.Lock()
		d.stalled = true
		d.mu.Unlock()
		cancel()
	})
}

func (d *download) stop() {
	if d.body != nil {
		d.idle.Stop()
		d.body.Close()
		d.cancel()
		d.body = nil
	}
}

// Close ends the download.
func (d *download) Close() error {
	d.stop()
	return nil
}

// Read reads the file's content on, continuing after a dropped connection.
func (d *download) Read(p []byte) (int, error) {
	for {
		if d.body == nil {
			return 0, d.fail(errors.New("the download was stopped"))
		}
		n, err := d.body.Read(p)
		got := d.got.Add(int64(n))
		if n > 0 {
			d.idle.Reset(d.o.Idle)
			return n, nil
		}
		if err == nil {
			continue
		}
		if err == io.EOF && (d.size < 0 || got == d.size) {
			return 0, io.EOF
		}
		if d.ctx.Err() != nil {
			return 0, d.ctx.Err()
		}
		if err == io.EOF {
			err = fmt.Errorf("the connection closed at byte %d of %d", got, d.size)
		}
		if d.size >= 0 && got > d.size {
			return 0, d.fail(fmt.Errorf("the server sent more than the %d bytes it announced", d.size))
		}
		d.mu.Lock()
		if d.stalled {
			err = fmt.Errorf("no data for %s at byte %d", d.o.Idle, got)
		}
		d.mu.Unlock()
		if rerr := d.resume(err); rerr != nil {
			return 0, rerr
		}
	}
}

// errRestart ends an import whose download must start over.
var errRestart = errors.New("the download must start over")

// fail records a download's final failure; Import will wrap it as it
// likes, Pull returns it as it is.
func (d *download) fail(err error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.failed == nil {
		d.failed = fmt.Errorf("%s: %w: %v", d.show, ErrDownload, err)
	}
	return d.failed
}

// resume continues the download from the byte reached after it dropped
// with cause.
func (d *download) resume(cause error) error {
	d.stop()
	got := d.got.Load()
	if d.validator == "" {
		return d.mustRestart(fmt.Sprintf("the download dropped at byte %d (%v) and the server offers no way to continue it safely (no Range support, or no ETag or Last-Modified to check that the file did not change)", got, cause))
	}
	last := cause
	for attempt := 1; attempt <= d.o.Retries; attempt++ {
		d.o.Note(fmt.Sprintf("%s: %v; continuing from byte %d (attempt %d of %d)", d.show, last, got, attempt, d.o.Retries))
		if err := sleep(d.ctx, backoff(attempt, d.o.MinBackoff, d.o.MaxBackoff)); err != nil {
			return err
		}
		resp, err := d.get(got)
		if err != nil {
			if d.ctx.Err() != nil {
				return d.ctx.Err()
			}
			last = err
			continue
		}
		switch resp.StatusCode {
		case http.StatusPartialContent:
			start, total, ok := contentRange(resp.Header.Get("Content-Range"))
			etag := resp.Header.Get("ETag")
			if ok && start == got && (d.size < 0 || total < 0 || total == d.size) && (d.etag == "" || etag == "" || etag == d.etag) {
				d.start(resp.Body)
				return nil
			}
			resp.Body.Close()
			d.cancel()
			if !ok || start != got {
				return d.fail(fmt.Errorf("the server answered a request from byte %d with %q", got, resp.Header.Get("Content-Range")))
			}
			return d.mustRestart("the file changed on the server during the download")
		case http.StatusOK:
			// The server ignored the Range, or If-Range found the file changed.
			resp.Body.Close()
			d.cancel()
			return d.mustRestart(fmt.Sprintf("the download dropped at byte %d and the server sent the whole file again instead of the rest (it ignores Range requests, or the file changed)", got))
		case http.StatusRequestedRangeNotSatisfiable, http.StatusPreconditionFailed:
			resp.Body.Close()
			d.cancel()
			return d.mustRestart("the file changed on the server during the download")
		}
		resp.Body.Close()
		d.cancel()
		if !retryable(resp.StatusCode) {
			return d.fail(fmt.Errorf("continuing from byte %d: HTTP %s", got, resp.Status))
		}
		last = fmt.Errorf("HTTP %s", resp.Status)
	}
	return d.fail(fmt.Errorf("the connection dropped at byte %d of %d and %d attempts to continue failed; the last: %v", got, d.size, d.o.Retries, last))
}

// contentRange parses "bytes START-END/TOTAL" (TOTAL may be "*": -1).
func contentRange(h string) (start, total int64, ok bool) {
	rest, found := strings.CutPrefix(h, "bytes ")
	if !found {
		return 0, 0, false
	}
	span, tot, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, false
	}
	first, _, found := strings.Cut(span, "-")
	if !found {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(first, 10, 64)
	if err != nil || start < 0 {
		return 0, 0, false
	}
	total = -1
	if tot != "*" {
		if total, err = strconv.ParseInt(tot, 10, 64); err != nil {
			return 0, 0, false
		}
	}
	return start, total, true
}

// backoff is the wait before the n-th retry: lo doubled each time up to
// hi, the upper half at random so that boxes do not retry in step.
func backoff(n int, lo, hi time.Duration) time.Duration {
	d := lo
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	return time.Duration(float64(d) * (0.5 + rand.Float64()/2))
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
