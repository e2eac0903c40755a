package engine_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"hash/crc32"
	"io"
	"testing"

	"github.com/cespare/xxhash/v2"

	"github.com/clonebay/clonebay/engine"
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
// master to N in-memory targets (bytes of the master per second), and the
// memory the job's buffers held.
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
			var bufBytes int64
			for b.Loop() {
				res, err := job.Run(context.Background())
				if err != nil || !res.OK() {
					b.Fatalf("job failed: %v %+v", err, res)
				}
				bufBytes = res.BufferBytes
			}
			b.ReportMetric(float64(bufBytes)/(1<<20), "bufMiB/job")
		})
	}
}

// BenchmarkHash compares the per-chunk hash candidates on 1 MiB chunks.
func BenchmarkHash(b *testing.B) {
	chunk := randomBytes(1<<20, 2)
	castagnoli := crc32.MakeTable(crc32.Castagnoli)
	for _, tc := range []struct {
		name string
		fn   func([]byte)
	}{
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
