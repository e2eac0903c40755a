package appliance

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/ui"
)

// settingsFile is the on-disk form of the Setup choices.
type settingsFile struct {
	Verify    *bool    `yaml:"verify,omitempty"`
	AutoStart *int     `yaml:"auto_start,omitempty"`
	Buzzer    *bool    `yaml:"buzzer,omitempty"`
	KeyClick  *bool    `yaml:"key_click,omitempty"`
	Backlight *string  `yaml:"backlight,omitempty"`
	Area      *string  `yaml:"area,omitempty"`
	Clean     *bool    `yaml:"clean,omitempty"`
	ZeroFill  *bool    `yaml:"zero_fill_bad_sectors,omitempty"`
	PIN       *string  `yaml:"pin,omitempty"`
	Qualify   *bool    `yaml:"check_targets,omitempty"`
	MinMBps   *float64 `yaml:"min_write_mbps,omitempty"`
	CopyMode  *string  `yaml:"copy_mode,omitempty"`

	// The fleet's keys: set by whoever runs the fleet, never on the panel.
	Replicate    *string `yaml:"replicate,omitempty"`
	Catalog      *string `yaml:"catalog,omitempty"`
	CatalogEvery *string `yaml:"catalog_every,omitempty"`
}

// Fleet is what the settings say of the fleet beyond this box. The file
// that holds a replicate URL (with its password) is mode 0600.
type Fleet struct {
	// Replicate is a PostgreSQL URL the production record is replicated
	// to; "" keeps the record on the box only.
	Replicate string
	// Catalog is the URL of an image catalog the library follows; ""
	// none. CatalogEvery is how often it is synced (at start, then this).
	Catalog      string
	CatalogEvery time.Duration
}

// Settings are everything the settings files say.
type Settings struct {
	Panel ui.Settings
	Fleet Fleet
}

// DefaultSettings are the factory settings.
func DefaultSettings() Settings {
	return Settings{Panel: ui.DefaultSettings(), Fleet: Fleet{CatalogEvery: time.Hour}}
}

// maxMinWriteMBps bounds the write-speed floor: no target on a
// duplicator writes 10 GB/s, so a higher floor fails every drive.
const maxMinWriteMBps = 10000

// ParseSettings reads settings over base: a field the file leaves out
// keeps base's value. Errors name the file and the field.
func ParseSettings(data []byte, base Settings, source string) (Settings, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f settingsFile
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return base, fmt.Errorf("%s: %w", source, err)
	}
	panel, err := f.panel(base.Panel, source)
	if err != nil {
		return base, err
	}
	fleet, err := f.fleet(base.Fleet, source)
	if err != nil {
		return base, err
	}
	return Settings{Panel: panel, Fleet: fleet}, nil
}

// fleet reads the fleet's keys over base.
func (f settingsFile) fleet(base Fleet, source string) (Fleet, error) {
	out := base
	if f.Replicate != nil {
		u := *f.Replicate
		if u != "" && !strings.HasPrefix(u, "postgres://") && !strings.HasPrefix(u, "postgresql://") {
			return base, fmt.Errorf("%s: replicate: give a postgres:// URL, or leave it empty", source)
		}
		out.Replicate = u
	}
	if f.Catalog != nil {
		u := *f.Catalog
		if u != "" && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			return base, fmt.Errorf("%s: catalog: give an http:// or https:// URL, or leave it empty", source)
		}
		out.Catalog = u
	}
	if f.CatalogEvery != nil {
		d, err := time.ParseDuration(*f.CatalogEvery)
		if err != nil || d < time.Minute || d > 7*24*time.Hour {
			return base, fmt.Errorf("%s: catalog_every: %q is not a duration from 1m to 168h", source, *f.CatalogEvery)
		}
		out.CatalogEvery = d
	}
	return out, nil
}

// panel reads the Setup choices over base.
func (f settingsFile) panel(base ui.Settings, source string) (ui.Settings, error) {
	s := base
	if f.Verify != nil {
		s.Verify = *f.Verify
	}
	if f.AutoStart != nil {
		if *f.AutoStart < 0 || *f.AutoStart > 64 {
			return base, fmt.Errorf("%s: auto_start: %d is not 0..64", source, *f.AutoStart)
		}
		s.AutoStart = *f.AutoStart
	}
	if f.Buzzer != nil {
		s.Buzzer = *f.Buzzer
	}
	if f.KeyClick != nil {
		s.KeyClick = *f.KeyClick
	}
	if f.Backlight != nil {
		d, err := time.ParseDuration(*f.Backlight)
		if *f.Backlight == "never" {
			d, err = 0, nil
		}
		if err != nil || d < 0 {
			return base, fmt.Errorf("%s: backlight: %q is not a duration such as 5m, or never", source, *f.Backlight)
		}
		s.Backlight = d
	}
	if f.Area != nil {
		switch *f.Area {
		case "whole", "used", "smart":
			s.Area = *f.Area
		default:
			return base, fmt.Errorf("%s: area: %q is not whole, used or smart", source, *f.Area)
		}
	}
	if f.Clean != nil {
		s.Clean = *f.Clean
	}
	if f.ZeroFill != nil {
		s.ZeroFill = *f.ZeroFill
	}
	if f.PIN != nil {
		if p := *f.PIN; p != "" && (len(p) != 4 || strings.Trim(p, "0123456789") != "") {
			return base, fmt.Errorf("%s: pin: give four digits, or leave it empty for no lock", source)
		}
		s.PIN = *f.PIN
	}
	if f.Qualify != nil {
		s.Qualify = *f.Qualify
	}
	if f.MinMBps != nil {
		// NaN fails every comparison, so test for the range, not outside it.
		if v := *f.MinMBps; !(v >= 0 && v <= maxMinWriteMBps) {
			return base, fmt.Errorf("%s: min_write_mbps: %g is not 0..%d MB/s (0: no floor)", source, v, maxMinWriteMBps)
		}
		s.MinWriteMBps = *f.MinMBps
	}
	if f.CopyMode != nil {
		switch *f.CopyMode {
		case "disk", "files":
			s.Files = *f.CopyMode == "files"
		default:
			return base, fmt.Errorf("%s: copy_mode: %q is not disk or files", source, *f.CopyMode)
		}
	}
	return s, nil
}

// MarshalSettings writes every Setup choice out, and the fleet's keys
// that are set.
func MarshalSettings(set Settings) []byte {
	s := set.Panel
	bl := "never"
	if s.Backlight > 0 {
		bl = s.Backlight.String()
	}
	mode := map[bool]string{false: "disk", true: "files"}[s.Files]
	f := settingsFile{Verify: &s.Verify, AutoStart: &s.AutoStart, Buzzer: &s.Buzzer, KeyClick: &s.KeyClick,
		Backlight: &bl, Area: &s.Area, Clean: &s.Clean, ZeroFill: &s.ZeroFill, PIN: &s.PIN,
		Qualify: &s.Qualify, MinMBps: &s.MinWriteMBps, CopyMode: &mode}
	if fl := set.Fleet; fl.Replicate != "" || fl.Catalog != "" {
		every := fl.CatalogEvery.String()
		f.Replicate, f.Catalog, f.CatalogEvery = &fl.Replicate, &fl.Catalog, &every
	}
	out, err := yaml.Marshal(f)
	if err != nil {
		panic(err) // a fixed struct of plain fields
	}
	return append([]byte("# Clonebay settings, written by the appliance when Setup changes.\n"), out...)
}

// LoadSettings reads the factory defaults (defaults, optional) and then
// the operator's settings (state, optional). A damaged state file is
// reported and left alone: the defaults are used until the operator
// saves. The returned problem is for the panel; err is for a damaged
// defaults file, which the package ships and must be fixed.
func LoadSettings(files fsys.FS, defaults, state string) (s Settings, problem string, err error) {
	s = DefaultSettings()
	if defaults != "" {
		data, err := files.ReadFile(defaults)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return s, "", fmt.Errorf("settings defaults: %w", err)
		default:
			if s, err = ParseSettings(data, s, defaults); err != nil {
				return DefaultSettings(), "", err
			}
		}
	}
	if state == "" {
		return s, "", nil
	}
	data, err := files.ReadFile(state)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return s, "", nil
	case err != nil:
		return s, fmt.Sprintf("Settings unreadable: %v. Defaults in use.", err), nil
	}
	got, perr := ParseSettings(data, s, state)
	if perr != nil {
		return s, fmt.Sprintf("Settings file damaged (%v). Defaults in use until Setup saves.", perr), nil
	}
	return got, "", nil
}

// stateFleet is the fleet's keys the operator's settings file itself
// holds (an admin may have put them there): saving Setup keeps them.
func stateFleet(files fsys.FS, state string) Fleet {
	data, err := files.ReadFile(state)
	if err != nil {
		return Fleet{}
	}
	s, err := ParseSettings(data, DefaultSettings(), state)
	if err != nil {
		return Fleet{}
	}
	return s.Fleet
}
