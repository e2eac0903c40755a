// Package ui is the front panel as a pure state machine: events go in
// (buttons, drives added and removed, job progress and results, ticks) and
// come out as a frame (LCD lines, LED states, backlight) and commands for
// firmware to carry out (start a job, abort it, beep, save settings).
//
// ui has no goroutines, does no I/O and never reads the clock: time comes
// in with Tick events. It imports the standard library and hal's value
// types only; never a backend, engine, sim or firmware.
package ui
