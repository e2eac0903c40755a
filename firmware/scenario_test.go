package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/board"
	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/record"
)

// TestScenarios runs every scenario script in scenarios/ against the
// simulator: the firmware's end-to-end tests.
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("../scenarios/*.scn")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 6)
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".scn"), func(t *testing.T) {
			t.Parallel()
			f, err := os.Open(file)
			require.NoError(t, err)
			defer f.Close()
			s, err := parseScript(filepath.Base(file), f)
			require.NoError(t, err)
			b, err := board.Builtin("sim8")
			require.NoError(t, err)
			var out, logs bytes.Buffer
			err = runScript(context.Background(), b, s, &out, slog.New(slog.NewTextHandler(&logs, nil)), scriptFiles{})
			assert.NoError(t, err, "%s\nlog:\n%s", out.String(), logs.String())
			assert.NotRegexp(t, `(?m)^FAIL `, out.String())
		})
	}
}

func TestScriptErrors(t *testing.T) {
	for _, tc := range []struct {
		name, text, want string
	}{
		{"unknown step", "dance 3", `x.scn:1: unknown step "dance"`},
		{"missing args", "\n\ninsert", "x.scn:3: insert needs 1 arguments"},
		{"bad time", "at soon press OK", `x.scn:1: at "soon"`},
		{"bad within", `expect lcd "x" within ever`, `within "ever"`},
		{"unclosed quote", `expect lcd "x`, "unclosed quote"},
		{"setting late", "press OK\nsetting auto-start 3", "x.scn:2: settings come before the first step"},
		{"bad port", "insert nine", `x.scn:1: insert: port "nine" is not a number`},
		{"bad fault", "session default\nfault 3 melt@1MB", `x.scn:2: fault "melt"`},
		{"bad button", "press Start", `no button "Start"`},
		{"bad setting", "setting colour blue", `unknown setting "colour"`},
		{"bad size", "insert 2 size=big", `size "big"`},
		{"negative at", "at -5s press OK", `x.scn:1: at "-5s": a time cannot be negative`},
		{"negative wait", "wait -3s", `x.scn:1: wait "-3s": a time cannot be negative`},
		{"negative hold", "\nhold OK -3s", `x.scn:2: hold "-3s": a time cannot be negative`},
		{"negative within", `expect lcd "x" within -1s`, `within "-1s": a time cannot be negative`},
		{"endless wait", "wait 2h", `wait "2h": longer than 1h0m0s`},
		{"no size", "insert 2 size=0", "x.scn:1: insert size=0: a drive holds at least 1 MiB"},
		{"tiny size", "insert 2 size=4KiB", "insert size=4KiB: a drive holds at least 1 MiB"},
		{"astronomic size", "insert 2 size=1e30TB", `insert size=1e30TB: size "1e30TB": more than 16 TB`},
		{"infinite size", "insert 2 size=InfMB", `size "InfMB": more than 16 TB`},
		{"size that is not a number", "insert 2 size=NaNGB", `size "NaNGB": not a number of GB`},
		{"astronomic bytes", "insert 2 size=99999999999999999", "more than 16 TB"},
		{"fault past 16 TB", "fault 3 corrupt@1e30TB", `fault "corrupt@1e30TB": size "1e30TB": more than 16 TB`},
		{"speed not a number", "insert 2 read=NaN", `insert read=NaN: speed "NaN": give 0 (unlimited) or 0.1..100000 MB/s`},
		{"negative speed", "insert 2 write=-1", `speed "-1"`},
		{"crawling speed", "insert 2 write=0.001", `speed "0.001"`},
		{"port 0", "insert 0", "insert: port 0 is not 1..64"},
		{"port past int32", "remove 2147483648", "remove: port 2147483648 is not 1..64"},
		{"led of no port", "expect led 99 green", "expect led: port 99 is not 1..64"},
		{"negative count", "expect result pass=-1", `expect result: "pass=-1": a count is 0..1000000`},
		{"many auto-start targets", "setting auto-start 1000", `setting auto-start: "1000" is not 0..64 targets`},
		{"unknown expectation", "expect smell burnt", `expect "smell"`},
		{"a 100 kB line", "wait 1s\nwait 1s\nexpect lcd \"" + strings.Repeat("x", 100<<10) + "\"\n", "x.scn:3: the line is longer than 65536 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseScript("x.scn", strings.NewReader(tc.text))
			assert.ErrorContains(t, err, tc.want)
		})
	}
	b, err := board.Builtin("sim8")
	require.NoError(t, err)
	for _, tc := range []struct {
		name, text, want string
	}{
		{"port taken", "insert 2\ninsert 2", "x.scn:2: sim bay: insert into port 2"},
		{"a port the board lacks", "insert 9", "x.scn:1: sim bay: insert into port 9"},
	} {
		t.Run("run/"+tc.name, func(t *testing.T) {
			s, err := parseScript("x.scn", strings.NewReader(tc.text))
			require.NoError(t, err)
			var out bytes.Buffer
			err = runScript(context.Background(), b, s, &out, slog.New(slog.DiscardHandler), scriptFiles{})
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

func TestFailedExpectationFailsTheRun(t *testing.T) {
	b, err := board.Builtin("sim8")
	require.NoError(t, err)
	s, err := parseScript("x.scn", strings.NewReader(`expect lcd "Job done" within 200ms`))
	require.NoError(t, err)
	var out bytes.Buffer
	err = runScript(context.Background(), b, s, &out, slog.New(slog.DiscardHandler), scriptFiles{})
	assert.ErrorContains(t, err, "1 expectations did not hold")
	assert.Contains(t, out.String(), `FAIL x.scn:1: expected the LCD to show "Job done"; the LCD shows:`)
}

func TestSimCommandExitCodes(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.scn")
	bad := filepath.Join(dir, "bad.scn")
	require.NoError(t, os.WriteFile(good, []byte("session default\nexpect led 1 green within 2s\n"), 0o644))
	require.NoError(t, os.WriteFile(bad, []byte("session default\nexpect led 1 red\n"), 0o644))
	code, out, errOut := runCLI(t, "sim", "--script", good)
	assert.Equal(t, 0, code, "%s%s", out, errOut)
	code, out, _ = runCLI(t, "sim", "--script", bad)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "expected port 1's LED to be red; it is green")
	code, _, errOut = runCLI(t, "sim")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "sim needs a terminal")
}

// TestScenarioKeepsItsRecord: sim --record names the file a scenario's
// production record goes to.
func TestScenarioKeepsItsRecord(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "small.scn")
	require.NoError(t, os.WriteFile(script, []byte(`insert 1 master
insert 2 size=32MB model=Tiny
expect led 2 green within 2s
press OK
press OK
expect lcd "Job done" within 40s
expect record fail=1
`), 0o644))
	recordFile := filepath.Join(dir, "jobs.log")
	code, out, errOut := runCLI(t, "sim", "--script", script, "--record", recordFile)
	require.Equal(t, 0, code, "%s%s", out, errOut)
	l, _, err := record.Open(fsys.OS, recordFile)
	require.NoError(t, err)
	defer l.Close()
	require.Len(t, l.Entries(), 1)
	assert.Equal(t, "FAIL", l.Entries()[0].Result)
}
