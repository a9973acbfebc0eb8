package eventlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/mvcc"
)

// object is one JSON object with its fields kept raw, so that each field can
// be type-checked by hand: encoding/json's struct decoding would silently
// accept unknown or differently-cased fields, floats for integers and
// duplicate fields, all of which the format must refuse.
type object struct {
	path   string // prefix of every error about the object, e.g. "split: into[1]"
	fields map[string]json.RawMessage
	order  []string
	dup    string // first field given twice; encoding/json would keep the last silently
}

// decodeObject splits data, which must be well-formed JSON, into fields.
func decodeObject(path string, data []byte) (*object, error) {
	o := &object{path: path, fields: map[string]json.RawMessage{}}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("want a JSON object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		if _, dup := o.fields[name]; dup {
			if o.dup == "" {
				o.dup = name
			}
			continue
		}
		o.fields[name] = raw
		o.order = append(o.order, name)
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON object")
	}
	return o, nil
}

func (o *object) errorf(format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if o.path == "" {
		return errors.New(msg)
	}
	return errors.New(o.path + ": " + msg)
}

// allow refuses the first field, in file order, that is not named.
func (o *object) allow(names ...string) error {
	for _, f := range o.order {
		found := false
		for _, n := range names {
			if f == n {
				found = true
				break
			}
		}
		if !found {
			return o.errorf("unknown field %q", f)
		}
	}
	return nil
}

func (o *object) has(name string) bool {
	_, ok := o.fields[name]
	return ok
}

// child returns the object in field name, with errors prefixed by its path.
func (o *object) child(path string, raw json.RawMessage) (*object, error) {
	if jsonType(raw) != "object" {
		return nil, o.errorf("%s must be an object, got %s", path, shown(raw))
	}
	p := path
	if o.path != "" {
		p = o.path + ": " + path
	}
	c, err := decodeObject(p, raw)
	if err != nil {
		return nil, err
	}
	return c, c.checkDup()
}

func (o *object) checkDup() error {
	if o.dup != "" {
		return o.errorf("duplicate field %q", o.dup)
	}
	return nil
}

func (o *object) missing(name string) error { return o.errorf("missing field %q", name) }

// jsonType names the JSON type of a well-formed value.
func jsonType(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 'n':
		return "null"
	case 't', 'f':
		return "boolean"
	}
	return "number"
}

// shown quotes a raw value for an error message, shortened if long.
func shown(raw json.RawMessage) string {
	s := string(bytes.TrimSpace(raw))
	if utf8.RuneCountInString(s) > 40 {
		r := []rune(s)
		s = string(r[:37]) + "..."
	}
	return s
}

func (o *object) typeErr(name, want string) error {
	return o.errorf("field %q must be %s, got %s", name, want, shown(o.fields[name]))
}

// str returns a string field; ok is false when it is absent.
func (o *object) str(name string) (s string, ok bool, err error) {
	raw, ok := o.fields[name]
	if !ok {
		return "", false, nil
	}
	s, err = decodeString(raw)
	if err != nil {
		if errors.Is(err, errNotString) {
			return "", true, o.typeErr(name, "a string")
		}
		return "", true, o.errorf("field %q: %v", name, err)
	}
	return s, true, nil
}

func (o *object) needStr(name string) (string, error) {
	s, ok, err := o.str(name)
	if err == nil && !ok {
		err = o.missing(name)
	}
	return s, err
}

var errNotString = errors.New("not a string")

func decodeString(raw json.RawMessage) (string, error) {
	if jsonType(raw) != "string" {
		return "", errNotString
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", err
	}
	// encoding/json turns an escaped lone surrogate into U+FFFD; for a key
	// that would quietly be three other bytes than the author wrote.
	if strings.ContainsRune(s, utf8.RuneError) && badSurrogate(raw) {
		return "", errors.New("string has an unpaired UTF-16 surrogate escape")
	}
	return s, nil
}

func badSurrogate(raw []byte) bool {
	hex4 := func(b []byte) rune {
		r, _ := strconv.ParseUint(string(b), 16, 32)
		return rune(r)
	}
	for i := 0; i+5 < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		i++
		if raw[i] != 'u' {
			continue
		}
		r := hex4(raw[i+1 : i+5])
		i += 4
		switch {
		case r >= 0xD800 && r < 0xDC00:
			if i+6 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
				if r2 := hex4(raw[i+3 : i+7]); r2 >= 0xDC00 && r2 < 0xE000 {
					i += 6
					continue
				}
			}
			return true
		case r >= 0xDC00 && r < 0xE000:
			return true
		}
	}
	return false
}

// uint returns an unsigned integer field. The JSON must be plain digits:
// a fraction, an exponent or a sign is a mistyped field even when the value
// happens to be integral, so that "1e3" and "5.0" are not quietly accepted.
func (o *object) uint(name string, positive bool) (n uint64, ok bool, err error) {
	raw, ok := o.fields[name]
	if !ok {
		return 0, false, nil
	}
	want := "a non-negative integer"
	if positive {
		want = "a positive integer"
	}
	n, err = parseUintRaw(raw)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, true, o.errorf("field %q is too large: %s", name, shown(raw))
		}
		return 0, true, o.typeErr(name, want)
	}
	if positive && n == 0 {
		return 0, true, o.typeErr(name, want)
	}
	return n, true, nil
}

func parseUintRaw(raw json.RawMessage) (uint64, error) {
	s := string(bytes.TrimSpace(raw))
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, errors.New("not an unsigned integer")
	}
	return strconv.ParseUint(s, 10, 64)
}

func (o *object) needUint(name string, positive bool) (uint64, error) {
	n, ok, err := o.uint(name, positive)
	if err == nil && !ok {
		err = o.missing(name)
	}
	return n, err
}

// int returns a positive integer field that must fit an int.
func (o *object) int(name string) (n int, ok bool, err error) {
	u, ok, err := o.uint(name, true)
	if err != nil || !ok {
		return 0, ok, err
	}
	if u > 1<<31-1 {
		return 0, true, o.errorf("field %q is too large: %d", name, u)
	}
	return int(u), true, nil
}

// key returns a key field.
func (o *object) key(name string) (k []byte, ok bool, err error) {
	s, ok, err := o.str(name)
	if err != nil || !ok {
		return nil, ok, err
	}
	k, err = parseKey(s)
	if err != nil {
		return nil, true, o.errorf("field %q: %v", name, err)
	}
	return k, true, nil
}

func (o *object) needKey(name string) ([]byte, error) {
	k, ok, err := o.key(name)
	if err == nil && !ok {
		err = o.missing(name)
	}
	return k, err
}

// size returns a size field: a JSON integer or a string ParseSize accepts.
func (o *object) size(name string, positive bool) (n uint64, ok bool, err error) {
	raw, ok := o.fields[name]
	if !ok {
		return 0, false, nil
	}
	switch jsonType(raw) {
	case "string":
		s, _, err := o.str(name)
		if err != nil {
			return 0, true, err
		}
		if n, err = parseSize(s); err != nil {
			return 0, true, o.errorf("field %q: %v", name, err)
		}
	case "number":
		if n, err = parseUintRaw(raw); err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return 0, true, o.errorf("field %q: bad size %s: too large", name, shown(raw))
			}
			return 0, true, o.errorf("field %q: bad size %s: want a non-negative integer byte count", name, shown(raw))
		}
	default:
		return 0, true, o.typeErr(name, `a size (an integer byte count or a string such as "64MiB")`)
	}
	if positive && n == 0 {
		return 0, true, o.errorf("field %q: size must be positive", name)
	}
	return n, true, nil
}

// duration returns a positive duration field.
func (o *object) duration(name string) (d time.Duration, ok bool, err error) {
	raw, ok := o.fields[name]
	if !ok {
		return 0, false, nil
	}
	if jsonType(raw) != "string" {
		return 0, true, o.typeErr(name, `a duration string such as "10ms"`)
	}
	s, _, err := o.str(name)
	if err != nil {
		return 0, true, err
	}
	if d, err = parseDuration(s); err != nil {
		return 0, true, o.errorf("field %q: %v", name, err)
	}
	return d, true, nil
}

func (o *object) needDuration(name string) (time.Duration, error) {
	d, ok, err := o.duration(name)
	if err == nil && !ok {
		err = o.missing(name)
	}
	return d, err
}

// source returns the optional read source assertion.
func (o *object) source() (Source, error) {
	s, ok, err := o.str("source")
	if err != nil || !ok {
		return AnySource, err
	}
	switch s {
	case "memory":
		return FromMemory, nil
	case "disk":
		return FromDisk, nil
	}
	return AnySource, o.errorf(`field "source" must be "memory" or "disk", got %q`, s)
}

// array returns an array field's elements.
func (o *object) array(name string) ([]json.RawMessage, error) {
	raw, ok := o.fields[name]
	if !ok {
		return nil, o.missing(name)
	}
	if jsonType(raw) != "array" {
		return nil, o.typeErr(name, "an array")
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(raw, &elems); err != nil {
		return nil, o.errorf("field %q: %v", name, err)
	}
	return elems, nil
}

// region decodes a region object; path names it in errors ("region", "into[1]").
func (o *object) region(path string, raw json.RawMessage) (regioncache.Region, error) {
	r, err := o.child(path, raw)
	if err != nil {
		return regioncache.Region{}, err
	}
	if err := r.allow("id", "version", "start", "end"); err != nil {
		return regioncache.Region{}, err
	}
	var reg regioncache.Region
	if reg.ID, err = r.needUint("id", true); err != nil {
		return regioncache.Region{}, err
	}
	if reg.Version, err = r.needUint("version", true); err != nil {
		return regioncache.Region{}, err
	}
	if reg.Start, err = r.needKey("start"); err != nil {
		return regioncache.Region{}, err
	}
	end, ok, err := r.key("end")
	if err != nil {
		return regioncache.Region{}, err
	}
	if ok && len(end) > 0 { // one representation of "unbounded": nil
		reg.End = end
	}
	if err := reg.Validate(); err != nil {
		// Drop mvcc's generic prefix: the path already says it is a region.
		msg := strings.TrimPrefix(err.Error(), mvcc.ErrInvalidRegion.Error()+": ")
		return regioncache.Region{}, r.errorf("%s", msg)
	}
	return reg, nil
}

func (o *object) needRegion(name string) (regioncache.Region, error) {
	raw, ok := o.fields[name]
	if !ok {
		return regioncache.Region{}, o.missing(name)
	}
	return o.region(name, raw)
}

func (o *object) regionList(name string) ([]regioncache.Region, error) {
	elems, err := o.array(name)
	if err != nil {
		return nil, err
	}
	rs := make([]regioncache.Region, len(elems))
	for i, e := range elems {
		if rs[i], err = o.region(fmt.Sprintf("%s[%d]", name, i), e); err != nil {
			return nil, err
		}
	}
	return rs, nil
}
