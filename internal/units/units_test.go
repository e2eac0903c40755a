package units_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/clonebay/clonebay/internal/units"
)

func TestSize(t *testing.T) {
	for _, tc := range []struct {
		n             int64
		full, compact string
	}{
		{0, "0 B", "0B"},
		{999, "999 B", "999B"},
		{1000, "1 KB", "1KB"},
		{67108864, "67.1 MB", "67.1MB"},
		{536870912, "536.87 MB", "536MB"},
		{8e9, "8 GB", "8GB"},
		{7_459_999_999, "7.45 GB", "7.45GB"}, // truncated: never shown as 7.46
		{2e15, "2 PB", "2PB"},
	} {
		assert.Equal(t, tc.full, units.Size(tc.n, false), "%d", tc.n)
		assert.Equal(t, tc.compact, units.Size(tc.n, true), "%d", tc.n)
	}
}
