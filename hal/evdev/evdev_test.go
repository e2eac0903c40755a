package evdev

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/hal/haltest"
)

var update = flag.Bool("update", false, "rewrite the event streams in testdata")

// pipeReader starts a reader on the read end of a pipe and returns the
// write end: what a test writes there reaches the reader as a device's
// records would.
func pipeReader(t *testing.T, l Layout, word int) (*Reader, *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	t.Cleanup(func() { w.Close() })
	rd := NewReader("pipe", r, l)
	rd.wordBytes = word
	return rd, w
}

// run runs a reader and returns its scans, a cancel, and wait, which
// returns what Run returned.
func run(t *testing.T, rd *Reader) (<-chan hal.Scan, func() error, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	scans := make(chan hal.Scan)
	done := make(chan error, 1)
	go func() { done <- rd.Run(ctx, scans) }()
	wait := sync.OnceValue(func() error { return <-done })
	t.Cleanup(func() {
		cancel()
		_ = wait()
	})
	return scans, wait, cancel
}

func TestReaderConformance(t *testing.T) {
	for _, word := range []int{8, 4} {
		t.Run(map[int]string{8: "64-bit records", 4: "32-bit records"}[word], func(t *testing.T) {
			rd, w := pipeReader(t, US, word)
			ty := &typist{layout: US, at: 1_700_000_000 * time.Second}
			haltest.TestCodeReader(t, haltest.CodeReaderHarness{
				Reader: rd,
				Type: func(text string) {
					_, err := w.Write(encode(ty.events(text), word))
					require.NoError(t, err)
				},
			})
		})
	}
}

// The streams in testdata are what a US and a German HID scanner send
// for two codes each, in the kernel's 24-byte records (64-bit, little
// endian), written as hex, one record a line.
var recorded = []struct {
	file   string
	layout Layout
	text   string
	codes  []string
}{
	{"scanner-us.hex", US, "LOT-0042\nA17\n", []string{"LOT-0042", "A17"}},
	{"scanner-de.hex", DE, "Müller@Lager-7\nZy#<ÄÖÜ>\n", []string{"Müller@Lager-7", "Zy#<ÄÖÜ>"}},
}

func TestRecordedScans(t *testing.T) {
	for _, rec := range recorded {
		path := filepath.Join("testdata", rec.file)
		if *update {
			ty := &typist{layout: rec.layout, at: 1_732_000_000*time.Second + 125_000*time.Microsecond}
			var sb strings.Builder
			for _, ev := range ty.events(rec.text) {
				sb.WriteString(hex.EncodeToString(AppendEvent(nil, ev, 8)) + "\n")
			}
			require.NoError(t, os.WriteFile(path, []byte(sb.String()), 0o644))
		}
		t.Run(rec.file, func(t *testing.T) {
			raw, err := os.ReadFile(path)
			require.NoError(t, err)
			var stream []byte
			for i, line := range strings.Fields(string(raw)) {
				b, err := hex.DecodeString(line)
				require.NoError(t, err, "line %d", i+1)
				require.Len(t, b, 24, "line %d is one 64-bit input_event", i+1)
				stream = append(stream, b...)
			}
			// The first record, read by hand: the scan code of the first
			// key (left Shift), at 1732000000.125 s.
			assert.Equal(t, uint64(1_732_000_000), binary.LittleEndian.Uint64(stream[0:]))
			assert.Equal(t, uint64(125_000), binary.LittleEndian.Uint64(stream[8:]))
			assert.Equal(t, uint16(evMsc), binary.LittleEndian.Uint16(stream[16:]))
			assert.Equal(t, uint16(mscScan), binary.LittleEndian.Uint16(stream[18:]))
			if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
				// The recording is of a 64-bit machine: a 32-bit one
				// reads its own, shorter records.
				var evs []Event
				for off := 0; off < len(stream); off += 24 {
					evs = append(evs, ParseEvent(stream[off:off+24], 8))
				}
				stream = encode(evs, 4)
			}

			rd, w := pipeReader(t, rec.layout, wordBytes)
			scans, _, _ := run(t, rd)
			// A pipe delivers the bytes in pieces that cut records.
			go func() {
				for off := 0; off < len(stream); off += 7 {
					if _, err := w.Write(stream[off:min(off+7, len(stream))]); err != nil {
						return
					}
				}
			}()
			for _, want := range rec.codes {
				s := <-scans
				require.NoError(t, s.Err)
				assert.Equal(t, want, s.Code)
			}
		})
	}
}

func TestLayouts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		layout Layout
		text   string
		want   string
	}{
		{"US letters and digits", US, "Lot42", "Lot42"},
		{"US shifted signs", US, "!@#$%^&*()_+{}:\"<>?~|", "!@#$%^&*()_+{}:\"<>?~|"},
		{"US plain signs", US, "-=[];',./`\\", "-=[];',./`\\"},
		{"DE swaps Y and Z", DE, "zyZY", "zyZY"},
		{"DE umlauts", DE, "äöüßÄÖÜ", "äöüßÄÖÜ"},
		{"DE shifted digits", DE, "!\"§$%&/()=", "!\"§$%&/()="},
		{"DE AltGr", DE, "@€{[]}\\~|µ²³", "@€{[]}\\~|µ²³"},
		{"DE signs", DE, "#'+*<>,;.:-_?", "#'+*<>,;.:-_?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDecoder(tc.layout)
			ty := &typist{layout: tc.layout}
			var got []hal.Scan
			for _, ev := range ty.events(tc.text + "\n") {
				if s, ok := d.Event(ev); ok {
					got = append(got, s)
				}
			}
			require.Len(t, got, 1)
			require.NoError(t, got[0].Err)
			assert.Equal(t, tc.want, got[0].Code)
		})
	}

	t.Run("one key, two layouts", func(t *testing.T) {
		// The key a US keyboard labels Z types y on a German one.
		evs := (&typist{layout: US}).events("z\n")
		us, de := NewDecoder(US), NewDecoder(DE)
		for _, ev := range evs {
			if s, ok := us.Event(ev); ok {
				assert.Equal(t, "z", s.Code)
			}
			if s, ok := de.Event(ev); ok {
				assert.Equal(t, "y", s.Code)
			}
		}
	})

	t.Run("names", func(t *testing.T) {
		for _, name := range []string{"", "us", "de"} {
			l, err := LayoutByName(name)
			require.NoError(t, err)
			assert.Equal(t, map[string]string{"": "us"}[name]+name, l.Name())
		}
		_, err := LayoutByName("fr")
		assert.EqualError(t, err, `scanner layout "fr": give one of us, de`)
	})
}

// keys builds an event stream from key codes: >0 presses and releases a
// key, <0 holds (-code) down until the next 0, and 0 releases what is
// held.
func keys(start time.Duration, codes ...int) []Event {
	var evs []Event
	at := start
	var held []uint16
	for _, c := range codes {
		switch {
		case c > 0:
			evs = append(evs, Event{Time: at, Type: evKey, Code: uint16(c), Value: keyDown},
				Event{Time: at, Type: evKey, Code: uint16(c), Value: keyUp})
		case c < 0:
			held = append(held, uint16(-c))
			evs = append(evs, Event{Time: at, Type: evKey, Code: uint16(-c), Value: keyDown})
		default:
			for _, h := range held {
				evs = append(evs, Event{Time: at, Type: evKey, Code: h, Value: keyUp})
			}
			held = nil
		}
		at += 5 * time.Millisecond
	}
	return evs
}

func TestRefusedCodes(t *testing.T) {
	const a, b, one, f1 = 30, 48, 2, 59
	long := make([]int, 0, 1001)
	for range 1000 {
		long = append(long, one)
	}
	for _, tc := range []struct {
		name   string
		layout Layout
		events []Event
		want   []string // a code, or "!" and the start of why it was refused
	}{
		{"a tab inside", US, keys(0, a, keyTab, b, keyEnter), []string{"!control character (U+0009)"}},
		{"Ctrl held", US, keys(0, a, -keyLeftCtrl, b, 0, keyEnter), []string{"!character 2 was typed with Ctrl, Alt or Meta held"}},
		{"Alt held", US, keys(0, -keyLeftAlt, one, 0, keyEnter), []string{"!character 1 was typed with Ctrl, Alt or Meta held"}},
		{"a function key", US, keys(0, a, f1, keyEnter), []string{"!character 2 is key 59, which types nothing in the us layout"}},
		{"a dead key", DE, keys(0, keyGrave, a, keyEnter), []string{"!character 1 is key 41, which types nothing in the de layout"}},
		{"a thousand characters", US, keys(0, append(long, keyEnter)...), []string{"!the code is 1000 characters long; at most 128"}},
		{"a code without Enter", US, append(keys(0, a, b), keys(3*time.Second, one, keyEnter)...),
			[]string{"!no Enter after it", "1"}},
		{"Enter alone is nothing", US, keys(0, keyEnter, keyEnter, a, keyKPEnter), []string{"a"}},
		{"the keypad types digits", US, keys(0, 79, 80, 81, 82, keyKPMinus, keyKPEnter), []string{"1230-"}},
		{"Caps Lock turns letters, not digits", US, keys(0, keyCapsLock, a, one, -keyLeftShift, b, 0, keyCapsLock, a, keyEnter),
			[]string{"A1ba"}},
		{"a held key repeats", US, append(keys(0, -a), Event{Type: evKey, Code: a, Value: keyRepeat},
			Event{Type: evKey, Code: a, Value: keyUp}, Event{Type: evKey, Code: keyEnter, Value: keyDown}), []string{"aa"}},
		{"after a refused code, the next is fine", US, keys(0, keyEsc, keyEnter, b, keyEnter), []string{"!control character (U+001B)", "b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := NewDecoder(tc.layout)
			var got []string
			for _, ev := range tc.events {
				s, ok := d.Event(ev)
				if !ok {
					continue
				}
				if s.Err != nil {
					assert.ErrorIs(t, s.Err, hal.ErrBadCode)
					assert.Empty(t, s.Code)
					got = append(got, "!"+s.Err.Error())
					continue
				}
				got = append(got, s.Code)
			}
			require.Len(t, got, len(tc.want), "%q", got)
			for i, w := range tc.want {
				if why, ok := strings.CutPrefix(w, "!"); ok {
					assert.Contains(t, got[i], why)
					assert.True(t, strings.HasPrefix(got[i], "!scanned code refused: "), got[i])
				} else {
					assert.Equal(t, w, got[i])
				}
			}
		})
	}
}

func FuzzDecoder(f *testing.F) {
	for _, rec := range recorded {
		f.Add(encode((&typist{layout: rec.layout}).events(rec.text), 8), rec.layout.name == "de")
	}
	f.Add(encode(keys(0, 30, keyTab, keyEnter), 8), false)
	f.Fuzz(func(t *testing.T, stream []byte, german bool) {
		l := US
		if german {
			l = DE
		}
		d := NewDecoder(l)
		for off := 0; off+24 <= len(stream); off += 24 {
			s, ok := d.Event(ParseEvent(stream[off:off+24], 8))
			if !ok {
				continue
			}
			if s.Err != nil {
				if s.Code != "" || !strings.Contains(s.Err.Error(), hal.ErrBadCode.Error()) {
					t.Fatalf("a refused scan carries code %q and error %v", s.Code, s.Err)
				}
				continue
			}
			if err := hal.CheckCode(s.Code); err != nil {
				t.Fatalf("passed on %q: %v", s.Code, err)
			}
		}
	})
}

func TestRunEnds(t *testing.T) {
	t.Run("with its context", func(t *testing.T) {
		rd, _ := pipeReader(t, US, wordBytes)
		_, wait, cancel := run(t, rd)
		cancel()
		assert.ErrorIs(t, wait(), context.Canceled)
	})
	t.Run("when the device goes away", func(t *testing.T) {
		rd, w := pipeReader(t, US, wordBytes)
		scans, wait, _ := run(t, rd)
		_, err := w.Write(encode((&typist{layout: US}).events("A17\n"), wordBytes))
		require.NoError(t, err)
		assert.Equal(t, "A17", (<-scans).Code)
		require.NoError(t, w.Close())
		assert.EqualError(t, wait(), "scanner pipe: the device went away")
	})
}

func TestOpenRefusesWhatIsNoInputDevice(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("input event devices are Linux's")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "event0")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	for _, tc := range []struct {
		name, path, want string
	}{
		{"a plain file", file, "scanner " + file + ": not an input event device (EVIOCGRAB: inappropriate ioctl for device)"},
		{"nothing there", filepath.Join(dir, "event9"), "no such file or directory"},
		{"a terminal's null device", "/dev/null", "not an input event device"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(tc.path, US)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}
