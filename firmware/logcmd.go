package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/clonebay/clonebay/record"
)

// cmdLog reads the production record: verify checks the chain, show
// lists the entries, export writes CSV and JSON to a folder or onto a FAT
// stick (device node or image file).
func cmdLog(ctx context.Context, env *cliEnv, args []string) error {
	if len(args) == 0 {
		return usageError("log needs verify, show or export")
	}
	verb := args[0]
	fs := newFlags(env, "log "+verb, "[--log FILE] [--to DIR|DEVICE]")
	logFile := fs.String("log", "/var/lib/clonebay/jobs.log", "the production record")
	to := fs.String("to", "", "export: a folder, or a FAT stick's device node")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if _, err := os.Stat(*logFile); err != nil {
		return fmt.Errorf("job log: %w", err)
	}
	l, torn, err := record.Open(*logFile)
	if l == nil {
		return err
	}
	defer l.Close()
	entries := l.Entries()
	if torn {
		fmt.Fprintln(env.stderr, "note: the last entry was cut short by a power loss and was removed")
	}
	switch verb {
	case "verify":
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "%s: %d entries, the chain verifies\n", *logFile, len(entries))
		return nil
	case "show":
		if err != nil {
			fmt.Fprintf(env.stderr, "warning: %v\n", err)
		}
		for _, e := range entries {
			fmt.Fprintf(env.stdout, "%5d %s port %-3s %-7s %s %s %s\n", e.Seq, e.Time.Format(time.RFC3339), e.Label, e.Result,
				e.TargetModel, e.TargetSerial, e.Reason)
		}
		return nil
	case "export":
		if *to == "" {
			return usageError("log export needs --to")
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
			fmt.Fprintf(env.stdout, "exported %d entries to %s.csv and .json\n", len(entries), base)
			return err
		}
		if serr != nil {
			return fmt.Errorf("export: %w (give a folder, or a stick's device node)", serr)
		}
		n, xerr := exportToFAT(ctx, *to, 0, entries, time.Now())
		if xerr != nil {
			return fmt.Errorf("export to %s: %w", *to, xerr)
		}
		fmt.Fprintf(env.stdout, "exported %d entries to %s\n", n, *to)
		return err
	}
	return usageError("log %s: give verify, show or export", verb)
}
