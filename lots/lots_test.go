package lots_test

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/lots"
	"github.com/clonebay/clonebay/record"
)

func TestCheckName(t *testing.T) {
	for _, tc := range []struct {
		name string
		lot  string
		want string // "" when the name is fine
	}{
		{"a plain name", "A17", ""},
		{"the default name", "LOT-0042", ""},
		{"words and spaces inside", "Order 2026-11 (Acme) #3", ""},
		{"letters beyond ASCII", "Bestellung Müller ÄÖÜ 注文", ""},
		{"64 characters fit", strings.Repeat("ü", 64), ""},
		{"dots and dashes inside", "v1.2-rc", ""},
		{"empty", "", "it is empty"},
		{"65 characters", strings.Repeat("x", 65), "it is 65 characters long; at most 64 fit"},
		{"a thousand characters", strings.Repeat("7", 1000), `"` + strings.Repeat("7", 64) + `…": ` + "not a usable lot name: it is 1000 characters long"},
		{"a slash", "A/17", `character 2 ('/') is a path separator`},
		{"a backslash", `A\17`, `character 2 ('\\') is a path separator`},
		{"a newline", "A17\n", "character 4 is a control character (U+000A)"},
		{"a tab", "A\t17", "character 2 is a control character (U+0009)"},
		{"an escape", "\x1b[2JA17", "character 1 is a control character (U+001B)"},
		{"a NUL", "A\x0017", "character 2 is a control character (U+0000)"},
		{"a DEL", "A17\x7f", "character 4 is a control character (U+007F)"},
		{"not UTF-8", "A\xff17", "byte 2 is not UTF-8 text"},
		{"a no-break space", "A\u00a017", "character 2 (U+00A0) is not a printable character"},
		{"a right-to-left override", "A\u202e71", "character 2 (U+202E) is not a printable character"},
		{"a zero-width space", "A\u200b17", "character 2 (U+200B) is not a printable character"},
		{"a colon", "A:17", `character 2 (':') is not allowed in file names`},
		{"a question mark", "A17?", `character 4 ('?') is not allowed in file names`},
		{"a pipe", "A|17", `character 2 ('|') is not allowed in file names`},
		{"a leading space", " A17", "it starts or ends with a space"},
		{"a trailing space", "A17 ", "it starts or ends with a space"},
		{"a leading dot", ".A17", "it starts or ends with a dot"},
		{"a trailing dot", "A17.", "it starts or ends with a dot"},
		{"dot dot", "..", "it starts or ends with a dot"},
		{"a formula", "=HYPERLINK(1)", `it starts with '=', which a spreadsheet reads as a formula`},
		{"a leading minus", "-17", `it starts with '-'`},
		{"a leading at", "@A17", `it starts with '@'`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := lots.CheckName(tc.lot)
			if tc.want == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, lots.ErrBadName)
			assert.Contains(t, err.Error(), tc.want)
			assert.True(t, utf8.ValidString(err.Error()), "the message quotes the bad name safely")
			assert.NotContains(t, err.Error(), "\n", "the message fits one line")
			assert.Less(t, len(err.Error()), 400, "the message quotes a long name in part")
		})
	}
}

func FuzzCheckName(f *testing.F) {
	for _, s := range []string{"A17", "LOT-0042", "", " ", "a/b", "..", "=1", "Müller", "\x00", "\xff", strings.Repeat("x", 65)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		err := lots.CheckName(name)
		if err != nil {
			if !strings.Contains(err.Error(), "lot name") {
				t.Fatalf("the message does not say it is about a lot name: %v", err)
			}
			return
		}
		// What is accepted is safe as a file name and a CSV cell.
		if !utf8.ValidString(name) || utf8.RuneCountInString(name) > lots.MaxNameLen {
			t.Fatalf("accepted %q", name)
		}
		if filepath.Base(name) != name || strings.ContainsAny(name, "/\\\x00\r\n") || name == "." || name == ".." {
			t.Fatalf("accepted %q, which is not a plain file name", name)
		}
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		if err := w.Write([]string{name}); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		back, err := csv.NewReader(&buf).Read()
		if err != nil || len(back) != 1 || back[0] != name {
			t.Fatalf("%q does not survive a CSV round trip: %q, %v", name, back, err)
		}
	})
}

func TestCheckGoal(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want string
	}{
		{1, ""},
		{500, ""},
		{lots.MaxGoal, ""},
		{0, "target count 0: not a usable target count: a lot needs at least 1 drive to pass"},
		{-5, "target count -5: not a usable target count: a lot needs at least 1 drive to pass"},
		{lots.MaxGoal + 1, "target count 1000001: not a usable target count: at most 1000000"},
	} {
		t.Run(fmt.Sprint(tc.n), func(t *testing.T) {
			err := lots.CheckGoal(tc.n)
			if tc.want == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, lots.ErrBadGoal)
			assert.EqualError(t, err, tc.want)
		})
	}
}

// TestCheckLot: a lot to start is its name and a count, 0 being none.
func TestCheckLot(t *testing.T) {
	for _, tc := range []struct {
		name string
		goal int
		want string
	}{
		{"A17", 0, ""},
		{"A17", 12, ""},
		{"A17", -1, "lot A17: target count -1: not a usable target count: a lot needs at least 1 drive to pass"},
		{"A17/B", 0, `lot name "A17/B": not a usable lot name: character 4 ('/') is a path separator`},
	} {
		t.Run(fmt.Sprintf("%s %d", tc.name, tc.goal), func(t *testing.T) {
			err := lots.CheckLot(tc.name, tc.goal)
			if tc.want == "" {
				assert.NoError(t, err)
				return
			}
			assert.EqualError(t, err, tc.want)
		})
	}
}

// entry is one port's outcome in a lot.
func entry(job, lot, mode string, port int, serial, result string) record.Entry {
	return record.Entry{Time: time.Date(2026, 11, 22, 10, 0, port, 0, time.UTC), Job: job, Lot: lot, Mode: mode,
		Port: port, Label: fmt.Sprint(port), TargetModel: "Kingston DataTraveler", TargetSerial: serial,
		TargetSize: 16e9, Result: result}
}

func TestCounts(t *testing.T) {
	damaged := entry("j3", "A17", "copy+verify", 4, "S4", "PASS")
	damaged.Problem = "entry 9 (line 9): checksum does not match its content"
	entries := []record.Entry{
		entry("j1", "A17", "copy+verify", 2, "S1", "PASS"),
		entry("j1", "A17", "copy+verify", 3, "S2", "FAIL"),
		entry("j1", "A17", "copy+verify", 4, "S3", "PASS"),
		entry("j2", "B2", "copy", 2, "S9", "PASS"),
		entry("j3", "A17", "copy", 2, "S5", "ABORTED"),
		entry("j3", "A17", "copy", 3, "S6", "PASS"),
		damaged,
		entry("j4", "A17", "verify", 2, "S1", "PASS"),
		entry("j5", "", "copy+verify", 2, "S7", "PASS"),
		entry("j6", "E1", "erase", 2, "S1", "PASS"),
	}
	for _, tc := range []struct {
		lot                 string
		pass, fail, aborted int
	}{
		{"A17", 3, 1, 1}, // the damaged entry and the verify-only job do not count
		{"B2", 1, 0, 0},
		{"E1", 1, 0, 0},
		{"a17", 0, 0, 0},
		{"", 0, 0, 0}, // drives run without a lot are no lot's
	} {
		t.Run(tc.lot, func(t *testing.T) {
			pass, fail, aborted := lots.Counts(entries, tc.lot)
			assert.Equal(t, []int{tc.pass, tc.fail, tc.aborted}, []int{pass, fail, aborted})
		})
	}

	t.Run("progress", func(t *testing.T) {
		p, err := lots.NewProgress(entries, "A17", 5)
		require.NoError(t, err)
		assert.Equal(t, lots.Progress{Lot: "A17", Goal: 5, Pass: 3, Fail: 1, Aborted: 1}, p)
		assert.Equal(t, 2, p.Left())
		assert.False(t, p.Done())

		p, err = lots.NewProgress(entries, "A17", 3)
		require.NoError(t, err)
		assert.Zero(t, p.Left())
		assert.True(t, p.Done())

		_, err = lots.NewProgress(entries, "A17", 0)
		assert.ErrorIs(t, err, lots.ErrBadGoal)
		assert.ErrorContains(t, err, "lot A17: target count 0")
		_, err = lots.NewProgress(entries, "A/17", 10)
		assert.ErrorIs(t, err, lots.ErrBadName)
	})
}

func TestRecent(t *testing.T) {
	entries := []record.Entry{
		entry("j1", "A17", "copy", 1, "", "PASS"),
		entry("j2", "B2", "copy", 1, "", "PASS"),
		entry("j3", "", "copy", 1, "", "PASS"),
		entry("j4", "A17", "copy", 1, "", "FAIL"),
		entry("j5", "C3", "copy", 1, "", "PASS"),
	}
	for _, tc := range []struct {
		n    int
		want []string
	}{
		{10, []string{"C3", "A17", "B2"}},
		{2, []string{"C3", "A17"}},
		{0, nil},
	} {
		t.Run(fmt.Sprint(tc.n), func(t *testing.T) {
			assert.Equal(t, tc.want, lots.Recent(entries, tc.n))
		})
	}
	assert.Empty(t, lots.Recent(nil, 5))
}

func TestNextName(t *testing.T) {
	withLots := func(names ...string) []record.Entry {
		var out []record.Entry
		for i, n := range names {
			out = append(out, entry(fmt.Sprint("j", i), n, "copy", 1, "", "PASS"))
		}
		return out
	}
	for _, tc := range []struct {
		name string
		lots []string
		want string
	}{
		{"an empty record", nil, "LOT-0001"},
		{"after the highest", []string{"LOT-0003", "LOT-0041", "LOT-0007"}, "LOT-0042"},
		{"other names do not count", []string{"A17", "LOT-12a", "LOT-", "lot-0099", "LOT-0002"}, "LOT-0003"},
		{"more than four digits", []string{"LOT-9999"}, "LOT-10000"},
		{"an absurd number is no default name", []string{"LOT-0005", "LOT-999999999999"}, "LOT-0006"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := lots.NextName(withLots(tc.lots...))
			assert.Equal(t, tc.want, got)
			assert.NoError(t, lots.CheckName(got))
		})
	}
}

func TestAlreadyDone(t *testing.T) {
	card := func(job, lot string, port int, serial, cid, result string) record.Entry {
		e := entry(job, lot, "copy+verify", port, serial, result)
		e.TargetModel, e.TargetCID, e.TargetSize = "SD SL08G", cid, 8e9
		return e
	}
	const cidA, cidB = "035344534c3038478062b1c57b013d00", "1b534d4542314154107b013d0000fa00"
	damaged := entry("j9", "A17", "copy+verify", 2, "S-DAMAGED", "PASS")
	damaged.Problem = "checksum does not match"
	entries := []record.Entry{
		entry("j1", "A17", "copy+verify", 2, "S1", "PASS"),
		entry("j1", "A17", "copy+verify", 3, "S2", "FAIL"),
		entry("j2", "B2", "copy+verify", 2, "S3", "PASS"),
		entry("j3", "A17", "verify", 2, "S4", "PASS"),
		// Two sticks of one job that report one serial.
		entry("j4", "C3", "copy+verify", 2, "0123456789ABCDEF", "PASS"),
		entry("j4", "C3", "copy+verify", 3, "0123456789ABCDEF", "PASS"),
		card("j5", "A17", 4, "0x7b013d00", cidA, "PASS"),
		damaged,
	}
	stick := func(serial string) lots.Identity {
		return lots.IdentityOf(hal.DriveInfo{Vendor: "Kingston", Model: "DataTraveler", Serial: serial, Size: 16e9})
	}
	sd := func(serial, cid string) lots.Identity {
		return lots.IdentityOf(hal.DriveInfo{Model: "SD SL08G", Serial: serial, CID: cid, Size: 8e9})
	}
	resized := stick("S1")
	resized.Size = 32e9
	for _, tc := range []struct {
		name   string
		lot    string
		id     lots.Identity
		want   lots.Verdict
		reason string
	}{
		{"passed in this lot", "A17", stick("S1"), lots.Done, "already done in lot A17: job j1, port 2, 2026-11-22 10:00:02"},
		{"failed in this lot: do it again", "A17", stick("S2"), lots.NotDone, ""},
		{"passed in another lot", "A17", stick("S3"), lots.NotDone, ""},
		{"only verified in this lot", "A17", stick("S4"), lots.NotDone, ""},
		{"the entry does not verify", "A17", stick("S-DAMAGED"), lots.NotDone, ""},
		{"never seen", "A17", stick("S99"), lots.NotDone, ""},
		{"same serial, other size", "A17", resized, lots.NotDone, ""},
		{"no serial", "A17", stick(""), lots.Unknown, "no serial: cannot tell if it was done"},
		{"a serial several drives share", "C3", stick("0123456789ABCDEF"), lots.Unknown,
			"serial 0123456789ABCDEF is shared by several drives (job j4, ports 2 and 3): cannot tell if it was done"},
		{"no lot", "", stick("S1"), lots.Unknown, "no lot is running"},
		{"a card by its CID", "A17", sd("0x7b013d00", cidA), lots.Done, "already done in lot A17: job j5, port 4"},
		{"another card with the same 32-bit serial", "A17", sd("0x7b013d00", cidB), lots.NotDone, ""},
		{"a card with a CID but no serial", "A17", sd("", cidA), lots.Done, "already done in lot A17"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := lots.AlreadyDone(entries, tc.lot, tc.id)
			assert.Equal(t, tc.want, got.Verdict, got.Reason)
			if tc.reason == "" {
				assert.Empty(t, got.Reason)
			} else {
				assert.Contains(t, got.Reason, tc.reason)
			}
			if tc.want == lots.Done {
				assert.Equal(t, "PASS", got.Entry.Result)
				assert.Equal(t, tc.lot, got.Entry.Lot)
			}
		})
	}
}

func TestNameFromScan(t *testing.T) {
	for _, tc := range []struct {
		name string
		scan hal.Scan
		want string // the lot name, or what the error says
		ok   bool
	}{
		{"a scanned lot", hal.Scan{Code: "A17"}, "A17", true},
		{"a refused scan", hal.Scan{Err: hal.CheckCode("A\t17")}, "lot name from the scanner: scanned code refused: character 2 of the code is a control character (U+0009)", false},
		{"a thousand characters", hal.Scan{Err: hal.CheckCode(strings.Repeat("7", 1000))}, "the code is 1000 characters long; at most 128", false},
		{"a code no lot may be named", hal.Scan{Code: "A/17"}, `lot name from the scanner: lot name "A/17": not a usable lot name: character 2 ('/') is a path separator`, false},
		{"a code too long for a lot", hal.Scan{Code: strings.Repeat("x", 100)}, "it is 100 characters long; at most 64 fit", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := lots.NameFromScan(tc.scan)
			if tc.ok {
				require.NoError(t, err)
				assert.Equal(t, tc.want, got)
				return
			}
			assert.Empty(t, got, "a refused code never becomes a lot name")
			assert.ErrorContains(t, err, tc.want)
		})
	}
}
