package engine

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"
)

// ReadScan reads a whole drive and returns the ranges it cannot read,
// sector by sector where a chunk fails. progress, when set, gets the bytes
// read so far.
func ReadScan(ctx context.Context, dev Source, progress func(done, total int64)) ([]Extent, error) {
	size := dev.Size()
	ss := int64(sectorSize(dev))
	buf := alignedBuf(DefaultChunkSize)
	var bad []Extent
	note := func(off, n int64) {
		if k := len(bad); k > 0 && bad[k-1].End() == off {
			bad[k-1].Len += n
			return
		}
		bad = append(bad, Extent{off, n})
	}
	for off := int64(0); off < size; off += DefaultChunkSize {
		if err := ctx.Err(); err != nil {
			return bad, err
		}
		n := min(DefaultChunkSize, size-off)
		if err := readFull(dev, buf[:n], off); err != nil {
			for s := int64(0); s < n; s += ss {
				m := min(ss, n-s)
				if readFull(dev, buf[:m], off+s) != nil {
					note(off+s, m)
				}
			}
		}
		if progress != nil {
			progress(off+n, size)
		}
		yield()
	}
	return bad, nil
}

// SpeedTest measures a target's sequential write and read speed on n
// bytes in the middle of the drive (MB/s, 10^6 bytes a second), through
// to the media. It writes random data there and puts back what was
// there.
func SpeedTest(ctx context.Context, dev Target, n int) (readMBps, writeMBps float64, err error) {
	size := dev.Size() / qualBlock * qualBlock
	n = int(min(int64(n), size/2)) / qualBlock * qualBlock
	if n == 0 {
		return 0, 0, fmt.Errorf("speed test: the drive is too small")
	}
	off := size / 4 / qualBlock * qualBlock
	saved := alignedBuf(n)
	if err := readFull(dev, saved, off); err != nil {
		return 0, 0, fmt.Errorf("speed test: %w", err)
	}
	data := alignedBuf(n)
	if _, err := rand.Read(data); err != nil {
		return 0, 0, err
	}
	defer func() {
		if _, werr := dev.WriteAt(saved, off); werr != nil && err == nil {
			err = fmt.Errorf("speed test: putting back the data: %w", werr)
		}
		if serr := dev.Sync(); serr != nil && err == nil {
			err = fmt.Errorf("speed test: %w", serr)
		}
	}()
	writeMBps, err = timedWrite(dev, data, off)
	if err != nil {
		return 0, 0, fmt.Errorf("speed test: %w", err)
	}
	if err := dev.DropCaches(); err != nil {
		return 0, 0, fmt.Errorf("speed test: %w", err)
	}
	start := time.Now()
	if err := readFull(dev, data, off); err != nil {
		return 0, 0, fmt.Errorf("speed test: %w", err)
	}
	return rateMBps(n, time.Since(start)), writeMBps, ctx.Err()
}
