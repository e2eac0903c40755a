//go:build linux

package fleet_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/internal/pgtest"
	"github.com/clonebay/clonebay/record"
	"github.com/clonebay/clonebay/record/fleet"
)

// TestCheckFindsEveryDifference edits the server's copy in each way it
// can go wrong and checks that Check names it; the untouched copy is
// clean.
func TestCheckFindsEveryDifference(t *testing.T) {
	c, db := sharedDB(t)
	ctx := context.Background()
	// breaks is what the schema's chain_breaks view (plain SQL, for QA)
	// finds of the same edit.
	tests := []struct {
		name   string
		edit   string
		check  func(t *testing.T, rep *fleet.CheckReport)
		breaks []string
	}{
		{"untouched", ``, func(t *testing.T, rep *fleet.CheckReport) {
			assert.True(t, rep.Clean(), "%+v", rep)
			assert.Equal(t, 6, rep.Server)
			assert.Equal(t, 6, rep.Local)
		}, nil},
		{"an entry deleted", `DELETE FROM clonebay.records WHERE appliance_id = $1 AND seq = 3`, func(t *testing.T, rep *fleet.CheckReport) {
			assert.Equal(t, []int64{3}, rep.Missing)
			assert.Equal(t, []string{"entries 3..3 are missing on the server: the chain cannot be followed across the gap"}, rep.Chain)
		}, []string{"4: entries 3..3 are missing"}},
		{"an entry the box does not have", `INSERT INTO clonebay.records SELECT appliance_id, 7, sum, prev, time, job, mode, lot, master_kind,
			master_name, master_sha256, port, label, target_model, target_serial, target_size, result, reason, bytes, line, entry
			FROM clonebay.records WHERE appliance_id = $1 AND seq = 6`, func(t *testing.T, rep *fleet.CheckReport) {
			assert.Equal(t, []int64{7}, rep.Extra)
			assert.Contains(t, strings.Join(rep.Chain, "\n"), "entry 7: its line says it is entry 6")
		}, []string{"7: it does not follow the entry before"}},
		{"a result edited, sum and all", `UPDATE clonebay.records SET line = replace(line, '"FAIL"', '"PASS"'), result = 'PASS',
			entry = replace(line, '"FAIL"', '"PASS"')::jsonb WHERE appliance_id = $1 AND seq = 3`, func(t *testing.T, rep *fleet.CheckReport) {
			require.Len(t, rep.Differ, 1)
			assert.Contains(t, rep.Differ[0], "entry 3")
			assert.Equal(t, []string{"entry 3: checksum does not match its content"}, rep.Chain)
		}, []string{"3: checksum does not match its content"}},
		{"a column QA reads edited", `UPDATE clonebay.records SET target_serial = 'SN-OTHER' WHERE appliance_id = $1 AND seq = 2`,
			func(t *testing.T, rep *fleet.CheckReport) {
				assert.Empty(t, rep.Differ, "the entry itself is as the box wrote it")
				assert.Equal(t, []string{"entry 2: column target_serial does not say what its line says"}, rep.Chain)
			}, nil},
		{"the JSONB copy edited", `UPDATE clonebay.records SET entry = jsonb_set(entry, '{result}', '"PASS"') WHERE appliance_id = $1 AND seq = 3`,
			func(t *testing.T, rep *fleet.CheckReport) {
				assert.Equal(t, []string{"entry 3: column entry does not say what its line says"}, rep.Chain)
			}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBox(t)
			b.job(t, 4)
			b.job(t, 2)
			_, err := fleet.Push(ctx, b.options(db.URL))
			require.NoError(t, err)
			if tt.edit != "" {
				require.NoError(t, c.Exec(ctx, db.Name, tt.edit, b.id))
			}
			rep, err := fleet.Check(ctx, b.options(db.URL))
			require.NoError(t, err)
			tt.check(t, rep)
			assert.Equal(t, tt.breaks, chainBreaks(t, db.URL, b.id))
			if tt.edit != "" {
				assert.False(t, rep.Clean())
			}
		})
	}
}

// TestOnlyDurableEntriesAreSent: entries past the log's chain head may
// still be lost by a power cut (the head is written after the log's
// fsync), so they wait; once the head covers them they go.
func TestOnlyDurableEntriesAreSent(t *testing.T) {
	_, db := sharedDB(t)
	ctx := context.Background()
	b := newBox(t)
	b.job(t, 2)
	head, err := os.ReadFile(record.HeadPath(b.log.Path()))
	require.NoError(t, err)
	b.job(t, 3)
	final, err := os.ReadFile(record.HeadPath(b.log.Path()))
	require.NoError(t, err)
	// The power went between the log's write and the head's.
	require.NoError(t, os.WriteFile(record.HeadPath(b.log.Path()), head, 0o644))

	s, err := fleet.Push(ctx, b.options(db.URL))
	require.NoError(t, err)
	assert.Equal(t, int64(2), s.Acked)
	assert.Equal(t, 2, query[int](t, db.URL, `SELECT count(*) FROM clonebay.records WHERE appliance_id = $1`, b.id))

	require.NoError(t, os.WriteFile(record.HeadPath(b.log.Path()), final, 0o644))
	s, err = fleet.Push(ctx, b.options(db.URL))
	require.NoError(t, err)
	assert.Equal(t, int64(5), s.Acked)
	assert.Equal(t, 5, query[int](t, db.URL, `SELECT count(*) FROM clonebay.records WHERE appliance_id = $1`, b.id))
}

// TestDamagedLogSendsWhatVerifies: an edited entry stops replication
// there; the entries before it are sent and the damage is reported.
func TestDamagedLogSendsWhatVerifies(t *testing.T) {
	_, db := sharedDB(t)
	ctx := context.Background()
	b := newBox(t)
	b.job(t, 2)
	b.job(t, 3)
	data, err := os.ReadFile(b.log.Path())
	require.NoError(t, err)
	lines := strings.SplitAfter(string(data), "\n")
	lines[3] = strings.Replace(lines[3], `"port":2`, `"port":5`, 1)
	require.NoError(t, os.WriteFile(b.log.Path(), []byte(strings.Join(lines, "")), 0o644))

	s, err := fleet.Push(ctx, b.options(db.URL))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "entry 4 (byte")
	assert.Contains(t, err.Error(), "checksum does not match its content")
	assert.Equal(t, fleet.StateLogDamaged, s.State)
	assert.Equal(t, int64(3), s.Acked, "the entries before the damage are on the server")
	assert.Equal(t, 3, query[int](t, db.URL, `SELECT count(*) FROM clonebay.records WHERE appliance_id = $1`, b.id))
}

// TestServerThatLostEntriesGetsThemAgain: a server restored from an older
// backup lacks entries it once acknowledged; the next connection finds
// the gap and sends them again.
func TestServerThatLostEntriesGetsThemAgain(t *testing.T) {
	c, db := sharedDB(t)
	ctx := context.Background()
	b := newBox(t)
	b.job(t, 3)
	b.job(t, 3)
	_, err := fleet.Push(ctx, b.options(db.URL))
	require.NoError(t, err)
	require.NoError(t, c.Exec(ctx, db.Name, `DELETE FROM clonebay.records WHERE appliance_id = $1 AND seq IN (2, 5)`, b.id))

	s, err := fleet.Push(ctx, b.options(db.URL))
	require.NoError(t, err)
	assert.Equal(t, int64(6), s.Acked)
	rep, err := fleet.Check(ctx, b.options(db.URL))
	require.NoError(t, err)
	assert.True(t, rep.Clean(), "%+v", rep)
}

// TestInsertOnlyRole: once an owner has made the schema, a role that may
// only read and insert replicates (the grants docs/fleet.md gives), and
// may not change what is stored; a role that may not create the schema
// is told so.
func TestInsertOnlyRole(t *testing.T) {
	c := pgtest.Shared(t)
	ctx := context.Background()
	db := c.NewDatabase(t)
	require.NoError(t, c.Exec(ctx, db.Name, `CREATE ROLE `+db.User+`_box LOGIN PASSWORD 'box-pw-123'`))
	t.Cleanup(func() {
		_ = c.Exec(ctx, db.Name, `DROP OWNED BY `+db.User+`_box`)
		_ = c.Exec(ctx, "postgres", `DROP ROLE IF EXISTS `+db.User+`_box`)
	})
	boxURL := c.URL(db.User+"_box", "box-pw-123", db.Name)
	b := newBox(t)
	b.job(t, 2)

	_, err := fleet.Push(ctx, b.options(boxURL))
	require.Error(t, err, "the box's role may not create the schema")
	assert.Contains(t, err.Error(), "the role needs CREATE on the database, or an owner runs the first push")
	assert.NotContains(t, err.Error(), "box-pw-123")

	// The owner makes the schema as docs/fleet.md says: a push of an empty
	// log.
	_, err = fleet.Push(ctx, fleet.Options{URL: db.URL, ID: "schema-setup", Log: "/dev/null"})
	require.NoError(t, err)
	require.NoError(t, c.Exec(ctx, db.Name, `GRANT USAGE ON SCHEMA clonebay TO `+db.User+`_box;
		GRANT SELECT ON clonebay.schema_version TO `+db.User+`_box;
		GRANT SELECT, INSERT ON clonebay.records TO `+db.User+`_box`))
	s, err := fleet.Push(ctx, b.options(boxURL))
	require.NoError(t, err)
	assert.Equal(t, int64(2), s.Acked)
	assert.Error(t, pgtest.ExecURL(ctx, boxURL, `UPDATE clonebay.records SET result = 'PASS'`), "the box's role cannot rewrite history")
}

// TestHostileStrings: a drive's descriptor can carry a NUL, markup or any
// Unicode; the entry is stored and its chain verifies from the server.
func TestHostileStrings(t *testing.T) {
	_, db := sharedDB(t)
	ctx := context.Background()
	b := newBox(t)
	e := record.Entry{Job: "job-x", Mode: "copy+verify", Port: 1, Label: "1", Result: "PASS",
		TargetModel: "Flash\x00Disk <b>&amp;</b> \u202e\U0001F4BE", TargetSerial: "\\u0000 literal", MBps: 1e21}
	require.NoError(t, b.log.Append(e))
	_, err := fleet.Push(ctx, b.options(db.URL))
	require.NoError(t, err)
	assert.Equal(t, "Flash\uFFFDDisk <b>&amp;</b> \u202e\U0001F4BE", query[string](t, db.URL, `SELECT target_model FROM clonebay.records WHERE appliance_id = $1`, b.id))
	assert.Equal(t, `\u0000 literal`, query[string](t, db.URL, `SELECT entry->>'target_serial' FROM clonebay.records WHERE appliance_id = $1`, b.id))
	rep, err := fleet.Check(ctx, b.options(db.URL))
	require.NoError(t, err)
	assert.True(t, rep.Clean(), "%+v", rep)
}

// TestCursorCountsWhatIsBehindWhileOffline: the cursor is written when a
// push or a run ends, so a box that starts while the server is away
// still knows how many entries the server lacks.
func TestCursorCountsWhatIsBehindWhileOffline(t *testing.T) {
	_, db := sharedDB(t)
	ctx := context.Background()
	b := newBox(t)
	b.job(t, 3)
	_, err := fleet.Push(ctx, b.options(db.URL))
	require.NoError(t, err)
	b.job(t, 2)

	s, err := fleet.Push(ctx, b.options(closedPortURL(t, db)))
	require.Error(t, err)
	assert.Equal(t, fleet.StateUnreachable, s.State)
	assert.Equal(t, int64(3), s.Acked, "known from the cursor")
	assert.Equal(t, int64(2), s.Behind)
	assert.Equal(t, "Sync: server unreachable", s.Line())
}

// chainBreaks is what the chain_breaks view says of a box: "SEQ: problem".
func chainBreaks(t *testing.T, url, id string) []string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT seq || ': ' || problem FROM clonebay.chain_breaks WHERE appliance_id = $1 ORDER BY seq`, id)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	if len(out) == 0 {
		return nil
	}
	return out
}
