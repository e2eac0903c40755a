// Package sim is the appliance's simulated hardware: virtual drives (in
// memory or in a sparse file) with a speed model and fault injection, a
// virtual drive bay with hot-plug, and virtual buttons, LCD, LEDs and
// buzzer whose state tests can read. Every fake passes the hal/haltest
// suites, so the firmware cannot tell it from the real thing.
//
// Time in sim is the time package's: under testing/synctest a simulated
// 8 GB copy at 100 MB/s costs no real seconds.
//
// sim may import hal and board; it must never import a hardware library,
// engine, ui or firmware.
package sim
