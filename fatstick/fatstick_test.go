package fatstick_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/fatstick"
	"github.com/clonebay/clonebay/internal/testenv"
	"github.com/clonebay/clonebay/record"
)

// needTools skips (or in CI fails) without mkfs.vfat and mtools.
func needTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"mkfs.vfat", "mcopy", "mdir", "mmd"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Skip(t, "%s is missing (Debian packages dosfstools and mtools)", tool)
		}
	}
}

// stick makes a FAT stick image of size bytes, formatted by mkfs.vfat.
func stick(t *testing.T, dir, name string, size int64) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, nil, 0o644))
	require.NoError(t, os.Truncate(p, size))
	out, err := exec.Command("mkfs.vfat", p).CombinedOutput()
	require.NoError(t, err, "%s", out)
	return p
}

func TestFind(t *testing.T) {
	needTools(t)
	dir := t.TempDir()
	s := stick(t, dir, "stick.img", 8<<20)
	f, err := os.Open(s)
	require.NoError(t, err)
	defer f.Close()
	off, err := fatstick.Find(f, 8<<20, 512)
	require.NoError(t, err)
	assert.Zero(t, off, "a stick formatted whole")

	blank := filepath.Join(dir, "blank.img")
	require.NoError(t, os.WriteFile(blank, make([]byte, 1<<20), 0o644))
	g, err := os.Open(blank)
	require.NoError(t, err)
	defer g.Close()
	_, err = fatstick.Find(g, 1<<20, 512)
	assert.ErrorIs(t, err, fatstick.ErrNoFAT)
}

func TestListSizeAndRead(t *testing.T) {
	needTools(t)
	dir := t.TempDir()
	s := stick(t, dir, "stick.img", 8<<20)
	out, err := exec.Command("mmd", "-i", s, "::/releases").CombinedOutput()
	require.NoError(t, err, "%s", out)
	src := filepath.Join(dir, "f")
	require.NoError(t, os.WriteFile(src, []byte("twelve bytes"), 0o644))
	out, err = exec.Command("mcopy", "-i", s, src, "::/releases/Build 7.img").CombinedOutput()
	require.NoError(t, err, "%s", out)

	ctx := context.Background()
	all, err := fatstick.List(ctx, s, 0)
	require.NoError(t, err)
	slices.Sort(all)
	assert.Equal(t, []string{"/releases/", "/releases/Build 7.img"}, all)
	size, err := fatstick.Size(ctx, s, 0, "/releases/Build 7.img")
	require.NoError(t, err)
	assert.Equal(t, int64(12), size)
	data, err := fatstick.ReadFile(ctx, s, 0, "/releases/Build 7.img")
	require.NoError(t, err)
	assert.Equal(t, "twelve bytes", string(data))
	_, err = fatstick.ReadFile(ctx, s, 0, "/missing.img")
	assert.Error(t, err, "a missing file is an error, not an empty one")
}

func TestExport(t *testing.T) {
	needTools(t)
	dir := t.TempDir()
	entries := []record.Entry{{Job: "j1", Port: 2, Result: "PASS", TargetSerial: "A1"},
		{Job: "j1", Port: 3, Result: "FAIL", Reason: "port 3: write at 4096: input/output error"}}
	s := stick(t, dir, "stick.img", 8<<20)
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	n, err := fatstick.Export(context.Background(), s, 0, entries, now, fatstick.File{Name: "lot-Order 17.csv", Data: []byte("lot,Order 17\n")})
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	names, err := fatstick.List(context.Background(), s, 0)
	require.NoError(t, err)
	assert.Contains(t, names, "/lot-Order 17.csv", "a report goes beside the record, under its long name")
	got := filepath.Join(dir, "back.csv")
	out, err := exec.Command("mcopy", "-i", s, "::clonebay-log-20261122-120000.csv", got).CombinedOutput()
	require.NoError(t, err, "%s", out)
	data, err := os.ReadFile(got)
	require.NoError(t, err)
	assert.Contains(t, string(data), "port 3: write at 4096: input/output error")
	assert.Equal(t, 3, strings.Count(string(data), "\n"), "a header and two entries")

	tiny := stick(t, dir, "tiny.img", 200<<10)
	big := make([]record.Entry, 3000)
	for i := range big {
		big[i] = record.Entry{Job: "j", Port: 2, Result: "PASS", Reason: strings.Repeat("x", 100)}
	}
	_, err = fatstick.Export(context.Background(), tiny, 0, big, now)
	assert.ErrorIs(t, err, fatstick.ErrFull, "a full stick says so")
}
