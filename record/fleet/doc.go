// Package fleet replicates the production record of many appliances to
// one PostgreSQL database, the fleet's copy: every entry of every box
// exactly once, keyed by the box's appliance ID and the entry's sequence
// number, with its hash and the previous one, so that each box's chain can
// be verified from the database alone. The local log (package record)
// stays the source of truth: replication only reads it, never holds its
// lock and never changes it, and a server that holds a different entry
// for the same key is reported, never overwritten.
//
// A Replicator runs beside the appliance (Run, Appended after each append,
// Status for the panels); Push sends a log once and Check compares the
// server's copy with a local log, for the command line.
//
// fleet imports the standard library, record, internal/fsys and pgx; it
// must never import the appliance, ui or a hardware backend.
package fleet
