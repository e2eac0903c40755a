package haltest

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/hal"
)

// DriveHarness gives the drive suite fresh drives. Each call opens a drive
// of at least 1 MiB, exclusively for writing, whose content is unknown.
type DriveHarness struct {
	OpenWrite func(t *testing.T) hal.Drive
	// OpenRead opens the same media read-only. Optional.
	OpenRead func(t *testing.T, d hal.Drive) hal.DriveReader
}

// TestDrive checks the hal.Drive contract.
func TestDrive(t *testing.T, h DriveHarness) {
	t.Run("Info", func(t *testing.T) {
		d := h.OpenWrite(t)
		defer d.Close()
		info := d.Info()
		assert.NotEmpty(t, info.Node, "node")
		assert.GreaterOrEqual(t, info.Size, int64(1<<20), "size")
		assertSectorSize(t, "logical", info.LogicalSectorSize)
		assertSectorSize(t, "physical", info.PhysicalSectorSize)
		assert.LessOrEqual(t, info.LogicalSectorSize, info.PhysicalSectorSize)
		assert.Zero(t, info.Size%int64(info.LogicalSectorSize), "size is whole sectors")
		assert.False(t, info.ReadOnly, "a drive opened for writing is not read-only")
		assert.Equal(t, info.Size, d.Size())
		assert.NotEmpty(t, d.ID())
	})

	t.Run("WriteThenRead", func(t *testing.T) {
		d := h.OpenWrite(t)
		defer d.Close()
		size, sector := d.Info().Size, int64(d.Info().LogicalSectorSize)
		for _, off := range []int64{0, sector, 64 << 10, size / 2, size - 4*sector} {
			data := pattern(int(4*sector), byte(off/sector))
			n, err := d.WriteAt(data, off)
			require.NoError(t, err, "write at %d", off)
			require.Equal(t, len(data), n)
			got := make([]byte, len(data))
			n, err = d.ReadAt(got, off)
			require.NoError(t, err, "read at %d", off)
			assert.Equal(t, len(data), n)
			assert.True(t, bytes.Equal(data, got), "read back at %d", off)
		}
	})

	t.Run("SyncDropCachesReadsMedia", func(t *testing.T) {
		d := h.OpenWrite(t)
		defer d.Close()
		sector := d.Info().LogicalSectorSize
		data := pattern(256<<10, 7)
		_, err := d.WriteAt(data, int64(sector)*8)
		require.NoError(t, err)
		require.NoError(t, d.Sync())
		require.NoError(t, d.DropCaches())
		got := make([]byte, len(data))
		_, err = d.ReadAt(got, int64(sector)*8)
		require.NoError(t, err)
		assert.True(t, bytes.Equal(data, got), "after Sync and DropCaches the media holds the write")
	})

	t.Run("ReadAcrossTheEnd", func(t *testing.T) {
		d := h.OpenWrite(t)
		defer d.Close()
		size, sector := d.Info().Size, d.Info().LogicalSectorSize
		buf := make([]byte, 2*sector)
		n, err := d.ReadAt(buf, size-int64(sector))
		assert.Equal(t, sector, n, "the bytes before the end are read")
		assert.ErrorIs(t, err, io.EOF)
		n, err = d.ReadAt(buf, size)
		assert.Zero(t, n)
		assert.ErrorIs(t, err, io.EOF)
	})

	t.Run("WriteAcrossTheEnd", func(t *testing.T) {
		d := h.OpenWrite(t)
		defer d.Close()
		size, sector := d.Info().Size, d.Info().LogicalSectorSize
		_, err := d.WriteAt(make([]byte, 2*sector), size-int64(sector))
		assert.ErrorIs(t, err, hal.ErrOutOfRange)
		_, err = d.WriteAt(make([]byte, sector), -int64(sector))
		assert.ErrorIs(t, err, hal.ErrOutOfRange)
	})

	t.Run("Close", func(t *testing.T) {
		d := h.OpenWrite(t)
		require.NoError(t, d.Close())
		_, err := d.ReadAt(make([]byte, 512), 0)
		assert.ErrorIs(t, err, hal.ErrClosed)
		_, err = d.WriteAt(make([]byte, 512), 0)
		assert.ErrorIs(t, err, hal.ErrClosed)
		assert.ErrorIs(t, d.Sync(), hal.ErrClosed)
		assert.ErrorIs(t, d.Close(), hal.ErrClosed, "a second close says so")
	})

	if h.OpenRead != nil {
		t.Run("ReadOnlyOpenSeesWrites", func(t *testing.T) {
			d := h.OpenWrite(t)
			defer d.Close()
			data := pattern(64<<10, 3)
			_, err := d.WriteAt(data, 0)
			require.NoError(t, err)
			require.NoError(t, d.Sync())
			r := h.OpenRead(t, d)
			defer r.Close()
			assert.Equal(t, d.ID(), r.ID(), "two opens of one drive have one ID")
			got := make([]byte, len(data))
			_, err = r.ReadAt(got, 0)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(data, got))
			_, isWriter := r.(io.WriterAt)
			if isWriter {
				_, err = r.(io.WriterAt).WriteAt(data, 0)
				assert.ErrorIs(t, err, hal.ErrReadOnly, "a read-only open refuses writes")
			}
		})
	}
}

func assertSectorSize(t *testing.T, what string, n int) {
	t.Helper()
	assert.True(t, n >= 512 && n&(n-1) == 0, "%s sector size %d is a power of two >= 512", what, n)
}

// pattern returns n bytes that differ from zeros and from other seeds.
func pattern(n int, seed byte) []byte {
	p := make([]byte, n)
	x := uint32(seed)*2654435761 + 1
	for i := range p {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		p[i] = byte(x)
	}
	return p
}

// WatcherHarness drives a hal.DriveWatcher's hardware for the suite.
type WatcherHarness struct {
	Watcher hal.DriveWatcher
	// Add plugs in a drive and returns the node it will be reported with.
	Add func(t *testing.T) string
	// Remove pulls the drive at node out.
	Remove func(t *testing.T, node string)
	// Timeout bounds the wait for each event; 5 s when zero.
	Timeout time.Duration
}

// TestDriveWatcher checks the hal.DriveWatcher contract: present drives,
// one ScanDone, then hot-plug events, no duplicates, and a prompt return
// when the context ends.
func TestDriveWatcher(t *testing.T, h WatcherHarness) {
	timeout := h.Timeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	present := h.Add(t)

	ctx, cancel := context.WithCancel(context.Background())
	events := make(chan hal.DriveEvent)
	done := make(chan error, 1)
	go func() { done <- h.Watcher.Watch(ctx, events) }()
	defer func() {
		cancel()
		select {
		case err := <-done:
			assert.ErrorIs(t, err, context.Canceled, "Watch returns ctx.Err()")
		case <-time.After(timeout):
			t.Errorf("Watch did not return within %v of its context ending", timeout)
		}
	}()

	next := func(what string) hal.DriveEvent {
		t.Helper()
		select {
		case ev := <-events:
			return ev
		case <-time.After(timeout):
			t.Fatalf("no event within %v while waiting for %s", timeout, what)
			return hal.DriveEvent{}
		}
	}

	sawPresent := false
	for {
		ev := next("the scan")
		if ev.Kind == hal.ScanDone {
			break
		}
		require.Equal(t, hal.DriveAdded, ev.Kind, "the scan sends only DriveAdded before ScanDone")
		if ev.Drive.Node == present {
			assert.False(t, sawPresent, "%s reported twice in the scan", present)
			sawPresent = true
		}
	}
	assert.True(t, sawPresent, "the drive present before Watch (%s) is in the scan", present)

	added := h.Add(t)
	for {
		ev := next("the added drive " + added)
		require.NotEqual(t, hal.ScanDone, ev.Kind, "ScanDone is sent once")
		if ev.Drive.Node == present && ev.Kind == hal.DriveAdded {
			t.Fatalf("%s reported again after the scan", present)
		}
		if ev.Drive.Node == added && ev.Kind == hal.DriveAdded {
			assert.Positive(t, ev.Drive.Size, "an added drive has a size")
			break
		}
	}
	h.Remove(t, added)
	for {
		ev := next("the removal of " + added)
		if ev.Drive.Node == added && ev.Kind == hal.DriveRemoved {
			break
		}
	}
	h.Remove(t, present)
	for {
		ev := next("the removal of " + present)
		if ev.Drive.Node == present && ev.Kind == hal.DriveRemoved {
			break
		}
	}
}
