package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/record"
)

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
