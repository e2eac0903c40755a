package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/images"
)

// imagePull imports an image from a web server or an S3-compatible store
// (a presigned URL), or with --catalog brings the library in line with a
// catalog of images.
func imagePull(ctx context.Context, env *Env, args []string) error {
	fs := NewFlags(env, "image pull", "URL [--name NAME] [--sha256 HASH|URL] [--bmap URL] | --catalog URL")
	lib := libraryFlag(fs)
	name := fs.String("name", "", "the image's name (the file's name without extensions when empty)")
	sum := fs.String("sha256", "", "the file's SHA-256, or the URL of its checksum file (default: URL.sha256 when the server has it)")
	bmap := fs.String("bmap", "", "the URL of the file's block map (default: URL.bmap when the server has it)")
	catalog := fs.String("catalog", "", "pull the images of this catalog the library lacks, and remove the catalog's images it no longer lists")
	if err := Parse(fs, args); err != nil {
		return err
	}
	l, err := images.OpenLibrary(*lib)
	if err != nil {
		return err
	}
	bar := newBar(env, "pulling")
	opts := images.PullOptions{Name: *name, BMapURL: *bmap, Progress: bar.update,
		Note: func(s string) { fmt.Fprintln(env.Stderr, s) }}
	if *catalog != "" {
		if fs.NArg() > 0 || *name != "" || *sum != "" || *bmap != "" {
			return UsageError("image pull --catalog takes no URL, --name, --sha256 or --bmap: the catalog gives them")
		}
		opts.Progress = nil
		res, err := images.SyncCatalog(ctx, l, *catalog, images.CatalogOptions{Pull: opts})
		if err != nil {
			return err
		}
		for _, what := range []struct {
			verb  string
			names []string
		}{{"pulled", res.Pulled}, {"replaced", res.Replaced}, {"removed", res.Removed}, {"up to date", res.Current}} {
			if len(what.names) > 0 {
				fmt.Fprintf(env.Stdout, "%s: %s\n", what.verb, strings.Join(what.names, ", "))
			}
		}
		for _, s := range res.Skipped {
			fmt.Fprintf(env.Stdout, "left alone: %s\n", s)
		}
		for _, e := range res.Failed {
			fmt.Fprintf(env.Stderr, "%v\n", e)
		}
		if len(res.Failed) > 0 {
			return errors.New(plural(len(res.Failed), "catalog image") + " could not be pulled")
		}
		return nil
	}
	if fs.NArg() != 1 {
		return UsageError("image pull takes one URL (or --catalog URL)")
	}
	switch {
	case strings.HasPrefix(*sum, "http://") || strings.HasPrefix(*sum, "https://"):
		opts.SHA256URL = *sum
	case *sum != "":
		opts.SHA256 = *sum
	}
	bar.what = "pulling " + images.ShowURL(fs.Arg(0))
	m, err := l.Pull(ctx, fs.Arg(0), opts)
	bar.done()
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "image %s: %s (%s, %s) stored in %s\nsha256 %s\n", m.Name, engine.FormatSize(m.Size), m.Area,
		engine.FormatSize(m.Bytes), engine.FormatSize(m.Stored), m.SHA256)
	return nil
}
