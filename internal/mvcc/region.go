package mvcc

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Region describes a key range of the host's key space: [Start, End), with End
// empty meaning unbounded. Version rises on every split or merge.
type Region struct {
	ID      uint64
	Version uint64
	Start   []byte
	End     []byte
}

// ErrInvalidRegion reports a region descriptor that cannot describe a range.
var ErrInvalidRegion = errors.New("regioncache: invalid region")

// Validate reports whether the descriptor is usable.
func (r Region) Validate() error {
	switch {
	case r.ID == 0:
		return fmt.Errorf("%w: %s: id must be positive", ErrInvalidRegion, r)
	case r.Version == 0:
		return fmt.Errorf("%w: %s: version must be positive", ErrInvalidRegion, r)
	case len(r.End) > 0 && bytes.Compare(r.Start, r.End) >= 0:
		return fmt.Errorf("%w: %s: start %s is not below end %s", ErrInvalidRegion, r, FormatKey(r.Start), FormatKey(r.End))
	}
	return nil
}

// SameRange reports whether o covers exactly r's range.
func (r Region) SameRange(o Region) bool {
	return bytes.Equal(r.Start, o.Start) && bytes.Equal(r.End, o.End)
}

// ErrRegionMismatch reports a descriptor with the id and version of a
// region the engine holds but another range: the host contradicts itself,
// and the engine refuses the call, changing nothing.
var ErrRegionMismatch = errors.New("regioncache: region descriptor contradicts the held region")

// MismatchError is ErrRegionMismatch with the two descriptors.
type MismatchError struct {
	Given, Held Region
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("%s: given %s, held %s (same id and version, another range)", ErrRegionMismatch, e.Given, e.Held)
}

// Is makes errors.Is(err, ErrRegionMismatch) true.
func (e *MismatchError) Is(target error) bool { return target == ErrRegionMismatch }

// Contains reports whether key lies in the region's range.
func (r Region) Contains(key []byte) bool {
	return bytes.Compare(key, r.Start) >= 0 && (len(r.End) == 0 || bytes.Compare(key, r.End) < 0)
}

// Overlaps reports whether the two ranges share a key.
func (r Region) Overlaps(o Region) bool {
	return RangesOverlap(r.Start, r.End, o.Start, o.End)
}

// ContainsRange reports whether [start, end) lies within the region.
func (r Region) ContainsRange(start, end []byte) bool {
	if bytes.Compare(start, r.Start) < 0 {
		return false
	}
	if len(r.End) == 0 {
		return true
	}
	return len(end) > 0 && bytes.Compare(end, r.End) <= 0
}

// SameIncarnation reports whether both describe the same id and version.
func (r Region) SameIncarnation(o Region) bool { return r.ID == o.ID && r.Version == o.Version }

// Clone returns a copy that shares no memory with r.
func (r Region) Clone() Region {
	r.Start = bytes.Clone(r.Start)
	r.End = bytes.Clone(r.End)
	if r.Start == nil {
		r.Start = []byte{}
	}
	return r
}

func (r Region) String() string {
	return fmt.Sprintf("region %d v%d [%s, %s)", r.ID, r.Version, FormatKey(r.Start), FormatEnd(r.End))
}

// RangesOverlap reports whether [s1, e1) and [s2, e2) intersect; an empty end
// is unbounded.
func RangesOverlap(s1, e1, s2, e2 []byte) bool {
	if len(e1) > 0 && bytes.Compare(e1, s2) <= 0 {
		return false
	}
	if len(e2) > 0 && bytes.Compare(e2, s1) <= 0 {
		return false
	}
	return true
}

// MinEnd is the smaller of two range ends, where empty means unbounded.
func MinEnd(a, b []byte) []byte {
	switch {
	case len(a) == 0:
		return b
	case len(b) == 0:
		return a
	case bytes.Compare(a, b) <= 0:
		return a
	default:
		return b
	}
}

// FormatKey renders a key for logs: printable UTF-8 quoted, anything else
// as 0x-hex (KeyText, quoted when it is text).
func FormatKey(k []byte) string {
	if printableKey(k) {
		return fmt.Sprintf("%q", k)
	}
	return "0x" + hex.EncodeToString(k)
}

// KeyText renders a key as the event-log format writes it: printable UTF-8
// as is, anything else (and a key starting with "0x") as "0x" and hex, so
// that the text reads back as the same bytes. It is the one key format of
// the CLI and the debug endpoint.
func KeyText(k []byte) string {
	if printableKey(k) {
		return string(k)
	}
	return "0x" + hex.EncodeToString(k)
}

func printableKey(k []byte) bool {
	if !utf8.Valid(k) || bytes.HasPrefix(k, []byte("0x")) {
		return false
	}
	for _, c := range string(k) {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// FormatEnd renders a range end, where empty means unbounded.
func FormatEnd(k []byte) string {
	if len(k) == 0 {
		return "+inf"
	}
	return FormatKey(k)
}
