package vmtest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
)

// QMP is a client of QEMU's machine protocol: one command at a time, and
// the machine's asynchronous events kept for WaitEvent.
type QMP struct {
	conn net.Conn
	cmd  sync.Mutex // one command on the wire at a time

	replies chan qmpReply
	done    chan struct{} // closed when the reader stops
	readErr error         // why the reader stopped; read after done

	mu     sync.Mutex
	events []Event
	newEv  chan struct{} // closed and replaced when an event arrives
	nextID int
}

// Event is one asynchronous QMP event ("DEVICE_DELETED", "SHUTDOWN", ...).
type Event struct {
	Name string          `json:"event"`
	Data json.RawMessage `json:"data"`
}

// QMPError is the error object QEMU answers a failed command with.
type QMPError struct {
	Command string
	Class   string `json:"class"`
	Desc    string `json:"desc"`
}

func (e *QMPError) Error() string {
	return fmt.Sprintf("qmp %s: %s: %s", e.Command, e.Class, e.Desc)
}

type qmpReply struct {
	ID     *int            `json:"id"`
	Return json.RawMessage `json:"return"`
	Error  *QMPError       `json:"error"`
}

// NewQMP takes a connection to QEMU's QMP monitor, reads the greeting
// and leaves the capabilities negotiation, so commands can be sent.
func NewQMP(ctx context.Context, conn net.Conn) (*QMP, error) {
	q := &QMP{conn: conn, replies: make(chan qmpReply, 8), done: make(chan struct{}), newEv: make(chan struct{})}
	greeting := make(chan error, 1)
	go q.read(greeting)
	var err error
	select {
	case err = <-greeting:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("qmp: greeting: %w", err)
	}
	if err := q.Execute(ctx, "qmp_capabilities", nil, nil); err != nil {
		conn.Close()
		return nil, err
	}
	return q, nil
}

// read parses every message QEMU sends: the greeting first, then replies
// (handed to Execute) and events (kept).
func (q *QMP) read(greeting chan<- error) {
	defer close(q.done)
	sc := bufio.NewScanner(q.conn)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	first := true
	for sc.Scan() {
		var msg struct {
			QMP   json.RawMessage `json:"QMP"`
			Event string          `json:"event"`
			qmpReply
		}
		if err := json.Unmarshal(sc.Bytes(), &msg); err != nil {
			q.readErr = fmt.Errorf("qmp: bad message %q: %w", sc.Bytes(), err)
			break
		}
		switch {
		case first:
			first = false
			if msg.QMP == nil {
				greeting <- fmt.Errorf("expected the QMP greeting, got %q", sc.Bytes())
				return
			}
			greeting <- nil
		case msg.Event != "":
			var ev Event
			_ = json.Unmarshal(sc.Bytes(), &ev)
			q.mu.Lock()
			q.events = append(q.events, ev)
			close(q.newEv)
			q.newEv = make(chan struct{})
			q.mu.Unlock()
		default:
			// One command is on the wire at a time, and Execute skips the
			// late reply of a command whose caller gave up: the buffer
			// never fills, and the reader never blocks on it.
			select {
			case q.replies <- msg.qmpReply:
			default:
			}
		}
	}
	if q.readErr == nil {
		q.readErr = sc.Err()
	}
	if q.readErr == nil {
		q.readErr = errors.New("qmp: the connection was closed")
	}
	if first {
		greeting <- q.readErr
	}
}

// Execute runs one command with its arguments (nil for none) and decodes
// its return value into result (nil to ignore it). A command QEMU refuses
// returns a *QMPError.
func (q *QMP) Execute(ctx context.Context, command string, args, result any) error {
	q.cmd.Lock()
	defer q.cmd.Unlock()
	q.nextID++
	id := q.nextID
	req := map[string]any{"execute": command, "id": id}
	if args != nil {
		req["arguments"] = args
	}
	b, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("qmp %s: %w", command, err)
	}
	if _, err := q.conn.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("qmp %s: %w", command, err)
	}
	for {
		select {
		case r := <-q.replies:
			if ok, err := q.answer(command, id, r, result); ok {
				return err
			}
		case <-q.done:
			// The reply may have come just before the connection ended
			// ("quit" ends it right after its reply): a select on both
			// picks either, so the replies read are looked at first.
			for {
				select {
				case r := <-q.replies:
					if ok, err := q.answer(command, id, r, result); ok {
						return err
					}
				default:
					return fmt.Errorf("qmp %s: %w", command, q.readErr)
				}
			}
		case <-ctx.Done():
			return fmt.Errorf("qmp %s: %w", command, ctx.Err())
		}
	}
}

// answer reports whether r is the reply to command id and, if it is, the
// command's outcome, its return value decoded into result.
func (q *QMP) answer(command string, id int, r qmpReply, result any) (bool, error) {
	if r.ID == nil || *r.ID != id {
		return false, nil // the late reply of a command whose caller gave up
	}
	if r.Error != nil {
		r.Error.Command = command
		return true, r.Error
	}
	if result != nil {
		if err := json.Unmarshal(r.Return, result); err != nil {
			return true, fmt.Errorf("qmp %s: reply %s: %w", command, r.Return, err)
		}
	}
	return true, nil
}

// WaitEvent waits for an event of that name for which match (nil for any)
// is true, looking at the events that came since from on, and returns it
// with the count of events seen up to it (pass that as from next time).
func (q *QMP) WaitEvent(ctx context.Context, name string, from int, match func(Event) bool) (Event, int, error) {
	for {
		q.mu.Lock()
		evs, wake := q.events, q.newEv
		q.mu.Unlock()
		for i := from; i < len(evs); i++ {
			if evs[i].Name == name && (match == nil || match(evs[i])) {
				return evs[i], i + 1, nil
			}
		}
		from = len(evs)
		select {
		case <-wake:
		case <-q.done:
			return Event{}, from, fmt.Errorf("qmp: waiting for event %s: %w", name, q.readErr)
		case <-ctx.Done():
			return Event{}, from, fmt.Errorf("qmp: waiting for event %s: %w", name, ctx.Err())
		}
	}
}

// Events returns how many events came so far: a starting point for
// WaitEvent that skips them.
func (q *QMP) Events() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.events)
}

// Close closes the connection.
func (q *QMP) Close() error {
	err := q.conn.Close()
	<-q.done
	return err
}
