package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/record/fleet"
)

// logPush sends the production record to the fleet's PostgreSQL server
// once, or with --check compares the server's copy with the log.
func logPush(ctx context.Context, env *Env, args []string) error {
	fs := NewFlags(env, "log push", "--to URL [--log FILE] [--id ID | --state DIR] [--check]")
	logFile := fs.String("log", "/var/lib/clonebay/jobs.log", "the production record")
	to := fs.String("to", "", "the fleet's server: postgres://USER:PASSWORD@HOST[:PORT]/DB (the password may come from PGPASSWORD or ~/.pgpass instead)")
	id := fs.String("id", "", "file the entries under this appliance ID (no cursor is kept)")
	state := fs.String("state", "", "the box's state folder, which holds its appliance ID and replication cursor (default: the log's folder)")
	check := fs.Bool("check", false, "compare the server's copy of this box's entries with the log and verify its chain; change nothing")
	if err := Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return UsageError("log push takes no arguments, got %q", strings.Join(fs.Args(), " "))
	}
	if *to == "" {
		return UsageError("log push needs --to postgres://...")
	}
	if *id != "" && *state != "" {
		return UsageError("log push: give --id or --state, not both")
	}
	o := fleet.Options{URL: *to, Log: *logFile, Files: fsys.OS}
	switch {
	case *id != "":
		if err := fleet.CheckID(*id); err != nil {
			return UsageError("%v", err)
		}
		o.ID = *id
	default:
		dir := *state
		if dir == "" {
			dir = filepath.Dir(*logFile)
		}
		idPath := filepath.Join(dir, fleet.IDFile)
		var err error
		if *check {
			// Checking files nothing under a new ID.
			o.ID, err = readID(idPath)
		} else {
			o.ID, err = fleet.LoadOrCreateID(fsys.OS, idPath)
		}
		if err != nil {
			return err
		}
		o.Cursor = filepath.Join(dir, fleet.CursorFile)
	}
	if *check {
		return logPushCheck(ctx, env, o)
	}
	st, err := fleet.Push(ctx, o)
	if err != nil {
		if st.Acked > 0 {
			fmt.Fprintf(env.Stderr, "the server holds entries 1..%d of %d of box %s\n", st.Acked, st.Last, o.ID)
		}
		return err
	}
	fmt.Fprintf(env.Stdout, "box %s: %d entries sent to %s; the server holds all %d\n", o.ID, st.Added, st.Server, st.Acked)
	return nil
}

// readID reads an existing appliance ID.
func readID(path string) (string, error) {
	data, err := fsys.ReadRegular(fsys.OS, path)
	if err != nil {
		return "", fmt.Errorf("appliance ID: %w (give --id, or the box's --state folder)", err)
	}
	id := strings.TrimSpace(string(data))
	if err := fleet.CheckID(id); err != nil {
		return "", fmt.Errorf("appliance ID %s: %w", path, err)
	}
	return id, nil
}

func logPushCheck(ctx context.Context, env *Env, o fleet.Options) error {
	rep, err := fleet.Check(ctx, o)
	if err != nil {
		return err
	}
	w := env.Stdout
	fmt.Fprintf(w, "box %s: the server holds %d entries, the log %d\n", rep.ID, rep.Server, rep.Local)
	if rep.LocalDamage != "" {
		fmt.Fprintf(w, "the local log: %s (compared up to there)\n", rep.LocalDamage)
	}
	if len(rep.Missing) > 0 {
		fmt.Fprintf(w, "missing on the server: %s\n", seqList(rep.Missing))
	}
	if len(rep.Extra) > 0 {
		fmt.Fprintf(w, "on the server, not in the log: %s\n", seqList(rep.Extra))
	}
	for _, d := range rep.Differ {
		fmt.Fprintf(w, "differs: %s\n", d)
	}
	for _, c := range rep.Chain {
		fmt.Fprintf(w, "the server's chain: %s\n", c)
	}
	if rep.Clean() {
		fmt.Fprintf(w, "the server's copy equals the log, and its chain verifies from the server alone\n")
		return nil
	}
	n := len(rep.Missing) + len(rep.Extra) + len(rep.Differ) + len(rep.Chain)
	if rep.LocalDamage != "" {
		n++
	}
	return errors.New(plural(n, "difference") + " between the server's copy and the log")
}

// seqList shows entry numbers, runs as ranges: "3, 7..9".
func seqList(seqs []int64) string {
	var parts []string
	for i := 0; i < len(seqs); {
		j := i
		for j+1 < len(seqs) && seqs[j+1] == seqs[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, fmt.Sprint(seqs[i]))
		} else {
			parts = append(parts, fmt.Sprintf("%d..%d", seqs[i], seqs[j]))
		}
		i = j + 1
	}
	return "entries " + strings.Join(parts, ", ")
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
