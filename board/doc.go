// Package board describes an appliance's hardware as data: which udev
// device sits behind which front-panel port, the pins of the buttons, LEDs
// and buzzer and their polarity, the LCD's bus, address and geometry, a
// barcode scanner and a stack light, and which kinds of drive may be
// offered at all. Boards are built in (sim8,
// rpi4-usb7, loop-test) or read from a YAML file, and Validate names the
// field that is wrong.
//
// board is data only: it must never import hal, a hardware library, or any
// other package of this module.
package board
