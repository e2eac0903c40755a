package passwords_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/internal/passwords"
)

func TestPasswordsAreStoredHashed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "passwords")
	s, err := passwords.Open(fsys.OS, path)
	require.NoError(t, err)
	s.Cost = bcrypt.MinCost
	has, err := s.Has(passwords.Operator)
	require.NoError(t, err)
	assert.False(t, has, "a new appliance has no password")

	require.NoError(t, s.Set(passwords.Operator, "duplicate-all-day"))
	require.NoError(t, s.Set(passwords.Viewer, "just-looking"))
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.NotContains(t, string(raw), "duplicate-all-day", "never in plain text")
	assert.Contains(t, string(raw), "$2a$")
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	// A second process (clonebay passwd beside the appliance) reads it.
	other, err := passwords.Open(fsys.OS, path)
	require.NoError(t, err)
	for _, tc := range []struct {
		pw   string
		role passwords.Role
	}{
		{"duplicate-all-day", passwords.Operator},
		{"just-looking", passwords.Viewer},
		{"Duplicate-all-day", ""},
		{"", ""},
		{strings.Repeat("x", 200), ""},
	} {
		role, err := other.Login(tc.pw)
		if tc.role == "" {
			assert.ErrorIs(t, err, passwords.ErrNoPassword, tc.pw)
			continue
		}
		require.NoError(t, err, tc.pw)
		assert.Equal(t, tc.role, role)
	}
	// A change by one is seen by the other.
	require.NoError(t, other.Set(passwords.Operator, "a-new-one-today"))
	_, err = s.Login("duplicate-all-day")
	assert.ErrorIs(t, err, passwords.ErrNoPassword, "the old password no longer works")
	role, err := s.Login("a-new-one-today")
	require.NoError(t, err)
	assert.Equal(t, passwords.Operator, role)
}

func TestBadPasswordsAndFiles(t *testing.T) {
	s := passwords.Memory(bcrypt.MinCost)
	for _, tc := range []struct{ pw, want string }{
		{"short", "the password is 5 bytes; give at least 8"},
		{strings.Repeat("a", 73), "the password is 73 bytes; give at most 72"},
		{" padded password ", "starts or ends with a space"},
		{"bad\xffutf8-password", "not valid UTF-8"},
	} {
		assert.ErrorContains(t, s.Set(passwords.Operator, tc.pw), tc.want)
	}
	assert.ErrorContains(t, s.Set("admin", "long-enough-pw"), `role "admin": give viewer or operator`)

	dir := t.TempDir()
	for _, tc := range []struct{ content, want string }{
		{"{", "damaged"},
		{`{"operator": "hunter22"}`, "operator: not a bcrypt hash"},
		{`{"pin": "1234"}`, "pin: not a bcrypt hash"},
	} {
		p := filepath.Join(dir, "passwords")
		require.NoError(t, os.WriteFile(p, []byte(tc.content), 0o600))
		_, err := passwords.Open(fsys.OS, p)
		assert.ErrorContains(t, err, tc.want, "a damaged file is an error, never no lock")
		assert.ErrorContains(t, err, p)
	}
}

func TestPINLock(t *testing.T) {
	l := passwords.Lock{Cost: bcrypt.MinCost}
	h, err := l.Hash("4321")
	require.NoError(t, err)
	assert.True(t, passwords.IsHash(h))
	assert.True(t, l.Match(h, "4321"))
	assert.False(t, l.Match(h, "4322"))
	assert.False(t, l.Match("", ""), "no hash matches nothing")

	s := passwords.Memory(bcrypt.MinCost)
	_, chosen, err := s.PIN()
	require.NoError(t, err)
	assert.False(t, chosen)
	assert.ErrorContains(t, s.SetPIN("4321"), "not hashed")
	require.NoError(t, s.SetPIN(h))
	got, chosen, err := s.PIN()
	require.NoError(t, err)
	assert.True(t, chosen)
	assert.Equal(t, h, got)
}
