//go:build windows

package terminal

import "os"

// notifyResize: Windows' console sends no resize signal; the panel is
// redrawn on every tick anyway.
func notifyResize(chan<- os.Signal) {}
