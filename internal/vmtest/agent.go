package vmtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// Agent is a client of the QEMU guest agent (qemu-guest-agent in the
// guest, on a virtio-serial port): it runs commands in the guest.
type Agent struct {
	conn  net.Conn
	lines chan []byte
	done  chan struct{}
	err   error // why the reader stopped; read after done

	mu     sync.Mutex
	synced bool // the next line read is the answer to the next command
}

// AgentError is the error object the agent answers a failed command with.
type AgentError struct {
	Command string
	Class   string `json:"class"`
	Desc    string `json:"desc"`
}

func (e *AgentError) Error() string {
	return fmt.Sprintf("guest agent %s: %s: %s", e.Command, e.Class, e.Desc)
}

// NewAgent takes a connection to the host side of the agent's chardev.
// The agent in the guest may not run yet: Wait waits for it.
func NewAgent(conn net.Conn) *Agent {
	a := &Agent{conn: conn, lines: make(chan []byte, 16), done: make(chan struct{})}
	go a.read()
	return a
}

func (a *Agent) read() {
	defer close(a.done)
	r := bufio.NewReaderSize(a.conn, 64<<10)
	for {
		line, err := r.ReadBytes('\n')
		// guest-sync-delimited puts 0xff before its answer, so a reader
		// that joins the stream in the middle finds the start of one.
		if i := bytes.LastIndexByte(line, 0xff); i >= 0 {
			line = line[i+1:]
		}
		if len(bytes.TrimSpace(line)) > 0 {
			// A full buffer holds answers nobody waits for (the syncs
			// sent while the guest booted, commands whose callers gave
			// up): drop the oldest, keep the newest.
			for sent := false; !sent; {
				select {
				case a.lines <- line:
					sent = true
				default:
					select {
					case <-a.lines:
					default:
					}
				}
			}
		}
		if err != nil {
			a.err = fmt.Errorf("guest agent: %w", err)
			return
		}
	}
}

// Wait syncs with the agent, trying every few seconds until it answers
// (the guest is still booting) or ctx ends.
func (a *Agent) Wait(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for {
		try, cancel := context.WithTimeout(ctx, 3*time.Second)
		err := a.sync(try)
		cancel()
		if err == nil || ctx.Err() != nil {
			return err
		}
		select {
		case <-a.done:
			return a.err
		default:
		}
	}
}

// sync sends guest-sync-delimited with a fresh id and drops every answer
// until the one that carries it: whatever came before is stale.
func (a *Agent) sync(ctx context.Context) error {
	a.synced = false
	id := rand.Int64N(1 << 50)
	if err := a.send("guest-sync-delimited", map[string]any{"id": id}); err != nil {
		return err
	}
	for {
		line, err := a.next(ctx, "guest-sync-delimited")
		if err != nil {
			return err
		}
		var r struct {
			Return *int64 `json:"return"`
		}
		if json.Unmarshal(line, &r) == nil && r.Return != nil && *r.Return == id {
			a.synced = true
			return nil
		}
	}
}

func (a *Agent) send(command string, args any) error {
	req := map[string]any{"execute": command}
	if args != nil {
		req["arguments"] = args
	}
	b, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("guest agent %s: %w", command, err)
	}
	if _, err := a.conn.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("guest agent %s: %w", command, err)
	}
	return nil
}

func (a *Agent) next(ctx context.Context, command string) ([]byte, error) {
	select {
	case line := <-a.lines:
		return line, nil
	case <-a.done:
		// Lines read before the end are still there.
		select {
		case line := <-a.lines:
			return line, nil
		default:
		}
		return nil, fmt.Errorf("guest agent %s: %w", command, a.err)
	case <-ctx.Done():
		return nil, fmt.Errorf("guest agent %s: %w", command, ctx.Err())
	}
}

// Call runs one agent command and decodes its return value into result
// (nil to ignore it).
func (a *Agent) Call(ctx context.Context, command string, args, result any) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.synced {
		if err := a.sync(ctx); err != nil {
			return err
		}
	}
	if err := a.send(command, args); err != nil {
		a.synced = false
		return err
	}
	line, err := a.next(ctx, command)
	if err != nil {
		a.synced = false // its answer may still come
		return err
	}
	var r struct {
		Return json.RawMessage `json:"return"`
		Error  *AgentError     `json:"error"`
	}
	if err := json.Unmarshal(line, &r); err != nil {
		a.synced = false
		return fmt.Errorf("guest agent %s: bad answer %q: %w", command, line, err)
	}
	if r.Error != nil {
		r.Error.Command = command
		return r.Error
	}
	if result != nil {
		if err := json.Unmarshal(r.Return, result); err != nil {
			return fmt.Errorf("guest agent %s: answer %s: %w", command, r.Return, err)
		}
	}
	return nil
}

// ExecResult is what a command run in the guest did.
type ExecResult struct {
	ExitCode int
	Stdout   string
	Stderr   string
}

// ErrExit is wrapped by Sh's error when the command exits non-zero.
var ErrExit = errors.New("non-zero exit status")

// Sh runs a shell command line in the guest and waits for it to end. A
// non-zero exit is an error (wrapping ErrExit) that carries the output;
// the result is returned either way.
func (a *Agent) Sh(ctx context.Context, script string) (ExecResult, error) {
	var started struct {
		PID int `json:"pid"`
	}
	err := a.Call(ctx, "guest-exec", map[string]any{
		"path": "/bin/sh", "arg": []string{"-c", script}, "capture-output": true,
	}, &started)
	if err != nil {
		return ExecResult{}, fmt.Errorf("guest: %s: %w", script, err)
	}
	// The agent tells a command's end only when asked: ask often, the
	// answer is cheap.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		var st struct {
			Exited   bool   `json:"exited"`
			ExitCode int    `json:"exitcode"`
			Signal   int    `json:"signal"`
			Out      []byte `json:"out-data"` // base64 on the wire
			Err      []byte `json:"err-data"`
			Trunc    bool   `json:"out-truncated"`
		}
		if err := a.Call(ctx, "guest-exec-status", map[string]any{"pid": started.PID}, &st); err != nil {
			return ExecResult{}, fmt.Errorf("guest: %s: %w", script, err)
		}
		if st.Exited {
			res := ExecResult{ExitCode: st.ExitCode, Stdout: string(st.Out), Stderr: string(st.Err)}
			switch {
			case st.Signal != 0:
				return res, fmt.Errorf("guest: %s: killed by signal %d: %s", script, st.Signal, res.Stderr)
			case st.Trunc:
				return res, fmt.Errorf("guest: %s: its output was cut off by the agent", script)
			case st.ExitCode != 0:
				return res, fmt.Errorf("guest: %s: %w %d: %s%s", script, ErrExit, st.ExitCode, res.Stdout, res.Stderr)
			}
			return res, nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ExecResult{}, fmt.Errorf("guest: %s: %w", script, ctx.Err())
		}
	}
}

// Close closes the connection.
func (a *Agent) Close() error {
	err := a.conn.Close()
	<-a.done
	return err
}
