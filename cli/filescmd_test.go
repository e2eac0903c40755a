//go:build linux

package cli

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/engine/fatfs"
	"github.com/clonebay/clonebay/fileset"
	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/record"
)

func sparse(t *testing.T, dir, name string, size int64) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, nil, 0o644))
	require.NoError(t, os.Truncate(p, size))
	return p
}

func TestFilesCommands(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "Promo")
	require.NoError(t, os.MkdirAll(filepath.Join(src, "videos"), 0o755))
	writeFile(t, src, "README.TXT", []byte("read me"))
	writeFile(t, filepath.Join(src, "videos"), "clip one.mp4", make([]byte, 300_000))
	lib := filepath.Join(dir, "images")
	good := sparse(t, dir, "good.img", 64<<20)
	small := sparse(t, dir, "small.img", 10<<20)
	jobs := filepath.Join(dir, "jobs.log")
	goodLink := filepath.Join(dir, "good-link.img")
	require.NoError(t, os.Link(good, goodLink))

	for _, tc := range []struct {
		name string
		args []string
		code int
		out  string // in stdout and stderr
	}{
		{"import a folder, flags after it", []string{"image", "import-files", src, "--name", "promo", "--library", lib}, 0, "file set promo: 2 files in 1 folders"},
		{"the set is listed", []string{"image", "sets", "--library", lib}, 0, "promo  2"},
		{"the same name twice", []string{"image", "import-files", src, "--name", "promo", "--library", lib}, 1, "already exists"},
		{"a bad set name", []string{"image", "import-files", src, "--name", "-x", "--library", lib}, 2, "file set name"},
		{"no --yes", []string{"files", "--from", "set:promo", "--to", good, "--library", lib}, 2, "add --yes to confirm"},
		{"a file system not made", []string{"files", "--from", "set:promo", "--to", good, "--fs", "ntfs", "--yes", "--library", lib}, 2, `--fs "ntfs"`},
		{"a label FAT cannot hold", []string{"files", "--from", "set:promo", "--to", good, "--label", "BAD:LABEL", "--yes", "--library", lib}, 2,
			`--label: a volume label the file system cannot hold: "BAD:LABEL" holds ':'`},
		{"a set that is not there", []string{"files", "--from", "set:nope", "--to", good, "--yes", "--library", lib}, 1, "no such file set"},
		{"one target passes, one is too small", []string{"files", "--from", "set:promo", "--to", good, "--to", small, "--yes", "--library", lib}, 1, "1 of 2 targets did not pass"},
		{"a lot needs a record", []string{"files", "--from", "set:promo", "--to", good, "--yes", "--library", lib, "--lot", "A17"}, 2, "--lot A17 needs --record FILE"},
		{"recorded for a lot", []string{"files", "--from", "set:promo", "--to", good, "--to", small, "--yes", "--library", lib,
			"--record", jobs, "--lot", "A17"}, 1, "1 of 2 targets did not pass"},
		{"straight from the folder", []string{"files", "--from", src, "--to", good, "--label", "promo", "--yes", "--library", lib}, 0, "1 passed, 0 failed"},
		// good now holds a FAT volume: a master of its own.
		{"the master's volume as a target, through a hard link", []string{"files", "--from", good, "--to", goodLink, "--yes", "--library", lib}, 1,
			"target " + goodLink + " is the master itself (same storage as --from " + good + ")"},
		{"the master's volume as the record", []string{"files", "--from", good, "--to", small, "--yes", "--library", lib, "--record", goodLink}, 1,
			"record " + goodLink + ": refused: it is a drive of this job (" + good + ")"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tc.args...)
			assert.Equal(t, tc.code, code, "%s%s", out, errOut)
			assert.Contains(t, out+errOut, tc.out)
		})
	}

	rep, err := record.Read(fsys.OS, jobs)
	require.NoError(t, err)
	require.Len(t, rep.Entries, 2, "one entry a target")
	for i, want := range []struct{ result, fs string }{{"PASS", "FAT32"}, {"FAIL", ""}} {
		e := rep.Entries[i]
		assert.Equal(t, "A17", e.Lot)
		assert.Equal(t, "files", e.Mode)
		assert.Equal(t, "set", e.MasterKind)
		assert.Equal(t, "promo", e.MasterName)
		assert.Equal(t, want.result, e.Result)
		assert.Equal(t, want.fs, e.FileSystem)
		assert.Equal(t, 2, e.Files)
	}

	f, err := os.Open(good)
	require.NoError(t, err)
	defer f.Close()
	vol, err := fileset.OpenVolume(f, 64<<20, 512)
	require.NoError(t, err)
	assert.Equal(t, fatfs.FAT32, vol.Kind())
	assert.Equal(t, "PROMO", vol.Label())
	require.NoError(t, vol.Check())
	st, err := vol.Stat("videos/clip one.mp4")
	require.NoError(t, err)
	assert.Equal(t, int64(300_000), st.Size())

	bad := filepath.Join(dir, "bad")
	require.NoError(t, os.MkdirAll(bad, 0o755))
	writeFile(t, bad, "what?.txt", nil)
	require.NoError(t, os.Symlink("what?.txt", filepath.Join(bad, "link")))
	code, _, errOut := runCLI(t, "image", "import-files", bad, "--library", lib)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, filepath.Join(bad, "what?.txt")+": the name holds '?'")
	assert.Contains(t, errOut, filepath.Join(bad, "link")+": a symbolic link")
	assert.Contains(t, errOut, "2 paths cannot go onto FAT32 or exFAT; nothing was stored")
}
