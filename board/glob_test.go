package board

import (
	"path"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPatternOverlap(t *testing.T) {
	for _, tc := range []struct {
		p, q string
		want string // "" when no drive can match both
	}{
		{"usb-0:1.1:1.0-*", "usb-0:1.2:1.0-*", ""},
		{"usb-0:1.1:1.0-*", "usb-0:1.1*", `both match "usb-0:1.1:1.0-"`},
		{"usb-0:1.1*", "usb-0:1.10*", `both match "usb-0:1.10"`},
		{"usb-[12]x*", "usb-1*", `both match "usb-1x"`},
		{"usb-[^1]", "usb-1", ""},
		{"usb-[^1]", "usb-?", `both match "usb-a"`},
		{"usb-[a-c]", "usb-[d-f]", ""},
		{"usb-[a-c]", "usb-[c-f]", `both match "usb-c"`},
		{`usb-\*`, "usb-x", ""},
		{`usb-\*`, "usb-?", `both match "usb-*"`},
		{"*", "a/b", ""},
		{"*/*", "a/b", `both match "a/b"`},
		{"[/]", "?", ""},
		{"[^a]", "[/]", `both match "/"`},
		{"/dev/loop0", "/dev/loop1", ""},
		{"/dev/loop*", "/dev/loop1", `both match "/dev/loop1"`},
		{"/dev/sd?", "usb-1*", `a drive whose node is "/dev/sda" and whose path is "usb-1" matches both`},
		{"usb-1*", "/dev/sd?", `a drive whose path is "usb-1" and whose node is "/dev/sda" matches both`},
		{"/devices/virtual/block/loop0", "/dev/loop0", `a drive whose path is "/devices/virtual/block/loop0" and whose node is "/dev/loop0" matches both`},
		{"/dev/*", "/dev", `a drive whose node is "/dev/a" and whose path is "/dev" matches both`},
		{"/dev/[a-z]*", "/dev/[0-9]*", ""},
		{"sim-port-1", "sim-port-2", ""},
		{"?*", "*?", `both match "a"`},
		{"*", "", ""},
	} {
		t.Run(tc.p+" "+tc.q, func(t *testing.T) {
			assert.Equal(t, tc.want, overlap(tc.p, tc.q))
		})
	}
}

// TestIntersectAgreesWithPathMatch compares the automaton with
// path.Match itself: over every pattern of up to two pieces and every
// string of up to four characters, two patterns that both match a string
// must be found to overlap, and the string found must match both.
func TestIntersectAgreesWithPathMatch(t *testing.T) {
	pieces := []string{"a", "b", "/", "-", "*", "?", "[ab]", "[^a]", "[a-c]", `\*`, "[/]", "[^/]"}
	var patterns []string
	for _, p := range pieces {
		patterns = append(patterns, p)
		for _, q := range pieces {
			patterns = append(patterns, p+q)
		}
	}
	letters := []string{"a", "b", "c", "/", "-", "*"}
	strs := []string{""}
	for n, from := 0, 0; n < 4; n++ {
		to := len(strs)
		for _, s := range strs[from:to] {
			for _, l := range letters {
				strs = append(strs, s+l)
			}
		}
		from = to
	}
	strs = strs[1:] // the empty string is no drive's name
	matches := make([][]bool, len(patterns))
	for i, p := range patterns {
		matches[i] = make([]bool, len(strs))
		for k, s := range strs {
			ok, err := path.Match(p, s)
			require.NoError(t, err, p)
			matches[i][k] = ok
		}
	}
	items := make([][]globItem, len(patterns))
	for i, p := range patterns {
		var ok bool
		items[i], ok = parseGlob(p)
		require.True(t, ok, p)
	}
	for i, p := range patterns {
		for j, q := range patterns {
			common := ""
			for k := range strs {
				if matches[i][k] && matches[j][k] {
					common = strs[k]
					break
				}
			}
			w, ok := intersect(items[i], items[j])
			if common != "" && !ok {
				t.Fatalf("%q and %q both match %q, but no overlap was found", p, q, common)
			}
			if ok {
				mp, _ := path.Match(p, w)
				mq, _ := path.Match(q, w)
				if !mp || !mq || w == "" {
					t.Fatalf("%q and %q: the string found, %q, does not match both", p, q, w)
				}
			}
		}
	}
}

// FuzzPatternOverlap checks the automaton against path.Match on any two
// valid patterns and any string: never a false "no overlap", and the
// string it finds matches both.
func FuzzPatternOverlap(f *testing.F) {
	f.Add("usb-0:1.1:1.0-*", "usb-0:1.1*", "usb-0:1.1:1.0-scsi")
	f.Add("[^a-c]x*", `?\x[x-z]`, "dxy")
	f.Add("/dev/sd?", "*", "sda")
	f.Add("[]a]", "[\\]]", "]")
	f.Fuzz(func(t *testing.T, p, q, s string) {
		if _, err := path.Match(p, ""); err != nil {
			return
		}
		if _, err := path.Match(q, ""); err != nil {
			return
		}
		a, okA := parseGlob(p)
		b, okB := parseGlob(q)
		if !okA || !okB {
			// Only invalid UTF-8, which Validate refuses.
			return
		}
		w, ok := intersect(a, b)
		if ok {
			mp, _ := path.Match(p, w)
			mq, _ := path.Match(q, w)
			if !mp || !mq || w == "" {
				t.Fatalf("%q and %q: the string found, %q, does not match both", p, q, w)
			}
		}
		mp, _ := path.Match(p, s)
		mq, _ := path.Match(q, s)
		if s != "" && mp && mq && !ok {
			t.Fatalf("%q and %q both match %q, but no overlap was found", p, q, s)
		}
	})
}
