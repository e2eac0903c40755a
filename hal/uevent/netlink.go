//go:build linux

package uevent

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The netlink groups of NETLINK_KOBJECT_UEVENT.
const (
	groupKernel = 1 // the kernel's events
	groupUdev   = 2 // udevd's, after its rules ran
)

// receiveBuffer is the socket's receive buffer: room for thousands of
// events while the watcher waits on a slow consumer.
const receiveBuffer = 16 << 20

var (
	// errLost means the socket overflowed and events were dropped.
	errLost = errors.New("events lost: the receive buffer overflowed")
	// errEmpty means no message is waiting.
	errEmpty = errors.New("no message waiting")
	// errUntrusted marks a message from a sender that may not speak for
	// the kernel or udevd.
	errUntrusted = errors.New("untrusted sender")
)

// monitor is a NETLINK_KOBJECT_UEVENT socket bound to one group.
type monitor struct {
	f     *os.File
	rc    syscall.RawConn
	group uint32
	buf   []byte
	oob   []byte
}

// openMonitor subscribes to a group's events with a receive buffer of
// rcvbuf bytes.
func openMonitor(group uint32, rcvbuf int) (*monitor, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_KOBJECT_UEVENT)
	if err != nil {
		return nil, fmt.Errorf("netlink uevent socket: %w", os.NewSyscallError("socket", err))
	}
	fail := func(op string, err error) (*monitor, error) {
		unix.Close(fd)
		return nil, fmt.Errorf("netlink uevent socket, group %d: %w", group, os.NewSyscallError(op, err))
	}
	// Root may go past the system's limit (net.core.rmem_max); others get
	// what it allows.
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvbuf); err != nil {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, rcvbuf); err != nil {
			return fail("setsockopt SO_RCVBUF", err)
		}
	}
	// The sender's credentials come with every message: only root's are
	// trusted.
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_PASSCRED, 1); err != nil {
		return fail("setsockopt SO_PASSCRED", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: group}); err != nil {
		return fail("bind", err)
	}
	f := os.NewFile(uintptr(fd), "netlink-uevent")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("netlink uevent socket: %w", err)
	}
	return &monitor{
		f: f, rc: rc, group: group,
		buf: make([]byte, 64<<10),
		oob: make([]byte, unix.CmsgSpace(unix.SizeofUcred)),
	}, nil
}

// interrupt makes a waiting receive return at once, and every later one.
func (m *monitor) interrupt() { _ = m.f.SetReadDeadline(time.Unix(1, 0)) }

func (m *monitor) close() error { return m.f.Close() }

// receive returns the next message, waiting for one when wait is set and
// else returning errEmpty. It returns errLost when the kernel dropped
// messages, an error wrapping errUntrusted or ErrMalformed for a message
// to skip, os.ErrDeadlineExceeded after interrupt, and other errors when
// the socket failed.
func (m *monitor) receive(wait bool) (message, error) {
	var (
		n, oobn, flags int
		from           unix.Sockaddr
		rerr           error
	)
	err := m.rc.Read(func(fd uintptr) bool {
		for {
			n, oobn, flags, from, rerr = unix.Recvmsg(int(fd), m.buf, m.oob, unix.MSG_DONTWAIT)
			if rerr != unix.EINTR {
				return rerr != unix.EAGAIN || !wait // false: wait until readable
			}
		}
	})
	switch {
	case err != nil:
		return message{}, err
	case rerr == unix.EAGAIN:
		return message{}, errEmpty
	case errors.Is(rerr, unix.ENOBUFS):
		return message{}, errLost
	case rerr != nil:
		return message{}, fmt.Errorf("netlink uevent socket: %w", os.NewSyscallError("recvmsg", rerr))
	}
	if err := m.trust(from, m.oob[:oobn]); err != nil {
		return message{}, err
	}
	if flags&unix.MSG_TRUNC != 0 {
		return message{}, fmt.Errorf("%w: a message longer than %d bytes", ErrMalformed, len(m.buf))
	}
	msg, err := parseMessage(m.buf[:n])
	if err != nil {
		return message{}, err
	}
	if msg.fromUdev != (m.group == groupUdev) {
		return message{}, fmt.Errorf("%w: a message in the other group's format on group %d", errUntrusted, m.group)
	}
	return msg, nil
}

// trust checks a message's sender: a multicast to our group, from the
// kernel itself on the kernel's group, and with root's credentials.
// Anyone else could make the panel show drives that are not there.
func (m *monitor) trust(from unix.Sockaddr, oob []byte) error {
	sa, ok := from.(*unix.SockaddrNetlink)
	if !ok {
		return fmt.Errorf("%w: a message from a %T", errUntrusted, from)
	}
	if sa.Groups&m.group == 0 {
		return fmt.Errorf("%w: a message sent to port %d alone, not to group %d", errUntrusted, sa.Pid, m.group)
	}
	if m.group == groupKernel && sa.Pid != 0 {
		return fmt.Errorf("%w: a message on the kernel's group from port %d, not the kernel", errUntrusted, sa.Pid)
	}
	cmsgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return fmt.Errorf("%w: unreadable credentials: %v", errUntrusted, err)
	}
	for i := range cmsgs {
		cred, err := unix.ParseUnixCredentials(&cmsgs[i])
		if err != nil {
			continue
		}
		if cred.Uid != 0 {
			return fmt.Errorf("%w: a message from uid %d (pid %d), not root", errUntrusted, cred.Uid, cred.Pid)
		}
		return nil
	}
	return fmt.Errorf("%w: a message without the sender's credentials", errUntrusted)
}
