package vmtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Config describes a test machine: a kernel booted directly with its
// initrd, a root file system image (never written: the machine writes to
// a throw-away overlay), an xHCI controller with a hub on its first port.
type Config struct {
	Kernel, Initrd string
	Root           string // ext4 image of the whole root file system
	Dir            string // folder for the sockets; short (Unix socket paths)
	Console        io.Writer
	MemoryMiB      int
	CPUs           int
	// Append is added to the kernel command line.
	Append string
}

// The PCI slot of the xHCI controller and the root port of the hub: the
// drives' udev ID_PATH is made of them, and the board qemu-usb names them.
const (
	XHCISlot = 8
	HubPort  = 1
	HubPorts = 8
)

// Machine is a running QEMU.
type Machine struct {
	cmd   *exec.Cmd
	QMP   *QMP
	Agent *Agent

	exited  chan struct{}
	exitErr error

	mu      sync.Mutex
	plugged map[string]string // device id -> block node name
}

// Accel is KVM when this machine offers it for a stock guest, else QEMU's
// own translator (TCG), with a thread per virtual CPU. KVM needs both a
// /dev/kvm to open and a CPU with VT-x or AMD-V: a nested host can offer
// /dev/kvm without them (a paravirtual KVM such as PVM), and a stock
// Debian kernel hangs there before it prints a line.
func Accel() string {
	info, err := os.ReadFile("/proc/cpuinfo")
	if err == nil && hardwareVirt(info) {
		if f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0); err == nil {
			f.Close()
			return "kvm"
		}
	}
	return "tcg,thread=multi"
}

// hardwareVirt says whether a /proc/cpuinfo names VT-x (vmx) or AMD-V
// (svm) among its CPU flags.
func hardwareVirt(cpuinfo []byte) bool {
	for line := range strings.Lines(string(cpuinfo)) {
		name, flags, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(name) != "flags" {
			continue
		}
		for f := range strings.FieldsSeq(flags) {
			if f == "vmx" || f == "svm" {
				return true
			}
		}
	}
	return false
}

// Args is QEMU's command line for the configuration. QEMU connects to
// the QMP and guest agent sockets the host listens on.
func (c Config) Args() []string {
	cmdline := "root=/dev/vda rw rootfstype=ext4 console=ttyS0,115200 panic=-1 " + c.Append
	return []string{
		"-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-machine", "pc", "-accel", Accel(),
		"-m", fmt.Sprint(c.MemoryMiB), "-smp", fmt.Sprint(c.CPUs),
		"-kernel", c.Kernel, "-initrd", c.Initrd, "-append", strings.TrimSpace(cmdline),
		// snapshot=on: the cached image is read, the machine's writes go
		// to a temporary overlay.
		"-drive", "file=" + c.Root + ",if=virtio,format=raw,snapshot=on",
		"-serial", "stdio",
		"-qmp", "unix:" + c.socket("qmp"),
		"-chardev", "socket,id=qga0,path=" + c.socket("qga"),
		"-device", "virtio-serial-pci",
		"-device", "virtserialport,chardev=qga0,name=org.qemu.guest_agent.0",
		"-device", fmt.Sprintf("qemu-xhci,id=xhci,addr=%#x", XHCISlot),
		"-device", fmt.Sprintf("usb-hub,id=hub,bus=xhci.0,port=%d,ports=%d", HubPort, HubPorts),
		"-nic", "none",
	}
}

func (c Config) socket(name string) string { return filepath.Join(c.Dir, name+".sock") }

// Start starts QEMU and takes its QMP and guest agent connections; it does
// not wait for the guest to boot (Agent.Wait does). QEMU ends when ctx
// does, or at Close.
func Start(ctx context.Context, c Config) (_ *Machine, err error) {
	if c.MemoryMiB == 0 {
		c.MemoryMiB = 1024
	}
	if c.CPUs == 0 {
		c.CPUs = 2
	}
	for _, f := range []string{c.Kernel, c.Initrd, c.Root} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("machine: %w", err)
		}
	}
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for _, name := range []string{"qmp", "qga"} {
		_ = os.Remove(c.socket(name))
		ln, err := net.Listen("unix", c.socket(name))
		if err != nil {
			return nil, fmt.Errorf("machine: %w", err)
		}
		lns = append(lns, ln)
	}
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", c.Args()...)
	cmd.Stdout = c.Console
	cmd.Stderr = c.Console
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("machine: %w", err)
	}
	m := &Machine{cmd: cmd, exited: make(chan struct{}), plugged: map[string]string{}}
	go func() {
		m.exitErr = cmd.Wait()
		close(m.exited)
	}()
	defer func() {
		if err != nil {
			m.Close()
		}
	}()
	var conns []net.Conn
	for i, ln := range lns {
		conn, err := m.accept(ctx, ln)
		if err != nil {
			for _, c := range conns {
				c.Close()
			}
			return nil, fmt.Errorf("machine: %s socket: %w", []string{"qmp", "guest agent"}[i], err)
		}
		conns = append(conns, conn)
	}
	m.Agent = NewAgent(conns[1])
	if m.QMP, err = NewQMP(ctx, conns[0]); err != nil {
		return nil, fmt.Errorf("machine: %w", err)
	}
	return m, nil
}

// accept takes QEMU's connection to a listener, unless QEMU fails first.
func (m *Machine) accept(ctx context.Context, ln net.Listener) (net.Conn, error) {
	type res struct {
		c   net.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := ln.Accept()
		ch <- res{c, err}
	}()
	select {
	case r := <-ch:
		return r.c, r.err
	case <-m.exited:
		ln.Close()
		return nil, fmt.Errorf("qemu exited at its start: %v (its output is in the console log)", m.exitErr)
	case <-ctx.Done():
		ln.Close()
		return nil, ctx.Err()
	}
}

// Exited is closed when QEMU has ended.
func (m *Machine) Exited() <-chan struct{} { return m.exited }

// USBDrive is a usb-storage device backed by an image file on the host.
type USBDrive struct {
	ID     string // QEMU device id, also the block node's name stem
	File   string // raw image
	Port   string // port path on the xHCI bus: "1.3" is port 3 of the hub on root port 1
	Serial string // the USB serial number the guest sees (udev ID_SERIAL_SHORT)
}

// HubPath is the xHCI port path of a port of the hub.
func HubPath(port int) string { return fmt.Sprintf("%d.%d", HubPort, port) }

// Plug adds the image as a block node and hot-plugs a usb-storage device
// on it.
func (m *Machine) Plug(ctx context.Context, d USBDrive) error {
	node := d.ID + "-blk"
	err := m.QMP.Execute(ctx, "blockdev-add", map[string]any{
		"node-name": node, "driver": "raw",
		"file": map[string]any{"driver": "file", "filename": d.File, "aio": "threads"},
	}, nil)
	if err != nil {
		return fmt.Errorf("plug %s into %s: %w", d.File, d.Port, err)
	}
	err = m.QMP.Execute(ctx, "device_add", map[string]any{
		"driver": "usb-storage", "id": d.ID, "bus": "xhci.0", "port": d.Port,
		"drive": node, "serial": d.Serial, "removable": true,
	}, nil)
	if err != nil {
		_ = m.QMP.Execute(ctx, "blockdev-del", map[string]any{"node-name": node}, nil)
		return fmt.Errorf("plug %s into %s: %w", d.File, d.Port, err)
	}
	m.mu.Lock()
	m.plugged[d.ID] = node
	m.mu.Unlock()
	return nil
}

// Unplug removes a plugged device, as pulling the stick would, and waits
// until QEMU has let go of it (its DEVICE_DELETED event).
func (m *Machine) Unplug(ctx context.Context, id string) error {
	m.mu.Lock()
	node, ok := m.plugged[id]
	m.mu.Unlock()
	if !ok {
		return fmt.Errorf("unplug %s: no such device plugged", id)
	}
	from := m.QMP.Events()
	if err := m.QMP.Execute(ctx, "device_del", map[string]any{"id": id}, nil); err != nil {
		return fmt.Errorf("unplug %s: %w", id, err)
	}
	_, _, err := m.QMP.WaitEvent(ctx, "DEVICE_DELETED", from, func(e Event) bool {
		var d struct {
			Device string `json:"device"`
		}
		return json.Unmarshal(e.Data, &d) == nil && d.Device == id
	})
	if err != nil {
		return fmt.Errorf("unplug %s: %w", id, err)
	}
	m.mu.Lock()
	delete(m.plugged, id)
	m.mu.Unlock()
	if err := m.QMP.Execute(ctx, "blockdev-del", map[string]any{"node-name": node}, nil); err != nil {
		return fmt.Errorf("unplug %s: %w", id, err)
	}
	return nil
}

// Close stops QEMU: a quit through QMP, then a kill if it lingers.
func (m *Machine) Close() error {
	if m.Agent != nil {
		m.Agent.Close()
	}
	if m.QMP != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = m.QMP.Execute(ctx, "quit", nil, nil)
		cancel()
		m.QMP.Close()
	}
	select {
	case <-m.exited:
	case <-time.After(10 * time.Second):
		_ = m.cmd.Process.Kill()
		<-m.exited
	}
	var ee *exec.ExitError
	if m.exitErr != nil && !errors.As(m.exitErr, &ee) {
		return m.exitErr
	}
	return nil
}
