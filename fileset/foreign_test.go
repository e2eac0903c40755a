//go:build linux

package fileset_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/fileset"
	"github.com/clonebay/clonebay/internal/looptest"
	"github.com/clonebay/clonebay/internal/testenv"
)

// stickImage makes a 70 MiB stick image: an MBR whose one partition, at
// 1 MiB, holds the file system part.
func stickImage(t *testing.T, dir string, part string, typ string) string {
	t.Helper()
	img := filepath.Join(dir, "stick.img")
	require.NoError(t, os.WriteFile(img, nil, 0o644))
	require.NoError(t, os.Truncate(img, 70<<20))
	sh(t, "dd", "if="+part, "of="+img, "bs=1M", "seek=1", "conv=notrunc", "status=none")
	cmd := exec.Command("sfdisk", "-q", img)
	cmd.Stdin = strings.NewReader("start=2048, size=131072, type=" + typ + "\n")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	return img
}

func sh(t *testing.T, name string, args ...string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		testenv.Skip(t, "%s is missing", name)
	}
	out, err := exec.Command(name, args...).CombinedOutput()
	require.NoError(t, err, "%s %v: %s", name, args, out)
}

// TestSetFromAnExt4OrNTFSStick: a stick a Linux or a Windows machine
// formatted is read through its own file system's tools, without a
// kernel mount, and stored as a set equal to what was put on it; the
// file systems' own folders are not part of it.
func TestSetFromAnExt4OrNTFSStick(t *testing.T) {
	src, sums := sourceTree(t)
	for _, tc := range []struct {
		kind string
		make func(t *testing.T, dir string) string // the stick image
	}{
		{"ext4", func(t *testing.T, dir string) string {
			part := filepath.Join(dir, "part.img")
			require.NoError(t, os.WriteFile(part, nil, 0o644))
			require.NoError(t, os.Truncate(part, 64<<20))
			sh(t, "mkfs.ext4", "-q", "-d", src, "-L", "COURSE", part)
			return stickImage(t, dir, part, "83")
		}},
		{"NTFS", func(t *testing.T, dir string) string {
			looptest.Require(t)
			part := filepath.Join(dir, "part.img")
			require.NoError(t, os.WriteFile(part, nil, 0o644))
			require.NoError(t, os.Truncate(part, 64<<20))
			sh(t, "mkntfs", "-q", "-F", "-f", "-L", "COURSE", part)
			dev := looptest.AttachFile(t, part)
			mnt := t.TempDir()
			sh(t, "ntfs-3g", dev.Node, mnt)
			sh(t, "cp", "-r", src+"/.", mnt)
			require.NoError(t, os.MkdirAll(filepath.Join(mnt, "System Volume Information"), 0o755))
			sh(t, "umount", mnt)
			looptest.Detach(t, dev.Node)
			return stickImage(t, dir, part, "7")
		}},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			dir := t.TempDir()
			img := tc.make(t, dir)
			lib, err := fileset.OpenLibrary(filepath.Join(dir, "images"))
			require.NoError(t, err)
			f, err := os.Open(img)
			require.NoError(t, err)
			defer f.Close()
			st, err := f.Stat()
			require.NoError(t, err)

			vol, err := fileset.OpenForeign(context.Background(), img, f, st.Size(), 512, lib.Dir)
			require.NoError(t, err)
			assert.Equal(t, tc.kind, vol.Kind)
			m, err := lib.Import(context.Background(), "course", vol, "a stick", nil)
			require.NoError(t, vol.Close())
			require.NoError(t, err)

			got := map[string]string{}
			for _, e := range m.Entries {
				if !e.Dir {
					got[e.Path] = e.SHA256
				}
			}
			assert.Equal(t, sums, got, "every file, and nothing of the file system's own")
			left, err := filepath.Glob(filepath.Join(lib.Dir, ".ext-*"))
			require.NoError(t, err)
			assert.Empty(t, left, "the copied tree is gone")
		})
	}

	t.Run("no file system", func(t *testing.T) {
		img := filepath.Join(t.TempDir(), "blank.img")
		require.NoError(t, os.WriteFile(img, make([]byte, 4<<20), 0o644))
		f, err := os.Open(img)
		require.NoError(t, err)
		defer f.Close()
		_, err = fileset.OpenForeign(context.Background(), img, f, 4<<20, 512, t.TempDir())
		assert.ErrorIs(t, err, fileset.ErrNoFileSystem)
		assert.ErrorContains(t, err, img)
	})
}
