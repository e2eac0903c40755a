// Package looptest attaches loop devices for real-device tests. The tests
// need root and losetup; without them they skip with a message that says
// what is missing.
//
// It builds on Linux only; elsewhere the package is empty.
package looptest
