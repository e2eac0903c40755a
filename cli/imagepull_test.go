package cli

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestImagePull: image pull stores a file from a web server with its
// .sha256, refuses one that does not match, and --catalog syncs the
// library with a catalog.
func TestImagePull(t *testing.T) {
	raw := make([]byte, 2<<20)
	r := rand.New(rand.NewPCG(7, 7))
	for i := range raw[:1<<20] {
		raw[i] = byte(r.Uint32())
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	file := gz.Bytes()
	fileSum := fmt.Sprintf("%x", sha256.Sum256(file))
	files := map[string][]byte{
		"/rel/os-1.2.img.gz":        file,
		"/rel/os-1.2.img.gz.sha256": []byte(fileSum + "  os-1.2.img.gz\n"),
		"/catalog.json":             []byte(`{"images": [{"name": "fleet-os", "url": "rel/os-1.2.img.gz", "sha256": "` + fileSum + `"}]}`),
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(data)
	}))
	defer srv.Close()
	lib := filepath.Join(t.TempDir(), "library")

	code, out, errOut := runCLI(t, "image", "pull", "--library", lib, srv.URL+"/rel/os-1.2.img.gz")
	require.Equal(t, 0, code, "%s%s", out, errOut)
	assert.Contains(t, errOut, "checksum "+srv.URL+"/rel/os-1.2.img.gz.sha256: the file must hash to "+fileSum[:12])
	assert.Contains(t, out, "image os-1.2: 2.09 MB (whole image")
	assert.Contains(t, out, fmt.Sprintf("sha256 %x", sha256.Sum256(raw)))

	code, _, errOut = runCLI(t, "image", "pull", "--library", lib, "--name", "other", "--sha256", fmt.Sprintf("%064x", 1), srv.URL+"/rel/os-1.2.img.gz")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "image damaged: its SHA-256 is "+fileSum[:12])

	code, out, errOut = runCLI(t, "image", "pull", "--library", lib, "--catalog", srv.URL+"/catalog.json")
	require.Equal(t, 0, code, "%s%s", out, errOut)
	assert.Equal(t, "pulled: fleet-os\n", out)

	code, out, _ = runCLI(t, "image", "list", "--library", lib)
	require.Equal(t, 0, code)
	assert.Contains(t, out, "fleet-os")
	assert.Contains(t, out, "os-1.2")
	assert.NotContains(t, out, "other")

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"image", "pull", "--library", lib}, "image pull takes one URL"},
		{[]string{"image", "pull", "--library", lib, "ftp://host/a.img"}, "only http:// and https:// URLs can be pulled"},
		{[]string{"image", "pull", "--library", lib, "--catalog", srv.URL + "/catalog.json", "--name", "x"}, "the catalog gives them"},
		{[]string{"image", "pull", "--library", lib, srv.URL + "/rel/os-1.2.img.gz"}, `an image named "os-1.2" already exists`},
	} {
		code, _, errOut := runCLI(t, tc.args...)
		assert.NotZero(t, code, "%v", tc.args)
		assert.Contains(t, errOut, tc.want, "%v", tc.args)
	}
}
