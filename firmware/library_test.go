package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/images"
	"github.com/clonebay/clonebay/ui"
)

// TestImportFromAStick puts image files on a FAT stick with the real
// tools and imports them as the panel does: found by name, with their
// checksum files; a damaged one is refused and nothing is kept.
func TestImportFromAStick(t *testing.T) {
	for _, tool := range []string{"mkfs.vfat", "mcopy", "mdir"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is missing (Debian packages dosfstools and mtools)", tool)
		}
	}
	dir := t.TempDir()
	content := make([]byte, 3<<20)
	r := rand.New(rand.NewPCG(4, 4))
	for i := range content[:1<<20] {
		content[i] = byte(r.IntN(6))
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(content)
	zw.Close()
	put := func(stick, name string, data []byte) {
		p := filepath.Join(dir, "f")
		require.NoError(t, os.WriteFile(p, data, 0o644))
		out, err := exec.Command("mcopy", "-o", "-i", stick, p, "::"+name).CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	stick := filepath.Join(dir, "stick.img")
	require.NoError(t, os.WriteFile(stick, nil, 0o644))
	require.NoError(t, os.Truncate(stick, 32<<20))
	out, err := exec.Command("mkfs.vfat", stick).CombinedOutput()
	require.NoError(t, err, "%s", out)
	out, err = exec.Command("mmd", "-i", stick, "::/releases").CombinedOutput()
	require.NoError(t, err, "%s", out)
	sum := sha256.Sum256(gz.Bytes())
	put(stick, "/releases/Kiosk Build 7.img.gz", gz.Bytes())
	put(stick, "/releases/Kiosk Build 7.img.gz.sha256", fmt.Appendf(nil, "%x  Kiosk Build 7.img.gz\n", sum))
	put(stick, "/broken.img.gz", gz.Bytes())
	put(stick, "/broken.img.gz.sha256", fmt.Appendf(nil, "%064x  broken.img.gz\n", 1))
	put(stick, "/notes.txt", []byte("not an image"))

	all, err := listFAT(context.Background(), stick, 0)
	require.NoError(t, err)
	var found []string
	for _, f := range all {
		if imageExt.MatchString(f) {
			found = append(found, f)
		}
	}
	slices.Sort(found)
	assert.Equal(t, []string{"/broken.img.gz", "/releases/Kiosk Build 7.img.gz"}, found, "image files, not their checksums or other files")

	lib, err := images.OpenLibrary(filepath.Join(dir, "library"))
	require.NoError(t, err)
	size, err := fatSize(context.Background(), stick, 0, "/releases/Kiosk Build 7.img.gz")
	require.NoError(t, err)
	assert.Equal(t, int64(gz.Len()), size)
	m, err := importFromFAT(context.Background(), lib, stick, 0, ui.ImportFile{Port: 5, Path: "/releases/Kiosk Build 7.img.gz", Size: size}, nil)
	require.NoError(t, err)
	assert.Equal(t, "Kiosk-Build-7", m.Name)
	want := sha256.Sum256(content)
	assert.Equal(t, fmt.Sprintf("%x", want), m.SHA256)

	_, err = importFromFAT(context.Background(), lib, stick, 0, ui.ImportFile{Port: 5, Path: "/broken.img.gz", Size: int64(gz.Len())}, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the checksum file says 000000000000")
	assert.Equal(t, []string{"Kiosk-Build-7"}, lib.Names(), "the refused import left nothing")

	_, err = importFromFAT(context.Background(), lib, stick, 0, ui.ImportFile{Port: 5, Path: "/releases/Kiosk Build 7.img.gz", Size: size}, nil)
	assert.ErrorContains(t, err, "an image named Kiosk-Build-7 is already in the library")
}
