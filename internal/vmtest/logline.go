package vmtest

import (
	"strconv"
	"strings"
)

// AppLog reads a line of the appliance's log as the machine's console
// shows it (journald's "[   12.345678] clonebay[412]: " before slog's
// key=value text) and returns its fields, or nil when the line is not the
// appliance's or its msg is not msg ("" takes any).
func AppLog(line, msg string) map[string]string {
	i := strings.Index(line, "clonebay[")
	if i < 0 {
		return nil
	}
	j := strings.Index(line[i:], "]: ")
	if j < 0 {
		return nil
	}
	kv := Logfmt(line[i+j+3:])
	if kv == nil || (msg != "" && kv["msg"] != msg) {
		return nil
	}
	return kv
}

// Logfmt parses slog's text format: key=value pairs, a value quoted in Go
// syntax when it holds spaces or quotes. It returns nil for text that is
// not in that format.
func Logfmt(s string) map[string]string {
	kv := map[string]string{}
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimLeft(s, " ") {
		eq := strings.IndexByte(s, '=')
		if eq <= 0 || strings.ContainsAny(s[:eq], " \"") {
			return nil
		}
		key := s[:eq]
		s = s[eq+1:]
		var val string
		if strings.HasPrefix(s, `"`) {
			q, err := strconv.QuotedPrefix(s)
			if err != nil {
				return nil
			}
			val, _ = strconv.Unquote(q)
			s = s[len(q):]
		} else {
			end := strings.IndexByte(s, ' ')
			if end < 0 {
				end = len(s)
			}
			val, s = s[:end], s[end:]
		}
		kv[key] = val
	}
	return kv
}

// Properties reads `udevadm info --query=property` output: KEY=value
// lines.
func Properties(out string) map[string]string {
	props := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			props[k] = v
		}
	}
	return props
}
