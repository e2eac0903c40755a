// Package passwords keeps the appliance's secrets as salted bcrypt
// hashes, never as they were typed: the web panel's passwords (one per
// role) and the Setup PIN. They live in one small file in the state
// folder (mode 0600), replaced crash-safe on every change; a process that
// changes it (`clonebay passwd` beside a running appliance) is seen by
// the others on their next look, because every look checks the file.
//
// It imports the standard library, x/crypto's bcrypt and internal/fsys.
package passwords

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/clonebay/clonebay/internal/fsys"
)

// Role is what a password lets its holder do on the web panel.
type Role string

// The roles: a viewer watches; an operator also starts and stops jobs,
// manages images and changes settings.
const (
	Viewer   Role = "viewer"
	Operator Role = "operator"
)

// ParseRole reads a role's name.
func ParseRole(s string) (Role, error) {
	switch Role(s) {
	case Viewer, Operator:
		return Role(s), nil
	}
	return "", fmt.Errorf("role %q: give viewer or operator", s)
}

// Password lengths: bcrypt reads at most 72 bytes, and a short password
// on a box on the network is guessed.
const (
	MinLength = 8
	MaxLength = 72
)

// DefaultCost is bcrypt's work factor for the appliance: about 50 ms on a
// laptop, a few hundred on a Raspberry Pi, per login.
const DefaultCost = 10

// ErrNoPassword says no password is set for the role.
var ErrNoPassword = errors.New("no password is set")

// stored is the file's content.
type stored struct {
	Operator string `json:"operator,omitempty"`
	Viewer   string `json:"viewer,omitempty"`
	// PIN is the Setup PIN's hash; "" is no lock. nil: the operator has
	// never chosen (a factory PIN may still apply).
	PIN *string `json:"pin,omitempty"`
}

// Store is the passwords file. A zero path keeps the secrets in memory
// only (the simulator, tests).
type Store struct {
	files fsys.FS
	path  string
	// Cost is bcrypt's work factor for new hashes (tests use bcrypt's
	// minimum).
	Cost int

	mu    sync.Mutex
	data  stored
	stamp fileStamp // of the file data was read from
}

// fileStamp tells a changed file from the one read before.
type fileStamp struct {
	mod  time.Time
	size int64
	ok   bool
}

// Open opens the passwords file at path (it need not exist yet). A file
// that exists but cannot be read or parsed is an error: the appliance
// must not start with its locks silently gone.
func Open(files fsys.FS, path string) (*Store, error) {
	s := &Store{files: files, path: path, Cost: DefaultCost}
	if path == "" {
		return s, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// Memory is a store that keeps its secrets in memory only.
func Memory(cost int) *Store { return &Store{Cost: cost} }

// reload reads the file again when it changed; s.mu held.
func (s *Store) reload() error {
	if s.path == "" {
		return nil
	}
	fi, err := s.files.Stat(s.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		s.data, s.stamp = stored{}, fileStamp{}
		return nil
	case err != nil:
		return fmt.Errorf("passwords %s: %w", s.path, err)
	}
	st := fileStamp{mod: fi.ModTime(), size: fi.Size(), ok: true}
	if st == s.stamp {
		return nil
	}
	raw, err := s.files.ReadFile(s.path)
	if err != nil {
		return fmt.Errorf("passwords %s: %w", s.path, err)
	}
	var d stored
	if err := json.Unmarshal(raw, &d); err != nil {
		return fmt.Errorf("passwords %s: damaged: %w", s.path, err)
	}
	for what, h := range map[string]string{"operator": d.Operator, "viewer": d.Viewer} {
		if h != "" && !IsHash(h) {
			return fmt.Errorf("passwords %s: %s: not a bcrypt hash", s.path, what)
		}
	}
	if d.PIN != nil && *d.PIN != "" && !IsHash(*d.PIN) {
		return fmt.Errorf("passwords %s: pin: not a bcrypt hash", s.path)
	}
	s.data, s.stamp = d, st
	return nil
}

// IsHash reports whether h is a bcrypt hash (and so not a secret left in
// plain text).
func IsHash(h string) bool {
	_, err := bcrypt.Cost([]byte(h))
	return err == nil
}

// save writes the file; s.mu held.
func (s *Store) save(d stored) error {
	if s.path == "" {
		s.data = d
		return nil
	}
	raw, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return err
	}
	if err := s.files.MkdirAll(filepath.Dir(s.path), 0o755); err != nil {
		return fmt.Errorf("passwords %s: %w", s.path, err)
	}
	if err := fsys.WriteFileAtomic(s.files, s.path, append(raw, '\n'), 0o600); err != nil {
		return fmt.Errorf("passwords %s: %w", s.path, err)
	}
	s.data, s.stamp = d, fileStamp{}
	return s.reload()
}

// CheckPassword says what is wrong with a new password, or nil.
func CheckPassword(pw string) error {
	switch {
	case !utf8.ValidString(pw):
		return errors.New("the password is not valid UTF-8")
	case len(pw) < MinLength:
		return fmt.Errorf("the password is %d bytes; give at least %d", len(pw), MinLength)
	case len(pw) > MaxLength:
		return fmt.Errorf("the password is %d bytes; give at most %d", len(pw), MaxLength)
	case strings.TrimSpace(pw) != pw:
		return errors.New("the password starts or ends with a space")
	}
	return nil
}

// Set sets a role's password.
func (s *Store) Set(role Role, pw string) error {
	if _, err := ParseRole(string(role)); err != nil {
		return err
	}
	if err := CheckPassword(pw); err != nil {
		return err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), s.cost())
	if err != nil {
		return fmt.Errorf("password: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.reload(); err != nil {
		return err
	}
	d := s.data
	if role == Operator {
		d.Operator = string(h)
	} else {
		d.Viewer = string(h)
	}
	return s.save(d)
}

func (s *Store) cost() int {
	if s.Cost == 0 {
		return DefaultCost
	}
	return s.Cost
}

// Has reports whether a role has a password.
func (s *Store) Has(role Role) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.reload(); err != nil {
		return false, err
	}
	if role == Operator {
		return s.data.Operator != "", nil
	}
	return s.data.Viewer != "", nil
}

// Login finds the role whose password pw is: the operator's first. It
// returns ErrNoPassword wrapped when pw is neither.
func (s *Store) Login(pw string) (Role, error) {
	s.mu.Lock()
	if err := s.reload(); err != nil {
		s.mu.Unlock()
		return "", err
	}
	d := s.data
	s.mu.Unlock()
	if len(pw) > MaxLength {
		return "", fmt.Errorf("wrong password: %w", ErrNoPassword)
	}
	for _, c := range []struct {
		role Role
		hash string
	}{{Operator, d.Operator}, {Viewer, d.Viewer}} {
		if c.hash != "" && bcrypt.CompareHashAndPassword([]byte(c.hash), []byte(pw)) == nil {
			return c.role, nil
		}
	}
	return "", fmt.Errorf("wrong password: %w", ErrNoPassword)
}

// PIN returns the Setup PIN's hash ("" is no lock) and whether the
// operator ever chose one (or chose none).
func (s *Store) PIN() (hash string, chosen bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.reload(); err != nil {
		return "", false, err
	}
	if s.data.PIN == nil {
		return "", false, nil
	}
	return *s.data.PIN, true, nil
}

// SetPIN stores a PIN's hash (made by Lock.Hash); "" is no lock.
func (s *Store) SetPIN(hash string) error {
	if hash != "" && !IsHash(hash) {
		return errors.New("pin: refusing to store a PIN that is not hashed")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.reload(); err != nil {
		return err
	}
	d := s.data
	d.PIN = &hash
	return s.save(d)
}

// Lock hashes and checks the Setup PIN for the panel's model, which
// keeps only the hash.
type Lock struct{ Cost int }

// Hash makes a PIN's stored form.
func (l Lock) Hash(pin string) (string, error) {
	cost := l.Cost
	if cost == 0 {
		cost = DefaultCost
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pin), cost)
	if err != nil {
		return "", fmt.Errorf("pin: %w", err)
	}
	return string(h), nil
}

// Match reports whether pin is the one hash was made of.
func (l Lock) Match(hash, pin string) bool {
	return hash != "" && bcrypt.CompareHashAndPassword([]byte(hash), []byte(pin)) == nil
}

// Path is the file the store keeps its secrets in; "" in memory.
func (s *Store) Path() string { return s.path }
