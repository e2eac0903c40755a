package engine

import "github.com/zeebo/xxh3"

// chunkSum is a chunk's hash as verification compares it.
type chunkSum = xxh3.Uint128

// chunkHash is the per-chunk hash that verification compares: XXH3-128.
//
// github.com/zeebo/xxh3 has AVX-512, AVX2 and SSE2 kernels on amd64 and a
// NEON kernel on arm64 (pure Go elsewhere). It replaced xxHash64 when
// hashing was most of the gap between a job and the drives' own speed:
// BenchmarkHash on 1 MiB chunks (2-core amd64 VM) runs XXH3 at about 4x
// xxHash64, 4x the hardware CRC32-C and 80x SHA-256, and the 128-bit
// variant costs no more than the 64-bit one, so verification gets the
// wider sum for free. The appliance's Cortex-A72 (Raspberry Pi 4) has no
// SHA instructions, so there SHA-256 is slower still and the gap wider;
// NEON keeps XXH3 well ahead of any USB or SATA bus. CRC32-C is not used:
// 32 bits would let one corrupted chunk in 4 billion pass. SHA-256 is for
// the record only and runs beside the job.
func chunkHash(p []byte) chunkSum { return xxh3.Hash128(p) }
