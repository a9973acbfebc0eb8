package config_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/config"
	"github.com/regioncache/regioncache/internal/testutil"
)

func load(t *testing.T, name string) (regioncache.Options, error) {
	t.Helper()
	return config.Load(filepath.Join("testdata", name))
}

func TestFull(t *testing.T) {
	for _, name := range []string{"full.toml", "full.json"} {
		t.Run(name, func(t *testing.T) {
			o, err := load(t, name)
			if err != nil {
				t.Fatal(err)
			}
			if o.Logger == nil || o.Logger.GetLevel() != zerolog.WarnLevel {
				t.Errorf("logger %v, want one at warn", o.Logger)
			}
			o.Logger = nil
			want := regioncache.Options{
				Dir: "/var/lib/regioncache", Loaders: 4,
				Capacity: 64 << 20, EvictThreshold: 48 << 20, StopLoadThreshold: 32 << 20,
				AutoLoadEvict: regioncache.AutoLoadEvict{Enabled: true, Interval: 90 * time.Second, AmplificationThreshold: 2.5, MaxLoadsPerRound: 8},
			}
			if o.Dir != want.Dir || o.Loaders != want.Loaders || o.Capacity != want.Capacity || o.EvictThreshold != want.EvictThreshold ||
				o.StopLoadThreshold != want.StopLoadThreshold || o.AutoLoadEvict != want.AutoLoadEvict {
				t.Errorf("options\n got %+v\nwant %+v", o, want)
			}
		})
	}
}

// A file sets only what it names: Open fills in the rest.
func TestDefaults(t *testing.T) {
	for _, name := range []string{"empty.toml", "empty.json"} {
		o, err := load(t, name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if o.Loaders != 0 || o.Capacity != 0 || o.Logger != nil || o.AutoLoadEvict.Enabled {
			t.Errorf("%s: %+v, want the zero Options", name, o)
		}
	}
	o, err := load(t, "capacity-only.toml")
	if err != nil {
		t.Fatal(err)
	}
	e := testutil.Open(t, o)
	eff := e.Options()
	if eff.Capacity != 1<<30 || eff.EvictThreshold != (1<<30)/100*90 || eff.Loaders != regioncache.DefaultLoaders {
		t.Errorf("effective: capacity %d evict %d loaders %d", eff.Capacity, eff.EvictThreshold, eff.Loaders)
	}
}

func TestErrors(t *testing.T) {
	for _, c := range []struct {
		file string
		want []string // every one must be in the error
	}{
		{"unknown-field.toml", []string{"unknown-field.toml:2:1: ", `unknown field "capcity"`}},
		{"unknown-nested.toml", []string{"unknown-nested.toml:3:1: ", `unknown field "auto_load_evict.intervall"`}},
		{"unknown-field.json", []string{"unknown-field.json:3:3: ", `unknown field "capcity"`}},
		{"unknown-nested.json", []string{"unknown-nested.json:2:40: ", `unknown field "auto_load_evict.intervall"`}},
		{"bad-size.toml", []string{"bad-size.toml:1", `field "capacity"`, `bad size "64MB"`, "MiB"}},
		{"bad-size.json", []string{"bad-size.json:2", `field "capacity"`, "bad size 1.5"}},
		{"bad-duration.json", []string{"bad-duration.json:2", `field "auto_load_evict.interval"`, "bad duration 300", `"5m"`}},
		{"bad-duration.toml", []string{`field "auto_load_evict.interval"`, `bad duration "5 minutes"`}},
		{"bad-type.json", []string{"bad-type.json:2", `field "loaders"`, "want int"}},
		{"bad-syntax.json", []string{"bad-syntax.json:3"}},
		{"bad-syntax.toml", []string{"bad-syntax.toml:1"}},
		{"trailing.json", []string{"unexpected data after the JSON object"}},
		{"invalid-thresholds.toml", []string{"invalid-thresholds.toml:4: stop_load_threshold: ", "invalid options", "stop-load threshold 62914560 is above evict threshold 52428800"}},
		{"evict-above-capacity.toml", []string{"regioncache: config: ", "evict-above-capacity.toml:3: evict_threshold: ", "evict threshold 16777216 is above capacity 8388608"}},
		{"negative-loaders.json", []string{"negative-loaders.json:1: loaders: ", "loaders -1 is out of range [1, 256]"}},
		{"bad-log-level.toml", []string{`log_level "loud"`, "off, error, warn"}},
		{"options.yaml", []string{`unknown format ".yaml"`, ".json or .toml"}},
		{"missing.toml", []string{"missing.toml: no such file or directory"}},
	} {
		t.Run(c.file, func(t *testing.T) {
			_, err := load(t, c.file)
			if err == nil {
				t.Fatal("loaded")
			}
			if want := "regioncache: config: " + filepath.Join("testdata", c.file); !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error %q does not begin with %q", err, want)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	if _, err := load(t, "missing.toml"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v does not match fs.ErrNotExist", err)
	}
	if _, err := load(t, "invalid-thresholds.toml"); !errors.Is(err, regioncache.ErrInvalidOptions) {
		t.Errorf("invalid options: %v does not match ErrInvalidOptions", err)
	}
}

// TestUnknownFieldIsNamedAtItsLineAndColumn: a key the file format does not
// have is refused at FILE:LINE:COLUMN, wherever and however it is written;
// several are all named, from the first in the file.
func TestUnknownFieldIsNamedAtItsLineAndColumn(t *testing.T) {
	for _, c := range []struct {
		name, text string
		want       string // after "regioncache: config: FILE"
	}{
		{"top.toml", "loaders = 2\ncapcity = \"1GiB\"\n", `:2:1: unknown field "capcity"`},
		{"indented.toml", "[auto_load_evict]\n  enabled = true\n  intervall = \"5m\"\n", `:3:3: unknown field "auto_load_evict.intervall"`},
		{"dotted.toml", "loaders = 2\nauto_load_evict.intervall = \"5m\"\n", `:2:1: unknown field "auto_load_evict.intervall"`},
		{"quoted.toml", "# a comment\n\"capcity\" = 1\n", `:2:1: unknown field "capcity"`},
		{"table.toml", "loaders = 2\n\n[cache]\nsize = 1\nways = 4\n", `:3:1: unknown field "cache"`},
		{"header comment.toml", "[auto_load_evict] # tuning\nenabled = true\nmax = 3\n", `:3:1: unknown field "auto_load_evict.max"`},
		{"several.toml", "zeta = 1\nloaders = 2\nalpha = 2\n", `:1:1: unknown field "zeta", "alpha"`},
		{"top.json", "{\"loaders\": 2, \"capcity\": 1}\n", `:1:16: unknown field "capcity"`},
		{"nested.json", "{\n  \"auto_load_evict\": {\n    \"enabled\": true,\n    \"max\": 3\n  }\n}\n", `:4:5: unknown field "auto_load_evict.max"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), c.name)
			if err := os.WriteFile(path, []byte(c.text), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := config.Load(path)
			if want := "regioncache: config: " + path + c.want; err == nil || err.Error() != want {
				t.Fatalf("error %v\nwant  %s", err, want)
			}
		})
	}
}

// TestTOMLValueOfTheWrongTypeIsNamedAtItsLine: the TOML decoder says where a
// value of the wrong type is only in its text; Load gives it as FILE:LINE,
// as every other error in a file (before: "FILE: line 2 (last key ...)").
func TestTOMLValueOfTheWrongTypeIsNamedAtItsLine(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"loaders = \"two\"\n", `:1: field "loaders": want integer, got TOML string`},
		{"dir = \"x\"\nloaders = 1.5\n", `:2: field "loaders": want integer, got TOML float`},
		{"[auto_load_evict]\nenabled = \"yes\"\n", `:2: field "auto_load_evict.enabled": want boolean, got TOML string`},
	} {
		path := filepath.Join(t.TempDir(), "c.toml")
		if err := os.WriteFile(path, []byte(c.text), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := config.Load(path)
		if want := "regioncache: config: " + path + c.want; err == nil || err.Error() != want {
			t.Errorf("%q: error %v\nwant  %s", c.text, err, want)
		}
	}
}
