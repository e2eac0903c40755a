package fleet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/clonebay/clonebay/record"
)

// ErrConflict is returned (wrapped) when the server holds a different
// entry under one of this box's keys: the server's row is kept as it is.
var ErrConflict = errors.New("the server holds a different entry")

// row is one entry as the server stores it.
type row struct {
	seq                              int64
	sum, prev                        string
	time                             time.Time
	job, mode, lot, masterKind       string
	masterName, masterSHA256         string
	port                             int32
	label, targetModel, targetSerial string
	targetSize                       int64
	result, reason                   string
	bytes                            int64
	line, entry                      string
}

// rowOf makes the server's row of an entry and its line as stored. The
// server keeps times to the microsecond (the entry's line keeps the
// nanoseconds, and the sum covers them).
func rowOf(e record.Entry, line []byte) row {
	return row{seq: e.Seq, sum: e.Sum, prev: e.Prev, time: e.Time.Truncate(time.Microsecond), job: text(e.Job), mode: text(e.Mode), lot: text(lotOf(line)),
		masterKind: text(e.MasterKind), masterName: text(e.MasterName), masterSHA256: text(e.MasterSHA256),
		port: int32(e.Port), label: text(e.Label), targetModel: text(e.TargetModel), targetSerial: text(e.TargetSerial),
		targetSize: e.TargetSize, result: text(e.Result), reason: text(e.Reason), bytes: e.Bytes,
		line: string(line), entry: jsonbOf(line)}
}

// lotOf is the entry's production lot, for logs that carry one.
func lotOf(line []byte) string {
	if !bytes.Contains(line, []byte(`"lot"`)) {
		return ""
	}
	var l struct {
		Lot string `json:"lot"`
	}
	_ = json.Unmarshal(line, &l)
	return l.Lot
}

// text makes a string storable: PostgreSQL's text holds no NUL, which a
// drive's hostile or broken descriptor may carry. The line keeps the entry
// exactly (JSON escapes the NUL), so nothing is lost.
func text(s string) string { return strings.ReplaceAll(s, "\x00", "\uFFFD") }

// jsonbOf is the line as a JSONB document: JSONB refuses a NUL character
// in a string, so those are replaced (the line column keeps them).
func jsonbOf(line []byte) string {
	if !bytes.Contains(line, []byte(`\u0000`)) {
		return string(line)
	}
	d := json.NewDecoder(bytes.NewReader(line))
	d.UseNumber()
	var doc any
	if err := d.Decode(&doc); err != nil {
		return string(line) // not reached: the line was parsed before
	}
	out, _ := json.Marshal(cleanJSON(doc))
	return string(out)
}

func cleanJSON(v any) any {
	switch v := v.(type) {
	case string:
		return text(v)
	case map[string]any:
		for k, x := range v {
			v[k] = cleanJSON(x)
		}
	case []any:
		for i, x := range v {
			v[i] = cleanJSON(x)
		}
	}
	return v
}

// insertSQL stores a batch in one statement; rows already there are left
// alone and not returned.
const insertSQL = `INSERT INTO clonebay.records (appliance_id, seq, sum, prev, time, job, mode, lot, master_kind, master_name,
	master_sha256, port, label, target_model, target_serial, target_size, result, reason, bytes, line, entry)
SELECT $1, t.seq, t.sum, t.prev, t.time, t.job, t.mode, t.lot, t.master_kind, t.master_name, t.master_sha256, t.port, t.label,
	t.target_model, t.target_serial, t.target_size, t.result, t.reason, t.bytes, t.line, t.entry::jsonb
FROM unnest($2::bigint[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
	$11::text[], $12::int[], $13::text[], $14::text[], $15::text[], $16::bigint[], $17::text[], $18::text[], $19::bigint[],
	$20::text[], $21::text[])
	AS t(seq, sum, prev, time, job, mode, lot, master_kind, master_name, master_sha256, port, label, target_model, target_serial,
	target_size, result, reason, bytes, line, entry)
ON CONFLICT (appliance_id, seq) DO NOTHING
RETURNING seq`

// sendBatch stores rows (consecutive entries) in one transaction. Rows the
// server already holds unchanged count as sent (an earlier send whose
// answer was lost). It returns how many leading rows the server now holds
// as they are here and how many of those were new. A row the server holds
// differently is an ErrConflict, and nothing from it on is stored: the
// box does not go past it (another box may be using this appliance ID,
// and its entries from there on are a fork of this chain).
func sendBatch(ctx context.Context, conn *pgx.Conn, id string, rows []row) (held, added int, err error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	// A newer firmware may have migrated the schema since this box
	// connected: check in the same transaction as the insert.
	var v int
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM clonebay.schema_version`).Scan(&v); err != nil {
		return 0, 0, fmt.Errorf("reading the schema version: %w", err)
	}
	if v > SchemaVersion() {
		return 0, 0, tooNew(v)
	}
	stored, err := storedRows(ctx, tx, id, rows)
	if err != nil {
		return 0, 0, err
	}
	k := len(rows) // the rows before the first the server holds differently
	for i, r := range rows {
		if got, ok := stored[r.seq]; ok && got[1] != r.line {
			k = i
			break
		}
	}
	inserted, err := insertRows(ctx, tx, id, rows[:k])
	if err != nil {
		return 0, 0, err
	}
	// Another push under this ID may have stored some of them meanwhile.
	if len(inserted) < k {
		again, err := storedRows(ctx, tx, id, rows[:k])
		if err != nil {
			return 0, 0, err
		}
		maps.Copy(stored, again)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, 0, err
	}
	for _, r := range rows {
		if inserted[r.seq] {
			held++
			added++
			continue
		}
		got := stored[r.seq]
		if got[1] != r.line {
			return held, added, fmt.Errorf("%w for entry %d (job %s, port %s): the server's has sum %.12s…, this log's %.12s…; the server's is kept, nothing is overwritten and nothing after it is sent (is another box using this appliance ID, from a copied state folder?)",
				ErrConflict, r.seq, r.job, r.label, got[0], r.sum)
		}
		held++
	}
	return held, added, nil
}

// storedRows are the server's sum and line of those of rows it holds.
func storedRows(ctx context.Context, tx pgx.Tx, id string, rows []row) (map[int64][2]string, error) {
	seqs := make([]int64, len(rows))
	for i, r := range rows {
		seqs[i] = r.seq
	}
	stored := map[int64][2]string{}
	q, err := tx.Query(ctx, `SELECT seq, sum, line FROM clonebay.records WHERE appliance_id = $1 AND seq = ANY($2)`, id, seqs)
	if err != nil {
		return nil, err
	}
	var s int64
	var sm, ln string
	_, err = pgx.ForEachRow(q, []any{&s, &sm, &ln}, func() error {
		stored[s] = [2]string{sm, ln}
		return nil
	})
	return stored, err
}

// insertRows stores rows the server does not hold yet and returns the
// sequence numbers it stored.
func insertRows(ctx context.Context, tx pgx.Tx, id string, rows []row) (map[int64]bool, error) {
	inserted := map[int64]bool{}
	n := len(rows)
	if n == 0 {
		return inserted, nil
	}
	var (
		seq, size, nbytes                                    = make([]int64, n), make([]int64, n), make([]int64, n)
		port                                                 = make([]int32, n)
		when                                                 = make([]time.Time, n)
		sum, prev, job, mode, lot, mkind, mname, msha, label = strs(n), strs(n), strs(n), strs(n), strs(n), strs(n), strs(n), strs(n), strs(n)
		tmodel, tserial, result, reason, line, entry         = strs(n), strs(n), strs(n), strs(n), strs(n), strs(n)
	)
	for i, r := range rows {
		seq[i], sum[i], prev[i], when[i], job[i], mode[i], lot[i] = r.seq, r.sum, r.prev, r.time, r.job, r.mode, r.lot
		mkind[i], mname[i], msha[i], port[i], label[i] = r.masterKind, r.masterName, r.masterSHA256, r.port, r.label
		tmodel[i], tserial[i], size[i], result[i], reason[i], nbytes[i] = r.targetModel, r.targetSerial, r.targetSize, r.result, r.reason, r.bytes
		line[i], entry[i] = r.line, r.entry
	}
	res, err := tx.Query(ctx, insertSQL, id, seq, sum, prev, when, job, mode, lot, mkind, mname, msha, port, label, tmodel, tserial,
		size, result, reason, nbytes, line, entry)
	if err != nil {
		return nil, err
	}
	got, err := pgx.CollectRows(res, pgx.RowTo[int64])
	for _, s := range got {
		inserted[s] = true
	}
	return inserted, err
}

func strs(n int) []string { return make([]string, n) }
