// Package engine runs the appliance's jobs: it plans what to copy (a list
// of extents), reads the master once in large aligned chunks into a
// bounded shared window, fans the chunks out to every target on its own
// goroutine, verifies each target from its media against per-chunk hashes,
// and reports progress and a result per port.
//
// engine declares the small interfaces it needs (Source, Target) and never
// imports hal, a backend, ui, the appliance or firmware: the appliance and
// the command line wire drives to it. Besides the standard library and
// hash and compression libraries it imports only engine/disk and
// internal/units.
package engine
