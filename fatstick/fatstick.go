// Package fatstick reads and writes the FAT file system of a USB stick in
// one of the appliance's ports, without mounting it (mtools), so nothing
// else on the box ever sees a stick half-written: the image files an
// operator imports, the production record exported onto it.
//
// It imports engine/disk and record; never the appliance, ui or a
// hardware backend.
package fatstick

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/clonebay/clonebay/engine/disk"
	"github.com/clonebay/clonebay/record"
)

// ErrNoFAT says a stick holds no FAT file system.
var ErrNoFAT = errors.New("no FAT file system")

// Find finds the FAT file system on a stick of size bytes with the given
// logical sector size: the first FAT partition of its MBR, or the whole
// stick. It returns the file system's offset.
func Find(r io.ReaderAt, size int64, sector int) (int64, error) {
	sector = max(512, sector)
	if m, err := disk.ReadMBR(r, size, sector); err == nil {
		for _, p := range m.Partitions {
			if fs, _, err := disk.Used(r, p.Start, p.Size); err == nil && strings.HasPrefix(fs, "FAT") {
				return p.Start, nil
			}
		}
	}
	if fs, _, err := disk.Used(r, 0, size); err == nil && strings.HasPrefix(fs, "FAT") {
		return 0, nil
	}
	return 0, ErrNoFAT
}

// ErrFull says the stick has no room for the export.
var ErrFull = errors.New("the stick is full")

// Export writes clonebay-log-DATE.csv and .json into the root of the
// FAT file system at off on the device (or image file) at node, with
// mtools: no mount, so nothing else sees a half-written stick.
func Export(ctx context.Context, node string, off int64, entries []record.Entry, now time.Time, extra ...File) (int, error) {
	if _, err := exec.LookPath("mcopy"); err != nil {
		return 0, errors.New("mtools is not installed")
	}
	dir, err := os.MkdirTemp("", "clonebay-export")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	base := "clonebay-log-" + now.UTC().Format("20060102-150405")
	var csvBuf, jsonBuf bytes.Buffer
	if err := record.WriteCSV(&csvBuf, entries); err != nil {
		return 0, err
	}
	if err := record.WriteJSON(&jsonBuf, entries); err != nil {
		return 0, err
	}
	files := append([]File{{base + ".csv", csvBuf.Bytes()}, {base + ".json", jsonBuf.Bytes()}}, extra...)
	for _, f := range files {
		src := filepath.Join(dir, f.Name)
		if err := os.WriteFile(src, f.Data, 0o644); err != nil {
			return 0, err
		}
		img := fmt.Sprintf("%s@@%d", node, off)
		out, err := exec.CommandContext(ctx, "mcopy", "-o", "-i", img, src, "::"+f.Name).CombinedOutput()
		if err != nil {
			msg := strings.TrimSpace(string(out))
			if strings.Contains(strings.ToLower(msg), "disk full") || strings.Contains(strings.ToLower(msg), "no free") {
				return 0, ErrFull
			}
			return 0, fmt.Errorf("writing %s: %s", f.Name, msg)
		}
	}
	return len(entries), nil
}

// File is a further file Export writes beside the record: a report.
type File struct {
	Name string // a plain FAT file name, no folder
	Data []byte
}

// The stick is read with mtools, without mounting it.
func mtoolsImage(node string, off int64) string { return fmt.Sprintf("%s@@%d", node, off) }

// List lists every file and folder on the FAT file system at off on the
// device (or image file) at node: "/a/b.img", "/dir/".
func List(ctx context.Context, node string, off int64) ([]string, error) {
	out, err := exec.CommandContext(ctx, "mdir", "-b", "-/", "-i", mtoolsImage(node, off), "::/").Output()
	if err != nil {
		return nil, fmt.Errorf("mdir: %w", err)
	}
	var files []string
	for _, l := range strings.Split(string(out), "\n") {
		if f, ok := strings.CutPrefix(strings.TrimRight(l, "\r"), "::"); ok && f != "" {
			files = append(files, f)
		}
	}
	return files, nil
}

var fatDate = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// Size reads one file's size from mdir's listing: the number before its
// date.
func Size(ctx context.Context, node string, off int64, path string) (int64, error) {
	out, err := exec.CommandContext(ctx, "mdir", "-i", mtoolsImage(node, off), "::"+path).Output()
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		for i := 1; i < len(f); i++ {
			if fatDate.MatchString(f[i]) {
				if n, err := strconv.ParseInt(f[i-1], 10, 64); err == nil {
					return n, nil
				}
			}
		}
	}
	return 0, errors.New("no size in the listing")
}

// Open streams a file off the stick.
func Open(ctx context.Context, node string, off int64, path string) (io.ReadCloser, error) {
	cmd := exec.CommandContext(ctx, "mcopy", "-n", "-i", mtoolsImage(node, off), "::"+path, "-")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("mcopy: %w", err)
	}
	return &cmdReader{ReadCloser: out, cmd: cmd, stderr: &stderr}, nil
}

// cmdReader is a command's output; a command that fails shows as a read
// error at the end rather than as a short file.
type cmdReader struct {
	io.ReadCloser
	cmd    *exec.Cmd
	stderr *strings.Builder
	waited bool
}

func (r *cmdReader) Read(p []byte) (int, error) {
	if r.waited {
		return 0, io.EOF
	}
	n, err := r.ReadCloser.Read(p)
	if err == io.EOF && !r.waited {
		r.waited = true
		if werr := r.cmd.Wait(); werr != nil {
			return n, fmt.Errorf("mcopy: %v: %s", werr, strings.TrimSpace(r.stderr.String()))
		}
	}
	return n, err
}

func (r *cmdReader) Close() error {
	r.ReadCloser.Close()
	if !r.waited {
		r.waited = true
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
	}
	return nil
}

// ReadFile reads a small file (up to 16 MiB) off the stick.
func ReadFile(ctx context.Context, node string, off int64, path string) ([]byte, error) {
	rc, err := Open(ctx, node, off, path)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, 16<<20))
}
