//go:build linux

package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/internal/pgtest"
	"github.com/clonebay/clonebay/record"
)

// pushBox makes a state folder with a log of jobs (ports each).
func pushBox(t *testing.T, jobs ...int) (dir, log string) {
	t.Helper()
	dir = t.TempDir()
	log = filepath.Join(dir, "jobs.log")
	l, _, err := record.Open(fsys.OS, log)
	require.NoError(t, err)
	defer l.Close()
	for j, ports := range jobs {
		var es []record.Entry
		for p := 1; p <= ports; p++ {
			es = append(es, record.Entry{Time: time.Date(2026, 11, 23, 9, j, p, 0, time.UTC), Job: fmt.Sprintf("job-%d", j),
				Mode: "copy+verify", MasterKind: "drive", MasterName: "SanDisk Ultra", Port: p, Label: fmt.Sprint(p),
				TargetModel: "Kingston DT", TargetSerial: fmt.Sprintf("SN%d%d", j, p), Result: "PASS"})
		}
		require.NoError(t, l.Append(es...))
	}
	return dir, log
}

// TestLogPush: log push sends a box's entries once (again: nothing new),
// --check finds the server's copy clean, then names each difference an
// edit on the server makes and exits non-zero; bad command lines and a
// wrong password get clear messages without the password.
func TestLogPush(t *testing.T) {
	c := pgtest.Start(t)
	db := c.NewDatabase(t)
	ctx := context.Background()
	dirA, logA := pushBox(t, 3, 2)
	_, logB := pushBox(t, 4)

	code, out, errOut := runCLI(t, "log", "push", "--log", logA, "--to", db.URL)
	require.Equal(t, 0, code, "%s%s", out, errOut)
	idData, err := os.ReadFile(filepath.Join(dirA, "appliance-id"))
	require.NoError(t, err, "the box got an appliance ID in its state folder")
	idA := string(idData[:len(idData)-1])
	assert.Equal(t, fmt.Sprintf("box %s: 5 entries sent to %s; the server holds all 5\n", idA,
		c.URL(db.User, "xxxxx", db.Name)), out)
	assert.NotContains(t, out+errOut, db.Password)
	assert.FileExists(t, filepath.Join(dirA, "replicate.cursor"))

	code, out, _ = runCLI(t, "log", "push", "--log", logA, "--to", db.URL, "--state", dirA)
	require.Equal(t, 0, code)
	assert.Contains(t, out, ": 0 entries sent to", "nothing is sent twice")

	code, out, errOut = runCLI(t, "log", "push", "--log", logB, "--to", db.URL, "--id", "asset-7")
	require.Equal(t, 0, code, "%s%s", out, errOut)
	assert.Contains(t, out, "box asset-7: 4 entries sent")

	for _, box := range [][]string{{"--log", logA}, {"--log", logB, "--id", "asset-7"}} {
		code, out, errOut = runCLI(t, append([]string{"log", "push", "--check", "--to", db.URL}, box...)...)
		require.Equal(t, 0, code, "%s%s", out, errOut)
		assert.Contains(t, out, "the server's copy equals the log, and its chain verifies from the server alone")
	}

	require.NoError(t, c.Exec(ctx, db.Name, `UPDATE clonebay.records SET line = replace(line, '"PASS"', '"FAIL"') WHERE appliance_id = $1 AND seq = 2`, idA))
	require.NoError(t, c.Exec(ctx, db.Name, `DELETE FROM clonebay.records WHERE appliance_id = $1 AND seq IN (4, 5)`, idA))
	code, out, errOut = runCLI(t, "log", "push", "--check", "--log", logA, "--to", db.URL)
	assert.Equal(t, 1, code)
	assert.Equal(t, fmt.Sprintf(`box %s: the server holds 3 entries, the log 5
missing on the server: entries 4..5
differs: entry 2: the server's content differs from the log's under the same sum (edited on the server)
the server's chain: entry 2: checksum does not match its content
the server's chain: entry 2: column result does not say what its line says
`, idA), out)
	assert.Contains(t, errOut, "5 differences between the server's copy and the log")

	code, _, errOut = runCLI(t, "log", "push", "--log", logA, "--to", c.URL(db.User, "wrong-"+db.Password, db.Name))
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "refused the login")
	assert.NotContains(t, errOut, db.Password)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--log", logA}, "log push needs --to postgres://..."},
		{[]string{"--to", db.URL, "--id", "x", "--state", dirA}, "give --id or --state, not both"},
		{[]string{"--to", db.URL, "--id", "../etc"}, `appliance ID "../etc"`},
		{[]string{"--to", "mysql://db/x", "--log", logA}, `is not a postgres:// URL`},
		{[]string{"--check", "--to", db.URL, "--log", filepath.Join(t.TempDir(), "jobs.log")}, "appliance-id: no such file or directory (give --id"},
	} {
		code, _, errOut := runCLI(t, append([]string{"log", "push"}, tc.args...)...)
		assert.NotZero(t, code, "%v", tc.args)
		assert.Contains(t, errOut, tc.want, "%v", tc.args)
		assert.NotContains(t, errOut, db.Password)
	}
}
