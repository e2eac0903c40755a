// Package lcd drives the front panel's HD44780 character LCD on an I2C
// PCF8574 backpack through go-hd44780. One goroutine (Run) owns the
// display and writes only the cells that changed since the last frame, so
// a progress update costs a few bytes on the slow I2C bus instead of a
// whole screen, and Show never blocks the panel on the bus.
//
// It imports hal and go-hd44780 (with go-i2c) only; never board, sim,
// engine, ui or firmware.
package lcd
