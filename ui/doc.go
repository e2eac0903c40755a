// Package ui is the front panel as a pure state machine: events go in
// (buttons, drives added and removed, job progress and results, ticks) and
// frames come out (LCD lines, LED states, beeps) together with commands
// for firmware to carry out, such as "start this job".
//
// ui has no goroutines, does no I/O and never reads the clock: time comes
// in as tick events. It imports only the standard library (and hal's value
// types); never a backend, engine internals, sim or firmware.
package ui
