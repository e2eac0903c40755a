//go:build unix

package terminal

import (
	"os"
	"os/signal"
	"syscall"
)

// notifyResize asks for a signal when the terminal changes size.
func notifyResize(c chan<- os.Signal) { signal.Notify(c, syscall.SIGWINCH) }
