//go:build linux

package fileset_test

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/fileset"
)

func TestScanRefusesWhatFATCannotHoldAndNamesEveryPath(t *testing.T) {
	dir := t.TempDir()
	write := func(p string) {
		full := filepath.Join(dir, filepath.FromSlash(p))
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		require.NoError(t, os.WriteFile(full, []byte("x"), 0o644))
	}
	write("good/fine.txt")
	for _, c := range []string{":", "?", "*", "<", ">", "|", `"`, `\`} {
		write("bad/a" + c + "b.txt")
	}
	write("bad/bell\a.txt")
	write("bad/trailing dot.")
	write("bad/trailing space ")
	write("case/Readme.TXT")
	write("case/README.txt")
	require.NoError(t, os.Symlink("good/fine.txt", filepath.Join(dir, "link")))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644))
	sock, err := net.Listen("unix", filepath.Join(dir, "sock"))
	require.NoError(t, err)
	defer sock.Close()

	_, err = fileset.Scan(context.Background(), os.DirFS(dir))
	var pe *fileset.ProblemsError
	require.ErrorAs(t, err, &pe)
	assert.ErrorIs(t, err, fileset.ErrSource)
	got := map[string]string{}
	for _, p := range pe.Problems {
		got[p.Path] = p.Reason
	}
	for _, c := range []string{":", "?", "*", "<", ">", "|", `"`, `\`} {
		assert.Contains(t, got["bad/a"+c+"b.txt"], "the name holds", c)
	}
	assert.Contains(t, got["bad/bell\a.txt"], "control character")
	assert.Contains(t, got["bad/trailing dot."], "ends with a dot")
	assert.Contains(t, got["bad/trailing space "], "ends with a space")
	assert.Contains(t, got["case/Readme.TXT"], `the same name as "README.txt" once case is ignored`)
	assert.Contains(t, got["link"], "a symbolic link")
	assert.Contains(t, got["pipe"], "a named pipe")
	assert.Contains(t, got["sock"], "a socket")
	assert.Len(t, pe.Problems, 15, "every bad path, and nothing else")

	lib, err := fileset.OpenLibrary(t.TempDir())
	require.NoError(t, err)
	_, err = lib.Import(context.Background(), "bad", os.DirFS(dir), dir, nil)
	require.ErrorAs(t, err, &pe)
	list, err := lib.List()
	require.NoError(t, err)
	assert.Empty(t, list, "nothing stored")
}

func TestAnEmptySetIsRefused(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "only", "folders"), 0o755))
	_, err := fileset.Scan(context.Background(), os.DirFS(dir))
	assert.ErrorIs(t, err, fileset.ErrEmpty)
}

// changing is a folder whose files change while they are read: hook runs
// when the file named at is opened.
type changing struct {
	fs.FS
	at   string
	hook func()
}

func (c changing) Open(name string) (fs.File, error) {
	f, err := c.FS.Open(name)
	if err == nil && name == c.at && c.hook != nil {
		c.hook()
	}
	return f, err
}

func TestASourceThatChangesWhileTheSetIsBuiltIsCaught(t *testing.T) {
	for _, tc := range []struct {
		name string
		hook func(dir string)
		want string
	}{
		{"a file grows while it is read", func(dir string) {
			f, _ := os.OpenFile(filepath.Join(dir, "b.txt"), os.O_APPEND|os.O_WRONLY, 0)
			f.WriteString("more")
			f.Close()
		}, "b.txt: now 9 bytes"},
		{"a file already stored is rewritten", func(dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "a.txt"), []byte("HELLO!"), 0o644))
		}, "a.txt changed"},
		{"a file is added", func(dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "c.txt"), []byte("new"), 0o644))
		}, "c.txt was added"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, "a.txt"), []byte("hello"), 0o644))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "b.txt"), []byte("world"), 0o644))
			src := changing{FS: os.DirFS(dir), at: "b.txt", hook: func() { tc.hook(dir) }}
			lib, err := fileset.OpenLibrary(t.TempDir())
			require.NoError(t, err)
			_, err = lib.Import(context.Background(), "s", src, dir, nil)
			require.ErrorIs(t, err, fileset.ErrChanged)
			assert.Contains(t, err.Error(), tc.want)
			list, err := lib.List()
			require.NoError(t, err)
			assert.Empty(t, list, "nothing stored")
			left, err := os.ReadDir(lib.Dir)
			require.NoError(t, err)
			assert.Empty(t, left, "no partial folder left")

			_, err = fileset.Hash(context.Background(), changing{FS: os.DirFS(dir), at: "b.txt", hook: func() { tc.hook(dir) }}, dir, nil)
			assert.True(t, errors.Is(err, fileset.ErrChanged) || err == nil, "hashing in place catches it too: %v", err)
		})
	}
}
