//go:build linux

package fatfs_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/engine/fatfs"
	"github.com/clonebay/clonebay/internal/imgtest"
	"github.com/clonebay/clonebay/internal/looptest"
)

// tree is a set of files to lay into a volume: nested folders, Unicode
// and long names, names that only a numeric tail tells apart, 8.3 names
// in both cases, an empty file, and a folder of many entries that spans
// several clusters.
func tree(seed uint64) ([]fatfs.Node, map[string][]byte) {
	r := rand.New(rand.NewPCG(seed, 7))
	mod := time.Date(2024, 5, 17, 13, 45, 10, 0, time.UTC)
	files := map[string][]byte{}
	var nodes []fatfs.Node
	dir := func(p string) { nodes = append(nodes, fatfs.Node{Path: p, Dir: true, ModTime: mod}) }
	file := func(p string, n int) {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		files[p] = b
		nodes = append(nodes, fatfs.Node{Path: p, Size: int64(n), ModTime: mod.Add(time.Duration(len(nodes)) * time.Second)})
	}
	file("README.TXT", 1200)
	file("readme2.txt", 0)
	file("Mixed Case Name.pdf", 70_000)
	file("Long File Name 1.txt", 10)
	file("Long File Name 2.txt", 20)
	dir("docs")
	file("docs/Übersicht – Handbuch.pdf", 33_000)
	file("docs/日本語のファイル.txt", 5_000)
	dir("docs/deep")
	dir("docs/deep/er")
	file("docs/deep/er/"+strings.Repeat("a very long name ", 14)+"end.bin", 4097)
	dir("many")
	for i := range 150 {
		file(fmt.Sprintf("many/track %03d.mp3", i), r.IntN(9000))
	}
	dir("empty folder")
	return nodes, files
}

// format makes a freshly formatted volume of size bytes with the real
// tool.
func format(t *testing.T, kind string, size int64, extra ...string) string {
	t.Helper()
	img := filepath.Join(t.TempDir(), kind+".img")
	imgtest.Sparse(t, img, size)
	switch kind {
	case "fat32":
		imgtest.Need(t, "mkfs.fat", "fsck.vfat", "mcopy")
		imgtest.Run(t, "mkfs.fat", append(append([]string{"-F", "32", "-s", "1", "-n", "CLONEBAY", "--mbr=n"}, extra...), img)...)
	case "exfat":
		imgtest.Need(t, "mkfs.exfat", "fsck.exfat")
		imgtest.Run(t, "mkfs.exfat", append(append([]string{"-c", "4K", "-L", "Clonebay"}, extra...), img)...)
	}
	return img
}

// fill populates the volume and writes every file's bytes where the
// layout puts them.
func fill(t *testing.T, img string, nodes []fatfs.Node, files map[string][]byte) *fatfs.Layout {
	t.Helper()
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	st, err := f.Stat()
	require.NoError(t, err)
	lay, err := fatfs.Populate(f, st.Size(), nodes, fatfs.PopulateOptions{PartitionOffset: 8192})
	require.NoError(t, err)
	for _, p := range lay.Files {
		_, err := f.WriteAt(files[p.Path], p.Off)
		require.NoError(t, err)
	}
	return lay
}

func TestPopulateMakesAVolumeTheRealToolsAccept(t *testing.T) {
	for _, kind := range []string{"fat32", "exfat"} {
		t.Run(kind, func(t *testing.T) {
			nodes, files := tree(1)
			img := format(t, kind, 64<<20)
			lay := fill(t, img, nodes, files)
			assert.Len(t, lay.Files, len(files))
			assert.Less(t, lay.Meta.End(), lay.Files[0].Off+1, "the structures lie before the first file's data")

			imgtest.Check(t, kind, img)
			got := readWithTools(t, kind, img)
			assert.Equal(t, len(files), len(got), "the tools see every file")
			for p, want := range files {
				assert.True(t, bytes.Equal(want, got[p]), "%s: the tools read other bytes", p)
			}

			v := openImage(t, img)
			require.NoError(t, v.Check())
			assert.Equal(t, map[string]string{"fat32": "CLONEBAY", "exfat": "Clonebay"}[kind], v.Label())
			for p, want := range files {
				b, err := fs.ReadFile(v, p)
				require.NoError(t, err, p)
				assert.True(t, bytes.Equal(want, b), "%s: the reader reads other bytes", p)
			}
			st, err := fs.Stat(v, "docs/deep/er")
			require.NoError(t, err)
			assert.True(t, st.IsDir())
			fi, err := fs.Stat(v, "README.TXT")
			require.NoError(t, err)
			assert.Equal(t, time.Date(2024, 5, 17, 13, 45, 10, 0, time.UTC), fi.ModTime().UTC())
		})
	}
}

// TestWalk: one pass over the volume sees what the fs.FS view and
// FileExtents see, folders before what they hold.
func TestWalk(t *testing.T) {
	for _, kind := range []string{"fat32", "exfat"} {
		t.Run(kind, func(t *testing.T) {
			nodes, files := tree(2)
			img := format(t, kind, 64<<20)
			fill(t, img, nodes, files)
			v := openImage(t, img)

			type seen struct {
				dir  bool
				size int64
				ex   []fatfs.Extent
			}
			want := map[string]seen{}
			require.NoError(t, fs.WalkDir(v, ".", func(p string, d fs.DirEntry, err error) error {
				require.NoError(t, err)
				if p == "." {
					return nil
				}
				info, err := d.Info()
				require.NoError(t, err)
				s := seen{dir: d.IsDir()}
				if !s.dir {
					s.size = info.Size()
					s.ex, err = v.FileExtents(p)
					require.NoError(t, err)
				}
				want[p] = s
				return nil
			}))
			got := map[string]seen{}
			require.NoError(t, v.Walk(func(p string, dir bool, size int64, ex []fatfs.Extent) error {
				if parent := path.Dir(p); parent != "." {
					assert.Contains(t, got, parent, "%s comes after its folder", p)
				}
				got[p] = seen{dir, size, ex}
				return nil
			}))
			assert.Equal(t, want, got)
			assert.Len(t, files, func() (n int) {
				for _, s := range got {
					if !s.dir {
						n++
					}
				}
				return n
			}())

			stop := errors.New("enough")
			calls := 0
			assert.ErrorIs(t, v.Walk(func(string, bool, int64, []fatfs.Extent) error { calls++; return stop }), stop)
			assert.Equal(t, 1, calls, "the walk stops at the first error")
		})
	}
}

func TestVolumeIsAnFS(t *testing.T) {
	for _, kind := range []string{"fat32", "exfat"} {
		t.Run(kind, func(t *testing.T) {
			mod := time.Date(2023, 1, 2, 3, 4, 6, 0, time.UTC)
			nodes := []fatfs.Node{
				{Path: "a.txt", Size: 3, ModTime: mod},
				{Path: "sub", Dir: true, ModTime: mod},
				{Path: "sub/Ünïcödé name.bin", Size: 5000, ModTime: mod},
				{Path: "sub/empty", Size: 0, ModTime: mod},
			}
			files := map[string][]byte{"a.txt": []byte("abc"), "sub/Ünïcödé name.bin": bytes.Repeat([]byte("x"), 5000), "sub/empty": nil}
			img := format(t, kind, 40<<20)
			fill(t, img, nodes, files)
			require.NoError(t, fstest.TestFS(openImage(t, img), "a.txt", "sub/Ünïcödé name.bin", "sub/empty"))
		})
	}
}

func openImage(t *testing.T, img string) *fatfs.Volume {
	t.Helper()
	f, err := os.Open(img)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	st, err := f.Stat()
	require.NoError(t, err)
	v, err := fatfs.Open(f, 0, st.Size())
	require.NoError(t, err)
	return v
}

// readWithTools reads every file back with mtools or exfat-fuse, not with
// this package.
func readWithTools(t *testing.T, kind, img string) map[string][]byte {
	t.Helper()
	dst := t.TempDir()
	switch kind {
	case "fat32":
		imgtest.Run(t, "mcopy", "-s", "-n", "-i", img, "::/", dst)
	case "exfat":
		imgtest.Need(t, "mount.exfat-fuse", "fusermount")
		loop := looptest.AttachFile(t, img)
		mnt := t.TempDir()
		imgtest.Run(t, "mount.exfat-fuse", "-o", "ro", loop.Node, mnt)
		defer exec.Command("fusermount", "-u", mnt).Run()
		imgtest.Run(t, "cp", "-a", mnt+"/.", dst)
	}
	out := map[string][]byte{}
	require.NoError(t, filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dst, p)
		out[filepath.ToSlash(rel)] = b
		return err
	}))
	return out
}

// TestParallelReadAt: a file's ReadAt may be called in parallel, as
// io.ReaderAt allows: the builds of a file duplication read one set file
// at the same time.
func TestParallelReadAt(t *testing.T) {
	nodes, files := tree(4)
	img := format(t, "fat32", 40<<20)
	fill(t, img, nodes, files)
	f, err := openImage(t, img).Open("Mixed Case Name.pdf")
	require.NoError(t, err)
	ra := f.(io.ReaderAt)
	want := files["Mixed Case Name.pdf"]
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			off := int64(i * 8000)
			got := make([]byte, 5000)
			_, err := ra.ReadAt(got, off)
			assert.NoError(t, err)
			assert.Equal(t, want[off:off+5000], got)
		})
	}
	wg.Wait()
}
