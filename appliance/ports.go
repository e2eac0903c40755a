package appliance

import (
	"fmt"
	"log/slog"
	"strconv"

	"github.com/clonebay/clonebay/board"
	"github.com/clonebay/clonebay/hal"
)

// portMap puts the drives a watcher reports onto the board's front-panel
// ports, and keeps off the panel every drive that must never be offered:
// one on a bus the board does not offer, one the board excludes, and the
// appliance's own system disk, whatever the board says.
//
// A port holds one drive. A second drive whose path maps onto a port that
// already holds one (a card reader with two slots, a hub plugged into a
// port) is logged and kept off the panel, so the operator's drive in
// that port stays the one the port shows; on a board that offers extra
// ports it goes onto the next free one instead, as a stray drive does.
type portMap struct {
	b        *board.Board
	isSystem func(node string) bool
	log      *slog.Logger
	byNode   map[string]hal.DriveInfo // drives on the panel
	onPort   map[int]string           // port -> the node of the drive in it
}

func newPortMap(b *board.Board, isSystem func(string) bool, log *slog.Logger) *portMap {
	if isSystem == nil {
		isSystem = func(string) bool { return false }
	}
	return &portMap{b: b, isSystem: isSystem, log: log, byNode: map[string]hal.DriveInfo{}, onPort: map[int]string{}}
}

// Map returns the event with the drive's port and label filled in, or
// false when the drive is not offered.
func (m *portMap) Map(ev hal.DriveEvent) (hal.DriveEvent, bool) {
	if ev.Kind == hal.ScanDone {
		return ev, true
	}
	node := ev.Drive.Node
	if ev.Kind == hal.DriveRemoved {
		info, ok := m.byNode[node]
		if !ok {
			return ev, false
		}
		delete(m.byNode, node)
		if m.onPort[info.Port] == node {
			delete(m.onPort, info.Port)
		}
		ev.Drive.Port, ev.Drive.Label = info.Port, info.Label
		return ev, true
	}
	if info, ok := m.byNode[node]; ok {
		ev.Drive.Port, ev.Drive.Label = info.Port, info.Label
		m.byNode[node] = ev.Drive
		return ev, true
	}
	if why := m.refuse(ev.Drive); why != "" {
		m.log.Info("drive not offered", "node", node, "path", ev.Drive.Path, "why", why)
		return ev, false
	}
	port, ok := m.b.PortFor(ev.Drive.Path, node)
	if other := m.onPort[port.Number]; ok && other != "" {
		why := fmt.Sprintf("port %s already holds %s", port.Label, other)
		if !m.b.Extra {
			m.log.Warn("drive not offered", "node", node, "path", ev.Drive.Path, "why", why)
			return ev, false
		}
		m.log.Warn("drive on an extra port", "node", node, "path", ev.Drive.Path, "why", why)
		ok = false
	}
	switch {
	case ok:
		ev.Drive.Port, ev.Drive.Label = port.Number, port.Label
	case m.b.Extra:
		n := m.b.MaxPort() + 1
		for m.onPort[n] != "" {
			n++
		}
		ev.Drive.Port, ev.Drive.Label = n, "X"+strconv.Itoa(n)
	default:
		m.log.Info("drive not offered", "node", node, "path", ev.Drive.Path, "why", "on no port of board "+m.b.Name)
		return ev, false
	}
	m.onPort[ev.Drive.Port] = node
	m.byNode[node] = ev.Drive
	m.log.Info("drive on port", "port", ev.Drive.Port, "label", ev.Drive.Label, "node", node,
		"model", ev.Drive.Model, "size", ev.Drive.Size)
	return ev, true
}

func (m *portMap) refuse(d hal.DriveInfo) string {
	switch {
	case m.isSystem(d.Node):
		return "it is the appliance's own system disk"
	case !m.b.Offers(string(d.Bus)):
		return fmt.Sprintf("board %s does not offer %s drives", m.b.Name, d.Bus)
	case m.b.Excluded(d.Path, d.Node):
		return "the board excludes it"
	}
	return ""
}
