//go:build !windows

package fsys

func syncDirUnsupported(error) bool { return false }
