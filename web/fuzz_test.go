package web

import (
	"net/url"
	"testing"

	"github.com/clonebay/clonebay/ui"
)

// The decoders of what a client sends: whatever the bytes, an error or
// a request within bounds, never a panic.

func FuzzDecodeJob(f *testing.F) {
	for _, s := range []string{
		`{"mode":"copy+verify"}`, `{"mode":"copy","targets":[2,3],"confirm":true}`,
		`{"mode":"erase","erase_mode":"dod","erase_verify":true,"targets":[4],"confirm":true,"pin":"1234"}`,
		`{"mode":"verify","targets":[0]}`, `{"mode":"copy","erase_mode":"quick"}`, `{"mode":"copy"} {}`, `[]`, `{"targets":"2"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := decodeJob(data)
		if err != nil {
			return
		}
		var targets []int
		switch r := req.(type) {
		case ui.StartRequest:
			targets = r.Targets
		case ui.EraseRequest:
			targets = r.Targets
			if r.Mode == "" || len(r.PIN) > 16 {
				t.Fatalf("%q: an erase without a mode or with a long PIN: %+v", data, r)
			}
		default:
			t.Fatalf("%q: decoded into %T", data, req)
		}
		for _, p := range targets {
			if p < 1 || p > maxPort {
				t.Fatalf("%q: port %d passed", data, p)
			}
		}
	})
}

func FuzzDecodeSettings(f *testing.F) {
	for _, s := range []string{
		`{"area":"smart"}`, `{"verify":false,"auto_start":3,"backlight_seconds":300}`, `{"min_write_mbps":1e308}`,
		`{"backlight_seconds":-1}`, `{"pin":"1234","buzzer":false}`, `{"colour":"blue"}`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := decodeSettings(data)
		if err != nil {
			return
		}
		if b := req.Change.Backlight; b != nil && *b < 0 || len(req.PIN) > 16 {
			t.Fatalf("%q: out of bounds: %+v", data, req)
		}
	})
}

func FuzzDecodeLogin(f *testing.F) {
	for _, s := range []string{`{"password":"operator-pw"}`, `{"password":""}`, `{"password":1}`, `{}`, `{"password":"a"}{"password":"b"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := decodeLogin(data)
		if err == nil && l.Password == "" {
			t.Fatalf("%q: an empty password passed", data)
		}
	})
}

func FuzzRecordFilter(f *testing.F) {
	for _, s := range []string{"from=2026-01-01&to=2026-12-31&result=pass&serial=SIM&port=3&limit=50&offset=10",
		"from=yesterday", "port=0", "limit=100000", "result=maybe", "offset=-1", "serial=%00%ff", "lot=L-2026-11&result=PASS"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, query string) {
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		fl, err := parseFilter(q)
		if err != nil {
			return
		}
		if fl.Limit < 1 || fl.Limit > 1000 || fl.Offset < 0 || fl.Port < 0 || fl.Port > maxPort || len(fl.Serial) > 64 || len(fl.Lot) > 64 {
			t.Fatalf("%q: out of bounds: %+v", query, fl)
		}
	})
}

func FuzzUploadTarget(f *testing.F) {
	for _, s := range [][2]string{{"name=kiosk-7", ""}, {"", "../../etc/passwd"}, {"", `C:\x\Ubuntu 24.04.img.xz`},
		{"name=../x", ""}, {"sha256=zz", "a.img"}, {"", "\x00\xff.img"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, query, header string) {
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		name, file, sum, err := uploadTarget(q, header)
		if err != nil {
			return
		}
		for _, c := range name {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
				t.Fatalf("query %q, header %q: image name %q", query, header, name)
			}
		}
		if name == "" || name[0] == '.' || len(file) > 100 || (sum != "" && len(sum) != 64) {
			t.Fatalf("query %q, header %q: name %q, file %q, sum %q", query, header, name, file, sum)
		}
		for _, c := range []byte(file) {
			if c < 0x20 || c > 0x7e || c == '/' {
				t.Fatalf("header %q: file name %q", header, file)
			}
		}
	})
}
