package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/clonebay/clonebay/fatstick"
	"github.com/clonebay/clonebay/hal/blockdev"
	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/record"
)

// cmdLog reads the production record: verify checks the chain, show
// lists the entries, export writes CSV and JSON to a folder or onto a FAT
// stick (device node or image file).
func cmdLog(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 {
		return UsageError("log needs verify, show, export or push")
	}
	if args[0] == "push" {
		return logPush(ctx, env, args[1:])
	}
	fs := NewFlags(env, "log", "verify|show|export [--log FILE] [--to DIR|DEVICE]")
	logFile := fs.String("log", "/var/lib/clonebay/jobs.log", "the production record")
	to := fs.String("to", "", "export: a folder, or a FAT stick's device node (or a FAT image file)")
	pos, err := ParseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return UsageError("log takes one of verify, show or export (got %q)", strings.Join(pos, " "))
	}
	verb := pos[0]
	switch verb {
	case "verify", "show", "export":
	default:
		return UsageError("log %s: give verify, show or export", verb)
	}
	// Reading never changes the log: a cut or an edit stays as found for
	// whoever looks next. Only the appliance's own start repairs what a
	// power loss leaves.
	rep, err := record.Read(fsys.OS, *logFile)
	if err != nil {
		return err
	}
	entries := rep.Entries
	for _, n := range rep.Notes {
		fmt.Fprintf(env.Stderr, "note: %s\n", n)
	}
	damaged := rep.Err()
	if damaged != nil {
		for _, p := range rep.Problems {
			fmt.Fprintf(env.Stderr, "damaged: %s\n", p)
		}
		damaged = fmt.Errorf("%s: %w", *logFile, damaged)
	}
	switch verb {
	case "verify":
		if damaged != nil {
			return damaged
		}
		fmt.Fprintf(env.Stdout, "%s: %d entries, the chain and its head verify\n", *logFile, len(entries))
		return nil
	case "show":
		for _, e := range entries {
			mark := " "
			if e.Problem != "" {
				mark = "!"
			}
			// A record's strings come from drives (a stick's model and
			// serial) and may have been edited: none reaches the terminal
			// as a control sequence.
			fmt.Fprintf(env.Stdout, "%s%5d %s port %-3s %-7s %s %s %s\n", mark, e.Seq, e.Time.Format(time.RFC3339), printable(e.Label), printable(e.Result),
				printable(e.TargetModel), printable(e.TargetSerial), printable(e.Reason))
			if e.Problem != "" {
				fmt.Fprintf(env.Stdout, "!      does not verify: %s\n", printable(e.Problem))
			}
		}
		return damaged
	case "export":
		if *to == "" {
			return UsageError("log export needs --to")
		}
		st, serr := os.Stat(*to)
		if serr == nil && st.IsDir() {
			base := filepath.Join(*to, "clonebay-log-"+time.Now().UTC().Format("20060102-150405"))
			for _, f := range []struct {
				ext   string
				write func(*os.File) error
			}{
				{".csv", func(f *os.File) error { return record.WriteCSV(f, entries) }},
				{".json", func(f *os.File) error { return record.WriteJSON(f, entries) }},
			} {
				out, err := os.Create(base + f.ext)
				if err != nil {
					return err
				}
				if err := errors.Join(f.write(out), out.Sync(), out.Close()); err != nil {
					return fmt.Errorf("export %s: %w", base+f.ext, err)
				}
			}
			fmt.Fprintf(env.Stdout, "exported %d entries to %s.csv and .json\n", len(entries), base)
			return exportDamaged(damaged, rep)
		}
		if serr != nil {
			return fmt.Errorf("export: %w (give a folder, or a stick's device node)", serr)
		}
		stick, off, xerr := openFATStick(*to)
		if xerr != nil {
			return fmt.Errorf("export to %s: %w", *to, xerr)
		}
		defer stick.Close()
		n, xerr := fatstick.Export(ctx, *to, off, entries, time.Now())
		if xerr != nil {
			return fmt.Errorf("export to %s: %w", *to, xerr)
		}
		fmt.Fprintf(env.Stdout, "exported %d entries to %s\n", n, *to)
		return exportDamaged(damaged, rep)
	}
	return nil
}

// exportDamaged says that an export of a damaged log was written with its
// bad entries marked (the "problem" column and field).
func exportDamaged(damaged error, rep *record.Report) error {
	if damaged == nil {
		return nil
	}
	return fmt.Errorf("exported with %d entries marked as not verifying: %w", rep.Bad(), damaged)
}

// openFATStick opens a stick (or a FAT image file) for an export, by the
// rules of a job's target, and finds its FAT file system: the first FAT
// partition, or the whole stick. The stick stays open, exclusively, until
// the export is done, so nothing mounts it meanwhile.
func openFATStick(node string) (*blockdev.Drive, int64, error) {
	rules := targetRules{writes: true}
	if err := rules.load(DefaultLibrary); err != nil {
		return nil, 0, err
	}
	if _, err := rules.check(node); err != nil {
		return nil, 0, err
	}
	d, err := blockdev.OpenWrite(node)
	if err != nil {
		return nil, 0, err
	}
	off, err := fatstick.Find(d, d.Info().Size, d.Info().LogicalSectorSize)
	if err != nil {
		d.Close()
		return nil, 0, fmt.Errorf("%s holds no FAT file system", node)
	}
	return d, off, nil
}
