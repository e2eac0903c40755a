package cli

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestImageCommands walks the image library through the command line:
// capture, import with a checksum file, list, show, deploy with copy
// --from image:NAME, a damaged image refused with its targets untouched,
// and deletion.
func TestImageCommands(t *testing.T) {
	dir := t.TempDir()
	lib := filepath.Join(dir, "library")
	master := make([]byte, 6<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range master[:4<<20] {
		master[i] = byte(r.IntN(10))
	}
	src := writeFile(t, dir, "master.img", master)
	sum := sha256.Sum256(master)

	code, out, errOut := runCLI(t, "image", "capture", "--library", lib, "--from", src, "--name", "golden", "--area", "whole")
	require.Equal(t, 0, code, "%s%s", out, errOut)
	assert.Contains(t, out, "image golden: 6.29 MB of 6.29 MB (whole media)")
	assert.Contains(t, out, "sha256 "+hex.EncodeToString(sum[:]))

	// An .img.gz with its .sha256 next to it, found without being named.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(master)
	zw.Close()
	gzPath := writeFile(t, dir, "release-1.2.img.gz", gz.Bytes())
	gzSum := sha256.Sum256(gz.Bytes())
	writeFile(t, dir, "release-1.2.img.gz.sha256", []byte(fmt.Sprintf("%x  release-1.2.img.gz\n", gzSum)))
	code, out, errOut = runCLI(t, "image", "import", "--library", lib, gzPath)
	require.Equal(t, 0, code, "%s%s", out, errOut)
	assert.Contains(t, errOut, "checksum "+gzPath+".sha256")
	assert.Contains(t, out, "image release-1.2: 6.29 MB (whole image")

	// The same file with a checksum file that does not match.
	bad := writeFile(t, dir, "bad.sha256", []byte(fmt.Sprintf("%064x  release-1.2.img.gz\n", 7)))
	code, _, errOut = runCLI(t, "image", "import", "--library", lib, "--name", "other", "--sha256", bad, gzPath)
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "the checksum file says 000000000000")

	code, out, _ = runCLI(t, "image", "list", "--library", lib)
	require.Equal(t, 0, code)
	assert.Contains(t, out, "golden")
	assert.Contains(t, out, "release-1.2")
	assert.NotContains(t, out, "other")
	assert.Contains(t, out, "2 images,")

	code, out, _ = runCLI(t, "image", "show", "--library", lib, "golden")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "sha256    "+hex.EncodeToString(sum[:]))
	assert.Contains(t, out, "origin    "+src)

	targets := []string{filepath.Join(dir, "t1.img"), filepath.Join(dir, "t2.img")}
	code, out, errOut = runCLI(t, "copy", "--create", "--library", lib, "--from", "image:golden", "--to", targets[0], "--to", targets[1])
	require.Equal(t, 0, code, "%s%s", out, errOut)
	assert.Contains(t, out, "2 passed, 0 failed")
	for _, p := range targets {
		got, err := os.ReadFile(p)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(master, got), "%s holds the image", p)
	}
	code, _, errOut = runCLI(t, "copy", "--library", lib, "--from", "image:golden", "--area", "smart", "--to", targets[0])
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "an image is deployed with the area it was captured with (whole media)")

	// Damage the stored image; tomorrow's first deploy checks and refuses
	// it, and the targets keep what they held.
	data := filepath.Join(lib, "golden", "image.zst")
	raw, err := os.ReadFile(data)
	require.NoError(t, err)
	raw[len(raw)/3] ^= 0x04
	require.NoError(t, os.WriteFile(data, raw, 0o644))
	require.NoError(t, os.Remove(filepath.Join(lib, "golden", "checked")))
	old := bytes.Repeat([]byte{0xee}, len(master))
	for _, p := range targets {
		require.NoError(t, os.WriteFile(p, old, 0o644))
	}
	code, _, errOut = runCLI(t, "copy", "--library", lib, "--from", "image:golden", "--to", targets[0], "--to", targets[1])
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "first deploy today: checking it against its manifest")
	assert.Contains(t, errOut, "image golden: image damaged")
	assert.Contains(t, errOut, "it will not be deployed")
	for _, p := range targets {
		got, err := os.ReadFile(p)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(old, got), "%s was not written", p)
	}
	code, _, errOut = runCLI(t, "image", "verify", "--library", lib, "golden")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "image damaged")

	code, _, errOut = runCLI(t, "image", "rm", "--library", lib, "golden")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "add --yes")
	code, out, _ = runCLI(t, "image", "rm", "--library", lib, "--yes", "golden")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "image golden deleted")
	code, _, errOut = runCLI(t, "copy", "--library", lib, "--from", "image:golden", "--to", targets[0])
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, `no such image: "golden"`)
}

// TestImageFlagsAnywhere: the image subcommands take their flags before
// or after the name, as their usage lines show them.
func TestImageFlagsAnywhere(t *testing.T) {
	dir := t.TempDir()
	lib := filepath.Join(dir, "lib")
	file := writeFile(t, dir, "stick.img", randomContent(t, 1<<20))

	code, out, errOut := runCLI(t, "image", "import", file, "--name", "late", "--library", lib)
	require.Equal(t, 0, code, "%s%s", out, errOut)
	assert.Contains(t, out, "image late:")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"image", "show", "late", "--library", lib}, "name      late"},
		{[]string{"image", "verify", "late", "--library", lib}, "image late matches its manifest"},
		{[]string{"image", "list", "--library", lib}, "1 images,"},
		{[]string{"image", "rm", "late", "--yes", "--library", lib}, "image late deleted"},
	} {
		t.Run(strings.Join(tc.args[:2], " "), func(t *testing.T) {
			code, out, errOut := runCLI(t, tc.args...)
			require.Equal(t, 0, code, "%s%s", out, errOut)
			assert.Contains(t, out, tc.want)
		})
	}
	code, _, errOut = runCLI(t, "image", "show", "a", "b", "--library", lib)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "image show takes one image name (got 2: a b)")
	code, _, errOut = runCLI(t, "image", "list", "extra", "--library", lib)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, `unexpected argument "extra"`)
}

// TestImageIsNeverItsOwnTarget: the tester's case, deploying an image
// onto its own data file.
func TestImageIsNeverItsOwnTarget(t *testing.T) {
	dir := t.TempDir()
	lib := filepath.Join(dir, "lib")
	file := writeFile(t, dir, "rnd.img", randomContent(t, 1<<20))
	code, out, errOut := runCLI(t, "image", "import", "--library", lib, file)
	require.Equal(t, 0, code, "%s%s", out, errOut)
	data := filepath.Join(lib, "rnd", "image.zst")
	link := filepath.Join(dir, "link.zst")
	require.NoError(t, os.Link(data, link))
	before := fileSum(t, data)
	for _, target := range []string{data, link} {
		code, out, errOut = runCLI(t, "copy", "--library", lib, "--from", "image:rnd", "--to", target)
		assert.Equal(t, 1, code, "%s%s", out, errOut)
		assert.Contains(t, errOut, "target "+target+": refused: it is a file of the image library "+lib+", which a job never writes")
		assert.NotContains(t, out, "PASS")
	}
	assert.Equal(t, before, fileSum(t, data))
	code, out, errOut = runCLI(t, "image", "verify", "rnd", "--library", lib)
	assert.Equal(t, 0, code, "%s%s", out, errOut)
}
