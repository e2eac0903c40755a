package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestBadBoardIsRefusedBeforeUse: a board whose numbers are out of
// bounds is refused when it is loaded, before the simulator sizes its
// bay, LEDs and panel by them.
func TestBadBoardIsRefusedBeforeUse(t *testing.T) {
	dir := t.TempDir()
	script := writeFile(t, dir, "s.scn", []byte("wait 1ms\n"))
	for _, tc := range []struct {
		name, board, want string
	}{
		{"a port number past int32", `{number: 2147483648, label: "9", match: "sim-port-9"}`, "ports[1].number: 2147483648 is not a port number (1..64)"},
		{"two ports for one drive", `{number: 2, label: "2", match: "sim-port-?"}`, `port 2's "sim-port-?" and port 1's "sim-port-1" (ports[0]) can match one drive`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := writeFile(t, dir, "board.yaml", []byte(`name: bad
buses: [virtual]
master_port: 1
ports:
  - {number: 1, label: M, match: "sim-port-1"}
  - `+tc.board+"\n"))
			code, out, errOut := runCLI(t, "sim", "--board", b, "--script", script)
			assert.Equal(t, 1, code, "%s%s", out, errOut)
			assert.Contains(t, errOut, tc.want)
		})
	}
}
