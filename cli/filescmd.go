package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/engine/fatfs"
	"github.com/clonebay/clonebay/fileset"
	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/hal/blockdev"
	"github.com/clonebay/clonebay/jobrecord"
)

// cmdFiles copies a file set onto targets of any sizes: each is
// partitioned and formatted fresh and verified file by file.
func cmdFiles(ctx context.Context, env *Env, args []string) error {
	fs := NewFlags(env, "files", "--from DIR|set:NAME|DEVICE --to DST [--to DST...] [--fs auto|fat32|exfat] [--label NAME] [--table mbr|gpt] --yes [--record FILE [--lot NAME]]")
	from := fs.String("from", "", "the files: a folder, set:NAME from the library, or a drive or image file whose FAT or exFAT volume is copied")
	var to multiFlag
	fs.Var(&to, "to", "a target drive or image file (repeat for each target); everything on it is lost")
	fsName := fs.String("fs", fileset.FSAuto, "the file system: auto (FAT32 up to 32 GiB, exFAT above), fat32 or exfat")
	label := fs.String("label", "", "the volume label (the set's name when empty)")
	table := fs.String("table", fileset.MBR, "the partition table: mbr or gpt")
	yes := fs.Bool("yes", false, "confirm: everything on the targets is lost")
	lib := libraryFlag(fs)
	var rf recordFlags
	rf.register(fs)
	if err := Parse(fs, args); err != nil {
		return err
	}
	if err := rf.check(); err != nil {
		return err
	}
	switch {
	case *from == "":
		return UsageError("--from is required")
	case len(to) == 0:
		return UsageError("at least one --to is required")
	case *fsName != fileset.FSAuto && *fsName != fileset.FSFAT32 && *fsName != fileset.FSExFAT:
		return UsageError("--fs %q: give auto, fat32 or exfat", *fsName)
	case *table != fileset.MBR && *table != fileset.GPT:
		return UsageError("--table %q: give mbr or gpt", *table)
	case !*yes:
		return UsageError("files formats %s: everything on them is lost; add --yes to confirm", strings.Join(to, ", "))
	}
	if err := checkLabel(*label, *fsName); err != nil {
		return err
	}
	sets, err := fileset.OpenLibrary(*lib)
	if err != nil {
		return err
	}
	src, master, closeSrc, err := filesSource(ctx, env, sets, *from)
	if err != nil {
		return err
	}
	defer closeSrc()
	drives, err := openTargets(*lib, master, to)
	if err != nil {
		return err
	}
	defer drives.close()
	rec, err := openCLIRecord(rf, driveReaders(drives.master, drives.targets)...)
	if err != nil {
		return err
	}
	defer rec.close()

	m := src.Manifest
	fmt.Fprintf(env.Stdout, "%s: %d files in %d folders, %s; largest %s (%s)\n", *from, m.Files, m.Folders,
		engine.FormatSize(m.Bytes), m.Largest.Path, engine.FormatSize(m.Largest.Size))
	prog := newProgressView(env, to)
	restore := func() {}
	defer func() { restore() }()
	opts := fileset.Options{FS: *fsName, Label: *label, Table: *table, WorkDir: sets.Dir,
		Engine:   engine.Options{OnProgress: prog.update},
		OnBudget: func(b int64) { restore = limitMemory(b) }}
	var targets []engine.PortTarget
	for i, t := range drives.targets {
		targets = append(targets, engine.PortTarget{Port: i + 1, Label: to[i], Dev: t})
	}
	stop := prog.start(ctx)
	started := time.Now()
	res, err := fileset.Run(ctx, src, targets, opts)
	stop()
	if err != nil {
		return err
	}
	printFilesResult(env.Stdout, res)
	j := jobrecord.Job{ID: cliJobID(started), Started: started, Ended: time.Now(), MasterKind: jobrecord.MasterFiles,
		Master: hal.DriveInfo{Node: *from}, Targets: cliTargets(drives.targets)}
	if name, ok := strings.CutPrefix(*from, "set:"); ok {
		j.MasterKind, j.Image = jobrecord.MasterSet, name
	}
	if _, err := rec.appendEntries(jobrecord.Files(j, res, nil, nil)); err != nil {
		return err
	}
	if !res.OK() {
		return fmt.Errorf("%d of %d targets did not pass", len(res.Ports)-res.Count(engine.Pass), len(res.Ports))
	}
	return nil
}

// checkLabel refuses, before any target is opened, a --label that the
// file system the targets get cannot hold. With --fs auto a target may
// get either, so the label must fit both.
func checkLabel(label, fsName string) error {
	if label == "" {
		return nil
	}
	kinds := []fatfs.Kind{fatfs.FAT32, fatfs.ExFAT}
	switch fsName {
	case fileset.FSFAT32:
		kinds = kinds[:1]
	case fileset.FSExFAT:
		kinds = kinds[1:]
	}
	for _, k := range kinds {
		if _, err := fatfs.Label(k, label); err != nil {
			if fsName == fileset.FSAuto {
				return UsageError("--label: %v (with --fs auto a target may get FAT32 or exFAT: give a label both can hold)", err)
			}
			return UsageError("--label: %v", err)
		}
	}
	return nil
}

// filesSource opens what --from names: a stored set (checked against its
// manifest before its first job of the day), a folder (listed and hashed
// in place), or a drive or image file whose FAT or exFAT volume is read
// without mounting it, write-blocked (and returned, so that no target
// and no record is that drive under another name).
func filesSource(ctx context.Context, env *Env, sets *fileset.Library, from string) (fileset.Source, *blockdev.Drive, func(), error) {
	none := func() {}
	if name, ok := strings.CutPrefix(from, "set:"); ok {
		set, err := sets.OpenForJob(ctx, name, hashProgress(env, "checking "+name))
		if err != nil {
			return fileset.Source{}, nil, none, err
		}
		return set.Source(), nil, none, nil
	}
	st, err := os.Stat(from)
	if err != nil {
		return fileset.Source{}, nil, none, fmt.Errorf("--from: %w", err)
	}
	if st.IsDir() {
		m, err := fileset.Hash(ctx, os.DirFS(from), from, hashProgress(env, "hashing "+from))
		if err != nil {
			return fileset.Source{}, nil, none, fmt.Errorf("%s: %w", from, err)
		}
		abs, _ := filepath.Abs(from)
		return fileset.Source{Manifest: m, Files: os.DirFS(from), ID: "dir:" + abs}, nil, none, nil
	}
	d, err := blockdev.OpenRead(from)
	if err != nil {
		return fileset.Source{}, nil, none, fmt.Errorf("--from: %w", err)
	}
	if err := d.WriteBlock(); err != nil {
		d.Close()
		return fileset.Source{}, nil, none, fmt.Errorf("--from: %w (write-blocking the master needs root)", err)
	}
	vol, err := fileset.OpenVolume(d, d.Size(), d.SectorSize())
	if err == nil {
		var m *fileset.Manifest
		if m, err = fileset.Hash(ctx, vol, from, hashProgress(env, "hashing "+from)); err == nil {
			return fileset.Source{Manifest: m, Files: vol, ID: d.ID()}, d, func() { d.Close() }, nil
		}
	} else if errors.Is(err, fatfs.ErrNotFAT) {
		// An NTFS or ext4 stick: read through its own file system's tools.
		var f *fileset.Foreign
		if f, err = fileset.OpenForeign(ctx, from, d, d.Size(), d.SectorSize(), sets.Dir); err == nil {
			var m *fileset.Manifest
			if m, err = fileset.Hash(ctx, f, from, hashProgress(env, "hashing "+from)); err == nil {
				fmt.Fprintf(env.Stderr, "%s: read as %s\n", from, f.Kind)
				return fileset.Source{Manifest: m, Files: f, ID: d.ID()}, d, func() { f.Close(); d.Close() }, nil
			}
			f.Close()
		}
	}
	d.Close()
	return fileset.Source{}, nil, none, fmt.Errorf("%s: %w", from, err)
}

// hashProgress reports a long read on stderr, every 10 percent.
func hashProgress(env *Env, what string) fileset.Progress {
	last := -1
	return func(done, total int64) {
		if total <= 0 {
			return
		}
		if pct := int(done * 100 / total); pct/10 != last {
			last = pct / 10
			fmt.Fprintf(env.Stderr, "%s: %d%% of %s\n", what, pct, engine.FormatSize(total))
		}
	}
}

// printFilesResult writes the final table of a file duplication.
func printFilesResult(w io.Writer, res *fileset.Result) {
	m := res.Manifest
	fmt.Fprintf(w, "\nset %s: %d files, %s; listing sha256 %s\n", m.Name, m.Files, engine.FormatSize(m.Bytes), m.SHA256)
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "PORT\tTARGET\tRESULT\tFS\tLABEL\tWRITTEN\tVERIFIED\tMB/s\tTIME\tREASON")
	for _, p := range res.Ports {
		fsName, label := "-", "-"
		if p.Layout.FS != 0 {
			fsName = fmt.Sprintf("%s/%s %s", p.Layout.FSName(), strings.ToUpper(p.Layout.Table), engine.FormatSize(p.Layout.ClusterSize))
			label = p.Layout.Label
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%.1f\t%s\t%s\n", p.Port, p.Label, p.Status, fsName, label,
			engine.FormatSize(p.Written), engine.FormatSize(p.Verified), p.MBps, p.Duration.Round(100*time.Millisecond), p.Reason)
	}
	tw.Flush()
	fmt.Fprintf(w, "%d passed, %d failed, %d aborted in %s\n", res.Count(engine.Pass), res.Count(engine.Fail),
		res.Count(engine.Aborted), res.Duration.Round(100*time.Millisecond))
}

// imageImportFiles stores a folder's files as a file set in the library.
func imageImportFiles(ctx context.Context, env *Env, args []string) error {
	fs := NewFlags(env, "image import-files", "DIR --name NAME")
	lib := libraryFlag(fs)
	name := fs.String("name", "", "the set's name (the folder's name when empty)")
	dir, err := parseWithArg(fs, args, "image import-files takes one folder")
	if err != nil {
		return err
	}
	if *name == "" {
		*name = filepath.Base(filepath.Clean(dir))
	}
	if err := fileset.CheckName(*name); err != nil {
		return UsageError("%v (give one with --name)", err)
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return UsageError("%s is not a folder", dir)
	}
	sets, err := fileset.OpenLibrary(*lib)
	if err != nil {
		return err
	}
	abs, _ := filepath.Abs(dir)
	m, err := sets.Import(ctx, *name, os.DirFS(dir), abs, hashProgress(env, "importing "+dir))
	if err != nil {
		var pe *fileset.ProblemsError
		if errors.As(err, &pe) {
			for _, p := range pe.Problems {
				fmt.Fprintf(env.Stderr, "%s: %s\n", filepath.Join(dir, filepath.FromSlash(p.Path)), p.Reason)
			}
			return fmt.Errorf("%d paths cannot go onto FAT32 or exFAT; nothing was stored", len(pe.Problems))
		}
		return err
	}
	fmt.Fprintf(env.Stdout, "file set %s: %d files in %d folders, %s; largest %s (%s)\nsha256 %s\n", m.Name, m.Files, m.Folders,
		engine.FormatSize(m.Bytes), m.Largest.Path, engine.FormatSize(m.Largest.Size), m.SHA256)
	return nil
}

// imageSets lists the file sets.
func imageSets(_ context.Context, env *Env, args []string) error {
	fs := NewFlags(env, "image sets", "")
	lib := libraryFlag(fs)
	if err := Parse(fs, args); err != nil {
		return err
	}
	sets, err := fileset.OpenLibrary(*lib)
	if err != nil {
		return err
	}
	list, err := sets.List()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(env.Stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tFILES\tBYTES\tLARGEST\tCREATED\tSHA256")
	for _, s := range list {
		if s.Err != nil {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\tunreadable: %v\n", s.Name, s.Err)
			continue
		}
		m := s.Manifest
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s…\n", s.Name, m.Files, engine.FormatSize(m.Bytes), engine.FormatSize(m.Largest.Size),
			m.Created.Local().Format("2006-01-02 15:04"), m.SHA256[:12])
	}
	tw.Flush()
	fmt.Fprintf(env.Stdout, "%d file sets in %s\n", len(list), sets.Dir)
	return nil
}

// parseWithArg parses flags given before or after one positional
// argument ("import-files DIR --name NAME").
func parseWithArg(fs *flag.FlagSet, args []string, usage string) (string, error) {
	if err := Parse(fs, args); err != nil {
		return "", err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return "", UsageError("%s", usage)
	}
	arg := rest[0]
	if err := Parse(fs, rest[1:]); err != nil {
		return "", err
	}
	if fs.NArg() != 0 {
		return "", UsageError("%s", usage)
	}
	return arg, nil
}
