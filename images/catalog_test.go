package images_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/images"
)

// catalogJSON writes a catalog of (name, file, sha256) triples.
func catalogJSON(t *testing.T, entries ...[3]string) []byte {
	var c images.Catalog
	for _, e := range entries {
		c.Images = append(c.Images, images.CatalogImage{Name: e[0], URL: e[1], SHA256: e[2]})
	}
	data, err := json.Marshal(c)
	require.NoError(t, err)
	return data
}

// TestSyncCatalog walks a library through three versions of a catalog:
// images are pulled (one whose hash lies is refused and kept out), an
// operator's image of a listed name is left alone, a changed image is
// replaced only when no job uses it, and an image the catalog drops is
// removed only when no job uses it.
func TestSyncCatalog(t *testing.T) {
	ctx := context.Background()
	alpha, alpha2, beta := gzipped(t, diskImage(1, 3)), gzipped(t, diskImage(1, 4)), gzipped(t, diskImage(1, 5))
	s, srv := newStore(t, map[string][]byte{"/img/alpha.img.gz": alpha, "/img/beta.img.gz": beta})
	lib, err := images.OpenLibrary(t.TempDir())
	require.NoError(t, err)
	_, err = lib.Import(ctx, images.ImportSource{Name: "mine.img", Size: 1 << 20,
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(diskImage(1, 6))), nil }}, "mine", nil)
	require.NoError(t, err)
	mine, err := lib.Info("mine")
	require.NoError(t, err)
	inUse := map[string]bool{}
	var notes []string
	opts := images.CatalogOptions{Pull: fastPull(&notes), InUse: func(name string) bool { return inUse[name] }}
	setCatalog := func(data []byte) {
		s.mu.Lock()
		s.files["/catalog.json"] = data
		s.mu.Unlock()
	}
	sync := func() *images.CatalogResult {
		t.Helper()
		res, err := images.SyncCatalog(ctx, lib, srv.URL+"/catalog.json", opts)
		require.NoError(t, err)
		return res
	}

	// Version 1: beta's hash lies; "mine" is the operator's.
	setCatalog(catalogJSON(t, [3]string{"alpha", "img/alpha.img.gz", sha(alpha)}, [3]string{"beta", "img/beta.img.gz", sha(alpha)},
		[3]string{"mine", "img/alpha.img.gz", sha(alpha)}))
	res := sync()
	assert.Equal(t, []string{"alpha"}, res.Pulled)
	require.Len(t, res.Failed, 1)
	assert.ErrorContains(t, res.Failed[0], "catalog image beta: "+srv.URL+"/img/beta.img.gz: image damaged: its SHA-256 is "+sha(beta)[:12])
	assert.Equal(t, []string{"mine: an image of this name that did not come from the catalog is in the library; it is left alone"}, res.Skipped)
	assert.Equal(t, []string{"alpha", "mine"}, lib.Names(), "the lying image is not in the library")
	assert.Equal(t, []string{"alpha", "mine"}, libraryNames(t, lib)[1:], "nor any part of it")
	assert.Equal(t, []string{"alpha"}, sync().Current, "a second sync has nothing to do")

	// Version 2: alpha changed, while a job uses it.
	s.mu.Lock()
	s.files["/img/alpha.img.gz"] = alpha2
	s.mu.Unlock()
	setCatalog(catalogJSON(t, [3]string{"alpha", "img/alpha.img.gz", sha(alpha2)}))
	inUse["alpha"] = true
	res = sync()
	assert.Equal(t, []string{"alpha: in use by a job; it is updated at the next sync"}, res.Skipped)
	old, err := lib.Info("alpha")
	require.NoError(t, err)
	inUse["alpha"] = false
	res = sync()
	assert.Equal(t, []string{"alpha"}, res.Replaced)
	now, err := lib.Info("alpha")
	require.NoError(t, err)
	assert.NotEqual(t, old.Manifest.SHA256, now.Manifest.SHA256)
	require.NoError(t, lib.Check(ctx, "alpha", nil))

	// Version 3: alpha is dropped; "mine" is never touched.
	setCatalog(catalogJSON(t))
	inUse["alpha"] = true
	res = sync()
	assert.Equal(t, []string{"alpha: no longer in the catalog, but in use by a job; it is removed at the next sync"}, res.Skipped)
	assert.Equal(t, []string{"alpha", "mine"}, lib.Names())
	inUse["alpha"] = false
	assert.Equal(t, []string{"alpha"}, sync().Removed)
	assert.Equal(t, []string{"mine"}, lib.Names())
	still, err := lib.Info("mine")
	require.NoError(t, err)
	assert.Equal(t, mine.Manifest.SHA256, still.Manifest.SHA256)
}

func TestParseCatalogRefusesBadCatalogs(t *testing.T) {
	base, _ := url.Parse("https://store.example/fleet/catalog.json")
	good := "\"sha256\": \"" + fmt.Sprintf("%064x", 1) + "\""
	tests := []struct {
		name, data, want string
	}{
		{"not JSON", `{"images": [`, "catalog: unexpected EOF"},
		{"a bad name", `{"images": [{"name": "../etc", "url": "a.img", ` + good + `}]}`, `image 1 ("../etc"): image name "../etc"`},
		{"a name twice", `{"images": [{"name": "a", "url": "a.img", ` + good + `}, {"name": "a", "url": "b.img", ` + good + `}]}`, "listed twice"},
		{"a bad hash", `{"images": [{"name": "a", "url": "a.img", "sha256": "abc"}]}`, `sha256 "abc" is not a SHA-256`},
		{"a file URL", `{"images": [{"name": "a", "url": "file:///etc/shadow", ` + good + `}]}`, "only http:// and https:// URLs can be pulled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := images.ParseCatalog([]byte(tt.data), base)
			assert.ErrorContains(t, err, tt.want)
		})
	}
	c, err := images.ParseCatalog([]byte(`{"images": [{"name": "a", "url": "a.img.xz", `+good+`, "bmap": "/maps/a.bmap"}]}`), base)
	require.NoError(t, err)
	assert.Equal(t, "https://store.example/fleet/a.img.xz", c.Images[0].URL)
	assert.Equal(t, "https://store.example/maps/a.bmap", c.Images[0].BMap)
}
