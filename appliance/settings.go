package appliance

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/internal/passwords"
	"github.com/clonebay/clonebay/ui"
)

// settingsFile is the on-disk form of the Setup choices.
type settingsFile struct {
	Verify    *bool        `yaml:"verify,omitempty"`
	AutoStart *wholeNumber `yaml:"auto_start,omitempty"`
	Buzzer    *bool        `yaml:"buzzer,omitempty"`
	KeyClick  *bool        `yaml:"key_click,omitempty"`
	Backlight *string      `yaml:"backlight,omitempty"`
	Area      *string      `yaml:"area,omitempty"`
	Clean     *bool        `yaml:"clean,omitempty"`
	ZeroFill  *bool        `yaml:"zero_fill_bad_sectors,omitempty"`
	// PIN is read from files older firmware wrote (SecurePIN moves it
	// into the passwords file as a hash) and never written.
	PIN      *string  `yaml:"pin,omitempty"`
	Qualify  *bool    `yaml:"check_targets,omitempty"`
	MinMBps  *float64 `yaml:"min_write_mbps,omitempty"`
	CopyMode *string  `yaml:"copy_mode,omitempty"`

	// The fleet's keys: set by whoever runs the fleet, never on the panel.
	Replicate    *string `yaml:"replicate,omitempty"`
	Catalog      *string `yaml:"catalog,omitempty"`
	CatalogEvery *string `yaml:"catalog_every,omitempty"`

	// The network (the factory settings file's; LoadNetwork).
	HTTP         *string `yaml:"http,omitempty"`
	TLSCert      *string `yaml:"tls_cert,omitempty"`
	TLSKey       *string `yaml:"tls_key,omitempty"`
	MetricsToken *string `yaml:"metrics_token,omitempty"`

	lines map[string]int // the line each key is on (decodeSettings)
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

// wholeNumber is a number the settings file must give whole: YAML
// would take 3.5 for 3 without a word.
type wholeNumber int

func (n *wholeNumber) UnmarshalYAML(v *yaml.Node) error {
	i, err := strconv.Atoi(v.Value)
	if v.Kind != yaml.ScalarNode || err != nil {
		return fmt.Errorf("%s is not a whole number", shown(v))
	}
	*n = wholeNumber(i)
	return nil
}

// decodeSettings decodes a settings file: unknown and repeated keys are
// errors, and so is a second YAML document, which would otherwise be left
// unread. The file is decoded as a whole, as YAML reads it (anchors,
// merge keys and all); where that fails, each key is decoded on its own
// to find which one, so that the error names the file, the line and the
// key. The lines the keys are on are kept for the checks of their values.
func decodeSettings(data []byte, source string) (settingsFile, error) {
	var f settingsFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return f, nil // an empty file
		}
		return f, fmt.Errorf("%s: %w", source, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return f, fmt.Errorf("%s: holds more than one YAML document (a line \"---\"): only one is read, so none is", source)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return f, nil // only comments
	}
	if root.Kind != yaml.MappingNode {
		return f, fmt.Errorf("%s: line %d: holds %s, not keys with their values (such as \"verify: true\")", source, root.Line, shown(root))
	}
	whole := yaml.NewDecoder(bytes.NewReader(data))
	whole.KnownFields(true)
	if err := whole.Decode(&f); err != nil {
		if keyErr := decodeKeys(root, source); keyErr != nil {
			return settingsFile{}, keyErr
		}
		return settingsFile{}, fmt.Errorf("%s: %w", source, err)
	}
	f.lines = map[string]int{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if key, ok := keyOf(root.Content[i]); ok {
			f.lines[key] = root.Content[i].Line
		}
	}
	return f, nil
}

// decodeKeys decodes each key of a settings file's mapping on its own, and
// says what is wrong with the first that fails.
func decodeKeys(root *yaml.Node, source string) error {
	var f settingsFile
	fields := settingsFields(&f)
	first := map[string]int{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		key, ok := keyOf(k)
		if !ok {
			return fmt.Errorf("%s: line %d: %s cannot be a key", source, k.Line, shown(k))
		}
		if key == "<<" {
			continue // a merge key: the keys it brings in are YAML's to check
		}
		field, ok := fields[key]
		switch {
		case !ok:
			return fmt.Errorf("%s: line %d: %q is no setting", source, k.Line, key)
		case first[key] > 0:
			return fmt.Errorf("%s: line %d: %s: given twice (first on line %d)", source, k.Line, key, first[key])
		}
		first[key] = k.Line
		if err := v.Decode(field.Addr().Interface()); err != nil {
			var te *yaml.TypeError
			if errors.As(err, &te) {
				want := kindOf(field.Type().Elem())
				err = fmt.Errorf("%s is not %s", shown(v), want)
				if v.Kind == yaml.ScalarNode && v.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
					err = fmt.Errorf("%s is in quotes, which makes it text: give %s without them", shown(v), want)
				}
			}
			return fmt.Errorf("%s: line %d: %s: %w", source, v.Line, key, err)
		}
	}
	return nil
}

// keyOf is the key a mapping's key node names: a scalar, or an alias
// of one, as YAML reads it (tags included).
func keyOf(k *yaml.Node) (string, bool) {
	if k.Kind == yaml.AliasNode && k.Alias != nil {
		k = k.Alias
	}
	var key string
	if k.Kind != yaml.ScalarNode || k.Decode(&key) != nil {
		return "", false
	}
	return key, true
}

// settingsFields maps each key of the file to f's field for it.
func settingsFields(f *settingsFile) map[string]reflect.Value {
	v := reflect.ValueOf(f).Elem()
	fields := make(map[string]reflect.Value, v.NumField())
	for i := range v.NumField() {
		key, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("yaml"), ",")
		if key != "" && key != "-" {
			fields[key] = v.Field(i)
		}
	}
	return fields
}

// at names where a key was set, for an error about its value: the file,
// the line (where the key is in the file itself, not merged in) and the
// key.
func (f settingsFile) at(source, key string) string {
	if line, ok := f.lines[key]; ok {
		return fmt.Sprintf("%s: line %d: %s", source, line, key)
	}
	return source + ": " + key
}

// shown is how an error names the value a key was given.
func shown(v *yaml.Node) string {
	if v.Kind == yaml.AliasNode && v.Alias != nil {
		v = v.Alias
	}
	switch v.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a set of keys"
	}
	return strconv.Quote(v.Value)
}

// kindOf says what a setting of type t must be.
func kindOf(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Float64:
		return "a number"
	case reflect.Int:
		return "a whole number"
	}
	return "a word or text"
}

// ParseSettings reads settings over base: a field the file leaves out
// keeps base's value. Errors name the file and the field.
func ParseSettings(data []byte, base Settings, source string) (Settings, error) {
	f, err := decodeSettings(data, source)
	if err != nil {
		return base, err
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
			return base, fmt.Errorf("%s: give a postgres:// URL, or leave it empty", f.at(source, "replicate"))
		}
		out.Replicate = u
	}
	if f.Catalog != nil {
		u := *f.Catalog
		if u != "" && !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			return base, fmt.Errorf("%s: give an http:// or https:// URL, or leave it empty", f.at(source, "catalog"))
		}
		out.Catalog = u
	}
	if f.CatalogEvery != nil {
		d, err := time.ParseDuration(*f.CatalogEvery)
		if err != nil || d < time.Minute || d > 7*24*time.Hour {
			return base, fmt.Errorf("%s: %q is not a duration from 1m to 168h", f.at(source, "catalog_every"), *f.CatalogEvery)
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
			return base, fmt.Errorf("%s: %d is not 0..64", f.at(source, "auto_start"), *f.AutoStart)
		}
		s.AutoStart = int(*f.AutoStart)
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
			return base, fmt.Errorf("%s: %q is not a duration such as 5m, or never", f.at(source, "backlight"), *f.Backlight)
		}
		s.Backlight = d
	}
	if f.Area != nil {
		switch *f.Area {
		case "whole", "used", "smart":
			s.Area = *f.Area
		default:
			return base, fmt.Errorf("%s: %q is not whole, used or smart", f.at(source, "area"), *f.Area)
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
			return base, fmt.Errorf("%s: give four digits, or leave it empty for no lock", f.at(source, "pin"))
		}
		s.PIN = *f.PIN
	}
	if f.Qualify != nil {
		s.Qualify = *f.Qualify
	}
	if f.MinMBps != nil {
		// NaN fails every comparison, so test for the range, not outside it.
		if v := *f.MinMBps; !(v >= 0 && v <= maxMinWriteMBps) {
			return base, fmt.Errorf("%s: %g is not 0..%d MB/s (0: no floor)", f.at(source, "min_write_mbps"), v, maxMinWriteMBps)
		}
		s.MinWriteMBps = *f.MinMBps
	}
	if f.CopyMode != nil {
		switch *f.CopyMode {
		case "disk", "files":
			s.Files = *f.CopyMode == "files"
		default:
			return base, fmt.Errorf("%s: %q is not disk or files", f.at(source, "copy_mode"), *f.CopyMode)
		}
	}
	return s, nil
}

// MarshalSettings writes every Setup choice out but the PIN, which is
// kept hashed in the passwords file, and the fleet's keys that are set.
func MarshalSettings(set Settings) []byte {
	s := set.Panel
	bl := "never"
	if s.Backlight > 0 {
		bl = s.Backlight.String()
	}
	mode := map[bool]string{false: "disk", true: "files"}[s.Files]
	f := settingsFile{Verify: &s.Verify, AutoStart: (*wholeNumber)(&s.AutoStart), Buzzer: &s.Buzzer, KeyClick: &s.KeyClick,
		Backlight: &bl, Area: &s.Area, Clean: &s.Clean, ZeroFill: &s.ZeroFill,
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
		data, err := fsys.ReadRegular(files, defaults)
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

// SecurePIN gives settings (as LoadSettings read them) the Setup PIN as
// the passwords store keeps it: a hash. A PIN older firmware kept in
// plain text in the operator's settings file is moved into the store
// (hashed) and the file is written again without it; a PIN in the
// factory settings is hashed into the store until the operator has
// chosen one (or none) on the panel.
func SecurePIN(files fsys.FS, state string, store *passwords.Store, set Settings) (Settings, error) {
	s := &set.Panel
	hash, chosen, err := store.PIN()
	if err != nil {
		return set, err
	}
	plain, inState, err := statePIN(files, state)
	if err != nil {
		return set, err
	}
	switch {
	case inState:
		h := ""
		if plain != "" {
			if h, err = (passwords.Lock{Cost: store.Cost}).Hash(plain); err != nil {
				return set, err
			}
		}
		if err := store.SetPIN(h); err != nil {
			return set, err
		}
		s.PIN = h
		if err := fsys.WriteFileAtomic(files, state, MarshalSettings(Settings{Panel: *s, Fleet: stateFleet(files, state)}), 0o600); err != nil {
			return set, fmt.Errorf("settings %s: writing it without the plain PIN: %w", state, err)
		}
	case !chosen && s.PIN != "":
		h, err := (passwords.Lock{Cost: store.Cost}).Hash(s.PIN)
		if err != nil {
			return set, err
		}
		s.PIN = h // the factory PIN; the store records it once chosen on the panel
	default:
		s.PIN = hash
	}
	return set, nil
}

// statePIN finds a PIN written in plain text in the operator's settings
// file. A damaged or missing file holds none (LoadSettings reports it).
func statePIN(files fsys.FS, state string) (pin string, found bool, err error) {
	if state == "" {
		return "", false, nil
	}
	data, err := files.ReadFile(state)
	if err != nil {
		return "", false, nil
	}
	var f settingsFile
	if yaml.Unmarshal(data, &f) != nil || f.PIN == nil {
		return "", false, nil
	}
	if _, err := ParseSettings(data, DefaultSettings(), state); err != nil {
		return "", false, nil // damaged: left as it is, defaults in use
	}
	return *f.PIN, true, nil
}

// Network is where and how the web panel is served. It is set in the
// factory settings file (/etc/clonebay/settings.yaml), which Setup never
// writes.
type Network struct {
	HTTP         string // the address to serve on; "" is off
	TLSCert      string // with TLSKey: serve HTTPS only
	TLSKey       string
	MetricsToken string // the bearer token /metrics asks for; "" none
}

// DefaultHTTP is where the web panel is served unless the settings say.
const DefaultHTTP = ":8080"

// LoadNetwork reads the network settings from the factory settings file
// (optional). Errors name the file and the field.
func LoadNetwork(files fsys.FS, defaults string) (Network, error) {
	if defaults == "" {
		return Network{HTTP: DefaultHTTP}, nil
	}
	data, err := fsys.ReadRegular(files, defaults)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return Network{HTTP: DefaultHTTP}, nil
	case err != nil:
		return Network{}, fmt.Errorf("settings defaults: %w", err)
	}
	return ParseNetwork(data, defaults)
}

// ParseNetwork reads the network settings of a settings file.
func ParseNetwork(data []byte, source string) (Network, error) {
	n := Network{HTTP: DefaultHTTP}
	f, err := decodeSettings(data, source)
	if err != nil {
		return n, err
	}
	if f.HTTP != nil {
		n.HTTP = strings.TrimSpace(*f.HTTP)
		if n.HTTP == "off" {
			n.HTTP = ""
		}
		if n.HTTP != "" {
			if _, port, err := net.SplitHostPort(n.HTTP); err != nil || port == "" {
				return n, fmt.Errorf("%s: %q is not an address such as :8080 or 127.0.0.1:8080 (or off)", f.at(source, "http"), *f.HTTP)
			}
		}
	}
	if f.TLSCert != nil {
		n.TLSCert = *f.TLSCert
	}
	if f.TLSKey != nil {
		n.TLSKey = *f.TLSKey
	}
	if (n.TLSCert == "") != (n.TLSKey == "") {
		return n, fmt.Errorf("%s: tls_cert and tls_key go together: give both or neither", source)
	}
	if f.MetricsToken != nil {
		n.MetricsToken = *f.MetricsToken
		if t := n.MetricsToken; t != "" && (len(t) < 16 || strings.ContainsAny(t, " \t\r\n")) {
			return n, fmt.Errorf("%s: give at least 16 characters without spaces", f.at(source, "metrics_token"))
		}
	}
	return n, nil
}
