package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/record"

	"github.com/clonebay/clonebay/internal/testenv"
)

// version is the firmware version the tests' command lines say they are.
const version = "test-1.0"

// runCLI runs a command line and returns its exit code and output.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	env := &Env{Stdin: bytes.NewReader(nil), Stdout: &stdout, Stderr: &stderr, Version: version}
	code := Main(context.Background(), env, Commands(), args)
	return code, stdout.String(), stderr.String()
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, data, 0o644))
	return p
}

func TestCopyCommand(t *testing.T) {
	dir := t.TempDir()
	master := make([]byte, 3<<20+512)
	_, err := rand.Read(master)
	require.NoError(t, err)
	src := writeFile(t, dir, "master.img", master)
	small := writeFile(t, dir, "small.img", make([]byte, 1<<20))
	existing := writeFile(t, dir, "big.img", make([]byte, 4<<20))
	fresh := filepath.Join(dir, "new.img")

	code, out, errOut := runCLI(t, "copy", "--create", "--from", src, "--to", fresh, "--to", existing)
	require.Equal(t, 0, code, "%s%s", out, errOut)
	assert.Contains(t, out, "2 passed, 0 failed")
	for _, dst := range []string{fresh, existing} {
		got, err := os.ReadFile(dst)
		require.NoError(t, err)
		assert.Equal(t, master, got[:len(master)], dst)
	}

	code, out, _ = runCLI(t, "copy", "--create", "--from", src, "--to", small, "--to", filepath.Join(dir, "other.img"))
	assert.Equal(t, 1, code, "one target failed")
	assert.Contains(t, out, "FAIL")
	assert.Contains(t, out, "target 1.04 MB < master 3.14 MB")
	assert.Contains(t, out, "1 passed, 1 failed")

	code, out, _ = runCLI(t, "verify", "--from", src, "--to", fresh)
	assert.Equal(t, 0, code, out)
	assert.Contains(t, out, "(verify)")

	code, out, _ = runCLI(t, "copy", "--delta", "--from", src, "--to", fresh)
	assert.Equal(t, 0, code, out)
	assert.Regexp(t, `1\s+\S+new.img\s+PASS\s+0 B\s+3.14 MB`, out, "a delta re-sync of an identical target writes nothing")

	corrupt, err := os.ReadFile(fresh)
	require.NoError(t, err)
	corrupt[2_000_000] ^= 0xff
	require.NoError(t, os.WriteFile(fresh, corrupt, 0o644))
	code, out, _ = runCLI(t, "verify", "--from", src, "--to", fresh)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "port 1: verify: mismatch at 2000000")
}

func TestCommandLineErrors(t *testing.T) {
	dir := t.TempDir()
	src := writeFile(t, dir, "m.img", make([]byte, 4096))
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no command", nil, 2, "usage: clonebay COMMAND"},
		{"unknown command", []string{"dance"}, 2, `unknown command "dance"`},
		{"copy without --from", []string{"copy", "--to", "x"}, 2, "--from is required"},
		{"copy without --to", []string{"copy", "--from", src}, 2, "at least one --to is required"},
		{"bad chunk", []string{"copy", "--from", src, "--to", filepath.Join(dir, "t"), "--chunk", "0"}, 2, "--chunk 0"},
		{"missing master", []string{"copy", "--from", filepath.Join(dir, "nope"), "--to", filepath.Join(dir, "t")}, 1, "master: open"},
		{"master as its own target", []string{"copy", "--from", src, "--to", src}, 1, "target " + src + " is the master itself (same storage as --from " + src + ")"},
		{"hash with --to", []string{"hash", "--from", src, "--to", src}, 2, "hash takes no --to"},
		{"unknown flag", []string{"copy", "--fast"}, 2, "flag provided but not defined"},
		{"a word that is not a flag", []string{"copy", "--from", src, "/dev/sdb", "--to", filepath.Join(dir, "t")}, 2,
			`unexpected argument "/dev/sdb": copy takes flags only`},
		{"negative retries", []string{"copy", "--from", src, "--to", src, "--retries", "-1"}, 2, "--retries -1: give 0..10 extra attempts"},
		{"endless retries", []string{"copy", "--from", src, "--to", src, "--retries", "1000000000"}, 2, "--retries 1000000000: give 0..10"},
		{"one retry too many", []string{"copy", "--from", src, "--to", src, "--retries", "11"}, 2, "--retries 11: give 0..10"},
		{"a signed percentage", []string{"copy", "--from", src, "--to", src, "--area", "+50%"}, 2, `--area "+50%": give whole, used, smart or a percentage from 1% to 100%`},
		{"a leading zero", []string{"copy", "--from", src, "--to", src, "--area", "050%"}, 2, `--area "050%"`},
		{"no percent", []string{"copy", "--from", src, "--to", src, "--area", "0%"}, 2, `--area "0%"`},
		{"over a hundred percent", []string{"copy", "--from", src, "--to", src, "--area", "101%"}, 2, `--area "101%"`},
		{"a fraction of a percent", []string{"copy", "--from", src, "--to", src, "--area", "50.5%"}, 2, `--area "50.5%"`},
		{"a bare percent sign", []string{"copy", "--from", src, "--to", src, "--area", "%"}, 2, `--area "%"`},
		{"a percentage to capture", []string{"image", "capture", "--from", src, "--name", "x", "--area", "+5%"}, 2, `--area "+5%"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tc.args...)
			assert.Equal(t, tc.code, code, "%s%s", out, errOut)
			assert.Contains(t, out+errOut, tc.want)
		})
	}
}

func TestHelpExitsZero(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"image", "-h"}, "usage: clonebay image SUBCOMMAND"},
		{[]string{"image", "--help"}, "capture"},
		{[]string{"image", "show", "-h"}, "usage: clonebay image show NAME"},
		{[]string{"log", "-h"}, "usage: clonebay log verify|show|export"},
		{[]string{"log", "export", "--help"}, "usage: clonebay log verify|show|export"},
		{[]string{"copy", "-h"}, "usage: clonebay copy"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, out, errOut := runCLI(t, tc.args...)
			assert.Equal(t, 0, code, "%s%s", out, errOut)
			assert.Contains(t, errOut, tc.want)
		})
	}
}

func TestCopyAreas(t *testing.T) {
	if _, err := exec.LookPath("sgdisk"); err != nil {
		testenv.Skip(t, "sgdisk is missing (Debian package gdisk)")
	}
	dir := t.TempDir()
	master := filepath.Join(dir, "master.img")
	require.NoError(t, os.WriteFile(master, nil, 0o644))
	require.NoError(t, os.Truncate(master, 32<<20))
	out, err := exec.Command("sgdisk", "-n", "1:2048:+8M", "-t", "1:8300", master).CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, area := range []string{"whole", "used", "smart", "50%"} {
		t.Run(area, func(t *testing.T) {
			target := writeFile(t, t.TempDir(), "t.img", nil)
			require.NoError(t, os.Truncate(target, 48<<20))
			code, out, errOut := runCLI(t, "copy", "--area", area, "--from", master, "--to", target)
			require.Equal(t, 0, code, "%s%s", out, errOut)
			if area != "50%" {
				v, err := exec.Command("sgdisk", "-v", target).CombinedOutput()
				require.NoError(t, err, "%s", v)
				assert.Contains(t, string(v), "No problems found", "the GPT was moved to the larger target's end")
				assert.NotContains(t, string(v), "ERROR", "both GPT headers check")
			}
		})
	}
	code, _, errOut := runCLI(t, "copy", "--area", "most", "--from", master, "--to", filepath.Join(dir, "x.img"))
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, `--area "most"`)
}

func TestLogCommand(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "jobs.log")
	l, _, err := record.Open(fsys.OS, logPath)
	require.NoError(t, err)
	require.NoError(t, l.Append(record.Entry{Job: "j1", Port: 2, Label: "2", Result: "PASS", TargetSerial: "AA"},
		record.Entry{Job: "j1", Port: 3, Label: "3", Result: "FAIL", Reason: "port 3: mismatch"}))
	require.NoError(t, l.Close())

	code, out, _ := runCLI(t, "log", "verify", "--log", logPath)
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "2 entries, the chain and its head verify")
	code, out, _ = runCLI(t, "log", "--log", logPath, "verify")
	assert.Equal(t, 0, code, "flags before the verb")
	assert.Contains(t, out, "2 entries, the chain and its head verify")
	code, _, errOut := runCLI(t, "log", "--log", logPath, "dance")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "log dance: give verify, show or export")

	outDir := t.TempDir()
	code, out, errOut = runCLI(t, "log", "export", "--log", logPath, "--to", outDir)
	require.Equal(t, 0, code, "%s%s", out, errOut)
	files, err := filepath.Glob(filepath.Join(outDir, "clonebay-log-*.json"))
	require.NoError(t, err)
	require.Len(t, files, 1)
	data, err := os.ReadFile(files[0])
	require.NoError(t, err)
	var back []record.Entry
	require.NoError(t, json.Unmarshal(data, &back))
	require.Len(t, back, 2)
	assert.Equal(t, "port 3: mismatch", back[1].Reason)

	raw, err := os.ReadFile(logPath)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(logPath, bytes.Replace(raw, []byte(`"FAIL"`), []byte(`"PASS"`), 1), 0o644))
	code, _, errOut = runCLI(t, "log", "verify", "--log", logPath)
	assert.Equal(t, 1, code, "an edited log does not verify")
	assert.Contains(t, errOut, "entry 2 (line 2): checksum does not match")
}

// TestLogCommandsOnADamagedLog: reading commands change nothing, mark what
// does not verify and fail.
func TestLogCommandsOnADamagedLog(t *testing.T) {
	tests := []struct {
		name   string
		damage func(raw []byte) []byte
		want   string
	}{
		{"edited entry", func(raw []byte) []byte { return bytes.Replace(raw, []byte(`"FAIL"`), []byte(`"PASS"`), 1) },
			"checksum does not match"},
		{"last job deleted", func(raw []byte) []byte {
			lines := bytes.SplitAfter(raw, []byte("\n"))
			return bytes.Join(lines[:2], nil)
		}, "entries short of its chain head"},
		{"cut mid-entry", func(raw []byte) []byte { return raw[:len(raw)-40] }, "short of its chain head"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			logPath := filepath.Join(dir, "jobs.log")
			l, _, err := record.Open(fsys.OS, logPath)
			require.NoError(t, err)
			require.NoError(t, l.Append(record.Entry{Job: "j1", Port: 2, Label: "2", Result: "PASS"},
				record.Entry{Job: "j1", Port: 3, Label: "3", Result: "FAIL", Reason: "port 3: mismatch"}))
			require.NoError(t, l.Append(record.Entry{Job: "j2", Port: 2, Label: "2", Result: "PASS"}))
			require.NoError(t, l.Close())
			raw, err := os.ReadFile(logPath)
			require.NoError(t, err)
			damaged := tt.damage(raw)
			require.NoError(t, os.WriteFile(logPath, damaged, 0o644))

			for _, args := range [][]string{
				{"log", "verify", "--log", logPath},
				{"log", "show", "--log", logPath},
				{"log", "export", "--log", logPath, "--to", t.TempDir()},
			} {
				code, _, errOut := runCLI(t, args...)
				assert.Equal(t, 1, code, "%s fails on a damaged log", args[1])
				assert.Contains(t, errOut, tt.want, args[1])
				after, err := os.ReadFile(logPath)
				require.NoError(t, err)
				assert.Equal(t, damaged, after, "%s leaves the log as it found it", args[1])
			}
		})
	}
	t.Run("marks", func(t *testing.T) {
		dir := t.TempDir()
		logPath := filepath.Join(dir, "jobs.log")
		l, _, err := record.Open(fsys.OS, logPath)
		require.NoError(t, err)
		require.NoError(t, l.Append(record.Entry{Job: "j1", Port: 2, Label: "2", Result: "FAIL"}))
		require.NoError(t, l.Close())
		raw, err := os.ReadFile(logPath)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(logPath, bytes.Replace(raw, []byte(`"FAIL"`), []byte(`"PASS"`), 1), 0o644))

		_, out, _ := runCLI(t, "log", "show", "--log", logPath)
		assert.Contains(t, out, "!    1 ")
		assert.Contains(t, out, "does not verify: entry 1 (line 1): checksum does not match")
		outDir := t.TempDir()
		code, _, _ := runCLI(t, "log", "export", "--log", logPath, "--to", outDir)
		assert.Equal(t, 1, code)
		files, err := filepath.Glob(filepath.Join(outDir, "clonebay-log-*.json"))
		require.NoError(t, err)
		require.Len(t, files, 1)
		data, err := os.ReadFile(files[0])
		require.NoError(t, err)
		var back []record.Entry
		require.NoError(t, json.Unmarshal(data, &back))
		require.Len(t, back, 1)
		assert.Contains(t, back[0].Problem, "checksum does not match")
	})
}

// TestLogExportNeedsFAT: a file or device without a FAT file system is
// named as such, and is not written.
func TestLogExportNeedsFAT(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "jobs.log")
	l, _, err := record.Open(fsys.OS, logPath)
	require.NoError(t, err)
	require.NoError(t, l.Append(record.Entry{Job: "j1", Port: 2, Label: "2", Result: "PASS"}))
	require.NoError(t, l.Close())

	blank := writeFile(t, dir, "blank.img", make([]byte, 4<<20))
	noise := writeFile(t, dir, "noise.img", randomContent(t, 4<<20))
	for _, stick := range []string{blank, noise} {
		t.Run(filepath.Base(stick), func(t *testing.T) {
			before := fileSum(t, stick)
			code, out, errOut := runCLI(t, "log", "export", "--log", logPath, "--to", stick)
			assert.Equal(t, 1, code, "%s%s", out, errOut)
			assert.Contains(t, errOut, "export to "+stick+": "+stick+" holds no FAT file system")
			assert.NotContains(t, errOut, "Cannot initialize")
			assert.Equal(t, before, fileSum(t, stick))
		})
	}

	if _, err := exec.LookPath("mkfs.vfat"); err != nil {
		testenv.Skip(t, "mkfs.vfat is missing (Debian package dosfstools)")
	}
	if _, err := exec.LookPath("mcopy"); err != nil {
		testenv.Skip(t, "mcopy is missing (Debian package mtools)")
	}
	stick := writeFile(t, dir, "stick.img", nil)
	require.NoError(t, os.Truncate(stick, 8<<20))
	out, err := exec.Command("mkfs.vfat", stick).CombinedOutput()
	require.NoError(t, err, "%s", out)
	code, stdout, errOut := runCLI(t, "log", "export", "--to", stick, "--log", logPath)
	require.Equal(t, 0, code, "%s%s", stdout, errOut)
	assert.Contains(t, stdout, "exported 1 entries to "+stick)
}
