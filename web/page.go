package web

import (
	"embed"
	"io/fs"
	"mime"
	"net/http"
	"path"
)

// The page and its script and style, built into the binary: the panel
// works without the internet.
//
//go:embed static
var staticFiles embed.FS

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	serveStatic(w, r, "index.html")
}

func (s *Server) static(w http.ResponseWriter, r *http.Request) {
	serveStatic(w, r, r.PathValue("file"))
}

func serveStatic(w http.ResponseWriter, r *http.Request, name string) {
	data, err := fs.ReadFile(staticFiles, "static/"+path.Base(name))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		w.Header().Set("Content-Type", t)
	}
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(data)
}
