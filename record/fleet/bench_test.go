//go:build linux

package fleet_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/internal/pgtest"
	"github.com/clonebay/clonebay/record"
	"github.com/clonebay/clonebay/record/fleet"
)

// writeLog writes a log of n entries (jobs of 8 ports) and its head
// directly, as the appliance would have over many days.
func writeLog(b *testing.B, path string, n int) {
	b.Helper()
	var buf bytes.Buffer
	prev := ""
	for i := 1; i <= n; i++ {
		job := (i-1)/8 + 1
		e := record.Entry{Seq: int64(i), Time: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second),
			Job: fmt.Sprintf("job-%d", job), Mode: "copy+verify", MasterKind: "image", MasterName: "ubuntu-24.04", MasterSize: 8e9,
			MasterSHA256: "5f1c0b0a39e0c0dfe2a1ec5a8c2b0f6f1f9d8f2e4c1a7b3d9e8f7a6b5c4d3e2f", Area: "whole image", Bytes: 8e9,
			Port: (i-1)%8 + 1, Label: fmt.Sprint((i-1)%8 + 1), TargetModel: "Kingston DataTraveler", TargetSerial: fmt.Sprintf("SN%08d", i),
			TargetSize: 16e9, Result: "PASS", Written: 8e9, Verified: 8e9, MBps: 31.5, Prev: prev}
		e.Sum = e.Checksum()
		prev = e.Sum
		line, err := json.Marshal(e)
		require.NoError(b, err)
		buf.Write(line)
		buf.WriteByte('\n')
	}
	require.NoError(b, os.WriteFile(path, buf.Bytes(), 0o644))
	head, _ := json.Marshal(record.Head{Count: int64(n), Sum: prev})
	require.NoError(b, os.WriteFile(record.HeadPath(path), head, 0o644))
}

// BenchmarkReplicate100k sends a log of 100,000 entries to an empty
// server (a box that replicates for the first time), in batches of the
// default size and larger: entries per second.
func BenchmarkReplicate100k(b *testing.B) {
	const n = 100_000
	db := pgtest.Shared(b).NewDatabase(b)
	dir := b.TempDir()
	path := filepath.Join(dir, "jobs.log")
	writeLog(b, path, n)
	for _, batch := range []int{500, 2000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				o := fleet.Options{URL: db.URL, ID: fleet.NewID(), Log: path, Cursor: filepath.Join(dir, fmt.Sprintf("cursor-%d-%d", batch, i)),
					Batch: batch}
				start := time.Now()
				s, err := fleet.Push(context.Background(), o)
				require.NoError(b, err)
				require.Equal(b, int64(n), s.Added)
				b.ReportMetric(float64(n)/time.Since(start).Seconds(), "entries/s")
			}
		})
	}
}

// BenchmarkAppend is the time the appliance's append of one job (8
// ports) takes, alone and with a Replicator running that is notified
// after each append and sends the job at once. The two logs are appended
// to in turn, each first every other time, so that the machine's other
// load falls on both alike; the figures are ns per append of each, and
// their ratio.
func BenchmarkAppend(b *testing.B) {
	_, db := sharedDB(b)
	job := make([]record.Entry, 8)
	for p := range job {
		job[p] = record.Entry{Time: time.Now().UTC(), Job: "job", Mode: "copy+verify", MasterKind: "image", MasterName: "ubuntu-24.04",
			Port: p + 1, Label: fmt.Sprint(p + 1), TargetModel: "Kingston DataTraveler", TargetSerial: fmt.Sprintf("SN%d", p), Result: "PASS"}
	}
	dir := b.TempDir()
	alone, _, err := record.Open(fsys.OS, filepath.Join(dir, "alone", "jobs.log"))
	require.NoError(b, err)
	defer alone.Close()
	with, _, err := record.Open(fsys.OS, filepath.Join(dir, "with", "jobs.log"))
	require.NoError(b, err)
	defer with.Close()
	r, err := fleet.NewReplicator(fleet.Options{URL: db.URL, ID: fleet.NewID(), Log: with.Path(), Cursor: filepath.Join(dir, "with", "cursor")})
	require.NoError(b, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() { cancel(); <-done }()

	var tAlone, tWith time.Duration
	b.ResetTimer()
	appendAlone := func() {
		start := time.Now()
		require.NoError(b, alone.Append(job...))
		tAlone += time.Since(start)
	}
	appendWith := func() {
		start := time.Now()
		require.NoError(b, with.Append(job...))
		r.Notify()
		tWith += time.Since(start)
	}
	for i := 0; i < b.N; i++ {
		// Each goes first every other time: the first of a pair pays more.
		if i%2 == 0 {
			appendAlone()
			appendWith()
		} else {
			appendWith()
			appendAlone()
		}
	}
	b.StopTimer()
	waitFor(b, r, "the last job on the server", func(s fleet.Status) bool { return s.Acked == int64(8*b.N) })
	b.ReportMetric(float64(tAlone.Nanoseconds())/float64(b.N), "ns/append-alone")
	b.ReportMetric(float64(tWith.Nanoseconds())/float64(b.N), "ns/append-replicated")
	b.ReportMetric(float64(tWith)/float64(tAlone), "ratio")
}
