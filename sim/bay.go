package sim

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/clonebay/clonebay/hal"
)

// Bay is a virtual drive bay: numbered ports that drives are inserted into
// and pulled out of. It is the simulator's hal.DriveWatcher and
// hal.DriveOpener.
type Bay struct {
	mu     sync.Mutex
	ports  int
	labels map[int]string
	drives map[int]*Drive
	subs   map[*subscriber]struct{}
}

var (
	_ hal.DriveWatcher = (*Bay)(nil)
	_ hal.DriveOpener  = (*Bay)(nil)
)

// NewBay makes a bay with ports numbered 1..ports.
func NewBay(ports int) *Bay {
	return &Bay{ports: ports, labels: map[int]string{}, drives: map[int]*Drive{}, subs: map[*subscriber]struct{}{}}
}

// SetLabel sets the front-panel label that drives in a port carry.
func (b *Bay) SetLabel(port int, label string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.labels[port] = label
}

// Ports is the number of ports.
func (b *Bay) Ports() int { return b.ports }

// Node is the device node a drive in the port gets.
func Node(port int) string { return fmt.Sprintf("/dev/sim%d", port) }

// PortPath is the stable path of a port, as a board's port pattern sees it.
func PortPath(port int) string { return fmt.Sprintf("sim-port-%d", port) }

// Insert puts a drive into a port.
func (b *Bay) Insert(port int, d *Drive) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if port < 1 || port > b.ports {
		return fmt.Errorf("sim bay: insert into port %d: %w (ports 1..%d)", port, hal.ErrNoPort, b.ports)
	}
	if b.drives[port] != nil {
		return fmt.Errorf("sim bay: insert into port %d: %w: it holds a drive", port, hal.ErrBusy)
	}
	label := b.labels[port]
	if label == "" {
		label = strconv.Itoa(port)
	}
	d.setPlace(port, label, Node(port), PortPath(port))
	d.mu.Lock()
	d.removed = false
	d.onRemove = func() { _, _ = b.Remove(port) }
	d.mu.Unlock()
	b.drives[port] = d
	b.publish(hal.DriveEvent{Kind: hal.DriveAdded, Drive: d.Info()})
	return nil
}

// Remove pulls the drive out of a port; every later access to it fails
// with hal.ErrRemoved.
func (b *Bay) Remove(port int) (*Drive, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	d := b.drives[port]
	if d == nil {
		return nil, fmt.Errorf("sim bay: remove from port %d: the port is empty", port)
	}
	delete(b.drives, port)
	d.markRemoved()
	b.publish(hal.DriveEvent{Kind: hal.DriveRemoved, Drive: d.Info()})
	return d, nil
}

// Drive returns the drive in a port, or nil.
func (b *Bay) Drive(port int) *Drive {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.drives[port]
}

// Occupied lists the ports that hold a drive, in order.
func (b *Bay) Occupied() []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	var ports []int
	for p := range b.drives {
		ports = append(ports, p)
	}
	sort.Ints(ports)
	return ports
}

func (b *Bay) byNode(node string) (*Drive, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(node, "/dev/sim"))
	if err != nil || !strings.HasPrefix(node, "/dev/sim") {
		return nil, fmt.Errorf("sim bay: %s is not a simulated drive", node)
	}
	if d := b.Drive(n); d != nil {
		return d, nil
	}
	return nil, fmt.Errorf("sim bay: open %s: no drive in port %d", node, n)
}

// OpenRead opens the drive at a node read-only.
func (b *Bay) OpenRead(node string) (hal.DriveReader, error) {
	d, err := b.byNode(node)
	if err != nil {
		return nil, err
	}
	return d.Open(false)
}

// OpenMaster opens the drive at a node read-only and write-blocks it.
func (b *Bay) OpenMaster(node string) (hal.Master, error) {
	d, err := b.byNode(node)
	if err != nil {
		return nil, err
	}
	h, err := d.Open(false)
	if err != nil {
		return nil, err
	}
	m := h.(*handle)
	if err := m.WriteBlock(); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// OpenWrite opens the drive at a node for writing.
func (b *Bay) OpenWrite(node string) (hal.Drive, error) {
	d, err := b.byNode(node)
	if err != nil {
		return nil, err
	}
	return d.Open(true)
}

// Watch sends the drives already in the bay, then ScanDone, then every
// insert and removal until ctx ends. Subscribing and taking the snapshot
// happen under one lock, so nothing is missed or sent twice.
func (b *Bay) Watch(ctx context.Context, events chan<- hal.DriveEvent) error {
	s := &subscriber{wake: make(chan struct{}, 1)}
	b.mu.Lock()
	for _, port := range sortedKeys(b.drives) {
		s.queue = append(s.queue, hal.DriveEvent{Kind: hal.DriveAdded, Drive: b.drives[port].Info()})
	}
	s.queue = append(s.queue, hal.DriveEvent{Kind: hal.ScanDone})
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.subs, s)
		b.mu.Unlock()
	}()
	for {
		for {
			ev, ok := s.next()
			if !ok {
				break
			}
			select {
			case events <- ev:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		select {
		case <-s.wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// publish queues an event for every watcher; b.mu held. It never blocks,
// so a slow watcher cannot stall a test that inserts drives.
func (b *Bay) publish(ev hal.DriveEvent) {
	for s := range b.subs {
		s.push(ev)
	}
}

type subscriber struct {
	mu    sync.Mutex
	queue []hal.DriveEvent
	wake  chan struct{}
}

func (s *subscriber) push(ev hal.DriveEvent) {
	s.mu.Lock()
	s.queue = append(s.queue, ev)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *subscriber) next() (hal.DriveEvent, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) == 0 {
		return hal.DriveEvent{}, false
	}
	ev := s.queue[0]
	s.queue = s.queue[1:]
	return ev, true
}

func sortedKeys[V any](m map[int]V) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	return keys
}
