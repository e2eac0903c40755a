package disk_test

import (
	"bytes"
	"io"
	osexec "os/exec"
	"testing"
)

func bytesReader(b []byte) io.ReaderAt { return bytes.NewReader(b) }

func exec(t *testing.T, name string, args ...string) *osexec.Cmd {
	t.Helper()
	return osexec.Command(name, args...)
}
