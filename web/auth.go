package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/clonebay/clonebay/internal/passwords"
)

// Sessions: a login gives a random token in an HttpOnly, SameSite=Strict
// cookie, and a second random token (CSRF) that the page sends back in a
// header on every call that changes something; a page of another site
// can make the browser send the cookie but cannot read the CSRF token.
// A session ends after an idle time and, whatever happens, after an
// absolute time.

// Session defaults.
const (
	DefaultSessionIdle = 30 * time.Minute
	DefaultSessionMax  = 12 * time.Hour
	maxSessions        = 256
	cookieName         = "clonebay_session"
	csrfHeader         = "X-CSRF-Token"
)

// session is one login.
type session struct {
	role    passwords.Role
	csrf    string
	created time.Time
	seen    time.Time
}

// sessions holds the logins by the SHA-256 of their token, so a token is
// never kept as it is.
type sessions struct {
	idle, max time.Duration
	mu        sync.Mutex
	byHash    map[[32]byte]*session
}

func newSessions(idle, max time.Duration) *sessions {
	return &sessions{idle: idle, max: max, byHash: map[[32]byte]*session{}}
}

// randomToken is 32 random bytes, URL-safe.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand never fails on a supported platform
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session and returns its token.
func (s *sessions) create(role passwords.Role) (token string, sess session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	s.expire(now)
	if len(s.byHash) >= maxSessions {
		// Full: the session seen least recently goes.
		var oldest [32]byte
		var when time.Time
		for h, x := range s.byHash {
			if when.IsZero() || x.seen.Before(when) {
				oldest, when = h, x.seen
			}
		}
		delete(s.byHash, oldest)
	}
	token = randomToken()
	x := &session{role: role, csrf: randomToken(), created: now, seen: now}
	s.byHash[sha256.Sum256([]byte(token))] = x
	return token, *x
}

// errExpired says a session ended by time.
var errExpired = errors.New("the session expired: log in again")

// get finds a session by its token and marks it seen.
func (s *sessions) get(token string) (session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := sha256.Sum256([]byte(token))
	x, ok := s.byHash[h]
	if !ok {
		return session{}, errors.New("not logged in")
	}
	now := time.Now()
	if now.Sub(x.seen) >= s.idle || now.Sub(x.created) >= s.max {
		delete(s.byHash, h)
		return session{}, errExpired
	}
	x.seen = now
	return *x, nil
}

// end ends a session.
func (s *sessions) end(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byHash, sha256.Sum256([]byte(token)))
}

// expire drops the sessions that have ended; s.mu held.
func (s *sessions) expire(now time.Time) {
	for h, x := range s.byHash {
		if now.Sub(x.seen) >= s.idle || now.Sub(x.created) >= s.max {
			delete(s.byHash, h)
		}
	}
}

// sameToken compares two tokens in constant time.
func sameToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// Login attempts are limited per client and overall: a guesser gets a
// few tries a minute, and many guessers together not many more. Both are
// token buckets.

// Login limits.
const (
	clientBurst  = 5
	clientRefill = 12 * time.Second // one more attempt a client
	totalBurst   = 30
	totalRefill  = 2 * time.Second // one more attempt overall
	maxClients   = 4096
)

// bucket is a token bucket: n tokens at time at.
type bucket struct {
	n  float64
	at time.Time
}

// take takes a token, refilled one per every and holding at most burst;
// it returns how long until one is there when none is.
func (b *bucket) take(now time.Time, burst int, every time.Duration) (bool, time.Duration) {
	if b.at.IsZero() {
		b.n, b.at = float64(burst), now
	}
	b.n = min(float64(burst), b.n+float64(now.Sub(b.at))/float64(every))
	b.at = now
	if b.n >= 1 {
		b.n--
		return true, 0
	}
	return false, time.Duration((1 - b.n) * float64(every))
}

// limiter limits login attempts.
type limiter struct {
	mu      sync.Mutex
	total   bucket
	clients map[string]*bucket
}

func newLimiter() *limiter { return &limiter{clients: map[string]*bucket{}} }

// allow takes an attempt for the client at addr; when refused it says
// how long to wait.
func (l *limiter) allow(addr string) (bool, time.Duration) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	c := l.clients[host]
	if c == nil {
		if len(l.clients) >= maxClients {
			// Forget the clients whose buckets are full again.
			for h, b := range l.clients {
				if float64(now.Sub(b.at))/float64(clientRefill)+b.n >= clientBurst {
					delete(l.clients, h)
				}
			}
		}
		if len(l.clients) >= maxClients {
			return false, clientRefill
		}
		c = &bucket{}
		l.clients[host] = c
	}
	if ok, wait := c.take(now, clientBurst, clientRefill); !ok {
		return false, wait
	}
	if ok, wait := l.total.take(now, totalBurst, totalRefill); !ok {
		c.n++ // not this client's fault: give its token back
		return false, wait
	}
	return true, 0
}

// cookie is the session cookie.
func (s *Server) cookie(token string, maxAge time.Duration) *http.Cookie {
	return &http.Cookie{Name: cookieName, Value: token, Path: "/", HttpOnly: true, Secure: s.o.TLS(),
		SameSite: http.SameSiteStrictMode, MaxAge: int(maxAge / time.Second)}
}
