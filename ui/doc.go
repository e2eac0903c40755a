// Package ui is the front panel as a pure state machine: events go in
// (buttons, drives added and removed, job progress and results, ticks) and
// come out as a frame (LCD lines, LED states, backlight) and commands for
// firmware to carry out (start a job, abort it, beep, save settings).
// Events and commands are sealed sets of types.
//
// The Model holds what every screen shares (settings, the drives in the
// ports, the running job or line, results, the image library, the clock)
// and the screen on show. Each screen is a type that owns its cursor and
// choices, handles its keys and renders itself; the menu-like screens
// share one list cursor, the copy and erase confirmations one
// hold-to-confirm. View is a snapshot of the same state, for a second
// front end to observe what the LCD shows without touching its code.
//
// ui has no goroutines, does no I/O and never reads the clock: time comes
// in with Tick events. It imports the standard library, hal's value types
// and internal/units (the one way sizes are written) only; never a
// backend, engine, sim or firmware.
package ui
