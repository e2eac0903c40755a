package web

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/record"
)

func TestRecordFilter(t *testing.T) {
	day := func(d int, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.Local) }
	entries := []record.Entry{
		{Seq: 1, Time: day(20, 9), Port: 2, Label: "2", TargetSerial: "AA-100", MasterSerial: "M-1", Result: "PASS", Lot: "L-2026-11"},
		{Seq: 2, Time: day(20, 23), Port: 3, Label: "3", TargetSerial: "BB-200", MasterSerial: "M-1", Result: "FAIL", Lot: "L-2026-11"},
		{Seq: 3, Time: day(21, 0), Port: 2, Label: "2", TargetSerial: "CC-300", MasterSerial: "M-2", Result: "PASS"},
		{Seq: 4, Time: day(22, 12), Port: 4, Label: "4", TargetSerial: "AA-400", MasterSerial: "M-2", Result: "ABORTED", Lot: "night"},
	}
	for _, tc := range []struct {
		query string
		want  []int64 // the picked entries' Seq
	}{
		{"", []int64{1, 2, 3, 4}},
		{"from=2026-11-21", []int64{3, 4}},
		{"to=2026-11-20", []int64{1, 2}},
		{"from=2026-11-21&to=2026-11-21", []int64{3}},
		{"result=pass", []int64{1, 3}},
		{"result=FAIL", []int64{2}},
		{"serial=aa-", []int64{1, 4}},
		{"serial=M-2", []int64{3, 4}},
		{"port=2", []int64{1, 3}},
		{"lot=l-2026-11", []int64{1, 2}},
		{"lot=night&result=ABORTED", []int64{4}},
		{"lot=L-2026", nil},
		{"port=2&result=PASS&from=2026-11-21", []int64{3}},
	} {
		t.Run(tc.query, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			require.NoError(t, err)
			f, err := parseFilter(q)
			require.NoError(t, err)
			var got []int64
			for _, e := range entries {
				if f.match(e) {
					got = append(got, e.Seq)
				}
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestRecordFilterErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct{ query, want string }{
		{"from=yesterday", `from "yesterday": give a date as YYYY-MM-DD`},
		{"to=2026-13-01", `to "2026-13-01": give a date`},
		{"result=maybe", `result "maybe": give PASS, FAIL or ABORTED`},
		{"port=0", `port "0": give a number 1..1024`},
		{"limit=5000", `limit "5000": give a number 1..1000`},
		{"lot=" + strings.Repeat("x", 65), "lot: at most 64 characters"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			require.NoError(t, err)
			_, err = parseFilter(q)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}
