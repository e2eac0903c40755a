package sim_test

import (
	"bytes"
	"io"
	"path/filepath"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/hal/haltest"
	"github.com/clonebay/clonebay/sim"
)

const MiB = 1 << 20

func TestDriveConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec func(t *testing.T) sim.DriveSpec
	}{
		{"memory", func(t *testing.T) sim.DriveSpec { return sim.DriveSpec{Size: 4 * MiB} }},
		{"file", func(t *testing.T) sim.DriveSpec {
			return sim.DriveSpec{Size: 4 * MiB, File: filepath.Join(t.TempDir(), "drive.img")}
		}},
		{"4Kn", func(t *testing.T) sim.DriveSpec { return sim.DriveSpec{Size: 4 * MiB, SectorSize: 4096} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var bay *sim.Bay // the bay of the newest drive
			haltest.TestDrive(t, haltest.DriveHarness{
				OpenWrite: func(t *testing.T) hal.Drive {
					bay = sim.NewBay(1)
					d, err := sim.NewDrive(tc.spec(t))
					require.NoError(t, err)
					t.Cleanup(func() { d.Close() })
					require.NoError(t, bay.Insert(1, d))
					h, err := bay.OpenWrite(sim.Node(1))
					require.NoError(t, err)
					return h
				},
				OpenRead: func(t *testing.T, d hal.Drive) hal.DriveReader {
					r, err := bay.OpenRead(d.Info().Node)
					require.NoError(t, err)
					return r
				},
			})
		})
	}
}

func TestBayConformance(t *testing.T) {
	bay := sim.NewBay(8)
	next := 1
	haltest.TestDriveWatcher(t, haltest.WatcherHarness{
		Watcher: bay,
		Add: func(t *testing.T) string {
			port := next
			next++
			require.NoError(t, bay.Insert(port, sim.MustDrive(sim.DriveSpec{Size: MiB})))
			return sim.Node(port)
		},
		Remove: func(t *testing.T, node string) {
			for _, p := range bay.Occupied() {
				if sim.Node(p) == node {
					_, err := bay.Remove(p)
					require.NoError(t, err)
				}
			}
		},
	})
}

func TestBayRefusesBadInserts(t *testing.T) {
	bay := sim.NewBay(2)
	require.NoError(t, bay.Insert(1, sim.MustDrive(sim.DriveSpec{Size: MiB})))
	assert.ErrorIs(t, bay.Insert(1, sim.MustDrive(sim.DriveSpec{Size: MiB})), hal.ErrBusy)
	assert.ErrorIs(t, bay.Insert(3, sim.MustDrive(sim.DriveSpec{Size: MiB})), hal.ErrNoPort)
	_, err := bay.Remove(2)
	assert.ErrorContains(t, err, "port 2: the port is empty")
	_, err = bay.OpenWrite("/dev/sda")
	assert.ErrorContains(t, err, "/dev/sda is not a simulated drive")
}

func TestOneWriterAtATime(t *testing.T) {
	bay := sim.NewBay(1)
	require.NoError(t, bay.Insert(1, sim.MustDrive(sim.DriveSpec{Size: MiB})))
	w, err := bay.OpenWrite(sim.Node(1))
	require.NoError(t, err)
	_, err = bay.OpenWrite(sim.Node(1))
	assert.ErrorIs(t, err, hal.ErrBusy)
	r, err := bay.OpenRead(sim.Node(1))
	require.NoError(t, err, "readers are not exclusive")
	require.NoError(t, r.Close())
	require.NoError(t, w.Close())
	w, err = bay.OpenWrite(sim.Node(1))
	require.NoError(t, err, "after Close another writer may open")
	require.NoError(t, w.Close())
}

func TestDriveSpecErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec sim.DriveSpec
		want string
	}{
		{"negative size", sim.DriveSpec{Size: -1}, "size -1 is negative"},
		{"odd sector", sim.DriveSpec{Size: MiB, SectorSize: 1000}, "sector size 1000"},
		{"partial sector", sim.DriveSpec{Size: MiB + 1}, "not a multiple of the sector size"},
		{"content too big", sim.DriveSpec{Size: 512, Content: make([]byte, 513)}, "do not fit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sim.NewDrive(tc.spec)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

// newTarget inserts a 1 MiB drive with one fault into a one-port bay and
// opens it for writing.
func newTarget(t *testing.T, f *sim.Fault) (*sim.Drive, hal.Drive, *sim.Bay) {
	t.Helper()
	bay := sim.NewBay(1)
	d := sim.MustDrive(sim.DriveSpec{Size: MiB})
	if f != nil && f.Kind != sim.ReadOnlyMedia {
		d.Inject(*f)
	}
	require.NoError(t, bay.Insert(1, d))
	if f != nil && f.Kind == sim.ReadOnlyMedia {
		d.Inject(*f)
		return d, nil, bay
	}
	h, err := bay.OpenWrite(sim.Node(1))
	require.NoError(t, err)
	t.Cleanup(func() { h.Close() })
	return d, h, bay
}

func fill(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }

// writeAll writes 64 KiB blocks of 0xAB over the whole 1 MiB drive and
// returns the offsets whose write failed.
func writeAll(h hal.Drive) map[int64]error {
	failed := map[int64]error{}
	for off := int64(0); off < MiB; off += 64 << 10 {
		if _, err := h.WriteAt(fill(64<<10, 0xab), off); err != nil {
			failed[off] = err
		}
	}
	return failed
}

func TestWriteErrorOnlyWhereInjected(t *testing.T) {
	_, h, _ := newTarget(t, &sim.Fault{Kind: sim.WriteError, Off: 300_000})
	failed := writeAll(h)
	require.Len(t, failed, 1, "only the block holding the fault fails")
	err := failed[4*64<<10]
	require.Error(t, err)
	assert.ErrorIs(t, err, syscall.EIO)
	var ioErr *hal.IOError
	require.ErrorAs(t, err, &ioErr)
	assert.Equal(t, int64(300_000), ioErr.Off)

	got := make([]byte, MiB)
	_, err = h.ReadAt(got, 0)
	require.NoError(t, err)
	assert.Equal(t, fill(300_000-4*64<<10, 0xab), got[4*64<<10:300_000], "bytes before the fault were written")
	assert.Equal(t, fill(5*64<<10-300_000, 0), got[300_000:5*64<<10], "bytes from the fault on were not")
	assert.Equal(t, fill(MiB-5*64<<10, 0xab), got[5*64<<10:], "later blocks were written")
}

func TestTransientWriteError(t *testing.T) {
	_, h, _ := newTarget(t, &sim.Fault{Kind: sim.WriteError, Off: 0, Times: 2})
	for i := range 2 {
		_, err := h.WriteAt(fill(512, 1), 0)
		assert.ErrorIs(t, err, syscall.EIO, "attempt %d", i+1)
	}
	_, err := h.WriteAt(fill(512, 1), 0)
	assert.NoError(t, err, "the third attempt works")
}

func TestReadErrorOnlyWhereInjected(t *testing.T) {
	_, h, _ := newTarget(t, &sim.Fault{Kind: sim.ReadError, Off: 512 * 100, Len: 1024})
	require.Empty(t, writeAll(h))
	require.NoError(t, h.Sync())
	require.NoError(t, h.DropCaches())
	for off := int64(0); off < MiB; off += 512 {
		_, err := h.ReadAt(make([]byte, 512), off)
		if off == 512*100 || off == 512*101 {
			assert.ErrorIs(t, err, syscall.EIO, "bad sector at %d", off)
		} else {
			assert.NoError(t, err, "good sector at %d", off)
		}
	}
}

func TestCorruptionOnlyFromMediaAndOnlyWhereInjected(t *testing.T) {
	_, h, _ := newTarget(t, &sim.Fault{Kind: sim.Corrupt, Off: 4096, Len: 10})
	require.Empty(t, writeAll(h))
	got := make([]byte, MiB)
	_, err := h.ReadAt(got, 0)
	require.NoError(t, err)
	assert.Equal(t, fill(MiB, 0xab), got, "a cached read sees what was written")

	require.NoError(t, h.Sync())
	require.NoError(t, h.DropCaches())
	_, err = h.ReadAt(got, 0)
	require.NoError(t, err, "corruption is silent")
	for i, b := range got {
		if i >= 4096 && i < 4106 {
			assert.NotEqual(t, byte(0xab), b, "byte %d is corrupt", i)
		} else if b != 0xab {
			t.Fatalf("byte %d is %#x, corrupt outside the fault", i, b)
		}
	}
}

func TestRemovalMidOperation(t *testing.T) {
	d, h, bay := newTarget(t, &sim.Fault{Kind: sim.RemoveAt, Off: 200_000})
	failed := writeAll(h)
	assert.ErrorIs(t, failed[3*64<<10], hal.ErrRemoved, "the write reaching the pull point fails")
	for off, err := range failed {
		assert.ErrorIs(t, err, hal.ErrRemoved, "at %d", off)
	}
	assert.Len(t, failed, MiB/(64<<10)-3, "writes before the pull point worked")
	assert.True(t, d.Removed())
	assert.Empty(t, bay.Occupied(), "the bay lost the drive")
	media, err := d.Media(0, 200_000)
	require.NoError(t, err)
	assert.Equal(t, fill(200_000, 0xab), media, "what was written before the pull stays")
	assert.ErrorIs(t, h.Sync(), hal.ErrRemoved)
}

func TestReadOnlyMedia(t *testing.T) {
	d, _, bay := newTarget(t, &sim.Fault{Kind: sim.ReadOnlyMedia})
	assert.True(t, d.Info().ReadOnly)
	_, err := bay.OpenWrite(sim.Node(1))
	assert.ErrorIs(t, err, hal.ErrReadOnly)
	r, err := bay.OpenRead(sim.Node(1))
	require.NoError(t, err, "read-only media still reads")
	_, err = r.ReadAt(make([]byte, 512), 0)
	assert.NoError(t, err)
}

func TestFakeCapacity(t *testing.T) {
	for _, wrap := range []bool{false, true} {
		name := map[bool]string{false: "vanish", true: "wrap"}[wrap]
		t.Run(name, func(t *testing.T) {
			const real = 256 << 10
			d, h, _ := newTarget(t, &sim.Fault{Kind: sim.FakeCapacity, Off: real, Wrap: wrap})
			assert.Equal(t, int64(MiB), d.Info().Size, "it reports its fake size")
			// Mark every 64 KiB block with its own number.
			for off := int64(0); off < MiB; off += 64 << 10 {
				_, err := h.WriteAt(fill(64<<10, byte(off>>16)+1), off)
				require.NoError(t, err, "writes beyond the real size report success")
			}
			require.NoError(t, h.DropCaches())
			got := make([]byte, 64<<10)
			for off := int64(0); off < MiB; off += 64 << 10 {
				_, err := h.ReadAt(got, off)
				require.NoError(t, err)
				var want byte
				switch {
				case off < real && wrap:
					want = byte((off+12*64<<10)>>16) + 1 // overwritten by the last wrap
				case off < real:
					want = byte(off>>16) + 1
				case wrap:
					want = byte((off%real+12*64<<10)>>16) + 1
				default:
					want = 0
				}
				assert.Equal(t, want, got[0], "block at %d", off)
			}
		})
	}
}

func TestSpeedModelInVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := sim.MustDrive(sim.DriveSpec{Size: 64 * MiB, WriteMBps: 10, ReadMBps: 20, Latency: time.Millisecond})
		h, err := d.Open(true)
		require.NoError(t, err)
		start := time.Now()
		buf := make([]byte, 10_000_000)
		_, err = h.WriteAt(buf, 0)
		require.NoError(t, err)
		assert.Equal(t, time.Second+time.Millisecond, time.Since(start), "10 MB at 10 MB/s")

		start = time.Now()
		_, err = h.ReadAt(buf, 0)
		require.NoError(t, err)
		assert.Zero(t, time.Since(start), "a cached read costs no media time")

		require.NoError(t, h.DropCaches())
		start = time.Now()
		_, err = h.ReadAt(buf, 0)
		require.NoError(t, err)
		assert.Equal(t, 500*time.Millisecond+time.Millisecond, time.Since(start), "10 MB at 20 MB/s")

		// Two readers share the bandwidth.
		require.NoError(t, h.DropCaches())
		start = time.Now()
		done := make(chan struct{})
		for range 2 {
			go func() {
				_, _ = h.ReadAt(make([]byte, 10_000_000), 0)
				done <- struct{}{}
			}()
		}
		<-done
		<-done
		assert.Equal(t, 2*(500*time.Millisecond+time.Millisecond), time.Since(start))
	})
}

func TestReadAtEnd(t *testing.T) {
	d := sim.MustDrive(sim.DriveSpec{Size: 4096})
	h, err := d.Open(false)
	require.NoError(t, err)
	n, err := h.ReadAt(make([]byte, 8192), 0)
	assert.Equal(t, 4096, n)
	assert.ErrorIs(t, err, io.EOF)
}

func TestPanelConformance(t *testing.T) {
	for _, geo := range []hal.Geometry{{Cols: 16, Rows: 2}, {Cols: 20, Rows: 4}} {
		t.Run("LCD"+geo.String(), func(t *testing.T) {
			lcd := sim.NewLCD(geo)
			haltest.TestDisplay(t, lcd, lcd.Lines)
		})
	}
	t.Run("LEDs", func(t *testing.T) {
		leds := sim.NewLEDs(8)
		haltest.TestLEDs(t, leds, leds.LED)
	})
	t.Run("Buzzer", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			b := sim.NewBuzzer()
			haltest.TestBuzzer(t, b, b.Sounding)
		})
	})
	t.Run("Buttons", func(t *testing.T) {
		b := sim.NewButtons()
		haltest.TestButtons(t, haltest.ButtonsHarness{
			Buttons: b,
			Set: func(btn hal.Button, down bool) {
				b.Push(btn, map[bool]hal.ButtonAction{true: hal.Press, false: hal.Release}[down])
			},
		})
	})
}

func TestLCDText(t *testing.T) {
	lcd := sim.NewLCD(hal.Geometry{Cols: 16, Rows: 2})
	full := hal.Glyph{0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f}
	half := hal.Glyph{0x1c, 0x1c, 0x1c, 0x1c, 0x1c, 0x1c, 0x1c, 0x1c}
	require.NoError(t, lcd.DefineGlyph(5, full))
	require.NoError(t, lcd.DefineGlyph(3, half))
	require.NoError(t, lcd.Show([]string{"\x05\x05\x03 50%", "OK"}))
	assert.Equal(t, "██▌ 50%         \nOK              ", lcd.Text())
}

func TestIgnoreWritesOnlyWhereInjected(t *testing.T) {
	d, h, _ := newTarget(t, &sim.Fault{Kind: sim.IgnoreWrites, Off: 128 << 10, Len: 64 << 10})
	require.Empty(t, writeAll(h), "ignored writes report success")
	require.NoError(t, h.DropCaches())
	got, err := d.Media(0, MiB)
	require.NoError(t, err)
	assert.Equal(t, fill(128<<10, 0xab), got[:128<<10])
	assert.Equal(t, fill(64<<10, 0), got[128<<10:192<<10], "the old contents stay")
	assert.Equal(t, fill(MiB-192<<10, 0xab), got[192<<10:])
}

// TestPowerCutLosesWhatWasNotSynced: a drive's cache is lost with its
// power; synced writes stay, handles opened before the cut are dead.
func TestPowerCutLosesWhatWasNotSynced(t *testing.T) {
	d := sim.MustDrive(sim.DriveSpec{Size: 1 << 20})
	w, err := d.Open(true)
	require.NoError(t, err)
	synced := bytes.Repeat([]byte{1}, 4096)
	_, err = w.WriteAt(synced, 0)
	require.NoError(t, err)
	require.NoError(t, w.Sync())
	_, err = w.WriteAt(bytes.Repeat([]byte{2}, 4096), 8192)
	require.NoError(t, err)

	d.PowerCut()
	_, err = w.WriteAt([]byte{3}, 0)
	assert.ErrorIs(t, err, sim.ErrPowerOff, "a handle from before the cut is dead")
	assert.ErrorIs(t, err, hal.ErrRemoved, "the engine sees it as a lost drive")
	_, err = d.Open(false)
	assert.ErrorIs(t, err, sim.ErrPowerOff, "no power, no open")

	d.PowerOn()
	got, err := d.Media(0, 4096)
	require.NoError(t, err)
	assert.Equal(t, synced, got, "synced data survives")
	got, err = d.Media(8192, 4096)
	require.NoError(t, err)
	assert.NotContains(t, got, byte(2), "unsynced data is lost")
	w2, err := d.Open(true)
	require.NoError(t, err, "a new writer may open after the power is back")
	require.NoError(t, w2.Close())
}
