// Package evdev reads a USB barcode scanner, which is a keyboard, through
// the Linux input event interface (/dev/input/eventN) in pure Go: it
// grabs the device so its keys reach no console or login prompt, decodes
// key presses with a keyboard layout (US, or German) into text, and
// passes one code on per Enter as a hal.Scan, refusing what
// hal.CheckCode refuses.
//
// The decoder works on any stream of input_event records, so it is
// tested on recorded bytes through a pipe. Only opening and grabbing a
// device needs Linux.
//
// It imports hal only; never board, sim, engine, ui or firmware.
package evdev
