package appliance

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/internal/passwords"
	"github.com/clonebay/clonebay/sim"
	"github.com/clonebay/clonebay/ui"
)

func TestSettingsRoundTrip(t *testing.T) {
	s := Settings{Panel: ui.Settings{Verify: false, AutoStart: 5, Buzzer: false, KeyClick: true, Backlight: 30 * time.Second,
		Area: "smart", Clean: true, Files: true}, Fleet: Fleet{CatalogEvery: time.Hour}}
	got, err := ParseSettings(MarshalSettings(s), DefaultSettings(), "x")
	require.NoError(t, err)
	assert.Equal(t, s, got)
	s.Panel.Backlight = 0
	s.Fleet = Fleet{Replicate: "postgres://box:secret@db.example/clonebay", Catalog: "https://images.example/catalog.json", CatalogEvery: 15 * time.Minute}
	got, err = ParseSettings(MarshalSettings(s), DefaultSettings(), "x")
	require.NoError(t, err)
	assert.Equal(t, s, got, "never, and the fleet's keys")
}

// TestSavingSetupKeepsTheFleetKeys: the operator's Setup rewrites the
// settings file, keeping the fleet's keys an admin put there, mode 0600
// (a replicate URL holds a password).
func TestSavingSetupKeepsTheFleetKeys(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "settings.yaml")
	require.NoError(t, os.WriteFile(state, []byte("replicate: postgres://box:secret@db.example/clonebay\nbuzzer: false\n"), 0o600))
	a, err := New(Config{Board: sim8(t), Settings: ui.DefaultSettings()}, rigHardware(sim.NewRig(sim8(t))), Paths{Settings: state}, nil)
	require.NoError(t, err)
	set := ui.DefaultSettings()
	set.AutoStart = 4
	a.saveSettings(t.Context(), set)
	got, problem, err := LoadSettings(fsys.OS, "", state)
	require.NoError(t, err)
	require.Empty(t, problem)
	assert.Equal(t, 4, got.Panel.AutoStart)
	assert.Equal(t, "postgres://box:secret@db.example/clonebay", got.Fleet.Replicate)
	st, err := os.Stat(state)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
}

func TestSettingsErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"auto_start: -1", "s.yaml: line 1: auto_start: -1 is not 0..64"},
		{"auto_start: 3.5", `s.yaml: line 1: auto_start: "3.5" is not a whole number`},
		{"buzzer: true\nauto_start: [3]", "s.yaml: line 2: auto_start: a list is not a whole number"},
		{"buzzer: false\n---\nbogus: 1\n", "s.yaml: holds more than one YAML document"},
		{"buzzer: false\nbuzzer: true\n", "s.yaml: line 2: buzzer: given twice (first on line 1)"},
		{"- verify\n", `s.yaml: line 1: holds a list, not keys with their values (such as "verify: true")`},
		{"backlight: soon", `s.yaml: line 1: backlight: "soon" is not a duration`},
		{"area: half", `s.yaml: line 1: area: "half" is not whole, used or smart`},
		{"verify: maybe", `s.yaml: line 1: verify: "maybe" is not true or false`},
		{"# set on the bench\nmin_write_mbps: fast", `s.yaml: line 2: min_write_mbps: "fast" is not a number`},
		{"area: {half: 1}", "s.yaml: line 1: area: a set of keys is not a word or text"},
		{"colour: blue", `s.yaml: line 1: "colour" is no setting`},
		{"verify: \"true\"", `s.yaml: line 1: verify: "true" is in quotes, which makes it text: give true or false without them`},
		{"buzzer: true\nauto_start: 99", "s.yaml: line 2: auto_start: 99 is not 0..64"},
		{"? [a]\n: 1", "s.yaml: line 1: a list cannot be a key"},
		{"area: &n whole\nverify: *n", `s.yaml: line 2: verify: "whole" is not true or false`},
		{"buzzer: &verify false\n*verify : false", `s.yaml: line 2: "false" is no setting`},
		{"verify: [", "s.yaml: yaml:"},
		{"copy_mode: tape", `s.yaml: line 1: copy_mode: "tape" is not disk or files`},
		{"replicate: mysql://db", "s.yaml: line 1: replicate: give a postgres:// URL"},
		{"catalog: ftp://x", "s.yaml: line 1: catalog: give an http:// or https:// URL"},
		{"catalog_every: 1s", `s.yaml: line 1: catalog_every: "1s" is not a duration from 1m to 168h`},
	} {
		_, err := ParseSettings([]byte(tc.text), DefaultSettings(), "s.yaml")
		assert.ErrorContains(t, err, tc.want, tc.text)
	}
	got, err := ParseSettings([]byte("buzzer: false\n"), DefaultSettings(), "s.yaml")
	require.NoError(t, err)
	want := DefaultSettings()
	want.Panel.Buzzer = false
	assert.Equal(t, want, got, "what the file leaves out keeps its default")
	// YAML as YAML reads it: merge keys, tagged keys, anchors.
	for _, tc := range []struct{ text, why string }{
		{"<<: {verify: false, buzzer: false}\n", "a merge key"},
		{"!!binary dmVyaWZ5: false\nbuzzer: false\n", "a tagged key"},
		{"verify: &off false\nbuzzer: *off\n", "an anchor and its alias"},
	} {
		got, err := ParseSettings([]byte(tc.text), DefaultSettings(), "s.yaml")
		require.NoError(t, err, tc.why)
		assert.False(t, got.Panel.Verify, tc.why)
		assert.False(t, got.Panel.Buzzer, tc.why)
	}
	for _, text := range []string{"", "# nothing set yet\n", "verify: ~\n"} {
		got, err := ParseSettings([]byte(text), DefaultSettings(), "s.yaml")
		require.NoError(t, err, "%q", text)
		assert.Equal(t, DefaultSettings(), got, "%q sets nothing", text)
	}
}

// Whatever a settings file holds, reading it ends in settings or in an
// error that names the file; what it accepts survives writing back (but
// a plain PIN, which is never written, and the fleet's keys where no
// fleet is set).
func FuzzParseSettings(f *testing.F) {
	for _, seed := range []string{"", "verify: true\nauto_start: 4\n", "auto_start: 3.5", "buzzer: [1]", "a: &x 1\nb: *x",
		"area: used\nbacklight: 5m\nmin_write_mbps: 12.5\n", "---\n---\n", "? [a]\n: 1", "pin: \"1234\"\nreplicate: postgres://db/x\n"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ParseSettings(data, DefaultSettings(), "s.yaml")
		if err != nil {
			assert.True(t, strings.HasPrefix(err.Error(), "s.yaml: "), "%v", err)
			return
		}
		again, err := ParseSettings(MarshalSettings(got), DefaultSettings(), "s.yaml")
		require.NoError(t, err)
		got.Panel.PIN = DefaultSettings().Panel.PIN
		assert.Equal(t, got.Panel, again.Panel)
		if got.Fleet.Replicate != "" || got.Fleet.Catalog != "" {
			assert.Equal(t, got.Fleet, again.Fleet) // written only where a fleet is set
		}
	})
}

func TestLoadSettings(t *testing.T) {
	dir := t.TempDir()
	defaults := filepath.Join(dir, "defaults.yaml")
	state := filepath.Join(dir, "state", "settings.yaml")
	require.NoError(t, os.WriteFile(defaults, []byte("area: used\n"), 0o644))

	s, problem, err := LoadSettings(fsys.OS, defaults, state)
	require.NoError(t, err)
	assert.Empty(t, problem, "no saved settings yet is no problem")
	assert.Equal(t, "used", s.Panel.Area, "the factory defaults apply")

	saved := s
	saved.Panel.AutoStart = 3
	require.NoError(t, fsys.WriteFileAtomic(fsys.OS, state, MarshalSettings(saved), 0o644))
	s, problem, err = LoadSettings(fsys.OS, defaults, state)
	require.NoError(t, err)
	assert.Empty(t, problem)
	assert.Equal(t, saved, s, "saved settings survive a restart")

	require.NoError(t, os.WriteFile(state, []byte("auto_start: lots\n"), 0o644))
	s, problem, err = LoadSettings(fsys.OS, defaults, state)
	require.NoError(t, err)
	assert.Contains(t, problem, "Settings file damaged")
	assert.Equal(t, "used", s.Panel.Area, "the defaults are used")
	data, err := os.ReadFile(state)
	require.NoError(t, err)
	assert.Equal(t, "auto_start: lots\n", string(data), "the damaged file is left as it was")

	require.NoError(t, os.WriteFile(defaults, []byte("area: 7\n"), 0o644))
	_, _, err = LoadSettings(fsys.OS, defaults, state)
	assert.ErrorContains(t, err, "defaults.yaml: line 1: area")
}

func TestSettingsBoundMinWriteSpeed(t *testing.T) {
	for _, tc := range []struct {
		text string
		want string // "" when accepted
	}{
		{"min_write_mbps: 12.5", ""},
		{"min_write_mbps: 0", ""},
		{"min_write_mbps: 10000", ""},
		{"min_write_mbps: .nan", "s.yaml: line 1: min_write_mbps: NaN is not 0..10000 MB/s"},
		{"min_write_mbps: .inf", "s.yaml: line 1: min_write_mbps: +Inf is not 0..10000 MB/s"},
		{"min_write_mbps: 1e308", "s.yaml: line 1: min_write_mbps: 1e+308 is not 0..10000 MB/s"},
		{"min_write_mbps: 10001", "min_write_mbps: 10001 is not"},
		{"min_write_mbps: -1", "min_write_mbps: -1 is not"},
	} {
		t.Run(tc.text, func(t *testing.T) {
			got, err := ParseSettings([]byte(tc.text), DefaultSettings(), "s.yaml")
			if tc.want != "" {
				assert.ErrorContains(t, err, tc.want)
				return
			}
			require.NoError(t, err)
			assert.GreaterOrEqual(t, got.Panel.MinWriteMBps, 0.0)
		})
	}
}

// TestShippedSettingsParse: the factory settings the package installs
// are valid and say what the defaults say.
func TestShippedSettingsParse(t *testing.T) {
	got, problem, err := LoadSettings(fsys.OS, "../packaging/settings.yaml", "")
	require.NoError(t, err)
	require.Empty(t, problem)
	assert.Equal(t, DefaultSettings(), got)
}

func TestPlainPINMovesToThePasswordsFile(t *testing.T) {
	for _, tc := range []struct {
		name     string
		defaults string
		state    string
		pin      string // the PIN that must open the lock; "" no lock
	}{
		{"a plain PIN in the operator's settings", "", "area: used\npin: \"2468\"\n", "2468"},
		{"a plain PIN beside the fleet's keys", "", "replicate: postgres://box:secret@db.example/clonebay\npin: \"2468\"\n", "2468"},
		{"no PIN, as older firmware wrote it", "", "area: used\npin: \"\"\n", ""},
		{"a factory PIN", "pin: \"1357\"\n", "area: used\n", "1357"},
		{"the operator's choice beats the factory's", "pin: \"1357\"\n", "pin: \"\"\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			defaults, state := filepath.Join(dir, "defaults.yaml"), filepath.Join(dir, "settings.yaml")
			require.NoError(t, os.WriteFile(defaults, []byte(tc.defaults), 0o644))
			require.NoError(t, os.WriteFile(state, []byte(tc.state), 0o644))
			store, err := passwords.Open(fsys.OS, filepath.Join(dir, "passwords"))
			require.NoError(t, err)
			store.Cost = 4

			loaded, problem, err := LoadSettings(fsys.OS, defaults, state)
			require.NoError(t, err)
			require.Empty(t, problem)
			secured, err := SecurePIN(fsys.OS, state, store, loaded)
			require.NoError(t, err)
			s := secured.Panel
			assert.Equal(t, loaded.Fleet, stateFleetOf(t, state), "the fleet's keys stay in the file")

			lock := passwords.Lock{}
			if tc.pin == "" {
				assert.Empty(t, s.PIN)
			} else {
				assert.True(t, passwords.IsHash(s.PIN), "the model gets the hash")
				assert.True(t, lock.Match(s.PIN, tc.pin))
			}
			data, err := os.ReadFile(state)
			require.NoError(t, err)
			assert.NotContains(t, string(data), "pin", "the settings file holds no PIN any more")
			if tc.pin != "" {
				raw, err := os.ReadFile(filepath.Join(dir, "passwords"))
				if err == nil {
					assert.NotContains(t, string(raw), tc.pin)
				}
			}

			// The next start finds the PIN where it moved to.
			again, _, err := LoadSettings(fsys.OS, defaults, state)
			require.NoError(t, err)
			again, err = SecurePIN(fsys.OS, state, store, again)
			require.NoError(t, err)
			assert.Equal(t, tc.pin != "", again.Panel.PIN != "")
			if tc.pin != "" {
				assert.True(t, lock.Match(again.Panel.PIN, tc.pin))
			}
		})
	}
	assert.NotContains(t, string(MarshalSettings(Settings{Panel: ui.Settings{PIN: "1234", Area: "whole"}})), "1234", "settings are never written with a PIN")
}

func stateFleetOf(t *testing.T, state string) Fleet {
	t.Helper()
	s, problem, err := LoadSettings(fsys.OS, "", state)
	require.NoError(t, err)
	require.Empty(t, problem)
	return s.Fleet
}
