// Package testenv decides what a test does when the machine lacks
// something it needs (root, a Debian package, a server): on a developer's
// machine it skips with a message that says what to install; in CI
// (CI_REQUIRE_ALL=1, where everything is installed and the tests run as
// root) a test that cannot run fails, so a skipped test never passes for
// a green build.
package testenv

import (
	"fmt"
	"os"
	"testing"
)

// RequireAll reports whether every test must run (CI_REQUIRE_ALL=1).
func RequireAll() bool { return os.Getenv("CI_REQUIRE_ALL") == "1" }

// Skip skips t with a message about what the machine lacks, or fails it
// when every test must run.
func Skip(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if RequireAll() {
		t.Fatalf("cannot run here, and CI_REQUIRE_ALL=1 forbids skipping: %s", msg)
	}
	t.Skip(msg)
}
