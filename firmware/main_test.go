package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/cli"
)

// runCLI runs a command line and returns its exit code and output.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := &cli.Env{Stdin: bytes.NewReader(nil), Stdout: &stdout, Stderr: &stderr}
	code := cli.Main(context.Background(), env, commands(), args)
	return code, stdout.String(), stderr.String()
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, data, 0o644))
	return p
}

func TestHelp(t *testing.T) {
	code, _, errOut := runCLI(t, "-h")
	assert.Equal(t, 0, code)
	assert.Contains(t, errOut, "usage: clonebay COMMAND")
	for _, c := range []string{"copy", "run", "sim", "check", "files", "image", "log"} {
		assert.Contains(t, errOut, "\n  "+c+" ", "the usage lists %s", c)
	}
	code, _, _ = runCLI(t)
	assert.Equal(t, 2, code, "no command is a usage error")
}

func TestVersionAndBoards(t *testing.T) {
	code, out, _ := runCLI(t, "version")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "clonebay dev")
	code, out, _ = runCLI(t, "boards")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "rpi4-usb7")
	assert.Contains(t, out, "sim8")
}
