package engine

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"slices"
	"time"
)

// QualifyOptions tune the check that a target stores what its size says.
type QualifyOptions struct {
	Points int // marker blocks spread up to the last sector; 16 when 0
	// MinWriteMBps rejects a target that writes slower (10^6 bytes a
	// second); 0 has no floor.
	MinWriteMBps float64
	// SpeedBytes is how much is written to measure the speed; 8 MiB when 0.
	SpeedBytes int
}

// Qualification is what the check found.
type Qualification struct {
	OK        bool
	Cause     Cause  // CauseFake or CauseSlow when not OK
	Reason    string // for the operator
	RealSize  int64  // about how much a fake drive really stores
	WriteMBps float64
}

// Causes a qualification gives.
const (
	CauseFake Cause = "fake size"
	CauseSlow Cause = "too slow"
)

const qualBlock = 4096

// Qualify writes unique markers at blocks spread evenly up to the drive's
// last sector, at its first and at every power of two, reads them back
// from the media, and puts back what was there. A counterfeit drive that wraps or drops
// writes beyond its real size loses markers: the first lost one says
// about how much it really stores. It also times a short write for the
// speed floor. Only an I/O error is returned as an error.
func Qualify(ctx context.Context, dev Target, o QualifyOptions) (Qualification, error) {
	if o.Points == 0 {
		o.Points = 16
	}
	if o.SpeedBytes == 0 {
		o.SpeedBytes = 8 << 20
	}
	size := dev.Size() / qualBlock * qualBlock
	if size < 2*qualBlock {
		return Qualification{OK: true}, nil
	}
	var offs []int64
	for i := 1; i <= o.Points; i++ {
		offs = append(offs, min(size-qualBlock, size*int64(i)/int64(o.Points)/qualBlock*qualBlock))
	}
	// The usual counterfeit keeps the low bits of an address (its real
	// size is a power of two): markers evenly spread over a size that is
	// not one never land on each other there, markers at the first block
	// and every power of two from 1 MiB do.
	offs = append(offs, 0)
	for p := int64(1 << 20); p < size; p <<= 1 {
		offs = append(offs, p)
	}
	slices.Sort(offs)
	offs = slices.Compact(offs)
	saved := alignedBuf(len(offs) * qualBlock)
	markers := alignedBuf(len(offs) * qualBlock)
	if _, err := rand.Read(markers); err != nil {
		return Qualification{}, err
	}
	for i, off := range offs {
		m := markers[i*qualBlock : (i+1)*qualBlock]
		copy(m, "CLONEBAY-QUALIFY")
		binary.LittleEndian.PutUint64(m[16:], uint64(off))
		if err := readFull(dev, saved[i*qualBlock:(i+1)*qualBlock], off); err != nil {
			return Qualification{}, fmt.Errorf("qualify: %w", err)
		}
	}
	restored := false
	restore := func() error {
		restored = true
		for i, off := range offs {
			if _, err := dev.WriteAt(saved[i*qualBlock:(i+1)*qualBlock], off); err != nil {
				return fmt.Errorf("qualify: putting back the data at %d: %w", off, err)
			}
		}
		return dev.Sync()
	}
	// Whatever ends the check once a marker may be on the drive (a
	// cancelled job, a failed sync), the drive gets its data back: the
	// first marker lies over its partition table.
	defer func() {
		if !restored {
			_ = restore()
		}
	}()
	for i, off := range offs {
		if err := ctx.Err(); err != nil {
			return Qualification{}, err
		}
		if _, err := dev.WriteAt(markers[i*qualBlock:(i+1)*qualBlock], off); err != nil {
			return Qualification{}, fmt.Errorf("qualify: %w", err)
		}
	}
	if err := dev.Sync(); err != nil {
		return Qualification{}, fmt.Errorf("qualify: sync: %w", err)
	}
	if err := dev.DropCaches(); err != nil {
		return Qualification{}, fmt.Errorf("qualify: drop caches: %w", err)
	}
	got := alignedBuf(qualBlock)
	q := Qualification{OK: true}
	// A drive that wraps shows other blocks' markers where its own should
	// be: the differences between where a marker was written and where it
	// turned up are multiples of the real size, so their gcd is it. One
	// that drops writes shows no marker from some block on: the real size
	// ends before it. A marker lost before others that came back is a bad
	// block, not a fake size: the copy's verify finds it.
	var period int64
	lastOK, lastLost := -1, -1
	for i, off := range offs {
		if err := readFull(dev, got, off); err != nil {
			return Qualification{}, fmt.Errorf("qualify: %w", err)
		}
		if bytes.Equal(got, markers[i*qualBlock:(i+1)*qualBlock]) {
			lastOK = i
			continue
		}
		if bytes.HasPrefix(got, []byte("CLONEBAY-QUALIFY")) {
			if from := int64(binary.LittleEndian.Uint64(got[16:])); from > off {
				period = gcd(period, from-off)
				continue
			}
		}
		lastLost = i
	}
	lostAt := int64(-1)
	if lastLost > lastOK {
		lostAt = 0
		if lastOK >= 0 {
			lostAt = offs[lastOK] + qualBlock
		}
	}
	if period > 0 || lostAt >= 0 {
		real := period
		if real == 0 || (lostAt >= 0 && lostAt < real) {
			real = lostAt
		}
		got, said := twoSizes(real, dev.Size())
		q = Qualification{OK: false, Cause: CauseFake, RealSize: real,
			Reason: fmt.Sprintf("fake capacity: real size about %s, not %s", got, said)}
	}
	if err := restore(); err != nil {
		return Qualification{}, err
	}
	if !q.OK {
		return q, nil
	}
	mbps, err := writeSpeed(dev, size, o.SpeedBytes)
	if err != nil {
		return Qualification{}, err
	}
	q.WriteMBps = mbps
	if o.MinWriteMBps > 0 && mbps < o.MinWriteMBps {
		q = Qualification{OK: false, Cause: CauseSlow, WriteMBps: mbps,
			Reason: fmt.Sprintf("too slow: writes %.1f MB/s, below the floor of %.1f MB/s", mbps, o.MinWriteMBps)}
	}
	return q, nil
}

// writeSpeed times writing n bytes (what was there, read first and written
// back, so nothing changes) in the middle of the drive, through to the
// media.
func writeSpeed(dev Target, size int64, n int) (float64, error) {
	n = int(min(int64(n), size/2)) / qualBlock * qualBlock
	if n == 0 {
		return 0, nil
	}
	off := size / 2 / qualBlock * qualBlock
	buf := alignedBuf(n)
	if err := readFull(dev, buf, off); err != nil {
		return 0, fmt.Errorf("qualify: speed test: %w", err)
	}
	mbps, err := timedWrite(dev, buf, off)
	if err != nil {
		return 0, fmt.Errorf("qualify: speed test: %w", err)
	}
	return mbps, nil
}

// timedWrite writes data at off through to the media (the write and a
// sync) and returns how fast, in MB/s.
func timedWrite(dev Target, data []byte, off int64) (float64, error) {
	start := time.Now()
	if _, err := dev.WriteAt(data, off); err != nil {
		return 0, err
	}
	if err := dev.Sync(); err != nil {
		return 0, err
	}
	return rateMBps(len(data), time.Since(start)), nil
}

// rateMBps is n bytes in d as MB/s (10^6 bytes a second); 0 for no time.
func rateMBps(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds() / 1e6
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
