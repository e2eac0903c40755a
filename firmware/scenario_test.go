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
			err = runScript(context.Background(), b, s, &out, slog.New(slog.NewTextHandler(&logs, nil)))
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
		{"bad port", "insert nine", `insert: port "nine" is not a number`},
		{"bad fault", "session default\nfault 3 melt@1MB", `fault "melt"`},
		{"bad button", "press Start", `no button "Start"`},
		{"bad setting", "setting colour blue", `unknown setting "colour"`},
		{"bad size", "insert 2 size=big", `size "big"`},
		{"port taken", "insert 2\ninsert 2", "x.scn:2: sim bay: insert into port 2"},
	} {
		t.Run("run/"+tc.name, func(t *testing.T) {
			s, err := parseScript("x.scn", strings.NewReader(tc.text))
			require.NoError(t, err)
			var out bytes.Buffer
			err = runScript(context.Background(), b, s, &out, slog.New(slog.DiscardHandler))
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
	err = runScript(context.Background(), b, s, &out, slog.New(slog.DiscardHandler))
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
