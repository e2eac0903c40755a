// Package pgtest runs a private PostgreSQL server for tests that need a
// real one: initdb and pg_ctl from Debian's postgresql package, run as the
// postgres user in a temporary folder, on a private socket folder and a
// free TCP port on the loopback. One server serves a whole test binary
// (TestMain calls Main); each test takes a database and a role of its own
// from it (NewDatabase).
//
// Without root or without the package the tests skip and say what is
// missing; with CI_REQUIRE_ALL=1 in the environment (as the CI runs) such
// a skip fails the test instead.
//
// It builds on Linux only; elsewhere the package is empty.
package pgtest
