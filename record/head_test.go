package record_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/internal/fsys/fsystest"
	"github.com/clonebay/clonebay/record"
)

// jobEntries is one job's entries, one per port.
func jobEntries(job string, ports ...int) []record.Entry {
	var out []record.Entry
	for _, p := range ports {
		e := entry(p, "PASS")
		e.Job = job
		out = append(out, e)
	}
	return out
}

// threeJobs writes a log of three jobs (2 + 1 + 2 entries) and returns
// its path and lines.
func threeJobs(t *testing.T) (string, []string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "jobs.log")
	l := openLog(t, path)
	require.NoError(t, l.Append(jobEntries("job-1", 2, 3)...))
	require.NoError(t, l.Append(jobEntries("job-2", 2)...))
	require.NoError(t, l.Append(jobEntries("job-3", 4, 5)...))
	require.NoError(t, l.Close())
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return path, strings.SplitAfter(strings.TrimSuffix(string(data), "\n"), "\n")
}

// TestReadFindsWhatTheChainCannot covers the damage only the chain head
// shows, and what a power loss leaves (which is not damage).
func TestReadFindsWhatTheChainCannot(t *testing.T) {
	tests := []struct {
		name        string
		edit        func(path string, lines []string) string
		wantProblem string // "" when the log verifies
		wantNote    string
	}{
		{"intact", func(_ string, l []string) string { return strings.Join(l, "") + "\n" }, "", ""},
		{"last job cut off", func(_ string, l []string) string { return strings.Join(l[:3], "") },
			"the log ends 2 entries short of its chain head", ""},
		{"last entry cut off", func(_ string, l []string) string { return strings.Join(l[:4], "") },
			"the log ends 1 entries short of its chain head", ""},
		{"cut mid-entry, not at an append", func(_ string, l []string) string { return strings.Join(l[:3], "") + l[3][:20] },
			"short of its chain head", ""},
		{"power loss during an append", func(_ string, l []string) string {
			return strings.Join(l, "") + "\n" + `{"seq":6,"time":"2026`
		}, "", "cut short by a power loss"},
		{"power loss between the log and its head", func(path string, l []string) string {
			require.NoError(t, os.WriteFile(record.HeadPath(path), []byte(headAfter(t, l[:3])), 0o644))
			return strings.Join(l, "") + "\n"
		}, "", "written but not the chain head"},
		{"two jobs past the head", func(path string, l []string) string {
			require.NoError(t, os.WriteFile(record.HeadPath(path), []byte(headAfter(t, l[:2])), 0o644))
			return strings.Join(l, "") + "\n"
		}, "more than one job's", ""},
		{"head names another entry", func(path string, l []string) string {
			require.NoError(t, os.WriteFile(record.HeadPath(path), []byte(`{"count":5,"sum":"00"}`), 0o644))
			return strings.Join(l, "") + "\n"
		}, "entry 5 is not the one the chain head names", ""},
		{"head not readable", func(path string, l []string) string {
			require.NoError(t, os.WriteFile(record.HeadPath(path), []byte("garbage\n"), 0o644))
			return strings.Join(l, "") + "\n"
		}, "is not readable", ""},
		{"a last line that no entry begins with", func(_ string, l []string) string {
			return strings.Join(l, "") + "\n" + "important data, no newline"
		}, "line 6 is not an entry, nor the start of one cut short", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, lines := threeJobs(t)
			require.NoError(t, os.WriteFile(path, []byte(tt.edit(path, lines)), 0o644))
			before := snapshot(t, path)

			rep, err := record.Read(fsys.OS, path)
			require.NoError(t, err)
			if tt.wantProblem == "" {
				assert.NoError(t, rep.Err())
			} else {
				assert.ErrorIs(t, rep.Err(), record.ErrDamaged)
				assert.ErrorContains(t, rep.Err(), tt.wantProblem)
			}
			if tt.wantNote != "" {
				assert.Contains(t, strings.Join(rep.Notes, "\n"), tt.wantNote)
			} else {
				assert.Empty(t, rep.Notes, "damage is not explained away")
			}
			assert.Equal(t, before, snapshot(t, path), "reading changes nothing")
		})
	}
}

// headAfter is the head file a log of these lines has.
func headAfter(t *testing.T, lines []string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "jobs.log")
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "")), 0o644))
	rep, err := record.Read(fsys.OS, path)
	require.NoError(t, err)
	last := rep.Entries[len(rep.Entries)-1]
	return fmt.Sprintf(`{"count":%d,"sum":%q}`, len(rep.Entries), last.Sum)
}

// snapshot is every file in the log's folder.
func snapshot(t *testing.T, path string) map[string]string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Dir(path))
	require.NoError(t, err)
	out := map[string]string{}
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join(filepath.Dir(path), e.Name()))
		require.NoError(t, err)
		out[e.Name()] = string(data)
	}
	return out
}

func TestReadMarksBadEntries(t *testing.T) {
	path, lines := threeJobs(t)
	lines[1] = strings.Replace(lines[1], `"PASS"`, `"FAIL"`, 1)
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "")+"\n"), 0o644))
	rep, err := record.Read(fsys.OS, path)
	require.NoError(t, err)
	require.Len(t, rep.Entries, 5)
	assert.Equal(t, 1, rep.Bad())
	assert.Contains(t, rep.Entries[1].Problem, "checksum does not match")
	assert.Empty(t, rep.Entries[0].Problem)
}

// TestOpenKeepsTheEvidenceOfACut: the appliance must go on recording
// after a damaged start, so it cuts a torn tail; when that tail was not a
// power loss's, the bytes are kept beside the log and every later check
// fails until someone removes them.
func TestOpenKeepsTheEvidenceOfACut(t *testing.T) {
	path, lines := threeJobs(t)
	cut := strings.Join(lines[:3], "") + lines[3][:20]
	require.NoError(t, os.WriteFile(path, []byte(cut), 0o644))

	l, rep, err := record.Open(fsys.OS, path)
	require.ErrorIs(t, err, record.ErrDamaged)
	require.NotNil(t, l)
	assert.Len(t, rep.Entries, 3)
	require.NoError(t, l.Append(jobEntries("job-4", 6)...), "new jobs are still recorded")
	require.NoError(t, l.Close())

	matches, err := filepath.Glob(path + ".damaged-*")
	require.NoError(t, err)
	require.Len(t, matches, 2, "the cut tail and the old head are kept")
	rep, err = record.Read(fsys.OS, path)
	require.NoError(t, err)
	assert.ErrorContains(t, rep.Err(), "an earlier start found the log damaged")
	for _, m := range matches {
		require.NoError(t, os.Remove(m))
	}
	rep, err = record.Read(fsys.OS, path)
	require.NoError(t, err)
	assert.NoError(t, rep.Err(), "after the evidence was looked at, the log verifies again")
	assert.Len(t, rep.Entries, 4)
}

// TestOpenKeepsWhatItReplaces: whatever Open sets aside to go on
// recording (a head it cannot read, a last line that is no torn entry) is
// kept beside the log, byte for byte.
func TestOpenKeepsWhatItReplaces(t *testing.T) {
	for _, tc := range []struct {
		name       string
		log, head  string // appended to the log; the head file's bytes ("" leaves it)
		kept, want string
	}{
		{"an unreadable head", "", "garbage", ".head", "garbage"},
		{"a last line that is no entry", "important data, no newline", "", ".tail", "important data, no newline"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, lines := threeJobs(t)
			require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "")+"\n"+tc.log), 0o644))
			if tc.head != "" {
				require.NoError(t, os.WriteFile(record.HeadPath(path), []byte(tc.head), 0o644))
			}
			l, _, err := record.Open(fsys.OS, path)
			require.ErrorIs(t, err, record.ErrDamaged)
			require.NoError(t, l.Close())
			matches, err := filepath.Glob(path + ".damaged-*" + tc.kept)
			require.NoError(t, err)
			require.Len(t, matches, 1)
			kept, err := os.ReadFile(matches[0])
			require.NoError(t, err)
			assert.Equal(t, tc.want, string(kept))
			rep, err := record.Read(fsys.OS, path)
			require.NoError(t, err)
			assert.ErrorContains(t, rep.Err(), "an earlier start found the log damaged")
		})
	}
}

func TestOpenBringsALaggingHeadUpToDate(t *testing.T) {
	path, lines := threeJobs(t)
	require.NoError(t, os.WriteFile(record.HeadPath(path), []byte(headAfter(t, lines[:3])), 0o644))
	l, rep, err := record.Open(fsys.OS, path)
	require.NoError(t, err)
	assert.True(t, rep.HeadLags)
	require.NoError(t, l.Close())
	rep, err = record.Read(fsys.OS, path)
	require.NoError(t, err)
	assert.False(t, rep.HeadLags)
	assert.Empty(t, rep.Notes)
}

func TestAppendTakesOneJob(t *testing.T) {
	l := openLog(t, filepath.Join(t.TempDir(), "jobs.log"))
	err := l.Append(append(jobEntries("job-1", 2), jobEntries("job-2", 3)...)...)
	assert.ErrorContains(t, err, `one append holds jobs "job-1" and "job-2"`)
	assert.Empty(t, l.Entries())
}

// TestAppendSurvivesAPowerCutAtAnyPoint cuts the power after every file
// operation of a run of appends: every append that returned nil is in the
// log after the power comes back, the log verifies, and nothing else is
// there but possibly (part of) the append the cut interrupted. Leaving out any of
// the log's or the head's syncs fails this test.
func TestAppendSurvivesAPowerCutAtAnyPoint(t *testing.T) {
	const path = "/var/lib/clonebay/jobs.log"
	for _, torn := range []bool{false, true} {
		for n := 0; ; n++ {
			disk := fsystest.NewDisk()
			l, _, err := record.Open(disk, path)
			require.NoError(t, err)
			disk.PowerOffAfter(n)
			acked := 0
			for j := range 4 {
				if l.Append(jobEntries(fmt.Sprintf("job-%d", j), 2, 3)...) != nil {
					break
				}
				acked += 2
			}
			var rng *rand.Rand
			if torn {
				rng = rand.New(rand.NewPCG(uint64(n), 9))
			}
			after := disk.Cut(rng)

			l2, rep, err := record.Open(after, path)
			require.NoError(t, err, "cut after %d operations (torn %v): the log verifies", n, torn)
			got := len(rep.Entries)
			// A torn cut may keep the interrupted job's first entry only.
			assert.True(t, got >= acked && got <= acked+2, "cut after %d operations (torn %v): %d entries acknowledged, %d found", n, torn, acked, got)
			require.NoError(t, l2.Append(jobEntries("after", 7)...))
			rep, err = record.Read(after, path)
			require.NoError(t, err)
			require.NoError(t, rep.Err())
			if acked == 8 {
				break // the cut came after the last append: every point was tried
			}
		}
	}
}
