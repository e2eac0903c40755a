package engine_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"hash/crc32"
	"io"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/zeebo/xxh3"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/sim"
)

// memDev is a plain in-memory drive for benchmarks: no speed model, no
// locks, so the numbers measure the engine.
type memDev struct {
	id   string
	data []byte
}

func (m *memDev) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(m.data)) {
		return 0, io.EOF
	}
	n := copy(p, m.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
func (m *memDev) WriteAt(p []byte, off int64) (int, error) { return copy(m.data[off:], p), nil }
func (m *memDev) Size() int64                              { return int64(len(m.data)) }
func (m *memDev) ID() string                               { return m.id }
func (m *memDev) Sync() error                              { return nil }
func (m *memDev) DropCaches() error                        { return nil }

// BenchmarkFanOut measures copy+verify throughput from one in-memory
// master to N in-memory targets (bytes of the master per second), the
// memory the job's buffers held, and how many times over the master was
// read (1 is once, plus the re-check's sample).
func BenchmarkFanOut(b *testing.B) {
	const size = 256 << 20
	master := &memDev{id: "master", data: randomBytes(size, 1)}
	for _, n := range []int{1, 4, 8, 16} {
		b.Run(fmt.Sprintf("1to%d", n), func(b *testing.B) {
			job := engine.Job{Source: master}
			for i := range n {
				job.Targets = append(job.Targets, engine.PortTarget{Port: i + 2, Dev: &memDev{id: fmt.Sprint(i), data: make([]byte, size)}})
			}
			b.SetBytes(size)
			var bufBytes, read, jobs int64
			for b.Loop() {
				res, err := job.Run(context.Background())
				if err != nil || !res.OK() {
					b.Fatalf("job failed: %v %+v", err, res)
				}
				bufBytes = res.BufferBytes
				read += res.MasterRead
				jobs++
			}
			b.ReportMetric(float64(bufBytes)/(1<<20), "bufMiB/job")
			b.ReportMetric(float64(read)/float64(jobs*size), "masterReads/job")
		})
	}
}

// BenchmarkHash compares the per-chunk hash candidates on 1 MiB chunks
// (4 MiB for the request size the floor's dd uses).
func BenchmarkHash(b *testing.B) {
	chunk := randomBytes(1<<20, 2)
	castagnoli := crc32.MakeTable(crc32.Castagnoli)
	for _, tc := range []struct {
		name string
		fn   func([]byte)
	}{
		{"xxh3-64", func(p []byte) { xxh3.Hash(p) }},
		{"xxh3-128", func(p []byte) { xxh3.Hash128(p) }},
		{"xxhash64", func(p []byte) { xxhash.Sum64(p) }},
		{"crc32c", func(p []byte) { crc32.Checksum(p, castagnoli) }},
		{"sha256", func(p []byte) { sha256.Sum256(p) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(chunk)))
			for b.Loop() {
				tc.fn(chunk)
			}
		})
	}
}

// BenchmarkDeltaResync re-syncs a target that differs from the master in
// 1% of its chunks, against a full copy of the same target, both with
// verification, and reports the delta's time as a share of the full
// copy's (the targets are in memory, so this is the engine's cost; on a
// USB stick, where writing is slow, the share is smaller still).
func BenchmarkDeltaResync(b *testing.B) {
	const size = 256 << 20
	master := &memDev{id: "master", data: randomBytes(size, 3)}
	var full, delta time.Duration
	for b.Loop() {
		for _, d := range []bool{false, true} {
			t := &memDev{id: "t", data: append([]byte(nil), master.data...)}
			for i := 0; i < size/(1<<20); i += 100 { // 1% of the 1 MiB chunks differ
				t.data[i<<20+17] ^= 1
			}
			job := engine.Job{Source: master, Targets: []engine.PortTarget{{Port: 2, Dev: t}}, Options: engine.Options{Delta: d}}
			start := time.Now()
			res, err := job.Run(context.Background())
			if err != nil || !res.OK() {
				b.Fatalf("job failed: %v %+v", err, res)
			}
			if d {
				delta += time.Since(start)
			} else {
				full += time.Since(start)
			}
		}
	}
	b.ReportMetric(float64(delta)/float64(full), "delta/full")
}

// BenchmarkDeltaResyncUSB is the delta re-sync on drives with a USB
// stick's speed model (reads 100 MB/s, writes 20 MB/s, in real time):
// re-syncing a stick that differs from the master in 1% of its chunks
// against a full copy of it, both verified in full. It reports the
// delta's time as a share of the full copy's, and the share of the bytes
// it wrote.
func BenchmarkDeltaResyncUSB(b *testing.B) {
	const size = 64 << 20
	content := randomBytes(size, 5)
	old := append([]byte(nil), content...)
	for i := 0; i < size/(1<<20); i += 100 { // 1% of the 1 MiB chunks differ
		old[i<<20+17] ^= 1
	}
	master, err := sim.NewDrive(sim.DriveSpec{Size: size, ReadMBps: 200, Content: content})
	if err != nil {
		b.Fatal(err)
	}
	defer master.Close()
	src, err := master.Open(false)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	var full, delta time.Duration
	var written int64
	for b.Loop() {
		for _, d := range []bool{false, true} {
			stick, err := sim.NewDrive(sim.DriveSpec{Size: size, ReadMBps: 100, WriteMBps: 20, Content: old})
			if err != nil {
				b.Fatal(err)
			}
			h, err := stick.Open(true)
			if err != nil {
				b.Fatal(err)
			}
			job := engine.Job{Source: src, Targets: []engine.PortTarget{{Port: 2, Dev: h.(engine.Target)}}, Options: engine.Options{Delta: d}}
			start := time.Now()
			res, err := job.Run(context.Background())
			if err != nil || !res.OK() {
				b.Fatalf("job failed: %v %+v", err, res)
			}
			if d {
				delta += time.Since(start)
				written = res.Ports[0].Written
			} else {
				full += time.Since(start)
			}
			h.Close()
			stick.Close()
		}
	}
	b.ReportMetric(float64(delta)/float64(full), "delta/full")
	b.ReportMetric(float64(written)/size, "written/size")
}
