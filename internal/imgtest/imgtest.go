//go:build linux

package imgtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clonebay/clonebay/internal/looptest"

	"github.com/clonebay/clonebay/internal/testenv"
)

// Need skips the test unless every tool is on the PATH.
func Need(t testing.TB, tools ...string) {
	t.Helper()
	pkgs := map[string]string{
		"sfdisk": "fdisk", "sgdisk": "gdisk", "mkfs.vfat": "dosfstools", "fsck.vfat": "dosfstools",
		"mcopy": "mtools", "mkfs.exfat": "exfatprogs", "fsck.exfat": "exfatprogs", "mkfs.ext4": "e2fsprogs",
		"mkfs.ext2": "e2fsprogs", "e2fsck": "e2fsprogs", "debugfs": "e2fsprogs", "mkntfs": "ntfs-3g", "ntfscp": "ntfs-3g",
		"ntfscat": "ntfs-3g", "ntfsfix": "ntfs-3g", "mount.exfat-fuse": "exfat-fuse", "fusermount": "fuse3",
		"qemu-system-x86_64": "qemu-system-x86",
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Skip(t, "%s is missing (Debian package %s)", tool, pkgs[tool])
		}
	}
}

// Run runs a command and fails the test with its output when it fails.
func Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Files is a set of test files: name -> content.
type Files map[string][]byte

// SomeFiles makes n files of assorted sizes (some larger than a cluster
// run) with reproducible random content.
func SomeFiles(n int, seed uint64) Files {
	r := rand.New(rand.NewPCG(seed, seed+1))
	fs := Files{}
	for i := range n {
		size := r.IntN(300_000) + 1
		if i%5 == 0 {
			size = r.IntN(3 << 20)
		}
		data := make([]byte, size)
		for j := range data {
			data[j] = byte(r.Uint32())
		}
		fs[fmt.Sprintf("F%03d.BIN", i)] = data
	}
	return fs
}

// Sums returns the SHA-256 of each file.
func (fs Files) Sums() map[string]string {
	out := map[string]string{}
	for n, d := range fs {
		s := sha256.Sum256(d)
		out[n] = hex.EncodeToString(s[:])
	}
	return out
}

// Sparse makes a zero-filled sparse file of size bytes.
func Sparse(t testing.TB, path string, size int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// Filesystem makes a file system of kind ("fat16", "fat32", "exfat",
// "ext4", "ntfs") in the file at path (size bytes) holding files.
func Filesystem(t testing.TB, kind, path string, size int64, files Files) {
	t.Helper()
	Sparse(t, path, size)
	dir := t.TempDir()
	for n, d := range files {
		if err := os.WriteFile(filepath.Join(dir, n), d, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	switch kind {
	case "fat16", "fat32":
		Need(t, "mkfs.vfat", "mcopy")
		bits := strings.TrimPrefix(kind, "fat")
		Run(t, "mkfs.vfat", "-F", bits, "-n", "CLONEBAY", path)
		for n := range files {
			Run(t, "mcopy", "-i", path, filepath.Join(dir, n), "::"+n)
		}
	case "exfat":
		Need(t, "mkfs.exfat", "mount.exfat-fuse", "fusermount")
		Run(t, "mkfs.exfat", "-L", "CLONEBAY", path)
		mnt := t.TempDir()
		Run(t, "mount.exfat-fuse", loopOf(t, path), mnt)
		for n, d := range files {
			if err := os.WriteFile(filepath.Join(mnt, n), d, 0o644); err != nil {
				_ = exec.Command("fusermount", "-u", mnt).Run()
				t.Fatal(err)
			}
		}
		Run(t, "fusermount", "-u", mnt)
	case "ext4":
		Need(t, "mkfs.ext4")
		Run(t, "mkfs.ext4", "-q", "-F", "-L", "clonebay", "-d", dir, path)
	case "ntfs":
		Need(t, "mkntfs", "ntfscp")
		Run(t, "mkntfs", "-q", "-F", "-Q", "-L", "clonebay", path)
		for n := range files {
			Run(t, "ntfscp", "-f", path, filepath.Join(dir, n), n)
		}
	default:
		t.Fatalf("unknown file system %q", kind)
	}
}

// Check runs the real checker of a file system image (read-only) and
// fails the test when it finds anything wrong.
func Check(t testing.TB, kind, path string) {
	t.Helper()
	switch kind {
	case "fat16", "fat32":
		Run(t, "fsck.vfat", "-n", path)
	case "exfat":
		Run(t, "fsck.exfat", "-n", path)
	case "ext4":
		Run(t, "e2fsck", "-fn", path)
	case "ntfs":
		Run(t, "ntfsfix", "-n", path)
	}
}

// GPTGood fails the test unless sgdisk -v's output (out) finds the GPT
// sound: "No problems found" alone is not enough, as sgdisk says it after
// rebuilding a backup header whose CRC was wrong.
func GPTGood(t testing.TB, out, what string) {
	t.Helper()
	if !strings.Contains(out, "No problems found") {
		t.Errorf("%s: sgdisk -v finds problems:\n%s", what, out)
		return
	}
	for _, bad := range []string{"ERROR", "invalid", "corrupt", "don't match"} {
		if strings.Contains(out, bad) {
			t.Errorf("%s: sgdisk -v says %q:\n%s", what, bad, out)
			return
		}
	}
}

// ReadFiles reads the named files back out of a file system image, with
// the tools, not with this project's code.
func ReadFiles(t testing.TB, kind, path string, names []string) Files {
	t.Helper()
	out := Files{}
	dir := t.TempDir()
	var mnt string
	if kind == "exfat" {
		mnt = t.TempDir()
		Run(t, "mount.exfat-fuse", "-o", "ro", loopOf(t, path), mnt)
		defer func() { _ = exec.Command("fusermount", "-u", mnt).Run() }()
	}
	for _, n := range names {
		dst := filepath.Join(dir, n)
		switch kind {
		case "fat16", "fat32":
			Run(t, "mcopy", "-n", "-i", path, "::"+n, dst)
		case "exfat":
			data, err := os.ReadFile(filepath.Join(mnt, n))
			if err != nil {
				t.Fatal(err)
			}
			out[n] = data
			continue
		case "ext4":
			Run(t, "debugfs", "-R", fmt.Sprintf("dump /%s %s", n, dst), path)
		case "ntfs":
			data, err := exec.Command("ntfscat", path, n).Output()
			if err != nil {
				t.Fatalf("ntfscat %s: %v", n, err)
			}
			out[n] = data
			continue
		}
		data, err := os.ReadFile(dst)
		if err != nil {
			t.Fatal(err)
		}
		out[n] = data
	}
	return out
}

// Garbage fills a file with a repeating non-zero pattern, standing for the
// old contents of a used target.
func Garbage(t testing.TB, path string, size int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	block := bytes.Repeat([]byte{0xa5, 0x5a, 0xde, 0xad}, 1<<18)
	for done := int64(0); done < size; {
		n := min(int64(len(block)), size-done)
		if _, err := f.Write(block[:n]); err != nil {
			t.Fatal(err)
		}
		done += n
	}
}

// loopOf attaches an image to a loop device for the FUSE drivers, which
// want a block device; it is detached when the test ends.
func loopOf(t testing.TB, path string) string {
	t.Helper()
	return looptest.AttachFile(t, path).Node
}
