package fleet

import (
	"net/url"
	"regexp"
	"strings"
)

// hidden stands in for a password wherever one would be shown.
const hidden = "xxxxx"

// Redact returns a connection string fit to show: in a URL the password
// (of the user part, or a password= parameter) is replaced; in a
// keyword/value string ("host=... password=...") the password's value is.
// Logs, status lines and errors use it, never the URL itself.
func Redact(conn string) string {
	if !strings.Contains(conn, "://") {
		return kvPassword.ReplaceAllString(conn, "${1}"+hidden)
	}
	u, err := url.Parse(conn)
	if err != nil {
		// Not a URL that parses: hide everything between "://" and the
		// host, and any password parameter.
		s := urlUser.ReplaceAllString(conn, "${1}"+hidden+"@")
		return queryPassword.ReplaceAllString(s, "${1}"+hidden)
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), hidden)
		}
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", hidden)
		u.RawQuery = q.Encode()
	}
	return u.String()
}

var (
	kvPassword = regexp.MustCompile(`(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S*)`)
	// The password of a URL that does not parse runs to the last "@": it
	// may hold a "/" (generated passwords in base64 do), and hiding too
	// much is no harm.
	urlUser       = regexp.MustCompile(`^([a-zA-Z][a-zA-Z0-9+.-]*://[^/@:]*:).*@`)
	queryPassword = regexp.MustCompile(`(?i)([?&]password=)[^&#]*`)
)

// passwords are the forms a connection string's password may take in a
// message: as given, escaped and unescaped.
func passwords(conn string, parsed string) []string {
	var out []string
	add := func(p string) {
		if p != "" && p != hidden {
			out = append(out, p)
		}
	}
	add(parsed)
	if u, err := url.Parse(conn); err == nil {
		if p, ok := u.User.Password(); ok {
			add(p)
			add(url.QueryEscape(p))
			add(url.PathEscape(p))
		}
		add(u.Query().Get("password"))
	}
	if m := kvPassword.FindStringSubmatch(conn); m != nil {
		add(strings.Trim(m[2], "'"))
	}
	if m := urlUser.FindStringSubmatch(conn); m != nil {
		// An unparsable URL: whatever stood between "user:" and "@".
		rest := strings.TrimPrefix(conn, m[1])
		if i := strings.LastIndex(rest, "@"); i > 0 {
			add(rest[:i])
			if p, err := url.PathUnescape(rest[:i]); err == nil {
				add(p)
			}
		}
	}
	// Longest first, so a password that contains another is hidden whole.
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if len(out[j]) > len(out[i]) {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// scrub hides every password in s.
func scrub(s string, secrets []string) string {
	for _, p := range secrets {
		s = strings.ReplaceAll(s, p, hidden)
	}
	return s
}

// redactedError is an error whose text has had the passwords taken out;
// errors.Is and errors.As still see what it wraps.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redactErr hides the passwords in err's text (pgx's own errors
// included).
func redactErr(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	msg := scrub(err.Error(), secrets)
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}
