package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/jobrecord"
)

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// jobFlags are the flags copy and verify share.
type jobFlags struct {
	from    string
	library string
	to      multiFlag
	chunk   int
	retries int
	area    string
	clean   bool
	delta   bool
	create  bool
	rec     recordFlags // copy only
}

func (f *jobFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.from, "from", "", "the master: a block device, a file, or image:NAME from the image library")
	fs.StringVar(&f.library, "library", DefaultLibrary, "the image library, for --from image:NAME")
	fs.Var(&f.to, "to", "a target block device or file (repeat for each target)")
	fs.IntVar(&f.chunk, "chunk", engine.DefaultChunkSize>>20, "chunk size in MiB")
	fs.IntVar(&f.retries, "retries", engine.DefaultWriteRetries, fmt.Sprintf("extra attempts after a failed write (0..%d)", maxRetries))
	fs.StringVar(&f.area, "area", "whole", "what to copy: whole, used (up to the last partition), smart (allocated blocks only) or N% (the first N percent)")
	fs.BoolVar(&f.clean, "clean", false, "discard what the area skips on targets that can, instead of leaving their old contents")
}

// parseArgs parses a subcommand's flags wherever they stand among its
// positional arguments, as the usage lines show them ("image show NAME
// --library DIR"), and returns the positional arguments; "--" ends the
// flags. Errors are parse's: a usage error, or flag.ErrHelp.
func ParseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var flags, positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			positional = append(positional, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			continue // the flag package reports it
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		if i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	if err := Parse(fs, flags); err != nil {
		return nil, err
	}
	return positional, nil
}

// parseFlags parses a subcommand that takes flags only: a word that is
// not a flag (a value whose flag was forgotten) is a usage error, never
// ignored.
func ParseFlags(fs *flag.FlagSet, args []string) error {
	pos, err := ParseArgs(fs, args)
	if err == nil && len(pos) > 0 {
		err = UsageError("unexpected argument %q: %s takes flags only (see -h)", pos[0], fs.Name())
	}
	return err
}

// maxRetries bounds --retries: a target that fails this often will not
// do better, and every retry of every chunk costs the whole job time.
const maxRetries = 10

// cliArea parses --area. A percentage is written plainly: 1% to 100%,
// no sign, no leading zero, no fraction.
func cliArea(s string) (engine.Area, error) {
	switch s {
	case "whole", "":
		return engine.WholeMedia{}, nil
	case "used":
		return engine.UsedArea{}, nil
	case "smart":
		return engine.Smart{}, nil
	}
	if n, ok := strings.CutSuffix(s, "%"); ok && n != "" && n[0] != '0' && strings.Trim(n, "0123456789") == "" && len(n) <= 3 {
		if p, err := strconv.Atoi(n); err == nil && p >= 1 && p <= 100 {
			return engine.Percent{P: p}, nil
		}
	}
	return nil, UsageError("--area %q: give whole, used, smart or a percentage from 1%% to 100%%, such as 50%%", s)
}

func cmdCopy(ctx context.Context, env *Env, args []string) error {
	fs := NewFlags(env, "copy", "--from SRC --to DST [--to DST...] [--no-verify] [--create] [--record FILE [--lot NAME]]")
	var jf jobFlags
	jf.register(fs)
	noVerify := fs.Bool("no-verify", false, "skip reading the targets back")
	fs.BoolVar(&jf.delta, "delta", false, "re-sync targets that hold an older copy: write only the chunks that differ")
	fs.BoolVar(&jf.create, "create", false, "make a --to image file that does not exist yet, as large as the copy area (never under /dev)")
	jf.rec.register(fs)
	if err := ParseFlags(fs, args); err != nil {
		return err
	}
	if err := jf.rec.check(); err != nil {
		return err
	}
	mode := engine.CopyVerify
	if *noVerify {
		mode = engine.Copy
	}
	return runCLIJob(ctx, env, jf, mode)
}

func cmdVerify(ctx context.Context, env *Env, args []string) error {
	fs := NewFlags(env, "verify", "--from SRC --to DST [--to DST...]")
	var jf jobFlags
	jf.register(fs)
	if err := ParseFlags(fs, args); err != nil {
		return err
	}
	return runCLIJob(ctx, env, jf, engine.VerifyOnly)
}

func cmdHash(ctx context.Context, env *Env, args []string) error {
	fs := NewFlags(env, "hash", "--from SRC")
	var jf jobFlags
	jf.register(fs)
	if err := ParseFlags(fs, args); err != nil {
		return err
	}
	if len(jf.to) > 0 {
		return UsageError("hash takes no --to")
	}
	return runCLIJob(ctx, env, jf, engine.HashOnly)
}

// runCLIJob opens the drives, runs the job with live progress and prints
// the result table. Every target must pass for a nil error.
func runCLIJob(ctx context.Context, env *Env, jf jobFlags, mode engine.Mode) error {
	if jf.from == "" {
		return UsageError("--from is required")
	}
	if mode != engine.HashOnly && len(jf.to) == 0 {
		return UsageError("at least one --to is required")
	}
	if jf.chunk < 1 || jf.chunk > 64 {
		return UsageError("--chunk %d: give 1..64 MiB", jf.chunk)
	}
	if jf.retries < 0 || jf.retries > maxRetries {
		return UsageError("--retries %d: give 0..%d extra attempts", jf.retries, maxRetries)
	}
	if _, err := cliArea(jf.area); err != nil {
		return err
	}
	drives, err := openCLIDrives(env, jf, mode)
	if err != nil {
		return err
	}
	defer drives.close()
	rec, err := openCLIRecord(jf.rec, driveReaders(drives.master, drives.targets)...)
	if err != nil {
		return err
	}
	defer rec.close()

	prog := newProgressView(env, drives.names)
	job := engine.Job{
		Source: drives.master,
		Mode:   mode,
		Area:   drives.area,
		Options: engine.Options{
			Clean:        jf.clean,
			Delta:        jf.delta,
			ChunkSize:    jf.chunk << 20,
			WriteRetries: jf.retries,
			OnProgress:   prog.update,
		},
	}
	if jf.retries == 0 {
		job.Options.WriteRetries = -1
	}
	for i, t := range drives.targets {
		job.Targets = append(job.Targets, engine.PortTarget{Port: i + 1, Label: jf.to[i], Dev: t})
	}
	started := time.Now()
	run, err := engine.Start(ctx, job)
	if err != nil {
		return err
	}
	defer limitMemory(run.MemoryBudget())()
	drives.keep = true
	stop := prog.start(ctx)
	res := run.Wait()
	stop()
	printResult(env.Stdout, jf.from, res)
	for _, n := range run.Plan().Notes {
		fmt.Fprintf(env.Stdout, "area: %s\n", n)
	}
	meta := jobrecord.Job{ID: cliJobID(started), Started: started, Ended: time.Now(), Targets: cliTargets(drives.targets)}
	cliMaster(&meta, drives.master)
	if _, err := rec.append(meta, res); err != nil {
		return err
	}
	switch {
	case res.Err != nil:
		return fmt.Errorf("%w", res.Err)
	case !res.OK():
		return fmt.Errorf("%d of %d targets did not pass", len(res.Ports)-res.Count(engine.Pass), len(res.Ports))
	}
	return nil
}

// printResult writes the final table.
func printResult(w io.Writer, from string, res *engine.Result) {
	fmt.Fprintf(w, "\nmaster %s: %s, %s (%s)\n", from, engine.FormatSize(res.Bytes), res.Area, res.Mode)
	if res.SHA256 != "" {
		fmt.Fprintf(w, "sha256 %s\n", res.SHA256)
	}
	if len(res.Ports) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "PORT\tTARGET\tRESULT\tWRITTEN\tVERIFIED\tMB/s\tTIME\tREASON")
	for _, p := range res.Ports {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%.1f\t%s\t%s\n", p.Port, p.Label, p.Status,
			engine.FormatSize(p.Written), engine.FormatSize(p.Verified), p.MBps,
			p.Duration.Round(10*time.Millisecond), p.Reason)
	}
	tw.Flush()
	if res.Bytes > 0 {
		fmt.Fprintf(w, "master read %d bytes, %.2fx the copy area (the re-check included); buffers %s\n",
			res.MasterRead, float64(res.MasterRead)/float64(res.Bytes), engine.FormatSize(res.BufferBytes))
	}
	fmt.Fprintf(w, "%d passed, %d failed, %d aborted in %s\n", res.Count(engine.Pass), res.Count(engine.Fail),
		res.Count(engine.Aborted), res.Duration.Round(10*time.Millisecond))
}

// progressView draws per-target progress: redrawn in place on a terminal,
// one line per phase change otherwise (logs, pipes).
type progressView struct {
	env   *Env
	names []string
	mu    sync.Mutex
	rows  map[int]engine.Progress
	drawn int
}

func newProgressView(env *Env, names []string) *progressView {
	shown := make([]string, len(names))
	for i, n := range names {
		shown[i] = printable(n)
	}
	return &progressView{env: env, names: shown, rows: map[int]engine.Progress{}}
}

// printable is s with every character a terminal would act on rather than
// show (escape sequences, bells, other controls, invalid UTF-8) written
// as a Go escape, so a name or a record's text cannot drive the terminal.
func printable(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case unicode.IsPrint(r) || r == ' ':
			b.WriteRune(r)
		default:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		}
	}
	return b.String()
}

func (v *progressView) update(p engine.Progress) {
	v.mu.Lock()
	defer v.mu.Unlock()
	old, seen := v.rows[p.Port]
	v.rows[p.Port] = p
	if !v.env.IsTerminal && (!seen || old.Phase != p.Phase) {
		fmt.Fprintln(v.env.Stderr, v.line(p))
	}
}

func (v *progressView) line(p engine.Progress) string {
	name := "master"
	if p.Port > 0 && p.Port <= len(v.names) {
		name = v.names[p.Port-1]
	}
	s := fmt.Sprintf("%-2d %-24s %-9s %3d%%  %s / %s", p.Port, name, p.Phase, p.Percent(),
		engine.FormatSize(p.Done), engine.FormatSize(p.Total))
	if p.Rate > 0 {
		s += fmt.Sprintf("  %.1f MB/s", p.Rate/1e6)
	}
	if p.ETA > 0 {
		s += fmt.Sprintf("  ETA %s", p.ETA.Round(time.Second))
	}
	return s
}

// start redraws the table every 250 ms on a terminal until stop is called.
func (v *progressView) start(ctx context.Context) (stop func()) {
	if !v.env.IsTerminal {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				v.draw()
			case <-done:
				v.draw()
				return
			}
		}
	}()
	return func() { close(done); <-finished }
}

func (v *progressView) draw() {
	v.mu.Lock()
	defer v.mu.Unlock()
	var sb strings.Builder
	if v.drawn > 0 {
		fmt.Fprintf(&sb, "\x1b[%dA", v.drawn)
	}
	n := 0
	for port := 0; port <= len(v.names); port++ {
		p, ok := v.rows[port]
		if !ok {
			continue
		}
		sb.WriteString("\r\x1b[2K" + v.line(p) + "\n")
		n++
	}
	v.drawn = n
	io.WriteString(v.env.Stderr, sb.String())
}

func cmdErase(ctx context.Context, env *Env, args []string) error {
	fs := NewFlags(env, "erase", "--mode MODE --to DST [--to DST...] [--verify] --yes [--record FILE [--lot NAME] [--certificate DIR]]")
	var to multiFlag
	fs.Var(&to, "to", "a drive or image file to wipe (repeat for each)")
	modeName := fs.String("mode", "quick", "quick, zeros, random, dod, discard or secure-discard")
	verify := fs.Bool("verify", false, "read the last pass back from the media")
	yes := fs.Bool("yes", false, "confirm: everything on the drives is lost")
	var rf recordFlags
	rf.register(fs)
	certDir := fs.String("certificate", "", "write each drive's erase certificate (PDF and JSON) into this folder; needs --record")
	appliance := fs.String("appliance", hostname(), "the appliance's name on the certificates")
	if err := ParseFlags(fs, args); err != nil {
		return err
	}
	if err := rf.check(); err != nil {
		return err
	}
	if err := checkCertificateDir(*certDir, rf); err != nil {
		return err
	}
	mode, err := engine.ParseEraseMode(*modeName)
	if err != nil {
		return UsageError("%v", err)
	}
	if len(to) == 0 {
		return UsageError("at least one --to is required")
	}
	if !*yes {
		return UsageError("erase destroys everything on %s: add --yes to confirm", strings.Join(to, ", "))
	}
	drives, err := openTargets(DefaultLibrary, nil, to)
	if err != nil {
		return err
	}
	defer drives.close()
	rec, err := openCLIRecord(rf, driveReaders(nil, drives.targets)...)
	if err != nil {
		return err
	}
	defer rec.close()
	prog := newProgressView(env, to)
	job := engine.EraseJob{Mode: mode, Verify: *verify, Options: engine.Options{OnProgress: prog.update}}
	for i, t := range drives.targets {
		job.Targets = append(job.Targets, engine.PortTarget{Port: i + 1, Label: to[i], Dev: t})
	}
	stop := prog.start(ctx)
	started := time.Now()
	res, err := job.Run(ctx)
	stop()
	if err != nil {
		return err
	}
	printResult(env.Stdout, "(none)", res)
	meta := jobrecord.Job{ID: cliJobID(started), Started: started, Ended: time.Now(), Targets: cliTargets(drives.targets)}
	entries, err := rec.append(meta, res)
	if err != nil {
		return err
	}
	if *certDir != "" {
		if err := writeEraseCertificates(env, *certDir, entries, *appliance); err != nil {
			return err
		}
	}
	if !res.OK() {
		return fmt.Errorf("%d of %d drives did not pass", len(res.Ports)-res.Count(engine.Pass), len(res.Ports))
	}
	return nil
}
