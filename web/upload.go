package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/clonebay/clonebay/images"
)

// Uploads: an image file goes from the browser straight into the image
// library, streamed (never held in memory), through the import a stick's
// file goes through; an upload that is cut short, too large or does not
// match its checksum leaves nothing in the library.

// uploadState is an upload's progress.
type uploadState struct {
	Name   string    `json:"name"`
	File   string    `json:"file"`
	Done   int64     `json:"done"`
	Total  int64     `json:"total"`
	Error  string    `json:"error,omitempty"`
	Ended  bool      `json:"ended"`
	Start  time.Time `json:"started"`
	Result string    `json:"result,omitempty"`
}

// uploadJSON is the upload under way (or the last one) in the status.
type uploadJSON = uploadState

func (s *Server) uploadStatus() *uploadJSON {
	s.upMu.Lock()
	defer s.upMu.Unlock()
	u := s.upload
	if u == nil {
		u = s.upDone
	}
	if u == nil {
		return nil
	}
	c := *u
	return &c
}

// sha256RE is a SHA-256 in hex.
var sha256RE = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)

// fileName makes a browser's file name safe to show and log: its last
// part only, printable characters, at most 100 bytes.
func fileName(raw string) string {
	raw = strings.ReplaceAll(raw, `\`, "/")
	n := path.Base("/" + raw)
	b := []byte(n)
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '_'
		}
	}
	n = strings.TrimSpace(string(b))
	if len(n) > 100 {
		n = n[:100]
	}
	if n == "/" || n == "." || n == "" {
		n = "upload"
	}
	return n
}

// uploadTarget reads an upload's image name and checksum from its
// query: name (else made from the X-File-Name header) and sha256.
func uploadTarget(q map[string][]string, header string) (name, file, sum string, err error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	file = fileName(header)
	name = get("name")
	if name == "" {
		if header == "" {
			return "", "", "", errors.New("name: give the image's name (or the file's, in X-File-Name)")
		}
		name = images.NameFor(file)
	}
	if err := images.CheckName(name); err != nil {
		return "", "", "", err
	}
	sum = strings.ToLower(get("sha256"))
	if sum != "" && !sha256RE.MatchString(sum) {
		return "", "", "", fmt.Errorf("sha256 %q: give 64 hex digits", sum)
	}
	return name, file, sum, nil
}

// exactBody reads a body that must be exactly n bytes: one that ends
// sooner was cut short, and is an error, never a smaller image.
type exactBody struct {
	r     io.Reader
	left  int64
	read  func(n int64)
	short bool // it ended early
}

func (b *exactBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		var one [1]byte
		if n, _ := b.r.Read(one[:]); n > 0 {
			return 0, errors.New("the upload is longer than its Content-Length")
		}
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	b.read(int64(n))
	if errors.Is(err, io.EOF) {
		if b.left > 0 {
			b.short = true
			return n, fmt.Errorf("the upload was cut short: %d bytes missing: %w", b.left, io.ErrUnexpectedEOF)
		}
		err = nil
	}
	return n, err
}

func (s *Server) uploadImage(w http.ResponseWriter, r *http.Request) {
	name, file, sum, err := uploadTarget(r.URL.Query(), r.Header.Get("X-File-Name"))
	if err != nil {
		fail(w, http.StatusBadRequest, "invalid", "%v", err)
		return
	}
	switch {
	case r.ContentLength < 0:
		fail(w, http.StatusLengthRequired, "invalid", "an upload needs its Content-Length")
		return
	case r.ContentLength == 0:
		fail(w, http.StatusBadRequest, "invalid", "the upload is empty")
		return
	case r.ContentLength > s.o.MaxUpload:
		fail(w, http.StatusRequestEntityTooLarge, "invalid", "the upload is %d bytes; the limit is %d", r.ContentLength, s.o.MaxUpload)
		return
	}
	u := &uploadState{Name: name, File: file, Total: r.ContentLength, Start: time.Now()}
	s.upMu.Lock()
	if s.upload != nil {
		other := s.upload.Name
		s.upMu.Unlock()
		fail(w, http.StatusConflict, "busy", "image %s is being uploaded: one upload at a time", other)
		return
	}
	s.upload = u
	s.upMu.Unlock()
	defer func() {
		s.upMu.Lock()
		u.Ended = true
		s.upload, s.upDone = nil, u
		s.upMu.Unlock()
	}()
	set := func(f func(u *uploadState)) {
		s.upMu.Lock()
		f(u)
		s.upMu.Unlock()
	}

	body := &exactBody{r: http.MaxBytesReader(w, r.Body, s.o.MaxUpload), left: r.ContentLength,
		read: func(n int64) { set(func(u *uploadState) { u.Done += n }) }}
	src := images.ImportSource{Name: file, Size: r.ContentLength, SHA256: sum,
		Open: func() (io.ReadCloser, error) { return io.NopCloser(body), nil }}
	s.log.Info("web: upload started", "client", clientOf(r), "name", name, "file", file, "bytes", r.ContentLength)
	m, err := s.o.App.ImportImage(r.Context(), src, name, nil)
	if err != nil {
		set(func(u *uploadState) { u.Error = err.Error() })
		status := http.StatusUnprocessableEntity
		switch {
		case body.short, errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, context.Canceled):
			status = http.StatusBadRequest
		case errors.Is(err, images.ErrNoSpace):
			status = http.StatusInsufficientStorage
		}
		fail(w, status, "failed", "%s: not imported: %v", file, err)
		return
	}
	set(func(u *uploadState) { u.Result = fmt.Sprintf("%s: %d bytes, stored in %d", m.Name, m.Size, m.Stored) })
	writeJSON(w, http.StatusCreated, map[string]any{"ok": true, "name": m.Name, "size": m.Size, "stored": m.Stored, "sha256": m.SHA256})
}

func (s *Server) downloadImage(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := images.CheckName(name); err != nil {
		fail(w, http.StatusBadRequest, "invalid", "%v", err)
		return
	}
	lib := s.o.App.Library()
	if lib == nil {
		fail(w, http.StatusNotFound, "invalid", "this appliance has no image library")
		return
	}
	f, err := lib.OpenStored(name)
	if err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, images.ErrNotFound) {
			status = http.StatusNotFound
		}
		fail(w, status, "invalid", "%v", err)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		fail(w, http.StatusInternalServerError, "failed", "image %s: %v", name, err)
		return
	}
	w.Header().Set("Content-Type", "application/zstd")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.img.zst"`)
	w.Header().Set("Content-Length", strconv.FormatInt(fi.Size(), 10))
	http.ServeContent(w, r, name+".img.zst", fi.ModTime(), f)
}
