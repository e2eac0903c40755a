package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/hal/blockdev"
	"github.com/clonebay/clonebay/images"
	"github.com/clonebay/clonebay/internal/fsys"
)

// DefaultLibrary is where the appliance keeps its images.
const DefaultLibrary = "/var/lib/clonebay/images"

func cmdImage(ctx context.Context, env *Env, args []string) error {
	subs := map[string]struct {
		summary string
		run     func(context.Context, *Env, []string) error
	}{
		"list":    {"list the images and the library's free space", imageList},
		"show":    {"show one image's manifest", imageShow},
		"capture": {"store a master drive as an image", imageCapture},
		"import":  {"store an image file (.img, .iso, .gz, .xz, .zst) as an image", imageImport},
		"verify":  {"check an image against its manifest", imageVerify},
		"rm":      {"delete an image", imageRemove},

		"import-files": {"store a folder's files as a file set (files --from set:NAME copies it)", imageImportFiles},
		"sets":         {"list the file sets", imageSets},
		"pull":         {"store an image from a web server or a catalog (http, https, S3 presigned URLs)", imagePull},
	}
	if len(args) == 0 || subs[args[0]].run == nil {
		names := make([]string, 0, len(subs))
		for n := range subs {
			names = append(names, n)
		}
		sort.Strings(names)
		var sb strings.Builder
		for _, n := range names {
			fmt.Fprintf(&sb, "\n  %-8s %s", n, subs[n].summary)
		}
		switch {
		case len(args) == 0:
			return UsageError("image needs a subcommand:%s", sb.String())
		case isHelp(args[0]):
			fmt.Fprintf(env.Stderr, "usage: clonebay image SUBCOMMAND [flags]\n\nsubcommands:%s\n\nRun 'clonebay image SUBCOMMAND -h' for its flags.\n", sb.String())
			return flag.ErrHelp
		}
		return UsageError("image %s: unknown subcommand; one of:%s", args[0], sb.String())
	}
	return subs[args[0]].run(ctx, env, args[1:])
}

// libraryFlag registers --library on a subcommand's flags.
func libraryFlag(fs *flag.FlagSet) *string {
	return fs.String("library", DefaultLibrary, "the image library folder")
}

// isHelp reports whether a word asks for the usage.
func isHelp(a string) bool { return a == "-h" || a == "-help" || a == "--help" || a == "help" }

// oneName parses a subcommand's flags and takes its single NAME argument,
// which may stand before, between or after the flags.
func oneName(fs *flag.FlagSet, args []string) (string, error) {
	pos, err := ParseArgs(fs, args)
	if err != nil {
		return "", err
	}
	if len(pos) != 1 {
		return "", UsageError("%s takes one image name (got %d: %s)", fs.Name(), len(pos), strings.Join(pos, " "))
	}
	return pos[0], nil
}

func imageList(_ context.Context, env *Env, args []string) error {
	fs := NewFlags(env, "image list", "[--library DIR]")
	lib := libraryFlag(fs)
	if err := ParseFlags(fs, args); err != nil {
		return err
	}
	l, err := images.OpenLibrary(*lib)
	if err != nil {
		return err
	}
	ents, err := l.List()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(env.Stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSIZE\tDATA\tSTORED\tAREA\tCREATED\tSHA256")
	for _, e := range ents {
		if e.Err != nil {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\tunreadable: %v\n", e.Name, e.Err)
			continue
		}
		m := e.Manifest
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s…\n", e.Name, engine.FormatSize(m.Size), engine.FormatSize(m.Bytes),
			engine.FormatSize(m.Stored), m.Area, m.Created.Local().Format("2006-01-02 15:04"), m.SHA256[:12])
	}
	tw.Flush()
	free, err := l.Free()
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%d images, %s free in %s\n", len(ents), engine.FormatSize(free), l.Dir)
	return nil
}

func imageShow(_ context.Context, env *Env, args []string) error {
	fs := NewFlags(env, "image show", "NAME [--library DIR]")
	lib := libraryFlag(fs)
	name, err := oneName(fs, args)
	if err != nil {
		return err
	}
	l, err := images.OpenLibrary(*lib)
	if err != nil {
		return err
	}
	e, err := l.Info(name)
	if err != nil {
		return err
	}
	if e.Err != nil {
		return fmt.Errorf("image %s: %w", name, e.Err)
	}
	m := e.Manifest
	w := env.Stdout
	fmt.Fprintf(w, "name      %s\n", m.Name)
	fmt.Fprintf(w, "created   %s\n", m.Created.Local().Format(time.RFC3339))
	fmt.Fprintf(w, "origin    %s\n", m.Origin)
	fmt.Fprintf(w, "size      %s (%d bytes); targets need %s\n", engine.FormatSize(m.Size), m.Size, engine.FormatSize(m.Need))
	fmt.Fprintf(w, "area      %s: %s in %d ranges\n", m.Area, engine.FormatSize(m.Bytes), len(m.Used))
	fmt.Fprintf(w, "stored    %s (zstd, %d frames of %s)\n", engine.FormatSize(m.Stored), m.Frames(), engine.FormatSize(int64(m.FrameSize)))
	fmt.Fprintf(w, "sha256    %s\n", m.SHA256)
	checked := "never"
	if !e.Checked.IsZero() {
		checked = e.Checked.Local().Format(time.RFC3339)
	}
	fmt.Fprintf(w, "checked   %s\n", checked)
	for _, p := range m.Partitions {
		fmt.Fprintf(w, "          %s\n", p)
	}
	return nil
}

func imageCapture(ctx context.Context, env *Env, args []string) error {
	fs := NewFlags(env, "image capture", "--from DEV --name NAME [--area whole|used|smart|N%] [--library DIR]")
	lib := libraryFlag(fs)
	from := fs.String("from", "", "the master drive (or a raw image file)")
	name := fs.String("name", "", "the image's name")
	areaName := fs.String("area", "used", "what to capture: whole, used, smart or N%")
	if err := ParseFlags(fs, args); err != nil {
		return err
	}
	if *from == "" || *name == "" {
		return UsageError("--from and --name are required")
	}
	if err := images.CheckName(*name); err != nil {
		return UsageError("%v", err)
	}
	area, err := cliArea(*areaName)
	if err != nil {
		return err
	}
	l, err := images.OpenLibrary(*lib)
	if err != nil {
		return err
	}
	m, err := blockdev.OpenRead(*from)
	if err != nil {
		return fmt.Errorf("master: %w", err)
	}
	defer m.Close()
	if err := m.WriteBlock(); err != nil {
		return fmt.Errorf("master: %w (write-blocking the master needs root)", err)
	}
	info := m.Info()
	origin := *from
	if info.Model != "" {
		origin = fmt.Sprintf("%s (%s %s)", *from, info.Model, info.Serial)
	}
	bar := newBar(env, "capturing "+*name)
	man, err := l.Capture(ctx, m, *name, images.CaptureOptions{Area: area, Origin: origin, Progress: bar.update})
	bar.done()
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "image %s: %s of %s (%s) stored in %s\nsha256 %s\n", man.Name, engine.FormatSize(man.Bytes),
		engine.FormatSize(man.Size), man.Area, engine.FormatSize(man.Stored), man.SHA256)
	return nil
}

func imageImport(ctx context.Context, env *Env, args []string) error {
	fs := NewFlags(env, "image import", "FILE [--name NAME] [--bmap FILE.bmap] [--sha256 FILE.sha256] [--library DIR]")
	lib := libraryFlag(fs)
	name := fs.String("name", "", "the image's name (the file's name without extensions when empty)")
	bmapFile := fs.String("bmap", "", "a block map (bmaptool): only mapped blocks are stored; found next to the file when empty")
	shaFile := fs.String("sha256", "", "a checksum file for the file; found next to it (FILE.sha256) when empty")
	pos, err := ParseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return UsageError("image import takes one file (got %d: %s)", len(pos), strings.Join(pos, " "))
	}
	path := pos[0]
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if err := fsys.Regular(path, st); err != nil {
		return fmt.Errorf("image import: %w (a drive is captured: clonebay image capture --from DEVICE)", err)
	}
	src := images.ImportSource{
		Name: filepath.Base(path), Size: st.Size(),
		Open: func() (io.ReadCloser, error) { return os.Open(path) },
	}
	if *name == "" {
		*name = images.NameFor(path)
	}
	if err := images.CheckName(*name); err != nil {
		return UsageError("%v (give one with --name)", err)
	}
	if *bmapFile == "" {
		*bmapFile = sideFile(path, ".bmap")
	}
	if *bmapFile != "" {
		data, err := fsys.ReadRegular(fsys.OS, *bmapFile)
		if err != nil {
			return err
		}
		if src.BMap, err = images.ParseBMap(data); err != nil {
			return fmt.Errorf("%s: %w", *bmapFile, err)
		}
		fmt.Fprintf(env.Stderr, "block map %s: %s mapped of %s\n", *bmapFile, engine.FormatSize(src.BMap.Mapped()), engine.FormatSize(src.BMap.ImageSize))
	}
	if *shaFile == "" {
		if _, err := os.Stat(path + ".sha256"); err == nil {
			*shaFile = path + ".sha256"
		}
	}
	if *shaFile != "" {
		data, err := fsys.ReadRegular(fsys.OS, *shaFile)
		if err != nil {
			return err
		}
		if src.SHA256, err = images.ParseSHA256File(data, filepath.Base(path)); err != nil {
			return fmt.Errorf("%s: %w", *shaFile, err)
		}
		fmt.Fprintf(env.Stderr, "checksum %s: the file must hash to %s…\n", *shaFile, src.SHA256[:12])
	}
	l, err := images.OpenLibrary(*lib)
	if err != nil {
		return err
	}
	bar := newBar(env, "importing "+*name)
	m, err := l.Import(ctx, src, *name, bar.update)
	bar.done()
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "image %s: %s (%s, %s) stored in %s\nsha256 %s\n", m.Name, engine.FormatSize(m.Size), m.Area,
		engine.FormatSize(m.Bytes), engine.FormatSize(m.Stored), m.SHA256)
	return nil
}

// sideFile finds a companion file next to an image: FILE.ext, or the
// name without its compression or image extension plus ext.
func sideFile(path, ext string) string {
	for _, c := range images.CompanionNames(path, ext) {
		if _, err := os.Stat(c); err == nil {
			return c
		}
	}
	return ""
}

func imageVerify(ctx context.Context, env *Env, args []string) error {
	fs := NewFlags(env, "image verify", "NAME [--library DIR]")
	lib := libraryFlag(fs)
	name, err := oneName(fs, args)
	if err != nil {
		return err
	}
	l, err := images.OpenLibrary(*lib)
	if err != nil {
		return err
	}
	bar := newBar(env, "checking "+name)
	err = l.Check(ctx, name, bar.update)
	bar.done()
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "image %s matches its manifest\n", name)
	return nil
}

func imageRemove(_ context.Context, env *Env, args []string) error {
	fs := NewFlags(env, "image rm", "NAME --yes [--library DIR]")
	lib := libraryFlag(fs)
	yes := fs.Bool("yes", false, "confirm the deletion")
	name, err := oneName(fs, args)
	if err != nil {
		return err
	}
	if !*yes {
		return UsageError("image rm deletes %s for good: add --yes to confirm", name)
	}
	l, err := images.OpenLibrary(*lib)
	if err != nil {
		return err
	}
	if err := l.Remove(name); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "image %s deleted\n", name)
	return nil
}

// openImageForDeploy opens image NAME as a job's master, checking it
// against its manifest first when it has not been checked today.
func openImageForDeploy(env *Env, library, name string) (*images.Image, error) {
	l, err := images.OpenLibrary(library)
	if err != nil {
		return nil, err
	}
	if !l.CheckedToday(name) {
		fmt.Fprintf(env.Stderr, "image %s: first deploy today: checking it against its manifest\n", name)
	}
	bar := newBar(env, "checking "+name)
	im, err := l.OpenForDeploy(context.Background(), name, bar.update)
	bar.done()
	if err != nil {
		return nil, fmt.Errorf("master: %w", err)
	}
	return im, nil
}

// bar shows the progress of a long library operation on stderr: redrawn
// on a terminal, at every tenth otherwise.
type bar struct {
	env   *Env
	what  string
	shown int
	start time.Time
}

func newBar(env *Env, what string) *bar {
	return &bar{env: env, what: what, shown: -1, start: time.Now()}
}

func (b *bar) update(done, total int64) {
	if total <= 0 {
		return
	}
	pct := int(done * 100 / total)
	switch {
	case b.env.IsTerminal && pct != b.shown:
		fmt.Fprintf(b.env.Stderr, "\r\x1b[2K%s %3d%%  %s / %s", b.what, pct, engine.FormatSize(done), engine.FormatSize(total))
	case !b.env.IsTerminal && pct/10 != b.shown/10:
		fmt.Fprintf(b.env.Stderr, "%s %3d%%\n", b.what, pct)
	default:
		return
	}
	b.shown = pct
}

func (b *bar) done() {
	if b.env.IsTerminal && b.shown >= 0 {
		fmt.Fprintf(b.env.Stderr, "\n")
	}
}
