package gpio_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/clonebay/clonebay/hal"
	halgpio "github.com/clonebay/clonebay/hal/gpio"
	"github.com/clonebay/clonebay/hal/haltest"
)

func TestStackLight(t *testing.T) {
	for _, activeLow := range []bool{false, true} {
		t.Run(map[bool]string{false: "active high", true: "active low"}[activeLow], func(t *testing.T) {
			g, a, r := newPin("GPIO5"), newPin("GPIO6"), newPin("GPIO13")
			// A lamp is lit when its pin is driven to its active level.
			for _, p := range []*gpiotest.Pin{g, a, r} {
				p.L = gpio.Level(!activeLow) // lit, before the light takes the pins
			}
			l, err := halgpio.NewStackLight(halgpio.OutPin{Out: g, ActiveLow: activeLow}, halgpio.OutPin{Out: a, ActiveLow: activeLow},
				halgpio.OutPin{Out: r, ActiveLow: activeLow})
			require.NoError(t, err)
			lit := func(p *gpiotest.Pin) bool { return (p.Read() == gpio.High) != activeLow }
			lamps := func() hal.Lamps { return hal.Lamps{Green: lit(g), Amber: lit(a), Red: lit(r)} }
			assert.Equal(t, hal.Lamps{}, lamps(), "every lamp off to start with")
			haltest.TestStackLight(t, haltest.StackLightHarness{Light: l, Lamps: lamps})
		})
	}
}

func TestStackLightWithoutAmber(t *testing.T) {
	g, r := newPin("GPIO5"), newPin("GPIO13")
	l, err := halgpio.NewStackLight(halgpio.OutPin{Out: g}, halgpio.OutPin{}, halgpio.OutPin{Out: r})
	require.NoError(t, err)
	require.NoError(t, l.Set(hal.Lamps{Green: true, Amber: true}))
	assert.Equal(t, gpio.High, g.Read())
	assert.Equal(t, gpio.Low, r.Read())
}

// brokenPin fails every output, as a pin another driver holds does.
type brokenPin struct{ *gpiotest.Pin }

func (brokenPin) Out(gpio.Level) error { return errors.New("pin is busy") }

func TestStackLightPinErrors(t *testing.T) {
	_, err := halgpio.NewStackLight(halgpio.OutPin{Out: newPin("GPIO5")}, halgpio.OutPin{Out: brokenPin{newPin("GPIO6")}}, halgpio.OutPin{})
	assert.EqualError(t, err, "stack light amber: gpio GPIO6: pin is busy")
}
