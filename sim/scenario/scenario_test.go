package scenario

import (
	"bytes"
	"context"
	"encoding/csv"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/board"
	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/record"
	"github.com/clonebay/clonebay/report"
)

// TestScenarios runs every scenario script in scenarios/ against the
// simulator: the firmware's end-to-end tests. Each runs in a synctest
// bubble, so its times ("at 4s", "within 30s") are virtual: exact, and
// free of the machine's speed.
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("../../scenarios/*.scn")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 6)
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".scn"), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				f, err := os.Open(file)
				require.NoError(t, err)
				defer f.Close()
				s, err := Parse(filepath.Base(file), f)
				require.NoError(t, err)
				b, err := board.Builtin("sim8")
				require.NoError(t, err)
				var out, logs bytes.Buffer
				jobs := filepath.Join(t.TempDir(), "jobs.log")
				err = Run(context.Background(), b, s, &out, slog.New(slog.NewTextHandler(&logs, nil)), Options{Record: jobs})
				assert.NoError(t, err, "%s\nlog:\n%s", out.String(), logs.String())
				assert.NotRegexp(t, `(?m)^FAIL `, out.String())
				if check, ok := recordChecks[filepath.Base(file)]; ok {
					check(t, jobs)
				}
			})
		})
	}
}

func TestScriptErrors(t *testing.T) {
	for _, tc := range []struct {
		name, text, want string
	}{
		{"unknown step", "dance 3", `x.scn:1: unknown step "dance"`},
		{"missing args", "\n\ninsert", "x.scn:3: insert needs 1 arguments"},
		{"bad time", "at soon press OK", `x.scn:1: at "soon"`},
		{"bad within", `expect lcd "x" within ever`, `within "ever"`},
		{"unclosed quote", `expect lcd "x`, "unclosed quote"},
		{"setting late", "press OK\nsetting auto-start 3", "x.scn:2: settings come before the first step"},
		{"bad port", "insert nine", `x.scn:1: insert: port "nine" is not a number`},
		{"bad fault", "session default\nfault 3 melt@1MB", `x.scn:2: fault "melt"`},
		{"bad button", "press Start", `no button "Start"`},
		{"bad setting", "setting colour blue", `unknown setting "colour"`},
		{"bad size", "insert 2 size=big", `size "big"`},
		{"negative at", "at -5s press OK", `x.scn:1: at "-5s": a time cannot be negative`},
		{"negative wait", "wait -3s", `x.scn:1: wait "-3s": a time cannot be negative`},
		{"negative hold", "\nhold OK -3s", `x.scn:2: hold "-3s": a time cannot be negative`},
		{"negative within", `expect lcd "x" within -1s`, `within "-1s": a time cannot be negative`},
		{"endless wait", "wait 2h", `wait "2h": longer than 1h0m0s`},
		{"no size", "insert 2 size=0", "x.scn:1: insert size=0: a drive holds at least 1 MiB"},
		{"tiny size", "insert 2 size=4KiB", "insert size=4KiB: a drive holds at least 1 MiB"},
		{"astronomic size", "insert 2 size=1e30TB", `insert size=1e30TB: size "1e30TB": more than 16 TB`},
		{"infinite size", "insert 2 size=InfMB", `size "InfMB": more than 16 TB`},
		{"size that is not a number", "insert 2 size=NaNGB", `size "NaNGB": not a number of GB`},
		{"astronomic bytes", "insert 2 size=99999999999999999", "more than 16 TB"},
		{"fault past 16 TB", "fault 3 corrupt@1e30TB", `fault "corrupt@1e30TB": size "1e30TB": more than 16 TB`},
		{"speed not a number", "insert 2 read=NaN", `insert read=NaN: speed "NaN": give 0 (unlimited) or 0.1..100000 MB/s`},
		{"negative speed", "insert 2 write=-1", `speed "-1"`},
		{"crawling speed", "insert 2 write=0.001", `speed "0.001"`},
		{"port 0", "insert 0", "insert: port 0 is not 1..64"},
		{"port past int32", "remove 2147483648", "remove: port 2147483648 is not 1..64"},
		{"led of no port", "expect led 99 green", "expect led: port 99 is not 1..64"},
		{"negative count", "expect result pass=-1", `expect result: "pass=-1": a count is 0..1000000`},
		{"many auto-start targets", "setting auto-start 1000", `setting auto-start: "1000" is not 0..64 targets`},
		{"unknown expectation", "expect smell burnt", `expect "smell"`},
		{"a 100 kB line", "wait 1s\nwait 1s\nexpect lcd \"" + strings.Repeat("x", 100<<10) + "\"\n", "x.scn:3: the line is longer than 65536 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("x.scn", strings.NewReader(tc.text))
			assert.ErrorContains(t, err, tc.want)
		})
	}
	b, err := board.Builtin("sim8")
	require.NoError(t, err)
	for _, tc := range []struct {
		name, text, want string
	}{
		{"port taken", "insert 2\ninsert 2", "x.scn:2: sim bay: insert into port 2"},
		{"a port the board lacks", "insert 9", "x.scn:1: sim bay: insert into port 9"},
	} {
		t.Run("run/"+tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s, err := Parse("x.scn", strings.NewReader(tc.text))
				require.NoError(t, err)
				var out bytes.Buffer
				err = Run(context.Background(), b, s, &out, slog.New(slog.DiscardHandler), Options{})
				assert.ErrorContains(t, err, tc.want)
			})
		})
	}
}

func TestFailedExpectationFailsTheRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := board.Builtin("sim8")
		require.NoError(t, err)
		s, err := Parse("x.scn", strings.NewReader(`expect lcd "Job done" within 200ms`))
		require.NoError(t, err)
		var out bytes.Buffer
		err = Run(context.Background(), b, s, &out, slog.New(slog.DiscardHandler), Options{})
		assert.ErrorContains(t, err, "1 expectations did not hold")
		assert.Contains(t, out.String(), `FAIL x.scn:1: expected the LCD to show "Job done"; the LCD shows:`)
	})
}

// recordChecks look into the production record a scenario left.
var recordChecks = map[string]func(t *testing.T, jobs string){
	// The lot's report agrees with the counter the scenario saw: 12 PASS
	// and 2 FAIL rows, and the stick that came back was not written again.
	"lot.scn": func(t *testing.T, jobs string) {
		rep, err := record.Read(fsys.OS, jobs)
		require.NoError(t, err)
		entries, err := report.LotEntries(rep.Entries, "A17")
		require.NoError(t, err)
		var csvText bytes.Buffer
		require.NoError(t, report.WriteBatchCSV(&csvText, report.Batch{Lot: "A17", Entries: entries, Head: report.HeadOf(rep)}))
		got := map[string]int{}
		written := map[string]int{}
		cr := csv.NewReader(bytes.NewReader(csvText.Bytes()))
		cr.FieldsPerRecord = -1
		rows, err := cr.ReadAll()
		require.NoError(t, err)
		for _, f := range rows {
			if len(f) == 14 && f[0] != "seq" {
				got[f[9]]++
				written[f[6]]++
			}
		}
		assert.Equal(t, map[string]int{"PASS": 12, "FAIL": 2}, got, csvText.String())
		assert.Equal(t, 1, written["S0003"], "the stick that came back was written once")
		assert.Contains(t, csvText.String(), "pass,12\n")
	},
}
