//go:build !linux

package engine

// adviseHuge and forgetHuge do nothing where the kernel has no
// transparent huge pages to ask for.
func adviseHuge([]byte) []byte { return nil }
func forgetHuge([]byte)        {}
