package web

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/ui"
)

// TestDecodeSettingsNamesOnlyWhatTheBodyHas: PUT /api/settings changes
// the fields its body has; the others are left to the appliance's own
// values (never the page's copy of them, which another request may have
// changed since).
func TestDecodeSettingsNamesOnlyWhatTheBodyHas(t *testing.T) {
	off, smart, five := false, "smart", 5*time.Minute
	for _, tc := range []struct {
		body string
		want ui.SettingsChange
		pin  string
		err  string
	}{
		{`{"buzzer":false}`, ui.SettingsChange{Buzzer: &off}, "", ""},
		{`{"area":"smart","backlight_seconds":300,"pin":"1234"}`, ui.SettingsChange{Area: &smart, Backlight: &five}, "1234", ""},
		{`{}`, ui.SettingsChange{}, "", ""},
		{`{"backlight_seconds":-1}`, ui.SettingsChange{}, "", "backlight_seconds: -1 is not 0..86400"},
		{`{"files":true}`, ui.SettingsChange{}, "", "files"},
	} {
		req, err := decodeSettings([]byte(tc.body))
		if tc.err != "" {
			assert.ErrorContains(t, err, tc.err, tc.body)
			continue
		}
		require.NoError(t, err, tc.body)
		assert.Equal(t, tc.want, req.Change, tc.body)
		assert.Equal(t, tc.pin, req.PIN, tc.body)
	}
}
