//go:build linux

package lcd

import (
	"fmt"
	"log/slog"

	hd44780 "github.com/d2r2/go-hd44780"
	"github.com/d2r2/go-i2c"
	logger "github.com/d2r2/go-logger"
	logging "github.com/op/go-logging"

	"github.com/clonebay/clonebay/hal"
)

// Quiet turns down go-i2c's and go-hd44780's own loggers, which otherwise
// print every byte sent on the bus.
func Quiet() {
	_ = logger.ChangePackageLogLevel("i2c", logger.ErrorLevel)
	logging.SetLevel(logging.ERROR, "hd44780")
}

// Open opens the LCD at an I2C bus and address. Close the returned closer
// when done.
func Open(bus, addr int, geo hal.Geometry, log *slog.Logger) (*Panel, func() error, error) {
	Quiet()
	typ := hd44780.LCD_16x2
	if geo == (hal.Geometry{Cols: 20, Rows: 4}) {
		typ = hd44780.LCD_20x4
	} else if geo != (hal.Geometry{Cols: 16, Rows: 2}) {
		return nil, nil, fmt.Errorf("lcd: %s is not a supported geometry", geo)
	}
	bus2c, err := i2c.NewI2C(uint8(addr), bus)
	if err != nil {
		return nil, nil, fmt.Errorf("lcd: i2c bus %d address 0x%02x: %w", bus, addr, err)
	}
	dev, err := hd44780.NewLcd(bus2c, typ)
	if err != nil {
		bus2c.Close()
		return nil, nil, fmt.Errorf("lcd: i2c bus %d address 0x%02x: %w", bus, addr, err)
	}
	return newPanel(dev, geo, log), bus2c.Close, nil
}
