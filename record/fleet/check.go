package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/clonebay/clonebay/record"
)

// CheckReport is what comparing the server's copy of one box's entries
// with the box's log found.
type CheckReport struct {
	ID string
	// Server and Local count the entries on each side.
	Server, Local int
	// Missing are entries the log holds and the server does not; Extra
	// the other way round; Differ entries the two hold differently.
	Missing, Extra []int64
	Differ         []string
	// Chain is what does not verify in the server's copy by itself: an
	// entry whose sum does not match its content, one that does not follow
	// the one before, a gap, a column that says something else than the
	// entry.
	Chain []string
	// LocalDamage is where the local log stopped verifying ("" when it
	// verifies); entries past it are not compared.
	LocalDamage string
}

// Clean reports whether the server's copy equals the log and verifies.
func (c *CheckReport) Clean() bool {
	return len(c.Missing)+len(c.Extra)+len(c.Differ)+len(c.Chain) == 0 && c.LocalDamage == ""
}

// Check compares the server's copy of the box's entries with its log, and
// verifies the server's chain from the server's copy alone. It changes
// nothing on either side.
func Check(ctx context.Context, o Options) (*CheckReport, error) {
	r, err := NewReplicator(o)
	if err != nil {
		return nil, err
	}
	rep, err := r.check(ctx)
	r.disconnect()
	if err != nil {
		return nil, &redactedError{msg: r.describe(err), err: err}
	}
	return rep, nil
}

type localEntry struct {
	sum, line string
}

func (r *Replicator) check(ctx context.Context) (*CheckReport, error) {
	rep := &CheckReport{ID: r.o.ID}
	local := map[int64]localEntry{}
	if _, err := readEntries(r.o.Files, r.o.Log, position{}, -1, func(e record.Entry, line []byte, _ position) bool {
		local[e.Seq] = localEntry{e.Sum, string(line)}
		return true
	}); err != nil {
		if !errors.Is(err, ErrLogDamaged) {
			return nil, err
		}
		rep.LocalDamage = err.Error()
	}
	rep.Local = len(local)

	cctx, cancel := context.WithTimeout(ctx, r.o.Timeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(cctx, r.cfg)
	if err != nil {
		return nil, err
	}
	r.conn = conn
	v, err := serverVersion(ctx, conn)
	if err != nil {
		return nil, err
	}
	if v > SchemaVersion() {
		return nil, tooNew(v)
	}
	if v == 0 {
		return nil, fmt.Errorf("%s holds no clonebay schema: nothing was ever pushed to it", r.server)
	}
	rows, err := conn.Query(ctx, `SELECT seq, sum, prev, time, job, mode, lot, master_kind, master_name, master_sha256, port, label,
		target_model, target_serial, target_size, result, reason, bytes, line, entry::text
		FROM clonebay.records WHERE appliance_id = $1 ORDER BY seq`, r.o.ID)
	if err != nil {
		return nil, err
	}
	var s row
	prevSeq, prevSum := int64(0), ""
	seen := map[int64]bool{}
	chain := func(format string, args ...any) { rep.Chain = append(rep.Chain, fmt.Sprintf(format, args...)) }
	_, err = pgx.ForEachRow(rows, []any{&s.seq, &s.sum, &s.prev, &s.time, &s.job, &s.mode, &s.lot, &s.masterKind, &s.masterName,
		&s.masterSHA256, &s.port, &s.label, &s.targetModel, &s.targetSerial, &s.targetSize, &s.result, &s.reason, &s.bytes,
		&s.line, &s.entry}, func() error {
		rep.Server++
		seen[s.seq] = true
		if l, ok := local[s.seq]; !ok {
			if rep.LocalDamage == "" {
				rep.Extra = append(rep.Extra, s.seq)
			}
		} else if l.line != s.line && l.sum == s.sum {
			rep.Differ = append(rep.Differ, fmt.Sprintf("entry %d: the server's content differs from the log's under the same sum (edited on the server)", s.seq))
		} else if l.line != s.line {
			rep.Differ = append(rep.Differ, fmt.Sprintf("entry %d: the server's has sum %.12s…, the log's %.12s…", s.seq, s.sum, l.sum))
		}
		// The server's chain, from its own rows.
		if s.seq != prevSeq+1 {
			chain("entries %d..%d are missing on the server: the chain cannot be followed across the gap", prevSeq+1, s.seq-1)
		}
		var e record.Entry
		if err := json.Unmarshal([]byte(s.line), &e); err != nil {
			chain("entry %d: its line is not an entry: %v", s.seq, err)
			prevSeq, prevSum = s.seq, s.sum
			return nil
		}
		switch {
		case e.Seq != s.seq:
			chain("entry %d: its line says it is entry %d", s.seq, e.Seq)
		case e.Sum != s.sum || e.Prev != s.prev:
			chain("entry %d: the sum or prev column does not match its line", s.seq)
		case e.Checksum() != e.Sum:
			chain("entry %d: checksum does not match its content", s.seq)
		case s.seq == prevSeq+1 && e.Prev != prevSum:
			chain("entry %d: it does not follow entry %d (one of them was changed)", s.seq, prevSeq)
		}
		if bad := columnsDiffer(s, rowOf(e, []byte(s.line))); bad != "" {
			chain("entry %d: column %s does not say what its line says", s.seq, bad)
		}
		prevSeq, prevSum = s.seq, s.sum
		return nil
	})
	if err != nil {
		return nil, err
	}
	for seq := range local {
		if !seen[seq] {
			rep.Missing = append(rep.Missing, seq)
		}
	}
	slices.Sort(rep.Missing)
	return rep, nil
}

// columnsDiffer names the first column of a stored row that differs from
// the row its line makes: a copy edited on the server where QA's queries
// would see it while the chain still verified.
func columnsDiffer(got, want row) string {
	switch {
	case !got.time.Equal(want.time):
		return "time"
	case got.job != want.job:
		return "job"
	case got.mode != want.mode:
		return "mode"
	case got.lot != want.lot:
		return "lot"
	case got.masterKind != want.masterKind:
		return "master_kind"
	case got.masterName != want.masterName:
		return "master_name"
	case got.masterSHA256 != want.masterSHA256:
		return "master_sha256"
	case got.port != want.port:
		return "port"
	case got.label != want.label:
		return "label"
	case got.targetModel != want.targetModel:
		return "target_model"
	case got.targetSerial != want.targetSerial:
		return "target_serial"
	case got.targetSize != want.targetSize:
		return "target_size"
	case got.result != want.result:
		return "result"
	case got.reason != want.reason:
		return "reason"
	case got.bytes != want.bytes:
		return "bytes"
	}
	var a, b any
	if json.Unmarshal([]byte(got.entry), &a) != nil || json.Unmarshal([]byte(want.entry), &b) != nil || !reflect.DeepEqual(a, b) {
		return "entry"
	}
	return ""
}

// describe is an error's text as the status would show it.
func (r *Replicator) describe(err error) string {
	_, msg := r.classify(err)
	return msg
}
