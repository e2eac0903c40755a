package appliance

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/sim"
	"github.com/clonebay/clonebay/ui"
)

// exclusiveOpener opens drives the way hal/blockdev opens block devices:
// exclusively (O_EXCL), so a second open of a drive that is still open is
// refused as busy. Every read takes a millisecond, as a real drive's
// does.
type exclusiveOpener struct {
	hal.DriveOpener
	mu      sync.Mutex
	open    map[string]bool
	refused []string
}

func (o *exclusiveOpener) take(node string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.open[node] {
		o.refused = append(o.refused, node)
		return fmt.Errorf("open %s: %w: it is mounted or in use by another program", node, hal.ErrBusy)
	}
	o.open[node] = true
	return nil
}

func (o *exclusiveOpener) release(node string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.open, node)
}

func (o *exclusiveOpener) OpenRead(node string) (hal.DriveReader, error) {
	if err := o.take(node); err != nil {
		return nil, err
	}
	r, err := o.DriveOpener.OpenRead(node)
	if err != nil {
		o.release(node)
		return nil, err
	}
	return &exclusiveReader{DriveReader: r, release: func() { o.release(node) }}, nil
}

func (o *exclusiveOpener) OpenMaster(node string) (hal.Master, error) {
	if err := o.take(node); err != nil {
		return nil, err
	}
	m, err := o.DriveOpener.OpenMaster(node)
	if err != nil {
		o.release(node)
		return nil, err
	}
	return &exclusiveMaster{Master: m, release: func() { o.release(node) }}, nil
}

type exclusiveMaster struct {
	hal.Master
	release func()
}

func (m *exclusiveMaster) Close() error {
	defer m.release()
	return m.Master.Close()
}

func (o *exclusiveOpener) OpenWrite(node string) (hal.Drive, error) {
	if err := o.take(node); err != nil {
		return nil, err
	}
	d, err := o.DriveOpener.OpenWrite(node)
	if err != nil {
		o.release(node)
		return nil, err
	}
	return &exclusiveDrive{Drive: d, release: func() { o.release(node) }}, nil
}

type exclusiveReader struct {
	hal.DriveReader
	release func()
}

func (r *exclusiveReader) ReadAt(p []byte, off int64) (int, error) {
	time.Sleep(time.Millisecond)
	return r.DriveReader.ReadAt(p, off)
}

func (r *exclusiveReader) Close() error {
	defer r.release()
	return r.DriveReader.Close()
}

type exclusiveDrive struct {
	hal.Drive
	release func()
}

func (d *exclusiveDrive) Close() error {
	defer d.release()
	return d.Drive.Close()
}

// TestMasterPlugWithExclusiveOpens plugs a master into its port on a box
// whose drives open exclusively, as block devices do: the appliance reads
// the new master's identity and plans its copy area without tripping over
// its own open of the same drive. (Both used to open it at once, and one
// of them was refused as busy: found on the appliance booted in QEMU.)
func TestMasterPlugWithExclusiveOpens(t *testing.T) {
	for _, tc := range []struct {
		name    string
		atStart bool // the master is in its port when the appliance starts
	}{
		{"plugged while running", false},
		{"in its port at start", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := sim8(t)
				rig := sim.NewRig(b)
				hw := rigHardware(rig)
				opener := &exclusiveOpener{DriveOpener: hw.Opener, open: map[string]bool{}}
				hw.Opener = opener
				var mu sync.Mutex
				var plans []ui.PlanInfo
				var masters []ui.Drive
				observe := func(ev ui.Event, _ ui.Frame) {
					mu.Lock()
					defer mu.Unlock()
					switch e := ev.(type) {
					case ui.PlanInfo:
						plans = append(plans, e)
					case ui.DriveIn:
						if e.Drive.Port == b.MasterPort {
							masters = append(masters, e.Drive)
						}
					}
				}
				app, err := New(Config{Board: b, Settings: ui.DefaultSettings(), Observe: observe}, hw, Paths{}, slog.New(slog.DiscardHandler))
				require.NoError(t, err)
				master := sim.MustDrive(sim.DriveSpec{Size: sim.MasterSize, Content: sim.MasterContent(), Serial: "M1"})
				if tc.atStart {
					require.NoError(t, rig.Bay.Insert(b.MasterPort, master))
				}
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- app.Run(ctx) }()
				synctest.Wait()
				if !tc.atStart {
					require.NoError(t, rig.Bay.Insert(b.MasterPort, master))
				}
				time.Sleep(time.Second) // the probe and the plan take a few simulated reads
				synctest.Wait()
				cancel()
				require.NoError(t, <-done)

				mu.Lock()
				defer mu.Unlock()
				assert.Empty(t, opener.refused, "no open of a drive was refused as busy")
				require.Len(t, masters, 1)
				assert.True(t, masters[0].HasData, "the master was read: it holds a partition table")
				require.NotEmpty(t, plans)
				for _, p := range plans {
					assert.Empty(t, p.Error, "the copy area was planned")
					assert.Positive(t, p.Bytes)
				}
			})
		})
	}
}
