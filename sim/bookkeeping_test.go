package sim_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/hal/haltest"
	"github.com/clonebay/clonebay/sim"
)

func TestScannerConformance(t *testing.T) {
	s := sim.NewScanner()
	haltest.TestCodeReader(t, haltest.CodeReaderHarness{Reader: s, Type: s.Type})
}

func TestScannerQueuesWhileNobodyReads(t *testing.T) {
	s := sim.NewScanner()
	s.Scan("A17")
	s.Scan("B2\x07")
	s.Type(strings.Repeat("9", 5000))
	s.Type("\n")
	assert.Equal(t, 3, s.Scanned())

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	scans := make(chan hal.Scan)
	go func() { _ = s.Run(ctx, scans) }()
	assert.Equal(t, hal.Scan{Code: "A17"}, <-scans)
	bell := <-scans
	assert.ErrorContains(t, bell.Err, "character 3 of the code is a control character (U+0007)")
	long := <-scans
	assert.ErrorContains(t, long.Err, "the code is 5000 characters long; at most 128")
	assert.Empty(t, long.Code)
}

func TestStackLightConformance(t *testing.T) {
	l := sim.NewStackLight()
	haltest.TestStackLight(t, haltest.StackLightHarness{Light: l, Lamps: l.Lamps})
	assert.Equal(t, 9, l.Sets())
	require.NoError(t, l.Set(hal.Lamps{Green: true, Red: true}))
	assert.Equal(t, "[G - R]", l.String())
}
