//go:build linux

package fleet_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/internal/pgtest"
	"github.com/clonebay/clonebay/record"
	"github.com/clonebay/clonebay/record/fleet"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// fleetDB is a database the tests share: every box has an ID of its own,
// so they do not see each other's entries. Tests that change the schema
// or count every row take a database of their own.
var fleetDB struct {
	once sync.Once
	db   pgtest.Database
	err  error
}

func sharedDB(t testing.TB) (*pgtest.Cluster, pgtest.Database) {
	t.Helper()
	c := pgtest.Shared(t)
	fleetDB.once.Do(func() { fleetDB.db, fleetDB.err = c.CreateDatabase(context.Background()) })
	require.NoError(t, fleetDB.err)
	return c, fleetDB.db
}

// box is one appliance's state folder: its log, ID and cursor.
type box struct {
	dir, id string
	log     *record.Log
	jobs    int
}

func newBox(t testing.TB) *box {
	t.Helper()
	dir := t.TempDir()
	l, _, err := record.Open(fsys.OS, filepath.Join(dir, "jobs.log"))
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	id, err := fleet.LoadOrCreateID(fsys.OS, filepath.Join(dir, "appliance-id"))
	require.NoError(t, err)
	return &box{dir: dir, id: id, log: l}
}

// job appends one job of n ports.
func (b *box) job(t testing.TB, n int) {
	t.Helper()
	b.jobs++
	var es []record.Entry
	for p := 1; p <= n; p++ {
		res, reason := "PASS", ""
		if p == 3 {
			res, reason = "FAIL", fmt.Sprintf("port %d: verify: mismatch at %d", p, 4096*b.jobs)
		}
		// The appliance stamps entries to the nanosecond; the server keeps
		// microseconds.
		es = append(es, record.Entry{Time: time.Date(2026, 11, 22, 10, b.jobs%60, p, 123456789, time.UTC), Job: fmt.Sprintf("job-%d", b.jobs),
			Mode: "copy+verify", MasterKind: "image", MasterName: "ubuntu-24.04", MasterSize: 8e9, MasterSHA256: "ab12cd",
			Area: "whole image", Bytes: 8e9, Port: p, Label: fmt.Sprint(p), TargetModel: "Kingston DT",
			TargetSerial: fmt.Sprintf("SN-%s-%d-%d", b.id[:6], b.jobs, p), TargetSize: 16e9, Result: res, Reason: reason,
			Written: 8e9, Verified: 8e9, MBps: 31.5})
	}
	require.NoError(t, b.log.Append(es...))
}

func (b *box) options(url string) fleet.Options {
	return fleet.Options{URL: url, ID: b.id, Log: b.log.Path(), Cursor: filepath.Join(b.dir, "replicate.cursor"),
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Poll: time.Hour, Timeout: 20 * time.Second}
}

// files is every file of the box's state folder but the cursor.
func (b *box) files(t testing.TB) map[string]string {
	t.Helper()
	ents, err := os.ReadDir(b.dir)
	require.NoError(t, err)
	out := map[string]string{}
	for _, e := range ents {
		if e.Name() == "replicate.cursor" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(b.dir, e.Name()))
		require.NoError(t, err)
		out[e.Name()] = string(data)
	}
	return out
}

// waitFor waits until the replicator's status satisfies ok; the bound
// only keeps a broken test from hanging.
func waitFor(t testing.TB, r *fleet.Replicator, what string, ok func(fleet.Status) bool) fleet.Status {
	t.Helper()
	bound := time.NewTimer(2 * time.Minute)
	defer bound.Stop()
	for {
		s, changed := r.Watch()
		if ok(s) {
			return s
		}
		select {
		case <-changed:
		case <-bound.C:
			t.Fatalf("waiting for %s: the status is still %+v", what, s)
		}
	}
}

func query[T any](t testing.TB, url, sql string, args ...any) T {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var v T
	require.NoError(t, conn.QueryRow(ctx, sql, args...).Scan(&v))
	return v
}

// TestAppendedCountsBehindAtOnce: entries the appliance announces count
// behind from that moment, before the replicator has read the log, so a
// status read right after a job was recorded never says the server holds
// the record while it lacks that job; they are then sent.
func TestAppendedCountsBehindAtOnce(t *testing.T) {
	c, db := sharedDB(t)
	b := newBox(t)
	b.job(t, 3)
	r, err := fleet.NewReplicator(b.options(db.URL))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	var running sync.WaitGroup
	running.Go(func() { assert.NoError(t, r.Run(ctx)) })
	defer func() { cancel(); running.Wait() }()
	waitFor(t, r, "the first job on the server", func(s fleet.Status) bool {
		return s.State == fleet.StateSynced && s.Behind == 0 && s.Acked == 3
	})

	// The server is away, so nothing can be sent before the status is
	// read.
	require.NoError(t, c.Stop())
	b.job(t, 4)
	r.Appended(7)
	s := r.Status()
	assert.Equal(t, int64(7), s.Last)
	assert.Equal(t, int64(4), s.Behind, "the second job counts behind before it was read")
	assert.NotEqual(t, "Sync: up to date", s.Line())
	require.NoError(t, c.Start())
	waitFor(t, r, "the second job on the server", func(s fleet.Status) bool {
		return s.State == fleet.StateSynced && s.Behind == 0 && s.Acked == 7
	})
}

// TestThreeBoxesThroughAnOutage: three appliances record jobs and
// replicate at once; the server is stopped while they work and started
// again. In the end the server holds every entry of every box exactly
// once, each box's chain verifies from the server's copy alone, and the
// copy equals each box's log.
func TestThreeBoxesThroughAnOutage(t *testing.T) {
	c := pgtest.Shared(t)
	db := c.NewDatabase(t)
	boxes := []*box{newBox(t), newBox(t), newBox(t)}
	reps := make([]*fleet.Replicator, len(boxes))
	ctx, cancel := context.WithCancel(context.Background())
	var running sync.WaitGroup
	for i, b := range boxes {
		o := b.options(db.URL)
		o.Batch = 4 // many small transactions: the stop falls inside some
		r, err := fleet.NewReplicator(o)
		require.NoError(t, err)
		reps[i] = r
		running.Go(func() { assert.NoError(t, r.Run(ctx)) })
	}
	defer func() { cancel(); running.Wait() }()

	// work appends jobs on every box at once, notifying after each.
	work := func(jobs int) {
		var wg sync.WaitGroup
		for i, b := range boxes {
			wg.Go(func() {
				for j := range jobs {
					b.job(t, 1+(i+j)%4)
					reps[i].Notify()
				}
			})
		}
		wg.Wait()
	}
	total := func(b *box) int64 { return int64(len(b.log.Entries())) }

	work(15)
	require.NoError(t, c.Stop(), "the server goes away while the boxes send")
	work(10)
	for i, r := range reps {
		s := waitFor(t, r, "the outage to be seen", func(s fleet.Status) bool {
			return s.State == fleet.StateUnreachable && s.Last == total(boxes[i])
		})
		assert.Positive(t, s.Behind, "box %d: what the server lacks is counted while it is away", i)
		// Seen while the server shuts down, or once it is gone.
		assert.Regexp(t, "is unreachable|went away or is not taking connections", s.Err)
		assert.NotContains(t, s.Err, db.Password)
		assert.Equal(t, "Sync: server unreachable", s.Line())
	}
	require.NoError(t, c.Start())
	work(5)
	for i, r := range reps {
		waitFor(t, r, "every entry to be on the server", func(s fleet.Status) bool {
			return s.State == fleet.StateSynced && s.Acked == total(boxes[i]) && s.Behind == 0
		})
	}
	cancel()
	running.Wait()

	for i, b := range boxes {
		n := total(b)
		assert.Equal(t, n, query[int64](t, db.URL, `SELECT count(*) FROM clonebay.records WHERE appliance_id = $1`, b.id), "box %d", i)
		assert.Equal(t, n, query[int64](t, db.URL, `SELECT count(DISTINCT sum) FROM clonebay.records WHERE appliance_id = $1`, b.id), "box %d", i)
		rep, err := fleet.Check(context.Background(), b.options(db.URL))
		require.NoError(t, err)
		assert.True(t, rep.Clean(), "box %d: %+v", i, rep)
		assert.Equal(t, int(n), rep.Server)
	}
	assert.Equal(t, 3, query[int](t, db.URL, `SELECT count(DISTINCT appliance_id) FROM clonebay.records`))
}

// TestFailuresAreClear: each way the server can fail gets its own state
// and message, the password is in none of them, and the box's log and
// head are left exactly as they were.
func TestFailuresAreClear(t *testing.T) {
	c := pgtest.Shared(t)
	ctx := context.Background()
	tests := []struct {
		name      string
		url       func(db pgtest.Database) string
		prepare   func(t *testing.T, db pgtest.Database, b *box)
		state     fleet.State
		msg       string
		acked     int64
		secret    func(db pgtest.Database) string
		checkRows func(t *testing.T, db pgtest.Database, b *box)
	}{
		{
			name:   "wrong password",
			url:    func(db pgtest.Database) string { return c.URL(db.User, "wrong-"+db.Password, db.Name) },
			state:  fleet.StateLoginRefused,
			msg:    "refused the login of user",
			secret: func(db pgtest.Database) string { return "wrong-" + db.Password },
		},
		{
			name:  "unreachable server",
			url:   func(db pgtest.Database) string { return closedPortURL(t, db) },
			state: fleet.StateUnreachable,
			msg:   "is unreachable",
		},
		{
			name: "schema from a newer firmware",
			url:  func(db pgtest.Database) string { return db.URL },
			prepare: func(t *testing.T, db pgtest.Database, b *box) {
				empty := newBox(t)
				_, err := fleet.Push(ctx, empty.options(db.URL))
				require.NoError(t, err)
				require.NoError(t, c.Exec(ctx, db.Name, `INSERT INTO clonebay.schema_version (version, name) VALUES (99, '0099_future.sql')`))
			},
			state: fleet.StateSchemaTooNew,
			msg:   fmt.Sprintf("the server's schema is version 99; this firmware knows up to %d", fleet.SchemaVersion()),
			checkRows: func(t *testing.T, db pgtest.Database, b *box) {
				assert.Zero(t, query[int](t, db.URL, `SELECT count(*) FROM clonebay.records`), "nothing is written")
			},
		},
		{
			name: "a different entry on the server",
			url:  func(db pgtest.Database) string { return db.URL },
			prepare: func(t *testing.T, db pgtest.Database, b *box) {
				_, err := fleet.Push(ctx, b.options(db.URL))
				require.NoError(t, err)
				// The server's entry 2 is not this box's any more (another
				// box with a copied ID, or an edit), and the box forgot
				// what it had sent.
				require.NoError(t, c.Exec(ctx, db.Name, `UPDATE clonebay.records SET line = replace(line, '"PASS"', '"FAIL"'),
					sum = repeat('0', 64) WHERE appliance_id = $1 AND seq = 2`, b.id))
				require.NoError(t, os.Remove(filepath.Join(b.dir, "replicate.cursor")))
			},
			state: fleet.StateConflict,
			msg:   "the server holds a different entry for entry 2 (job job-1, port 2): the server's has sum 000000000000…",
			acked: 1,
			checkRows: func(t *testing.T, db pgtest.Database, b *box) {
				assert.Equal(t, strings.Repeat("0", 64), query[string](t, db.URL,
					`SELECT sum FROM clonebay.records WHERE appliance_id = $1 AND seq = 2`, b.id), "the server's row is kept")
				assert.Equal(t, int64(len(b.log.Entries())), query[int64](t, db.URL, `SELECT count(*) FROM clonebay.records`))
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := c.NewDatabase(t)
			b := newBox(t)
			b.job(t, 3)
			b.job(t, 2)
			if tt.prepare != nil {
				tt.prepare(t, db, b)
			}
			before := b.files(t)
			url := tt.url(db)
			r, err := fleet.NewReplicator(b.options(url))
			require.NoError(t, err)
			rctx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- r.Run(rctx) }()
			s := waitFor(t, r, string(tt.state), func(s fleet.Status) bool { return s.State == tt.state })
			cancel()
			require.NoError(t, <-done)

			assert.Contains(t, s.Err, tt.msg)
			assert.Equal(t, "Sync: "+string(tt.state), s.Line())
			assert.Equal(t, tt.acked, s.Acked)
			assert.Equal(t, int64(5), s.Last)
			secret := db.Password
			if tt.secret != nil {
				secret = tt.secret(db)
			}
			assert.NotContains(t, s.Err, secret)
			assert.NotContains(t, s.Server, secret)

			// The one-shot push says the same, as an error.
			_, err = fleet.Push(ctx, b.options(url))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.msg)
			assert.NotContains(t, err.Error(), secret)

			assert.Equal(t, before, b.files(t), "the log and its head are unchanged")
			if tt.checkRows != nil {
				tt.checkRows(t, db, b)
			}
		})
	}
}

// closedPortURL is a URL to a port where nothing listens.
func closedPortURL(t *testing.T, db pgtest.Database) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	return fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/%s?sslmode=disable", db.User, db.Password, port, db.Name)
}

// TestABoxSharingAnIDStopsAtTheFork: a box whose state folder was copied
// from another (so it has the same appliance ID) records jobs of its
// own: its chain forks from the other's. Its push stops at the first
// entry the server holds differently and stores nothing after it, so the
// box the ID belongs to goes on replicating its own entries.
func TestABoxSharingAnIDStopsAtTheFork(t *testing.T) {
	c := pgtest.Shared(t)
	db := c.NewDatabase(t)
	ctx := context.Background()
	a := newBox(t)
	a.job(t, 3)
	a.job(t, 2)
	_, err := fleet.Push(ctx, a.options(db.URL))
	require.NoError(t, err)

	b := newBox(t)
	b.id = a.id // its state folder was copied from a's
	b.job(t, 3) // entries 1-3: a's
	b.jobs = 5
	b.job(t, 4) // entries 4-7: its own
	_, err = fleet.Push(ctx, b.options(db.URL))
	require.ErrorIs(t, err, fleet.ErrConflict)
	assert.ErrorContains(t, err, "for entry 4 (job job-6, port 1)")
	assert.Equal(t, 5, query[int](t, db.URL, `SELECT count(*) FROM clonebay.records WHERE appliance_id = $1`, a.id), "nothing past the fork")

	a.job(t, 2)
	_, err = fleet.Push(ctx, a.options(db.URL))
	require.NoError(t, err, "the box the ID belongs to goes on")
	for _, e := range a.log.Entries() {
		assert.Equal(t, e.Sum, query[string](t, db.URL, `SELECT sum FROM clonebay.records WHERE appliance_id = $1 AND seq = $2`, a.id, e.Seq),
			"entry %d is a's", e.Seq)
	}
}
