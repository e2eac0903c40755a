//go:build linux

package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/hal/blockdev"
	"github.com/clonebay/clonebay/internal/looptest"
	"github.com/clonebay/clonebay/internal/testenv"
)

// attachLoop attaches a free loop device with losetup's options and
// detaches it when the test ends.
func attachLoop(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("losetup", append([]string{"--find", "--show"}, args...)...).CombinedOutput()
	require.NoError(t, err, "losetup %v: %s", args, out)
	node := strings.TrimSpace(string(out))
	t.Cleanup(func() { looptest.Detach(t, node) })
	return node
}

// TestTargetRulesOnFiles: a target is refused when it is the master, or
// another target, under another name; when it is a file of the image
// library; when it does not exist and --create was not given; and
// --create never makes a file in /dev. Nothing refused is written.
func TestTargetRulesOnFiles(t *testing.T) {
	dir := t.TempDir()
	master := writeFile(t, dir, "master.img", randomContent(t, MiB))
	hardlink := filepath.Join(dir, "hardlink.img")
	require.NoError(t, os.Link(master, hardlink))
	symlink := filepath.Join(dir, "symlink.img")
	require.NoError(t, os.Symlink(master, symlink))
	target := writeFile(t, dir, "target.img", make([]byte, MiB))
	targetLink := filepath.Join(dir, "target-link.img")
	require.NoError(t, os.Link(target, targetLink))
	lib := filepath.Join(dir, "library")
	require.NoError(t, os.MkdirAll(filepath.Join(lib, "golden"), 0o755))
	stored := writeFile(t, filepath.Join(lib, "golden"), "image.zst", []byte("an image"))
	writeFile(t, filepath.Join(lib, "golden"), "manifest.json", []byte("{}"))
	set := filepath.Join(lib, ".sets", "docs")
	require.NoError(t, os.MkdirAll(filepath.Join(set, "files"), 0o755))
	writeFile(t, set, "manifest.json", []byte("{}"))
	require.NoError(t, os.MkdirAll(filepath.Join(set, "files", "manuals", "2026"), 0o755))
	setFile := writeFile(t, filepath.Join(set, "files", "manuals", "2026"), "manual.pdf", []byte("a stored file"))
	files := filepath.Join(dir, "files")
	require.NoError(t, os.Mkdir(files, 0o755))
	writeFile(t, files, "readme.txt", []byte("a file set"))
	missing := filepath.Join(dir, "missing.img")
	noDevice := "/dev/clonebay-no-such-disk"
	t.Cleanup(func() {
		// Should the rule ever break, leave no file in /dev behind.
		if st, err := os.Lstat(noDevice); err == nil && st.Mode().IsRegular() {
			os.Remove(noDevice)
		}
	})

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"the master through a hard link", []string{"copy", "--from", master, "--to", hardlink},
			"target " + hardlink + " is the master itself (same storage as --from " + master + ")"},
		{"the master through a symbolic link", []string{"verify", "--from", master, "--to", symlink},
			"target " + symlink + " is the master itself (same storage as --from " + master + ")"},
		{"one target twice", []string{"copy", "--from", master, "--to", target, "--to", targetLink},
			"target " + targetLink + " is given twice (same storage as " + target + ")"},
		{"one target twice in an erase", []string{"erase", "--yes", "--to", target, "--to", targetLink},
			"target " + targetLink + " is given twice (same storage as " + target + ")"},
		{"a file of the image library", []string{"copy", "--library", lib, "--from", master, "--to", stored},
			"target " + stored + ": refused: it is a file of the image library " + lib + ", which a job never writes"},
		{"a file of the image library, in a file duplication", []string{"files", "--yes", "--library", lib, "--from", files, "--to", stored},
			"target " + stored + ": refused: it is a file of the image library " + lib + ", which a job never writes"},
		{"a stored image of a library not given", []string{"erase", "--yes", "--to", stored},
			"target " + stored + ": refused: it lies in " + filepath.Join(lib, "golden") + ", the folder of a stored image or file set"},
		{"a file deep in a stored file set of a library not given", []string{"copy", "--from", master, "--to", setFile},
			"target " + setFile + ": refused: it lies in " + set + ", the folder of a stored image or file set"},
		{"a missing target", []string{"copy", "--from", master, "--to", missing},
			"target " + missing + ": no such device or file; to make a new image file give --create"},
		{"a mistyped device", []string{"copy", "--from", master, "--to", noDevice},
			"target " + noDevice + ": no such device or file; to make a new image file give --create"},
		{"a new file in /dev", []string{"copy", "--create", "--from", master, "--to", noDevice},
			"target " + noDevice + ": refused: --create makes image files, never under /dev"},
		{"a missing target to verify", []string{"verify", "--from", master, "--to", missing},
			"target " + missing + ": no such device or file"},
		{"a missing target to erase", []string{"erase", "--yes", "--to", missing},
			"target " + missing + ": no such device or file"},
		{"a new file with a refused one", []string{"copy", "--create", "--from", master, "--to", missing, "--to", hardlink},
			"is the master itself"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := map[string][32]byte{master: fileSum(t, master), target: fileSum(t, target), stored: fileSum(t, stored), setFile: fileSum(t, setFile)}
			code, out, errOut := runCLI(t, tc.args...)
			assert.Equal(t, 1, code, "%s%s", out, errOut)
			assert.Contains(t, errOut, tc.want)
			assert.NotContains(t, out, "PASS")
			for p, sum := range before {
				assert.Equal(t, sum, fileSum(t, p), "%s is unchanged", p)
			}
			assert.NoFileExists(t, missing, "a refused job leaves no new file behind")
			assert.NoFileExists(t, noDevice)
		})
	}
}

// TestCreateMakesTheAreaSize: --create makes a target file as large as
// what the job copies, not as large as the master.
func TestCreateMakesTheAreaSize(t *testing.T) {
	dir := t.TempDir()
	content := randomContent(t, 4*MiB)
	master := writeFile(t, dir, "master.img", content)
	for _, tc := range []struct {
		area string
		size int64
	}{
		{"whole", 4 * MiB},
		{"50%", 2 * MiB},
		{"1%", 45056}, // 41943 bytes, rounded up to whole 4 KiB blocks
	} {
		t.Run(tc.area, func(t *testing.T) {
			fresh := filepath.Join(t.TempDir(), "new.img")
			code, out, errOut := runCLI(t, "copy", "--create", "--area", tc.area, "--from", master, "--to", fresh)
			require.Equal(t, 0, code, "%s%s", out, errOut)
			got, err := os.ReadFile(fresh)
			require.NoError(t, err)
			assert.Equal(t, tc.size, int64(len(got)))
			assert.Equal(t, content[:tc.size], got)
		})
	}
}

// TestBusyFiles: a file another job writes is refused as a master and as
// a target; one another job reads is refused as a target. The other job
// is an open drive: file locks belong to an open file, so two opens in
// one process meet as two processes do.
func TestBusyFiles(t *testing.T) {
	dir := t.TempDir()
	master := writeFile(t, dir, "master.img", randomContent(t, MiB))
	other := writeFile(t, dir, "other.img", make([]byte, MiB))
	for _, tc := range []struct {
		name string
		hold func(string) (*blockdev.Drive, error)
		held string
		args []string
		want string // the error; empty: the job passes
	}{
		{"a target another job writes", blockdev.OpenWrite, other, []string{"copy", "--from", master, "--to", other},
			"open " + other + ": drive is busy: another job is reading or writing it"},
		{"a target another job reads", blockdev.OpenRead, other, []string{"copy", "--from", master, "--to", other},
			"open " + other + ": drive is busy: another job is reading or writing it"},
		{"a master another job writes", blockdev.OpenWrite, master, []string{"copy", "--from", master, "--to", other},
			"open " + master + ": drive is busy: another job is writing it"},
		{"a master another job reads", blockdev.OpenRead, master, []string{"copy", "--from", master, "--to", other}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(other, make([]byte, MiB), 0o644))
			before := fileSum(t, other)
			d, err := tc.hold(tc.held)
			require.NoError(t, err)
			defer d.Close()
			code, out, errOut := runCLI(t, tc.args...)
			if tc.want == "" {
				assert.Equal(t, 0, code, "%s%s", out, errOut)
				assert.Contains(t, out, "1 passed, 0 failed")
				return
			}
			assert.Equal(t, 1, code, "%s%s", out, errOut)
			assert.Contains(t, errOut, tc.want)
			assert.Equal(t, before, fileSum(t, other), "the target was not written")
		})
	}
}

// TestTargetRulesOnLoopDevices: the same storage under a loop device is
// the same storage, at any offset, and a file under a loop device (which
// may be mounted) is never a target.
func TestTargetRulesOnLoopDevices(t *testing.T) {
	looptest.Require(t)
	dir := t.TempDir()
	master := writeFile(t, dir, "m.img", randomContent(t, 8*MiB))
	loopOnMaster := attachLoop(t, "--direct-io=on", "--offset", "1048576", master)
	target := writeFile(t, dir, "t.img", make([]byte, 8*MiB))
	loopOnTarget := attachLoop(t, target)
	secondOnTarget := attachLoop(t, "--offset", "4096", target)
	free := writeFile(t, dir, "free.img", make([]byte, 8*MiB))

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"a loop device on the master file, at an offset", []string{"copy", "--from", master, "--to", loopOnMaster, "--area", "50%"},
			"target " + loopOnMaster + " is the master itself (same storage as --from " + master + ")"},
		{"the file under the master loop device", []string{"copy", "--from", loopOnMaster, "--to", master},
			"target " + master + " is the master itself (same storage as --from " + loopOnMaster + ")"},
		{"two loop devices on one file", []string{"copy", "--from", master, "--to", loopOnTarget, "--to", secondOnTarget},
			"target " + secondOnTarget + " is given twice (same storage as " + loopOnTarget + ")"},
		{"a loop device and its file", []string{"copy", "--from", master, "--to", free, "--to", target, "--to", loopOnTarget},
			"target " + loopOnTarget + " is given twice (same storage as " + target + ")"},
		{"a file under loop devices", []string{"copy", "--from", master, "--to", free, "--to", target},
			"target " + target + ": refused: it is under loop device /dev/loop"},
		{"a loop device that shares its file", []string{"copy", "--from", master, "--to", loopOnTarget},
			"target " + loopOnTarget + ": refused: it is under loop device " + secondOnTarget},
		{"erase a file under a loop device", []string{"erase", "--yes", "--to", target},
			"target " + target + ": refused: it is under loop device"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sums := map[string][32]byte{master: fileSum(t, master), target: fileSum(t, target), free: fileSum(t, free)}
			code, out, errOut := runCLI(t, tc.args...)
			assert.Equal(t, 1, code, "%s%s", out, errOut)
			assert.Contains(t, errOut, tc.want)
			assert.NotContains(t, out, "PASS")
			for p, sum := range sums {
				assert.Equal(t, sum, fileSum(t, p), "%s is unchanged", p)
			}
		})
	}
}

// TestMountedLoopFileIsNotATarget is the tester's case: the file behind
// a mounted ext4 loop device given as a target. It is refused and the
// file system stays clean.
func TestMountedLoopFileIsNotATarget(t *testing.T) {
	looptest.Require(t)
	for _, tool := range []string{"mkfs.ext4", "fsck.ext4"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Skip(t, "%s is missing (Debian package e2fsprogs)", tool)
		}
	}
	dir := t.TempDir()
	master := writeFile(t, dir, "m.img", randomContent(t, 16*MiB))
	fsFile := writeFile(t, dir, "fs.img", nil)
	require.NoError(t, os.Truncate(fsFile, 16*MiB))
	out, err := exec.Command("mkfs.ext4", "-q", "-F", fsFile).CombinedOutput()
	require.NoError(t, err, "%s", out)
	loop := attachLoop(t, fsFile)
	mnt := t.TempDir()
	if out, err := exec.Command("mount", loop, mnt).CombinedOutput(); err != nil {
		testenv.Skip(t, "this kernel cannot mount ext4 here: %s", out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", mnt).Run() })
	require.NoError(t, os.WriteFile(filepath.Join(mnt, "live.txt"), []byte("in use"), 0o644))

	code, stdout, errOut := runCLI(t, "copy", "--from", master, "--to", fsFile)
	assert.Equal(t, 1, code, "%s%s", stdout, errOut)
	assert.Contains(t, errOut, "target "+fsFile+": refused: it is under loop device "+loop)

	require.NoError(t, exec.Command("umount", mnt).Run())
	out, err = exec.Command("fsck.ext4", "-n", "-f", loop).CombinedOutput()
	assert.NoError(t, err, "the file system is intact: %s", out)
}
