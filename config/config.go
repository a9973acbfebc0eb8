// Package config reads regioncache.Options from a JSON or TOML file, for the
// demo and for hosts that configure the engine from a file. A file sets only
// what it names; the rest keeps the engine's documented defaults. Unknown
// fields are errors naming the field at FILE:LINE:COLUMN, so a typo never
// goes unnoticed; every other error names FILE:LINE where it has one. The
// result is checked with Options.Validate.
//
// The fields (TOML shown; JSON uses the same names):
//
//	dir                 = "/var/lib/regioncache"  # Pebble's directory; "" or absent: in memory
//	loaders             = 2                       # loads copying at once
//	capacity            = "1GiB"                  # hard memory limit: bytes, or B/KiB/MiB/GiB/TiB
//	evict_threshold     = "900MiB"                # default 90% of capacity
//	stop_load_threshold = "800MiB"                # default 80% of capacity
//	log_level           = "info"                  # off (default), error, warn, info, debug, trace: to standard error
//	durability          = "sync"                  # sync (default): a write is on disk when Write returns; or "nosync"
//
//	[auto_load_evict]
//	enabled                 = true
//	interval                = "5m"                # a Go duration
//	amplification_threshold = 10.0
//	max_loads_per_round     = 256               # the default
//
// Logger, Registerer, ActorSystem, OnTransition and Pebble are code, not
// configuration: set them on the Options that Load returns, before Open.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/rs/zerolog"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/eventlog"
)

// File is the file's layout.
type File struct {
	Dir               string        `json:"dir" toml:"dir"`
	Durability        string        `json:"durability" toml:"durability"`
	Loaders           int           `json:"loaders" toml:"loaders"`
	Capacity          Size          `json:"capacity" toml:"capacity"`
	EvictThreshold    Size          `json:"evict_threshold" toml:"evict_threshold"`
	StopLoadThreshold Size          `json:"stop_load_threshold" toml:"stop_load_threshold"`
	LogLevel          string        `json:"log_level" toml:"log_level"`
	AutoLoadEvict     AutoLoadEvict `json:"auto_load_evict" toml:"auto_load_evict"`
}

// AutoLoadEvict is the [auto_load_evict] table.
type AutoLoadEvict struct {
	Enabled                bool     `json:"enabled" toml:"enabled"`
	Interval               Duration `json:"interval" toml:"interval"`
	AmplificationThreshold float64  `json:"amplification_threshold" toml:"amplification_threshold"`
	MaxLoadsPerRound       int      `json:"max_loads_per_round" toml:"max_loads_per_round"`
}

// Load reads the file at path (.json or .toml) and returns the options it
// describes, defaults filled in only where Open fills them.
func Load(path string) (regioncache.Options, error) {
	var f File
	var err error
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".json":
		f, err = readJSON(path)
	case ".toml":
		f, err = readTOML(path)
	default:
		return regioncache.Options{}, fmt.Errorf("regioncache: config: %s: unknown format %q: want .json or .toml", path, ext)
	}
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) && pathErr.Path == path {
		err = pathErr.Err // the message names the file already
	}
	if err != nil {
		return regioncache.Options{}, fileErr(path, err)
	}
	o, err := f.Options()
	if err != nil {
		if data, rerr := os.ReadFile(path); rerr == nil {
			if key := keyOf(err); key != "" {
				if line := lineOfKey(data, key); line > 0 {
					return regioncache.Options{}, fileErr(path, &lineError{line: line, err: fmt.Errorf("%s: %w", key, err)})
				}
				return regioncache.Options{}, fileErr(path, fmt.Errorf("%s (not in the file: its default): %w", key, err))
			}
		}
		return regioncache.Options{}, fileErr(path, err)
	}
	return o, nil
}

// lineError is a problem at a line of the file (and a column, when known:
// 0 otherwise).
type lineError struct {
	line, col int
	err       error
}

func (e *lineError) Error() string {
	if e.col > 0 {
		return fmt.Sprintf("line %d, column %d: %v", e.line, e.col, e.err)
	}
	return fmt.Sprintf("line %d: %v", e.line, e.err)
}
func (e *lineError) Unwrap() error { return e.err }

// fileError is what Load returns: "regioncache: config: FILE:LINE: what is
// wrong" (FILE:LINE:COLUMN: where the column is known, FILE: without a
// line), with an inner error's own prefix left out of the text (it is still
// in the chain for errors.Is).
type fileError struct {
	path      string
	line, col int
	err       error
}

func fileErr(path string, err error) error {
	fe := &fileError{path: path, err: err}
	var le *lineError
	if errors.As(err, &le) {
		fe.line, fe.col, fe.err = le.line, le.col, le.err
	}
	return fe
}

func (e *fileError) Error() string {
	where := e.path
	switch {
	case e.line > 0 && e.col > 0:
		where = fmt.Sprintf("%s:%d:%d", e.path, e.line, e.col)
	case e.line > 0:
		where = fmt.Sprintf("%s:%d", e.path, e.line)
	}
	return "regioncache: config: " + where + ": " + strings.Replace(e.err.Error(), "regioncache: ", "", 1)
}

func (e *fileError) Unwrap() error { return e.err }

// optionKeys maps the words an options error uses to the file key they
// name, most specific first.
var optionKeys = []struct{ phrase, key string }{
	{"stop-load threshold", "stop_load_threshold"},
	{"evict threshold", "evict_threshold"},
	{"log_level", "log_level"},
	{"durability", "durability"},
	{"automatic load/evict", "auto_load_evict"},
	{"loaders", "loaders"},
	{"capacity", "capacity"},
	{"memory limits", "capacity"},
}

// keyOf names the file key an error from File.Options is first about: the
// one its message names earliest.
func keyOf(err error) string {
	msg, best, at := err.Error(), "", -1
	for _, k := range optionKeys {
		if i := strings.Index(msg, k.phrase); i >= 0 && (at < 0 || i < at) {
			best, at = k.key, i
		}
	}
	return best
}

// lineOfKey is the 1-based line where key is set in a TOML or JSON file
// (key = ... or "key": ...), 0 if it is not.
func lineOfKey(data []byte, key string) int {
	for i, line := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(t, key); ok && strings.HasPrefix(strings.TrimSpace(rest), "=") {
			return i + 1
		}
		if strings.Contains(t, `"`+key+`"`) {
			return i + 1
		}
	}
	return 0
}

// Options turns the file into engine options and checks them.
func (f File) Options() (regioncache.Options, error) {
	o := regioncache.Options{
		Dir:               f.Dir,
		Loaders:           f.Loaders,
		Capacity:          int64(f.Capacity),
		EvictThreshold:    int64(f.EvictThreshold),
		StopLoadThreshold: int64(f.StopLoadThreshold),
		AutoLoadEvict: regioncache.AutoLoadEvict{
			Enabled:                f.AutoLoadEvict.Enabled,
			Interval:               time.Duration(f.AutoLoadEvict.Interval),
			AmplificationThreshold: f.AutoLoadEvict.AmplificationThreshold,
			MaxLoadsPerRound:       f.AutoLoadEvict.MaxLoadsPerRound,
		},
	}
	d, err := regioncache.ParseDurability(f.Durability)
	if err != nil {
		return o, err
	}
	o.Durability = d
	if f.LogLevel != "" && f.LogLevel != "off" {
		lvl, err := zerolog.ParseLevel(f.LogLevel)
		if err != nil || lvl == zerolog.NoLevel || lvl > zerolog.ErrorLevel {
			return o, fmt.Errorf("%w: log_level %q: want off, error, warn, info, debug or trace", regioncache.ErrInvalidOptions, f.LogLevel)
		}
		log := zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, TimeFormat: time.RFC3339}).Level(lvl).With().Timestamp().Logger()
		o.Logger = &log
	}
	if err := o.Validate(); err != nil {
		return o, err
	}
	return o, nil
}

func readJSON(path string) (File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return File{}, err
	}
	var f File
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := decodeObject(dec, data, "", reflect.ValueOf(&f).Elem()); err != nil {
		return File{}, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return File{}, &lineError{line: lineAt(data, dec.InputOffset()), err: errors.New("unexpected data after the JSON object")}
	}
	return f, nil
}

// decodeObject decodes a JSON object into the struct v field by field (by
// their json tags), so that every error names the field's full path and the
// line it is on, and a field v does not have is an error.
func decodeObject(dec *json.Decoder, data []byte, path string, v reflect.Value) error {
	if tok, err := dec.Token(); err != nil {
		return jsonSyntax(data, dec, err)
	} else if tok != json.Delim('{') {
		return &lineError{line: lineAt(data, dec.InputOffset()), err: fmt.Errorf("%s: want an object, got %v", orTop(path), tok)}
	}
	fields := map[string]reflect.Value{}
	for i := 0; i < v.NumField(); i++ {
		if name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
			fields[name] = v.Field(i)
		}
	}
	for dec.More() {
		before := dec.InputOffset() // the key starts at the first quote after it
		tok, err := dec.Token()
		if err != nil {
			return jsonSyntax(data, dec, err)
		}
		key, _ := tok.(string)
		line := lineAt(data, dec.InputOffset())
		field, ok := fields[key]
		if !ok {
			at := before + int64(max(bytes.IndexByte(data[before:], '"'), 0))
			return &lineError{line: lineAt(data, at), col: columnAt(data, at), err: fmt.Errorf("unknown field %q", path+key)}
		}
		if field.Kind() == reflect.Struct {
			if err := decodeObject(dec, data, path+key+".", field); err != nil {
				return err
			}
			continue
		}
		if err := dec.Decode(field.Addr().Interface()); err != nil {
			var typ *json.UnmarshalTypeError
			var syn *json.SyntaxError
			switch {
			case errors.As(err, &syn):
				return jsonSyntax(data, dec, err)
			case errors.As(err, &typ):
				err = fmt.Errorf("want %s, got JSON %s", typ.Type, typ.Value)
			}
			return &lineError{line: line, err: fmt.Errorf("field %q: %w", path+key, err)}
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return jsonSyntax(data, dec, err)
	}
	return nil
}

func orTop(path string) string {
	if path == "" {
		return "the file"
	}
	return fmt.Sprintf("field %q", strings.TrimSuffix(path, "."))
}

// jsonSyntax names the line of a JSON syntax error.
func jsonSyntax(data []byte, dec *json.Decoder, err error) error {
	offset := dec.InputOffset()
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		offset = syn.Offset
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		err = errors.New("unexpected end of file")
	}
	return &lineError{line: lineAt(data, offset), err: err}
}

// lineAt is the 1-based line of a byte offset.
func lineAt(data []byte, offset int64) int {
	offset = min(max(offset, 0), int64(len(data)))
	return 1 + bytes.Count(data[:offset], []byte("\n"))
}

// columnAt is the 1-based column (in bytes) of a byte offset.
func columnAt(data []byte, offset int64) int {
	offset = min(max(offset, 0), int64(len(data)))
	return int(offset) - bytes.LastIndexByte(data[:offset], '\n')
}

func readTOML(path string) (File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return File{}, err
	}
	var f File
	md, err := toml.Decode(string(data), &f)
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			if perr.LastKey != "" {
				return File{}, &lineError{line: perr.Position.Line, err: fmt.Errorf("field %q: %s", perr.LastKey, perr.Message)}
			}
			return File{}, &lineError{line: perr.Position.Line, err: errors.New(perr.Message)}
		}
		if m := tomlKeyError.FindStringSubmatch(err.Error()); m != nil {
			// A value of the wrong type: the decoder says where only in
			// its text ("toml: line N (last key "k"): ...").
			line, _ := strconv.Atoi(m[1])
			msg := m[3]
			if t := tomlTypeError.FindStringSubmatch(msg); t != nil {
				msg = fmt.Sprintf("want %s, got TOML %s", t[2], strings.Replace(t[1], "float64", "float", 1))
			}
			return File{}, &lineError{line: line, err: fmt.Errorf("field %q: %s", m[2], msg)}
		}
		return File{}, errors.New(strings.TrimPrefix(err.Error(), "toml: "))
	}
	if undec := md.Undecoded(); len(undec) > 0 {
		return File{}, unknownTOMLFields(data, undec)
	}
	return f, nil
}

// The texts of the TOML decoder's errors about a value of the wrong type.
var (
	tomlKeyError  = regexp.MustCompile(`^toml: line (\d+) \(last key "([^"]*)"\): (.*)$`)
	tomlTypeError = regexp.MustCompile(`^incompatible types: TOML value has type (.*); destination has type (.*)$`)
)

// unknownTOMLFields names the keys the file sets that File does not have,
// at the line and column of the first in the file (the decoder keeps key
// positions to itself, so they are found in the text). A key inside an
// unknown table is not named apart from its table.
func unknownTOMLFields(data []byte, keys []toml.Key) error {
	type unknown struct {
		name      string
		line, col int
	}
	var found []unknown
	for _, k := range keys {
		if slices.ContainsFunc(keys, func(p toml.Key) bool { return len(p) < len(k) && slices.Equal(p, k[:len(p)]) }) {
			continue
		}
		line, col := tomlKeyPosition(data, k)
		found = append(found, unknown{fmt.Sprintf("%q", k.String()), line, col})
	}
	sort.SliceStable(found, func(i, j int) bool {
		a, b := found[i], found[j]
		if (a.line > 0) != (b.line > 0) {
			return a.line > 0 // located first
		}
		if a.line != b.line {
			return a.line < b.line
		}
		return a.name < b.name
	})
	names := make([]string, len(found))
	for i, u := range found {
		names[i] = u.name
	}
	err := fmt.Errorf("unknown field %s", strings.Join(names, ", "))
	if first := found[0]; first.line > 0 {
		return &lineError{line: first.line, col: first.col, err: err}
	}
	return err
}

// tomlKeyPosition is the 1-based line and column where key is set in a
// TOML file: a [table] header naming it, or a key = value line whose table
// and (dotted) key make it up; 0, 0 when no line does (a key in an inline
// table, for example).
func tomlKeyPosition(data []byte, key toml.Key) (line, col int) {
	var table []string
	for i, text := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(text)
		indent := len(text) - len(strings.TrimLeft(text, " \t"))
		switch {
		case t == "" || strings.HasPrefix(t, "#"):
			continue
		case strings.HasPrefix(t, "["):
			name := strings.Trim(strings.TrimSpace(strings.SplitN(t, "]", 2)[0]), "[ ")
			if len(t) > 1 && t[1] == '[' { // an array of tables: [[name]]
				name = strings.Trim(strings.TrimSpace(strings.SplitN(t, "]]", 2)[0]), "[ ")
			}
			table = tomlKeyParts(name)
			if slices.Equal(table, key) {
				return i + 1, indent + 1
			}
		default:
			lhs, _, ok := strings.Cut(t, "=")
			if !ok {
				continue
			}
			if slices.Equal(append(slices.Clone(table), tomlKeyParts(lhs)...), key) {
				return i + 1, indent + 1
			}
		}
	}
	return 0, 0
}

// tomlKeyParts splits a dotted TOML key (a.b, "a.b".c, 'x') into its parts.
func tomlKeyParts(s string) []string {
	var parts []string
	s = strings.TrimSpace(s)
	for s != "" {
		var part string
		if q := s[0]; q == '"' || q == '\'' {
			end := strings.IndexByte(s[1:], q)
			if end < 0 {
				return nil
			}
			part, s = s[1:1+end], strings.TrimSpace(s[2+end:])
		} else {
			dot := strings.IndexByte(s, '.')
			if dot < 0 {
				dot = len(s)
			}
			part, s = strings.TrimSpace(s[:dot]), s[dot:]
		}
		parts = append(parts, part)
		s = strings.TrimPrefix(strings.TrimSpace(s), ".")
		s = strings.TrimSpace(s)
	}
	return parts
}

// Size is a byte count: an integer, or a string of digits with a unit B,
// KiB, MiB, GiB or TiB ("64MiB"), as in event logs.
type Size int64

func parseSize(s string) (Size, error) {
	n, err := eventlog.ParseSize(s)
	if err != nil {
		if bare := errors.Unwrap(err); bare != nil {
			err = bare // the text without eventlog's prefix: this is a config file
		}
		return 0, err
	}
	if n > math.MaxInt64 {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return Size(n), nil
}

// UnmarshalJSON accepts a JSON integer or a size string (null: unset).
func (s *Size) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var str string
	if err := json.Unmarshal(b, &str); err == nil {
		v, err := parseSize(str)
		if err != nil {
			return err
		}
		*s = v
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf(`bad size %s: want an integer byte count or a string such as "64MiB"`, b)
	}
	*s = Size(n)
	return nil
}

// UnmarshalTOML accepts a TOML integer or a size string.
func (s *Size) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case int64:
		*s = Size(v)
		return nil
	case string:
		n, err := parseSize(v)
		if err != nil {
			return err
		}
		*s = n
		return nil
	default:
		return fmt.Errorf(`bad size %v: want an integer byte count or a string such as "64MiB"`, v)
	}
}

// Duration is a Go duration string ("5m", "1h30m").
type Duration time.Duration

func parseDuration(s string) (Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf(`bad duration %q: want a Go duration such as "30s" or "5m"`, s)
	}
	return Duration(d), nil
}

// UnmarshalJSON accepts a duration string (null: unset).
func (d *Duration) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf(`bad duration %s: want a string such as "30s" or "5m"`, b)
	}
	v, err := parseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// UnmarshalTOML accepts a duration string.
func (d *Duration) UnmarshalTOML(v any) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf(`bad duration %v: want a string such as "30s" or "5m"`, v)
	}
	parsed, err := parseDuration(s)
	if err != nil {
		return err
	}
	*d = parsed
	return nil
}
