// Package scenario runs scenario scripts against the simulator: the
// appliance on simulated hardware, driven step by step (drives in and out,
// faults, buttons) with expectations on the LCD, the LEDs, the buzzer, the
// results and the production record. They are the firmware's end-to-end
// tests, and `clonebay sim --script` runs them.
//
// It imports the appliance and sim; nothing imports it but the firmware
// and tests.
package scenario

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/clonebay/clonebay/appliance"
	"github.com/clonebay/clonebay/board"
	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/record"
	"github.com/clonebay/clonebay/record/fleet"
	"github.com/clonebay/clonebay/sim"
	"github.com/clonebay/clonebay/ui"
)

// A scenario script drives the simulator without a terminal: one step a
// line, optionally "at T" (time since the start), and expectations that
// must hold, at once or "within D":
//
//	setting auto-start 7           (Setup values before the start; copy-mode disk|files)
//	session default                (the default master and targets)
//	insert 3 size=64MB write=40 read=90 fault=corrupt@1MB
//	insert 1 master
//	insert 5 image=KIOSK.GZ            (a FAT32 stick holding the master as an image file)
//	remove 3
//	fault 4 remove@10MB
//	press OK | hold OK 2.5s
//	wait 1s
//	at 4s remove 5
//	expect lcd "Job done" within 30s
//	expect led 3 red
//	expect beep failure
//	expect result pass=6 fail=1       (the last job)
//	expect line pass=18 fail=2        (line-mode results shown on the panel)
//	expect record pass=18 fail=2      (results in the production record)
//	expect sync up-to-date within 60s (the record is on the fleet's server)
//
// Each run has its own empty image library and production record, unless
// sim --images or --record name them. Times are 0 to 1h, ports 1 to 64,
// drive sizes 1 MiB to 16 TB, speeds 0 (unlimited) or 0.1 to 100000 MB/s;
// a line holds at most 64 KiB. A script is checked whole before it runs.
type step struct {
	line   int
	at     time.Duration // -1: right after the step before
	verb   string
	args   []string
	within time.Duration
	text   string // the quoted text of expect lcd
}

// Script is a parsed scenario.
type Script struct {
	name     string
	steps    []step
	settings []step
}

// Parse reads a scenario; errors name the line.
func Parse(name string, r io.Reader) (*Script, error) {
	s := &Script{name: name}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxScriptLine)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if i := strings.Index(line, "#"); i >= 0 && !strings.Contains(line[:i], `"`) {
			line = strings.TrimSpace(line[:i])
		}
		if line == "" {
			continue
		}
		st, err := parseStep(n, line)
		if err == nil {
			err = checkStep(st)
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
		if st.verb == "setting" {
			if len(s.steps) > 0 {
				return nil, fmt.Errorf("%s:%d: settings come before the first step", name, n)
			}
			s.settings = append(s.settings, st)
			continue
		}
		s.steps = append(s.steps, st)
	}
	if err := sc.Err(); errors.Is(err, bufio.ErrTooLong) {
		return nil, fmt.Errorf("%s:%d: the line is longer than %d bytes", name, n+1, maxScriptLine)
	} else if err != nil {
		return nil, fmt.Errorf("%s: after line %d: %w", name, n, err)
	}
	return s, nil
}

// Bounds of what a script may say.
const (
	maxScriptLine = 64 << 10
	maxScriptTime = time.Hour
	minSimSize    = 1 << 20
	maxSimMBps    = 100000
	maxCount      = 1000000
)

// scriptDuration reads a step's time: 0 to maxScriptTime.
func scriptDuration(what, s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		return 0, fmt.Errorf("%s %q: %w", what, s, err)
	case d < 0:
		return 0, fmt.Errorf("%s %q: a time cannot be negative", what, s)
	case d > maxScriptTime:
		return 0, fmt.Errorf("%s %q: longer than %s", what, s, maxScriptTime)
	}
	return d, nil
}

// scriptPort reads a port number: 1 to board.MaxPorts (the board may have
// fewer; the bay says so when the step runs).
func scriptPort(what, s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%s: port %q is not a number", what, s)
	}
	if n < 1 || n > board.MaxPorts {
		return 0, fmt.Errorf("%s: port %d is not 1..%d", what, n, board.MaxPorts)
	}
	return n, nil
}

// checkStep checks a step's arguments before the script runs, so a bad
// line is reported with its number before the simulation starts.
func checkStep(st step) error {
	a := st.args
	var err error
	switch st.verb {
	case "setting":
		set := ui.DefaultSettings()
		err = applySetting(&set, a[0], a[1])
	case "session":
		if a[0] != "default" {
			err = fmt.Errorf("session %q: only the default session exists", a[0])
		}
	case "insert":
		if _, err = scriptPort("insert", a[0]); err == nil {
			_, err = parseDriveArgs(a[1:])
		}
	case "remove":
		_, err = scriptPort("remove", a[0])
	case "fault":
		if _, err = scriptPort("fault", a[0]); err == nil {
			_, err = sim.ParseFault(a[1])
		}
	case "press", "hold":
		if _, ok := buttonNames[strings.ToLower(a[0])]; !ok {
			err = fmt.Errorf("%s: no button %q (Up, Down, OK, Back)", st.verb, a[0])
		} else if st.verb == "hold" {
			_, err = scriptDuration("hold", a[1])
		}
	case "wait":
		_, err = scriptDuration("wait", a[0])
	case "scan":
		if st.text == "" {
			err = fmt.Errorf(`scan needs the code in quotes: scan "A17"`)
		}
	case "expect":
		_, err = expectation(st)
	}
	return err
}

func parseStep(n int, line string) (step, error) {
	st := step{line: n, at: -1}
	text := ""
	if i := strings.IndexByte(line, '"'); i >= 0 {
		j := strings.LastIndexByte(line, '"')
		if j == i {
			return st, fmt.Errorf("unclosed quote")
		}
		text = line[i+1 : j]
		line = line[:i] + " \x00 " + line[j+1:]
	}
	f := strings.Fields(line)
	if len(f) >= 2 && f[0] == "at" {
		d, err := scriptDuration("at", f[1])
		if err != nil {
			return st, err
		}
		st.at, f = d, f[2:]
	}
	if k := slices.Index(f, "within"); k >= 0 {
		if k+1 >= len(f) {
			return st, fmt.Errorf("within needs a duration")
		}
		d, err := scriptDuration("within", f[k+1])
		if err != nil {
			return st, err
		}
		st.within, f = d, append(f[:k], f[k+2:]...)
	}
	if len(f) == 0 {
		return st, fmt.Errorf("no step")
	}
	st.verb, st.args, st.text = f[0], f[1:], text
	need := map[string]int{"insert": 1, "remove": 1, "fault": 2, "press": 1, "hold": 2, "wait": 1, "expect": 2, "session": 1, "setting": 2, "scan": 0}
	want, ok := need[st.verb]
	if !ok {
		return st, fmt.Errorf("unknown step %q (insert, remove, fault, press, hold, wait, expect, session, setting, scan)", st.verb)
	}
	if len(st.args) < want {
		return st, fmt.Errorf("%s needs %d arguments", st.verb, want)
	}
	return st, nil
}

// scriptRun is one run of a script against the simulator.
type scriptRun struct {
	s     *Script
	rig   *sim.Rig
	app   *appliance.Appliance
	out   io.Writer
	start time.Time
	slack float64 // deadlines are this many times as long as written

	mu      sync.Mutex
	results []ui.JobResult
	known   map[int]bool   // ports the panel has been told hold a drive
	line    map[string]int // production-line results seen on the panel: pass, fail, aborted
	record  map[string]int // results in the production record: PASS, FAIL, ABORTED
	failed  int
}

// Options are where a scenario keeps its production record and image
// library (each one left empty is a temporary one of the run's own), and
// how much longer than written its deadlines are (Slack 4 under an
// emulator; 0 or 1 as written). In tests the appliance runs in virtual
// time and the deadlines are exact.
type Options struct {
	Record, Images string
	Slack          float64
	Version        string
	// Settings are the appliance's settings before the script's own
	// (DefaultSettings when zero); SettingsFile is where Setup saves them
	// ("" keeps them in memory); State is the appliance's own state
	// folder (its ID and the replication's cursor; "" none).
	Settings     appliance.Settings
	SettingsFile string
	State        string
}

// Hardware is the appliance's hardware made of a simulated rig.
func Hardware(r *sim.Rig) appliance.Hardware {
	return appliance.Hardware{Watcher: r.Bay, Opener: r.Bay, Buttons: r.Buttons, Display: r.LCD, LEDs: r.LEDs, Buzzer: r.Buzzer,
		Scanner: r.Scanner, Light: r.Light}
}

// Run runs a scenario and reports on out; it returns an error when an
// expectation did not hold or the script is bad.
func Run(ctx context.Context, b *board.Board, s *Script, out io.Writer, log *slog.Logger, opts Options) error {
	rig := sim.NewRig(b)
	if opts.Settings == (appliance.Settings{}) {
		opts.Settings = appliance.DefaultSettings()
	}
	set := opts.Settings.Panel
	for _, st := range s.settings {
		if err := applySetting(&set, st.args[0], st.args[1]); err != nil {
			return fmt.Errorf("%s:%d: %w", s.name, st.line, err)
		}
	}
	// Each run has its own image library and production record.
	dir, err := os.MkdirTemp("", "clonebay-script")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	paths := appliance.Paths{Library: cmp.Or(opts.Images, filepath.Join(dir, "images")),
		Record: cmp.Or(opts.Record, filepath.Join(dir, "jobs.log")), Settings: opts.SettingsFile, State: opts.State}
	run := &scriptRun{s: s, rig: rig, out: out, slack: max(1, opts.Slack), known: map[int]bool{}, line: map[string]int{}, record: map[string]int{}}
	observe := func(ev ui.Event, _ ui.Frame) {
		run.mu.Lock()
		defer run.mu.Unlock()
		switch ev := ev.(type) {
		case ui.JobDone, ui.LineDone:
			// The loop has written the record before it told the panel.
			if rep, err := record.Read(fsys.OS, paths.Record); err == nil {
				clear(run.record)
				for _, e := range rep.Entries {
					run.record[e.Result]++
				}
			}
		case ui.DriveIn:
			run.known[ev.Drive.Port] = true
		case ui.DriveOut:
			delete(run.known, ev.Port)
		}
		switch ev := ev.(type) {
		case ui.LineDone:
			switch {
			case ev.Result.Pass:
				run.line["pass"]++
			case ev.Result.Abort:
				run.line["aborted"]++
			default:
				run.line["fail"]++
			}
		case ui.JobDone:
			run.results = append(run.results, ev.Result)
		}
	}
	app, err := appliance.New(appliance.Config{Board: b, Settings: set, Fleet: opts.Settings.Fleet, Version: opts.Version, Observe: observe},
		Hardware(rig), paths, log)
	if err != nil {
		return err
	}
	run.app = app
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx) }()
	run.start = time.Now()
	err = run.steps(ctx)
	cancel()
	if rerr := <-done; rerr != nil && err == nil {
		err = rerr
	}
	if err == nil && run.failed > 0 {
		err = fmt.Errorf("%s: %d expectations did not hold", s.name, run.failed)
	}
	return err
}

func applySetting(set *ui.Settings, key, val string) error {
	onOff := func() (bool, error) {
		switch val {
		case "on":
			return true, nil
		case "off":
			return false, nil
		}
		return false, fmt.Errorf("setting %s: %q is not on or off", key, val)
	}
	var err error
	switch key {
	case "auto-start":
		n, err := strconv.Atoi(val)
		if err != nil || n < 0 || n > board.MaxPorts {
			return fmt.Errorf("setting auto-start: %q is not 0..%d targets", val, board.MaxPorts)
		}
		set.AutoStart = n
	case "verify":
		set.Verify, err = onOff()
	case "buzzer":
		set.Buzzer, err = onOff()
	case "key-click":
		set.KeyClick, err = onOff()
	case "area":
		if val != "whole" && val != "used" && val != "smart" {
			return fmt.Errorf("setting area: %q is not whole, used or smart", val)
		}
		set.Area = val
	case "clean":
		set.Clean, err = onOff()
	case "copy-mode":
		if val != "disk" && val != "files" {
			return fmt.Errorf("setting copy-mode: %q is not disk or files", val)
		}
		set.Files = val == "files"
	default:
		return fmt.Errorf("unknown setting %q (auto-start, verify, buzzer, key-click, area, clean, copy-mode)", key)
	}
	return err
}

func (r *scriptRun) steps(ctx context.Context) error {
	for _, st := range r.s.steps {
		if st.at >= 0 {
			if err := sleepCtx(ctx, time.Until(r.start.Add(st.at))); err != nil {
				return err
			}
		}
		if err := r.step(ctx, st); err != nil {
			return fmt.Errorf("%s:%d: %w", r.s.name, st.line, err)
		}
		switch st.verb {
		case "session", "insert", "remove":
			// The next step acts on what the panel knows: let it see the
			// drives first, as an operator would.
			if err := r.settle(ctx); err != nil {
				return fmt.Errorf("%s:%d: %w", r.s.name, st.line, err)
			}
		}
	}
	return nil
}

// scaled is a deadline with the run's slack.
func (r *scriptRun) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) * r.slack)
}

// settle waits until the panel knows of exactly the drives in the bay.
func (r *scriptRun) settle(ctx context.Context) error {
	deadline := time.Now().Add(r.scaled(5 * time.Second))
	for {
		r.mu.Lock()
		known := slices.Sorted(maps.Keys(r.known))
		r.mu.Unlock()
		bay := r.rig.Bay.Occupied()
		if slices.Equal(known, bay) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the panel did not see the drives in ports %v within 5 s (it knows %v)", bay, known)
		}
		if err := sleepCtx(ctx, 10*time.Millisecond); err != nil {
			return err
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

var buttonNames = map[string]hal.Button{"up": hal.Up, "down": hal.Down, "ok": hal.OK, "back": hal.Back}

func (r *scriptRun) step(ctx context.Context, st step) error {
	a := st.args
	switch st.verb {
	case "session":
		if a[0] != "default" {
			return fmt.Errorf("session %q: only the default session exists", a[0])
		}
		return r.rig.DefaultSession()
	case "insert":
		port, err := scriptPort("insert", a[0])
		if err != nil {
			return err
		}
		spec, err := parseDriveArgs(a[1:])
		if err != nil {
			return err
		}
		_, err = r.rig.Insert(port, spec)
		return err
	case "remove":
		port, err := scriptPort("remove", a[0])
		if err != nil {
			return err
		}
		_, err = r.rig.Bay.Remove(port)
		return err
	case "scan":
		r.rig.Scanner.Scan(st.text)
		return nil
	case "fault":
		port, err := scriptPort("fault", a[0])
		if err != nil {
			return err
		}
		f, err := sim.ParseFault(a[1])
		if err != nil {
			return err
		}
		d := r.rig.Bay.Drive(port)
		if d == nil {
			return fmt.Errorf("fault: port %d is empty", port)
		}
		d.Inject(f)
		return nil
	case "press", "hold":
		b, ok := buttonNames[strings.ToLower(a[0])]
		if !ok {
			return fmt.Errorf("%s: no button %q (Up, Down, OK, Back)", st.verb, a[0])
		}
		if st.verb == "press" {
			r.rig.Buttons.Click(b)
			return sleepCtx(ctx, 50*time.Millisecond)
		}
		d, err := scriptDuration("hold", a[1])
		if err != nil {
			return err
		}
		r.rig.Buttons.Push(b, hal.Press)
		if err := sleepCtx(ctx, d); err != nil {
			return err
		}
		r.rig.Buttons.Push(b, hal.Release)
		return sleepCtx(ctx, 50*time.Millisecond)
	case "wait":
		d, err := scriptDuration("wait", a[0])
		if err != nil {
			return err
		}
		return sleepCtx(ctx, d)
	case "expect":
		return r.expect(ctx, st)
	}
	return fmt.Errorf("unknown step %q", st.verb)
}

func parseDriveArgs(args []string) (sim.Stick, error) {
	s := sim.DefaultTarget()
	sized := false
	for _, arg := range args {
		if arg == "master" {
			s.Master = true
			continue
		}
		k, v, ok := strings.Cut(arg, "=")
		if !ok {
			return s, fmt.Errorf("insert: %q is not key=value", arg)
		}
		var err error
		switch k {
		case "size":
			s.Size, err = sim.ParseSize(v)
			sized = true
			if err == nil && s.Size < minSimSize {
				err = fmt.Errorf("a drive holds at least 1 MiB")
			}
		case "read":
			s.ReadMBps, err = parseSpeed(v)
		case "write":
			s.WriteMBps, err = parseSpeed(v)
		case "model":
			s.Model = v
		case "serial":
			s.Serial = v
			if v == "" || len(v) > 64 {
				err = fmt.Errorf("give a serial of 1..64 characters, or - for none")
			}
		case "fault":
			var f sim.Fault
			f, err = sim.ParseFault(v)
			s.Faults = append(s.Faults, f)
		case "image":
			var f sim.File
			f, err = sim.ImageFile(v)
			s.Files = append(s.Files, f)
		default:
			return s, fmt.Errorf("insert: unknown %q (size, read, write, model, serial, fault, image)", k)
		}
		if err != nil {
			return s, fmt.Errorf("insert %s: %w", arg, err)
		}
	}
	if s.Master && !sized {
		s.Size = sim.MasterSize
	}
	return s, nil
}

// parseSpeed reads a drive's speed in MB/s: 0 is unlimited.
func parseSpeed(v string) (float64, error) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > maxSimMBps || (f > 0 && f < 0.1) {
		return 0, fmt.Errorf("speed %q: give 0 (unlimited) or 0.1..%d MB/s", v, maxSimMBps)
	}
	return f, nil
}

// expect checks a condition, polling until it holds or within runs out.
func (r *scriptRun) expect(ctx context.Context, st step) error {
	check, what, err := r.condition(st)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(r.scaled(max(st.within, 300*time.Millisecond)))
	for {
		ok, seen := check()
		if ok {
			fmt.Fprintf(r.out, "ok   %s:%d: %s (at %s)\n", r.s.name, st.line, what, time.Since(r.start).Round(100*time.Millisecond))
			return nil
		}
		if time.Now().After(deadline) {
			r.failed++
			fmt.Fprintf(r.out, "FAIL %s:%d: expected %s; %s\n", r.s.name, st.line, what, seen)
			return nil
		}
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

// expectation checks an expect step's arguments.
func expectation(st step) (string, error) {
	_, what, err := (&scriptRun{}).condition(st)
	return what, err
}

func (r *scriptRun) condition(st step) (func() (bool, string), string, error) {
	a := st.args
	switch a[0] {
	case "lcd":
		if st.text == "" {
			return nil, "", fmt.Errorf(`expect lcd needs a quoted text: expect lcd "Job done"`)
		}
		return func() (bool, string) {
			screen := r.rig.LCD.Text()
			return strings.Contains(screen, st.text), "the LCD shows:\n" + indent(screen)
		}, fmt.Sprintf("the LCD to show %q", st.text), nil
	case "led":
		if len(a) < 3 {
			return nil, "", fmt.Errorf("expect led PORT STATE")
		}
		port, err := scriptPort("expect led", a[1])
		if err != nil {
			return nil, "", err
		}
		want := a[2]
		return func() (bool, string) {
			got := r.rig.LEDs.LED(port).String()
			return got == want, "it is " + got
		}, fmt.Sprintf("port %d's LED to be %s", port, want), nil
	case "beep":
		if len(a) < 2 {
			return nil, "", fmt.Errorf("expect beep key|done|failure")
		}
		patterns := map[string][]hal.Beep{"key": hal.BeepKey, "done": hal.BeepJobDone, "failure": hal.BeepFailure}
		want, ok := patterns[a[1]]
		if !ok {
			return nil, "", fmt.Errorf("expect beep: %q is not key, done or failure", a[1])
		}
		return func() (bool, string) {
			for _, p := range r.rig.Buzzer.Played() {
				if slices.Equal(p, want) {
					return true, ""
				}
			}
			return false, fmt.Sprintf("%d patterns played, none of them that", len(r.rig.Buzzer.Played()))
		}, fmt.Sprintf("a %s beep", a[1]), nil
	case "result":
		want, err := parseCounts(a)
		if err != nil {
			return nil, "", err
		}
		return func() (bool, string) {
			r.mu.Lock()
			defer r.mu.Unlock()
			if len(r.results) == 0 {
				return false, "no job has ended"
			}
			res := r.results[len(r.results)-1]
			got := map[string]int{"pass": res.Passed()}
			for _, p := range res.Ports {
				switch {
				case p.Abort:
					got["aborted"]++
				case !p.Pass:
					got["fail"]++
				}
			}
			for k, n := range want {
				if got[k] != n {
					return false, fmt.Sprintf("the last job had pass=%d fail=%d aborted=%d", got["pass"], got["fail"], got["aborted"])
				}
			}
			return true, ""
		}, "the last job's result " + strings.Join(a[1:], " "), nil
	case "line", "record":
		want, err := parseCounts(a)
		if err != nil {
			return nil, "", err
		}
		return func() (bool, string) {
			r.mu.Lock()
			defer r.mu.Unlock()
			got := map[string]int{"pass": r.line["pass"], "fail": r.line["fail"], "aborted": r.line["aborted"]}
			if a[0] == "record" {
				got = map[string]int{"pass": r.record["PASS"], "fail": r.record["FAIL"], "aborted": r.record["ABORTED"]}
			}
			for k, n := range want {
				if got[k] != n {
					return false, fmt.Sprintf("it has pass=%d fail=%d aborted=%d", got["pass"], got["fail"], got["aborted"])
				}
			}
			return true, ""
		}, fmt.Sprintf("the %s totals %s", map[string]string{"line": "line's", "record": "production record's"}[a[0]], strings.Join(a[1:], " ")), nil
	case "lamps":
		if len(a) < 2 || len(a[1]) != 3 || strings.Trim(a[1], "GAR-") != "" {
			return nil, "", fmt.Errorf("expect lamps GAR: G green, A amber, R red, - for a lamp off (G-R)")
		}
		want := a[1]
		return func() (bool, string) {
			got := r.rig.Light.Lamps().String()
			return got == want, "they are " + got
		}, "the stack light to show " + want, nil
	case "sync":
		if len(a) < 2 || a[1] != "up-to-date" {
			return nil, "", fmt.Errorf("expect sync up-to-date")
		}
		return func() (bool, string) {
			st, ok := r.app.Replication()
			if !ok {
				return false, "the record is not replicated (give sim --settings with replicate: and --state)"
			}
			return st.State == fleet.StateSynced && st.Behind == 0, "it is " + st.Line()
		}, "the production record to be on the fleet's server", nil
	}
	return nil, "", fmt.Errorf("expect %q: lcd, led, lamps, beep, result, line, record or sync", a[0])
}

// parseCounts reads the pass=N fail=N aborted=N of "expect KIND ...".
func parseCounts(a []string) (map[string]int, error) {
	want := map[string]int{}
	for _, kv := range a[1:] {
		k, v, ok := strings.Cut(kv, "=")
		n, err := strconv.Atoi(v)
		if !ok || err != nil || (k != "pass" && k != "fail" && k != "aborted") {
			return nil, fmt.Errorf("expect %s: %q is not pass=N, fail=N or aborted=N", a[0], kv)
		}
		if n < 0 || n > maxCount {
			return nil, fmt.Errorf("expect %s: %q: a count is 0..%d", a[0], kv, maxCount)
		}
		want[k] = n
	}
	return want, nil
}

func indent(s string) string {
	return "    | " + strings.ReplaceAll(s, "\n", "\n    | ")
}
