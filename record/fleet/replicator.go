package fleet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/record"
)

// State is what replication is doing, in the words the panels show.
type State string

// The states; the LCD shows "Sync: " and the state (or, while sending,
// how many entries are behind).
const (
	StateStarting     State = "starting"
	StateSynced       State = "synced"
	StateSending      State = "sending"
	StateUnreachable  State = "server unreachable"
	StateLoginRefused State = "login refused"
	StateConflict     State = "conflict"
	StateSchemaTooNew State = "schema too new"
	StateLogDamaged   State = "log damaged"
	StateServerError  State = "server error"
)

// states lists every state, for the metric.
var states = []State{StateStarting, StateSynced, StateSending, StateUnreachable, StateLoginRefused, StateConflict,
	StateSchemaTooNew, StateLogDamaged, StateServerError}

// Status is a snapshot of replication for the LCD, the web panel and the
// metrics. No field ever holds the password.
type Status struct {
	State State
	// Behind counts the entries the log holds (durably) that the server
	// has not acknowledged.
	Behind int64
	// Acked is the last entry the server acknowledged; Last the log's last
	// durable entry.
	Acked, Last int64
	// Added counts the entries this replicator stored that the server did
	// not hold before.
	Added int64
	// Server is the connection URL with its password hidden.
	Server string
	// Err says what went wrong last, in plain words; empty when the last
	// attempt succeeded.
	Err string
	// Since is when the state began; Synced is when the server last held
	// every entry.
	Since, Synced time.Time
}

// Line is the status in a few words, for the LCD's Info screen:
// "Sync: 12 behind", "Sync: server unreachable".
func (s Status) Line() string {
	switch {
	case s.State == StateSending || s.State == StateSynced && s.Behind > 0:
		return fmt.Sprintf("Sync: %d behind", s.Behind)
	case s.State == StateSynced:
		return "Sync: up to date"
	}
	return "Sync: " + string(s.State)
}

// WriteMetrics writes the status in Prometheus' text format, for the web
// panel's /metrics.
func (s Status) WriteMetrics(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# HELP clonebay_replication_behind_entries Production record entries not yet on the fleet's server.\n")
	b.WriteString("# TYPE clonebay_replication_behind_entries gauge\n")
	fmt.Fprintf(&b, "clonebay_replication_behind_entries %d\n", s.Behind)
	b.WriteString("# HELP clonebay_replication_acked_seq The last entry the fleet's server acknowledged.\n")
	b.WriteString("# TYPE clonebay_replication_acked_seq gauge\n")
	fmt.Fprintf(&b, "clonebay_replication_acked_seq %d\n", s.Acked)
	b.WriteString("# HELP clonebay_replication_state The replication's state: 1 for the current one.\n")
	b.WriteString("# TYPE clonebay_replication_state gauge\n")
	for _, st := range states {
		v := 0
		if st == s.State {
			v = 1
		}
		fmt.Fprintf(&b, "clonebay_replication_state{state=%q} %d\n", string(st), v)
	}
	if !s.Synced.IsZero() {
		b.WriteString("# HELP clonebay_replication_synced_timestamp_seconds When the server last held every entry.\n")
		b.WriteString("# TYPE clonebay_replication_synced_timestamp_seconds gauge\n")
		fmt.Fprintf(&b, "clonebay_replication_synced_timestamp_seconds %d\n", s.Synced.Unix())
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Options configure a Replicator.
type Options struct {
	// URL is the server: postgres://user:password@host:port/db (the
	// settings' replicate:). pgx's PG* variables and ~/.pgpass apply.
	URL string
	// ID is the appliance ID (LoadOrCreateID).
	ID string
	// Log is the production record's file; Cursor the file that keeps
	// what the server acknowledged ("" keeps it in memory only).
	Log, Cursor string
	// Files is the file system; fsys.OS when nil.
	Files fsys.FS
	// Logger gets state changes; none when nil.
	Logger *slog.Logger
	// Batch is how many entries go in one transaction (500 when 0).
	Batch int
	// MinBackoff and MaxBackoff bound the wait after a failure (1 s and
	// 5 min when 0); Poll is how often the log is looked at without a
	// Notify (1 min when 0).
	MinBackoff, MaxBackoff, Poll time.Duration
	// Timeout bounds one connection attempt and one batch (1 min when 0):
	// a server that stops answering is given up on and tried again.
	Timeout time.Duration
	// CursorEvery is how often at most the cursor file is rewritten while
	// sending (10 s when 0), and always when Run or Push ends: its fsyncs
	// share the disk with the log's, and a cursor a little behind costs
	// only a resend that the server skips.
	CursorEvery time.Duration
}

// Replicator sends a box's production record to the fleet's server. It
// reads the log's file, never the appliance's open log, so it never
// holds the log's lock and never slows a job; the appliance calls Appended
// after each append so that new entries go out at once.
type Replicator struct {
	o       Options
	cfg     *pgx.ConnConfig
	secrets []string
	server  string

	notify chan struct{}

	// Owned by Run.
	conn    *pgx.Conn
	cur     cursor    // as loaded, until the log was read once
	located bool      // acked is known in the log
	acked   position  // what the server holds
	head    position  // the log's durable, verified end
	saved   int64     // the cursor's seq as last written
	savedAt time.Time // when

	mu        sync.Mutex
	status    Status
	changed   chan struct{}
	announced int64 // the last entry Appended told of since the log was last read
}

// NewReplicator checks the options; Run does the work.
func NewReplicator(o Options) (*Replicator, error) {
	if o.Files == nil {
		o.Files = fsys.OS
	}
	if o.Batch <= 0 {
		o.Batch = 500
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Minute
	}
	o.MaxBackoff = max(o.MaxBackoff, o.MinBackoff)
	if o.Poll <= 0 {
		o.Poll = time.Minute
	}
	if o.Timeout <= 0 {
		o.Timeout = time.Minute
	}
	if o.CursorEvery <= 0 {
		o.CursorEvery = 10 * time.Second
	}
	if err := CheckID(o.ID); err != nil {
		return nil, err
	}
	if o.Log == "" {
		return nil, errors.New("replication: no job log given")
	}
	server := Redact(o.URL)
	if !strings.HasPrefix(o.URL, "postgres://") && !strings.HasPrefix(o.URL, "postgresql://") {
		return nil, fmt.Errorf("replicate: %q is not a postgres:// URL", server)
	}
	cfg, err := pgx.ParseConfig(o.URL)
	secrets := passwords(o.URL, "")
	if err != nil {
		return nil, fmt.Errorf("replicate: %s: %w", server, redactErr(err, secrets))
	}
	secrets = passwords(o.URL, cfg.Password)
	if cfg.ConnectTimeout == 0 || cfg.ConnectTimeout > o.Timeout {
		cfg.ConnectTimeout = o.Timeout
	}
	cfg.RuntimeParams["application_name"] = "clonebay " + o.ID
	r := &Replicator{o: o, cfg: cfg, secrets: secrets, server: server, notify: make(chan struct{}, 1),
		changed: make(chan struct{})}
	r.status = Status{State: StateStarting, Server: server, Since: time.Now()}
	return r, nil
}

// Notify tells the replicator that the log has new entries. It never
// blocks.
func (r *Replicator) Notify() {
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

// Appended tells the replicator that the log now holds (durably) the
// entries up to seq. The status counts them behind at once, before the
// replicator has read them: a status read right after a job was recorded
// never says the server holds the record when it does not hold that
// job. They go out at once, as with Notify. It never blocks.
func (r *Replicator) Appended(seq int64) {
	r.update(func(s *Status) {
		r.announced = max(r.announced, seq)
		s.Last = max(s.Last, seq)
	})
	r.Notify()
}

// Status is the current status.
func (r *Replicator) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status
}

// Watch returns the current status and a channel that is closed at the
// next change.
func (r *Replicator) Watch() (Status, <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status, r.changed
}

func (r *Replicator) update(fn func(*Status)) {
	r.mu.Lock()
	old := r.status
	fn(&r.status)
	s := r.status
	if s.State != old.State {
		r.status.Since = time.Now()
	}
	s.Behind = max(0, s.Last-s.Acked)
	r.status.Behind = s.Behind
	if s != old {
		close(r.changed)
		r.changed = make(chan struct{})
	}
	r.mu.Unlock()
	if s.State != old.State && r.o.Logger != nil {
		if s.Err != "" {
			r.o.Logger.Warn("replication", "state", string(s.State), "behind", s.Behind, "server", r.server, "err", s.Err)
		} else {
			r.o.Logger.Info("replication", "state", string(s.State), "behind", s.Behind, "server", r.server)
		}
	}
}

// Run replicates until ctx ends: it sends what the server lacks, then
// waits for a Notify (or the poll interval) and sends again; after a
// failure it waits with capped, jittered exponential backoff and starts
// over from what the server acknowledged. It returns nil when ctx ends;
// nothing local is changed but the cursor file.
func (r *Replicator) Run(ctx context.Context) error {
	defer r.disconnect()
	defer r.saveCursor(true)
	failures := 0
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.notify:
			if failures > 0 {
				// Waiting out a failure: count what is new, send later.
				if err := r.refresh(); err != nil {
					r.fail(err)
				}
				continue
			}
			timer.Stop()
		case <-timer.C:
		}
		err := r.sync(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			failures = 0
			timer.Reset(r.o.Poll)
			continue
		}
		failures++
		timer.Reset(backoff(failures, r.o.MinBackoff, r.o.MaxBackoff, rand.Float64()))
	}
}

// backoff is the wait after the n-th failure in a row: lo doubled each
// time up to max, with the upper half drawn at random (r in [0,1)) so
// that a fleet coming back from one outage does not reconnect all at
// once.
func backoff(n int, lo, max time.Duration, r float64) time.Duration {
	d := lo
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	return time.Duration(float64(d) * (0.5 + r/2))
}

// Push sends the log's entries the server lacks, once (the command
// line's log push), and returns the status at the end.
func Push(ctx context.Context, o Options) (Status, error) {
	r, err := NewReplicator(o)
	if err != nil {
		return Status{}, err
	}
	defer r.disconnect()
	err = r.sync(ctx)
	if serr := r.saveCursor(true); err == nil && serr != nil {
		err = r.fail(serr)
	}
	return r.Status(), err
}

// sync brings the server up to the log's durable end. Damage in the log
// stops it at the last entry that verifies: what comes before is sent,
// then the damage is reported.
func (r *Replicator) sync(ctx context.Context) error {
	damage := r.refresh()
	if damage != nil && !errors.Is(damage, ErrLogDamaged) {
		return r.fail(damage)
	}
	if err := r.connect(ctx); err != nil {
		return r.fail(err)
	}
	for r.acked.seq < r.head.seq {
		r.update(func(s *Status) { s.State, s.Err = StateSending, "" })
		if err := r.sendNext(ctx); err != nil {
			return r.fail(err)
		}
	}
	if damage != nil {
		return r.fail(damage)
	}
	now := time.Now()
	r.update(func(s *Status) { s.State, s.Err, s.Synced = StateSynced, "", now })
	return nil
}

// refresh reads the log's new durable entries, and on the first call
// finds the cursor's entry in it.
func (r *Replicator) refresh() error {
	// What was announced so far is in the log this read finds.
	r.mu.Lock()
	r.announced = 0
	r.mu.Unlock()
	count, sum, err := durableEnd(r.o.Files, r.o.Log)
	if err != nil {
		return err
	}
	if !r.located {
		c, err := loadCursor(r.o.Files, r.o.Cursor, r.o.ID)
		if err != nil {
			return err
		}
		r.cur, r.saved = c, c.Seq
	}
	if st, err := r.o.Files.Stat(r.o.Log); err == nil && (st.Size() < r.head.off || count >= 0 && count < r.head.seq) {
		// The log was replaced or cut: read it again from its start.
		r.head, r.located = position{}, false
		r.cur = cursor{ID: r.o.ID, Seq: r.acked.seq, Sum: r.acked.sum}
	}
	if !r.located {
		r.acked = position{}
	}
	head, rerr := readEntries(r.o.Files, r.o.Log, r.head, count, func(e record.Entry, _ []byte, after position) bool {
		if !r.located && e.Seq == r.cur.Seq && e.Sum == r.cur.Sum {
			r.acked = after
		}
		return true
	})
	r.head = head
	// A cursor whose entry this log does not hold (a log replaced, or cut,
	// or damaged before it) counts for nothing: everything is sent again,
	// and the server keeps what it has.
	r.located = true
	r.update(func(s *Status) { s.Acked, s.Last = r.acked.seq, max(r.head.seq, r.announced) })
	if rerr != nil {
		return rerr
	}
	if count > 0 && head.seq == count && head.sum != sum {
		return fmt.Errorf("%w: entry %d is not the one the chain head names", ErrLogDamaged, count)
	}
	return nil
}

// connect connects when there is no connection, checks the schema and
// compares the cursor with what the server holds.
func (r *Replicator) connect(ctx context.Context) error {
	if r.conn != nil && !r.conn.IsClosed() {
		return nil
	}
	r.disconnect()
	cctx, cancel := context.WithTimeout(ctx, r.o.Timeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(cctx, r.cfg)
	if err != nil {
		return err
	}
	r.conn = conn
	if err := Migrate(cctx, conn); err != nil {
		return err
	}
	if r.acked.seq == 0 {
		return nil
	}
	// The server may have lost entries it once acknowledged (restored from
	// a backup, or a new server under the old URL): resend from its first
	// gap.
	var held int64
	if err := conn.QueryRow(cctx, `SELECT count(*) FROM clonebay.records WHERE appliance_id = $1 AND seq <= $2`,
		r.o.ID, r.acked.seq).Scan(&held); err != nil {
		return err
	}
	if held == r.acked.seq {
		return nil
	}
	var gap int64
	if err := conn.QueryRow(cctx, `SELECT coalesce(min(s), $2 + 1) FROM generate_series(1, $2::bigint) s
		WHERE NOT EXISTS (SELECT 1 FROM clonebay.records r WHERE r.appliance_id = $1 AND r.seq = s)`,
		r.o.ID, r.acked.seq).Scan(&gap); err != nil {
		return err
	}
	p, err := readEntries(r.o.Files, r.o.Log, position{}, gap-1, nil)
	if err != nil {
		return err
	}
	r.acked = p
	if r.o.Logger != nil {
		r.o.Logger.Warn("replication: the server lacks entries it had acknowledged; sending them again", "from", gap, "server", r.server)
	}
	r.update(func(s *Status) { s.Acked = r.acked.seq })
	return r.saveCursor(true)
}

// saveCursor writes what the server acknowledged, when it changed and
// (unless forced) the last write is CursorEvery old.
func (r *Replicator) saveCursor(force bool) error {
	if !r.located || r.acked.seq == r.saved || !force && time.Since(r.savedAt) < r.o.CursorEvery {
		return nil
	}
	if err := saveCursor(r.o.Files, r.o.Cursor, cursor{ID: r.o.ID, Seq: r.acked.seq, Sum: r.acked.sum}); err != nil {
		return err
	}
	r.saved, r.savedAt = r.acked.seq, time.Now()
	return nil
}

func (r *Replicator) disconnect() {
	if r.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		r.conn.Close(ctx)
		cancel()
		r.conn = nil
	}
}

// sendNext sends one batch after the acknowledged position.
func (r *Replicator) sendNext(ctx context.Context) error {
	var rows []row
	var after []position
	upto := min(r.acked.seq+int64(r.o.Batch), r.head.seq)
	if _, err := readEntries(r.o.Files, r.o.Log, r.acked, upto, func(e record.Entry, line []byte, p position) bool {
		rows = append(rows, rowOf(e, line))
		after = append(after, p)
		return true
	}); err != nil {
		return err
	}
	if len(rows) == 0 {
		return fmt.Errorf("%w: entries %d..%d could not be read again", ErrLogDamaged, r.acked.seq+1, upto)
	}
	bctx, cancel := context.WithTimeout(ctx, r.o.Timeout)
	held, added, err := sendBatch(bctx, r.conn, r.o.ID, rows)
	cancel()
	if held > 0 {
		r.acked = after[held-1]
		r.update(func(s *Status) { s.Acked, s.Added = r.acked.seq, s.Added+int64(added) })
		if serr := r.saveCursor(false); serr != nil && err == nil {
			err = serr
		}
	}
	return err
}

// fail records err in the status, in plain words and without the
// password, and drops a connection that may be broken. It returns the
// redacted error.
func (r *Replicator) fail(err error) error {
	state, msg := r.classify(err)
	if state != StateConflict && state != StateLogDamaged {
		r.disconnect()
	}
	r.update(func(s *Status) { s.State, s.Err = state, msg })
	return &redactedError{msg: msg, err: err}
}

// classify names the state an error puts replication in and says what
// happened.
func (r *Replicator) classify(err error) (State, string) {
	text := scrub(err.Error(), r.secrets)
	var pgErr *pgconn.PgError
	var netErr net.Error
	switch {
	case errors.Is(err, ErrSchemaTooNew):
		return StateSchemaTooNew, text
	case errors.Is(err, ErrConflict):
		return StateConflict, text
	case errors.Is(err, ErrLogDamaged):
		return StateLogDamaged, text + "; nothing past it is sent (clonebay log verify says more)"
	case errors.As(err, &pgErr):
		switch {
		case pgErr.Code == "28P01" || pgErr.Code == "28000":
			return StateLoginRefused, fmt.Sprintf("%s refused the login of user %q (wrong user or password?): %s", r.server, r.cfg.User,
				scrub(pgErr.Message, r.secrets))
		case pgErr.Code == "3D000":
			return StateServerError, fmt.Sprintf("%s: %s", r.server, scrub(pgErr.Message, r.secrets))
		case pgErr.Code == "42501":
			return StateServerError, fmt.Sprintf("%s: the role may not do this: %s (see docs/fleet.md for the grants)", r.server, text)
		case strings.HasPrefix(pgErr.Code, "57P") || strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "53300":
			return StateUnreachable, fmt.Sprintf("%s went away or is not taking connections: %s", r.server, text)
		}
		return StateServerError, fmt.Sprintf("%s: %s", r.server, text)
	case errors.As(err, &netErr), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, context.DeadlineExceeded),
		pgconn.SafeToRetry(err), pgconn.Timeout(err), r.conn == nil || r.conn.IsClosed():
		return StateUnreachable, fmt.Sprintf("%s is unreachable: %s", r.server, text)
	}
	return StateServerError, fmt.Sprintf("%s: %s", r.server, text)
}
