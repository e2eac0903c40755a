package main

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestLotFlags: run and sim refuse a lot they could not keep before
// anything starts, naming the flag.
func TestLotFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"a count without a lot", []string{"sim", "--count", "5"}, 2, "--count needs --lot"},
		{"a name no file system takes", []string{"sim", "--lot", "A17/B"}, 1, `--lot: lot name "A17/B": not a usable lot name: character 4 ('/') is a path separator`},
		{"a count of 0 is no count, -1 is refused", []string{"sim", "--lot", "A17", "--count", "-1"}, 1, "--count: target count -1: not a usable target count"},
		{"a count past the limit", []string{"sim", "--lot", "A17", "--count", "2000000"}, 1, "at most 1000000"},
		{"run checks them too", []string{"run", "--board", "sim8", "--lot", " A17"}, 1, "starts or ends with a space"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.args[0] == "run" && runtime.GOOS != "linux" {
				t.Skip("run drives Linux hardware")
			}
			code, _, errOut := runCLI(t, tc.args...)
			assert.Equal(t, tc.code, code, errOut)
			assert.Contains(t, errOut, tc.want)
		})
	}
}
