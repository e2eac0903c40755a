package images

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/internal/shelf"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Catalog is the list of images a central store offers the fleet, as
// JSON:
//
//	{"images": [{"name": "ubuntu-24.04", "url": "ubuntu-24.04.img.xz",
//	             "sha256": "<SHA-256 of the file as served>",
//	             "bmap": "ubuntu-24.04.img.bmap"}]}
//
// URLs may be relative to the catalog's own; "bmap" is optional (without
// it every block of the image is kept: a block map beside the file is
// not one the catalog vouches for).
type Catalog struct {
	Images []CatalogImage `json:"images"`
}

// CatalogImage is one image of a catalog.
type CatalogImage struct {
	Name   string `json:"name"`
	URL    string `json:"url"`
	SHA256 string `json:"sha256"`
	BMap   string `json:"bmap,omitempty"`
}

// ParseCatalog reads and checks a catalog; base resolves relative URLs.
func ParseCatalog(data []byte, base *url.URL) (*Catalog, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var c Catalog
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	seen := map[string]bool{}
	for i := range c.Images {
		im := &c.Images[i]
		where := fmt.Sprintf("catalog: image %d (%q)", i+1, im.Name)
		if err := CheckName(im.Name); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if seen[im.Name] {
			return nil, fmt.Errorf("%s: the name is listed twice", where)
		}
		seen[im.Name] = true
		im.SHA256 = strings.ToLower(im.SHA256)
		if len(im.SHA256) != 64 || strings.Trim(im.SHA256, "0123456789abcdef") != "" {
			return nil, fmt.Errorf("%s: sha256 %q is not a SHA-256", where, im.SHA256)
		}
		for _, ref := range []*string{&im.URL, &im.BMap} {
			if *ref == "" && ref == &im.BMap {
				continue
			}
			u, err := base.Parse(*ref)
			if err != nil {
				return nil, fmt.Errorf("%s: %q is not a URL", where, ShowURL(*ref))
			}
			if _, err := checkURL(u.String()); err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			*ref = u.String()
		}
	}
	return &c, nil
}

// CatalogOptions tune SyncCatalog.
type CatalogOptions struct {
	// Pull is how images are fetched (its Name, SHA256 and BMapURL are
	// set per image).
	Pull PullOptions
	// InUse reports whether a job is using an image: such an image is
	// neither replaced nor removed (the next sync does it). Nil: none is.
	InUse func(name string) bool
}

// CatalogResult says what a sync did.
type CatalogResult struct {
	Pulled, Replaced, Removed, Current []string
	// Skipped says what was left alone and why ("NAME: reason").
	Skipped []string
	// Failed holds an error per image that could not be pulled; the
	// others were synced all the same.
	Failed []error
}

// catalogMarks is the library's record of the images that came from a
// catalog ("<library>/.catalog.json"): only those are ever replaced or
// removed by a sync. An image's mark is written before its pull starts and
// completed with the image's content SHA-256 once it is in the library; an
// image whose mark was never completed (the power went in between) is
// left alone.
type catalogMarks struct {
	Images map[string]catalogMark `json:"images"`
}

type catalogMark struct {
	URL         string `json:"url"`
	SHA256      string `json:"sha256"`                 // the file's, as the catalog gave it
	ImageSHA256 string `json:"image_sha256,omitempty"` // the stored image's; empty until it is complete
}

const marksFile = ".catalog.json"

func (l *Library) loadMarks() (*catalogMarks, error) {
	m := &catalogMarks{Images: map[string]catalogMark{}}
	data, err := os.ReadFile(filepath.Join(l.Dir, marksFile))
	if errors.Is(err, os.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, fmt.Errorf("image library: %w", err)
	}
	if err := json.Unmarshal(data, m); err != nil {
		return nil, fmt.Errorf("image library: %s is damaged (%v): no image is removed or replaced until it is fixed or removed", marksFile, err)
	}
	if m.Images == nil {
		m.Images = map[string]catalogMark{}
	}
	return m, nil
}

func (l *Library) saveMarks(m *catalogMarks) error {
	data, _ := json.MarshalIndent(m, "", "  ")
	if err := fsys.WriteFileAtomic(fsys.OS, filepath.Join(l.Dir, marksFile), append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("image library: %w", err)
	}
	return nil
}

// ours reports whether the library's image name is the catalog's: marked,
// complete, and still the image that was pulled.
func (l *Library) ours(marks *catalogMarks, name string) bool {
	mk, ok := marks.Images[name]
	if !ok || mk.ImageSHA256 == "" {
		return false
	}
	e, err := l.Info(name)
	return err == nil && e.Err == nil && e.Manifest.SHA256 == mk.ImageSHA256
}

// SyncCatalog makes the library hold the catalog's images: it pulls those
// it lacks, replaces those the catalog changed, and removes those the
// catalog no longer lists. It only ever replaces or removes an image that
// came from the catalog, never one a job is using, and never one the
// operator made under the same name. One image's failure does not stop
// the others: it is in the result's Failed.
func SyncCatalog(ctx context.Context, lib *Library, catalogURL string, o CatalogOptions) (*CatalogResult, error) {
	if o.InUse == nil {
		o.InUse = func(string) bool { return false }
	}
	o.Pull.defaults()
	u, err := checkURL(catalogURL)
	if err != nil {
		return nil, err
	}
	data, err := lib.fetchSide(ctx, catalogURL, 4<<20, &o.Pull)
	if err != nil {
		return nil, err
	}
	if data == nil {
		return nil, fmt.Errorf("catalog %s: %w: not found", ShowURL(catalogURL), ErrDownload)
	}
	cat, err := ParseCatalog(data, u)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ShowURL(catalogURL), err)
	}
	marks, err := lib.loadMarks()
	if err != nil {
		return nil, err
	}
	res := &CatalogResult{}
	listed := map[string]bool{}
	for _, im := range cat.Images {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		listed[im.Name] = true
		_, ierr := lib.Info(im.Name)
		exists := ierr == nil
		mk, marked := marks.Images[im.Name]
		switch {
		case exists && !lib.ours(marks, im.Name):
			res.Skipped = append(res.Skipped, im.Name+": an image of this name that did not come from the catalog is in the library; it is left alone")
			continue
		case exists && marked && mk.SHA256 == im.SHA256:
			res.Current = append(res.Current, im.Name)
			continue
		case exists && o.InUse(im.Name):
			res.Skipped = append(res.Skipped, im.Name+": in use by a job; it is updated at the next sync")
			continue
		}
		if !exists {
			// Pending until the image is complete; a replaced image keeps
			// its mark until its successor is in place.
			marks.Images[im.Name] = catalogMark{URL: ShowURL(im.URL), SHA256: im.SHA256}
			if err := lib.saveMarks(marks); err != nil {
				return res, err
			}
		}
		m, err := lib.pullCatalogImage(ctx, im, exists, o.Pull)
		if err != nil {
			res.Failed = append(res.Failed, fmt.Errorf("catalog image %s: %w", im.Name, err))
			if exists {
				marks.Images[im.Name] = mk // the old image stays, and stays the catalog's
			} else {
				delete(marks.Images, im.Name)
			}
		} else {
			marks.Images[im.Name] = catalogMark{URL: ShowURL(im.URL), SHA256: im.SHA256, ImageSHA256: m.SHA256}
			if exists {
				res.Replaced = append(res.Replaced, im.Name)
			} else {
				res.Pulled = append(res.Pulled, im.Name)
			}
		}
		if err := lib.saveMarks(marks); err != nil {
			return res, err
		}
	}
	for name := range marks.Images {
		if listed[name] {
			continue
		}
		if _, err := lib.Info(name); err != nil {
			delete(marks.Images, name) // gone already
			continue
		}
		switch {
		case !lib.ours(marks, name):
			res.Skipped = append(res.Skipped, name+": no longer in the catalog, but not the image the catalog gave; it is left alone")
			delete(marks.Images, name)
		case o.InUse(name):
			res.Skipped = append(res.Skipped, name+": no longer in the catalog, but in use by a job; it is removed at the next sync")
		default:
			if err := lib.Remove(name); err != nil {
				res.Failed = append(res.Failed, fmt.Errorf("catalog image %s: %w", name, err))
				continue
			}
			delete(marks.Images, name)
			res.Removed = append(res.Removed, name)
		}
	}
	return res, lib.saveMarks(marks)
}

// pullCatalogImage pulls a catalog image. A new version of an image the
// library holds is pulled beside it, in a hidden folder, and swapped in
// only once complete: a failed pull leaves the old one in place.
func (l *Library) pullCatalogImage(ctx context.Context, im CatalogImage, replace bool, o PullOptions) (*Manifest, error) {
	o.Name, o.SHA256, o.BMapURL = im.Name, im.SHA256, im.BMap
	if !replace {
		return l.Pull(ctx, im.URL, o)
	}
	stage := l.shelf.Partial(im.Name, ".update")
	os.RemoveAll(stage)
	if err := os.Mkdir(stage, 0o755); err != nil {
		return nil, fmt.Errorf("image library: %w", err)
	}
	defer os.RemoveAll(stage)
	side := &Library{Dir: stage, Now: l.Now, shelf: &shelf.Shelf{Dir: stage, What: l.shelf.What, LockFile: l.shelf.LockFile}}
	m, err := side.Pull(ctx, im.URL, o)
	if err != nil {
		return nil, err
	}
	old := l.shelf.Partial(im.Name, ".old")
	if err := os.Rename(l.path(im.Name), old); err != nil {
		return nil, fmt.Errorf("replacing image %s: %w", im.Name, err)
	}
	if err := os.Rename(side.path(im.Name), l.path(im.Name)); err != nil {
		// Put the old one back rather than leave no image.
		if rerr := os.Rename(old, l.path(im.Name)); rerr != nil {
			return nil, fmt.Errorf("replacing image %s: %w (and the old one could not be put back: %v)", im.Name, err, rerr)
		}
		return nil, fmt.Errorf("replacing image %s: %w", im.Name, err)
	}
	if d, err := os.Open(l.Dir); err == nil {
		d.Sync()
		d.Close()
	}
	os.RemoveAll(old)
	return m, nil
}
