// Package haltest holds conformance suites for the hal contracts, in the
// spirit of testing/fstest: every implementation (the sim fakes and the
// real Linux backends) runs the same suite, so the firmware may rely on
// the contract rather than on one implementation.
//
// haltest imports hal and testify; it must never import a backend, sim,
// engine, ui or firmware.
package haltest
