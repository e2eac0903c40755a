// Package hal holds the appliance's hardware contracts: small, role-split
// interfaces and the value types they exchange (drives, drive events,
// buttons, the character display, per-port LEDs and the buzzer, the
// barcode scanner and the stack light).
//
// It is pure Go and builds on every OS with CGO_ENABLED=0. It must never
// import a hardware library (periph.io, go-udev, go-hd44780) or any other
// package of this module: the real backends live under hal/* and the
// simulated ones in sim, and both are checked by the suites in hal/haltest.
package hal
