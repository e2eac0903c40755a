// Package gpio is the front panel's real buttons, LEDs and buzzer through
// periph.io GPIO pins: buttons with edge detection, debounce, long press
// and auto-repeat; two-colour port LEDs (steady or blinking); a buzzer;
// the lamps of a stack light.
// Pins are handed in already resolved (the firmware looks them up by the
// board's names), so tests use periph's gpiotest fakes.
//
// It imports hal and periph.io only; never board, sim, engine, ui or
// firmware.
package gpio
