package fleet

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// The schema's migrations, applied in the order of their numbers: each
// file is "NNNN_what.sql". A migration is never edited once released; a
// change is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrations lists the embedded migrations in order; it panics on a
// badly named file, which is a build mistake.
func migrations() []migration {
	ents, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		panic(err)
	}
	var out []migration
	for _, e := range ents {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			panic(fmt.Sprintf("migration %s: the name must start with its number", e.Name()))
		}
		body, err := migrationFiles.ReadFile(path.Join("migrations", e.Name()))
		if err != nil {
			panic(err)
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			panic(fmt.Sprintf("migration %s: expected number %d", m.name, i+1))
		}
	}
	return out
}

// SchemaVersion is the newest schema this firmware knows.
func SchemaVersion() int { return len(migrations()) }

// ErrSchemaTooNew is returned (wrapped) when the server's schema comes
// from a newer firmware: nothing is written to it.
var ErrSchemaTooNew = errors.New("schema too new")

// migrateLock is the advisory lock key that makes migrations of several
// appliances starting at once run one after the other.
const migrateLock = int64(0x636c6f6e65626179) // "clonebay"

// serverVersion reads the schema version; 0 when there is no schema yet.
func serverVersion(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) (int, error) {
	var exists bool
	if err := q.QueryRow(ctx, `SELECT to_regclass('clonebay.schema_version') IS NOT NULL`).Scan(&exists); err != nil {
		return 0, fmt.Errorf("reading the schema version: %w", err)
	}
	if !exists {
		return 0, nil
	}
	var v int
	if err := q.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM clonebay.schema_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("reading the schema version: %w", err)
	}
	return v, nil
}

// tooNew is the error for a schema from a newer firmware.
func tooNew(v int) error {
	return fmt.Errorf("%w: the server's schema is version %d; this firmware knows up to %d: update this box's firmware (nothing was written)",
		ErrSchemaTooNew, v, SchemaVersion())
}

// Migrate brings the server's schema up to this firmware's version in one
// transaction, under an advisory lock so that boxes starting together do
// not race. A schema that is already current is only read, so a role that
// may not create tables can replicate once an owner has migrated. A newer
// schema is refused with ErrSchemaTooNew.
func Migrate(ctx context.Context, conn *pgx.Conn) error {
	v, err := serverVersion(ctx, conn)
	if err != nil {
		return err
	}
	switch known := SchemaVersion(); {
	case v > known:
		return tooNew(v)
	case v == known:
		return nil
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("migrating the schema: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLock); err != nil {
		return fmt.Errorf("migrating the schema: %w", err)
	}
	// Another box may have migrated while this one waited for the lock.
	if v, err = serverVersion(ctx, tx); err != nil {
		return err
	}
	if v > SchemaVersion() {
		return tooNew(v)
	}
	if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS clonebay;
CREATE TABLE IF NOT EXISTS clonebay.schema_version (
	version  integer     PRIMARY KEY,
	name     text        NOT NULL,
	applied  timestamptz NOT NULL DEFAULT now()
)`); err != nil {
		return fmt.Errorf("migrating the schema: %w (the role needs CREATE on the database, or an owner runs the first push: see docs/fleet.md)", err)
	}
	for _, m := range migrations()[v:] {
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO clonebay.schema_version (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("migrating the schema: %w", err)
	}
	return nil
}
