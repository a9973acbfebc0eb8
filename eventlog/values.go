package eventlog

import (
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/regioncache/regioncache/internal/counters"
	"github.com/regioncache/regioncache/internal/evictreason"
	"github.com/regioncache/regioncache/internal/failpoint"
	"github.com/regioncache/regioncache/internal/mvcc"
)

// SpecVersion is the version of the event-log format this package reads
// (docs/event-log.md). Every log of an earlier version is valid in it with
// the same meaning.
const SpecVersion = "1.1"

// Counters lists the engine counters an `expect` op may read, in the order
// the spec gives them (the replay's --json output prints them in this order).
var Counters = slices.Clone(counters.Names)

// EvictReasons lists the values of an evict op's `reason`, in spec order.
var EvictReasons = evictreason.Strings(evictreason.Spec)

// DefaultEvictReason is the reason of an evict op that gives none.
const DefaultEvictReason = string(evictreason.Manual)

// FailpointNames lists the failpoints a `failpoint` op may name, in spec order.
var FailpointNames = failpointNames()

func failpointNames() []string {
	out := make([]string, len(failpoint.Names))
	for i, n := range failpoint.Names {
		out[i] = string(n)
	}
	return out
}

// DefaultWaitTimeout is how long a `wait` op waits when it gives no timeout.
const DefaultWaitTimeout = 10 * time.Second

// IsCounter reports whether name is one of Counters.
func IsCounter(name string) bool { return slices.Contains(Counters, name) }

// IsEvictReason reports whether name is one of EvictReasons.
func IsEvictReason(name string) bool { return slices.Contains(EvictReasons, name) }

// IsFailpoint reports whether name is one of FailpointNames.
func IsFailpoint(name string) bool { return slices.Contains(FailpointNames, name) }

// ParseKey decodes a key as the spec writes it: the UTF-8 bytes of s, except
// that "0x" followed by hex digits is hex-decoded (either case; "0x" alone is
// the empty key). A string that starts with "0x" but is not valid even-length
// hex is an error rather than a literal key, because a silent fallback would
// turn a typo in a binary key into a different, valid key. A key whose bytes
// really start with "0x" must therefore be written hex-encoded.
// The result is never nil.
func ParseKey(s string) ([]byte, error) { return prefixed(parseKey(s)) }

// prefixed gives a value parser's error the library's prefix; the parser
// itself uses the bare forms inside its FILE:LINE messages.
func prefixed[T any](v T, err error) (T, error) {
	if err != nil {
		return v, fmt.Errorf("%s%w", ErrorPrefix, err)
	}
	return v, nil
}

// ErrorPrefix begins every error this package returns.
const ErrorPrefix = "regioncache: eventlog: "

func parseKey(s string) ([]byte, error) {
	rest, ok := strings.CutPrefix(s, "0x")
	if !ok {
		return []byte(s), nil
	}
	if len(rest)%2 != 0 {
		return nil, fmt.Errorf("bad key %q: odd number of hex digits after 0x", s)
	}
	k, err := hex.DecodeString(rest)
	if err != nil {
		return nil, fmt.Errorf("bad key %q: not valid hex after 0x", s)
	}
	return k, nil
}

var sizeUnits = []struct {
	suffix string
	shift  uint
}{
	// Longest suffixes first so that "KiB" is not read as "B".
	{"KiB", 10}, {"MiB", 20}, {"GiB", 30}, {"TiB", 40}, {"B", 0},
}

// ParseSize parses the string form of a size: decimal digits, optionally
// followed by one of the binary units B, KiB, MiB, GiB, TiB ("64MiB",
// "512KiB", "10B", "4096"). Decimal units (KB, MB) are refused rather than
// guessed at, since readers disagree on whether they mean 1000 or 1024; so are
// fractions, signs, spaces and lower-case units. Zero is accepted here; the
// fields where a zero size means nothing reject it themselves.
func ParseSize(s string) (uint64, error) { return prefixed(parseSize(s)) }

func parseSize(s string) (uint64, error) {
	digits, shift := s, uint(0)
	for _, u := range sizeUnits {
		if d, ok := strings.CutSuffix(s, u.suffix); ok {
			digits, shift = d, u.shift
			break
		}
	}
	if digits == "" || strings.TrimLeft(digits, "0123456789") != "" {
		return 0, fmt.Errorf("bad size %q: want an integer byte count or digits followed by B, KiB, MiB, GiB or TiB", s)
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || n > math.MaxUint64>>shift {
		return 0, fmt.Errorf("bad size %q: too large", s)
	}
	return n << shift, nil
}

// FormatSize renders a byte count with the largest binary unit that divides it
// exactly, so that FormatSize(ParseSize(s)) round-trips a size written in one unit.
func FormatSize(n uint64) string {
	if n == 0 {
		return "0B"
	}
	for i := len(sizeUnits) - 2; i >= 0; i-- {
		u := sizeUnits[i]
		if n&(1<<u.shift-1) == 0 {
			return strconv.FormatUint(n>>u.shift, 10) + u.suffix
		}
	}
	return strconv.FormatUint(n, 10) + "B"
}

// Source says where a read is asserted to be served from.
type Source uint8

const (
	// AnySource: the line makes no assertion about the source.
	AnySource Source = iota
	// FromMemory: the read must be served by the in-memory cache.
	FromMemory
	// FromDisk: the read must be served by the disk engine.
	FromDisk
)

func (s Source) String() string {
	switch s {
	case AnySource:
		return "any"
	case FromMemory:
		return "memory"
	case FromDisk:
		return "disk"
	}
	return fmt.Sprintf("source(%d)", uint8(s))
}

// ActionKind is what a failpoint does when work reaches it.
type ActionKind uint8

const (
	// ActionOff disables the failpoint.
	ActionOff ActionKind = iota
	// ActionPause makes work that reaches the point wait there.
	ActionPause
	// ActionResume lets paused work go on and stops pausing.
	ActionResume
	// ActionError fails the step as if the disk engine had returned an error.
	ActionError
	// ActionPanic makes the actor doing the step panic.
	ActionPanic
	// ActionDelay delays the step by Action.Delay.
	ActionDelay
)

var actionNames = [...]string{"off", "pause", "resume", "error", "panic", "delay"}

func (k ActionKind) String() string {
	if int(k) < len(actionNames) {
		return actionNames[k]
	}
	return fmt.Sprintf("action(%d)", uint8(k))
}

// Action is a failpoint action. Delay is set only for ActionDelay.
type Action struct {
	Kind  ActionKind
	Delay time.Duration
}

// String renders the action as the spec writes it ("pause", "delay:10ms").
func (a Action) String() string {
	if a.Kind == ActionDelay {
		return "delay:" + a.Delay.String()
	}
	return a.Kind.String()
}

// ParseAction parses a failpoint action: pause, resume, error, panic, off, or
// delay:DURATION with a positive Go duration.
func ParseAction(s string) (Action, error) { return prefixed(parseAction(s)) }

func parseAction(s string) (Action, error) {
	if d, ok := strings.CutPrefix(s, "delay:"); ok {
		dur, err := parseDuration(d)
		if err != nil {
			return Action{}, fmt.Errorf("bad action %q: %v", s, err)
		}
		return Action{Kind: ActionDelay, Delay: dur}, nil
	}
	for k, n := range actionNames {
		if n == s && ActionKind(k) != ActionDelay {
			return Action{Kind: ActionKind(k)}, nil
		}
	}
	return Action{}, fmt.Errorf("bad action %q: want pause, resume, error, panic, off or delay:DURATION", s)
}

// parseDuration accepts only positive durations: every duration in the
// format (delay, sleep, timeout) is meaningless at zero or below.
func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("bad duration %q: want a Go duration such as \"10ms\" or \"5s\"", s)
	}
	if d <= 0 {
		return 0, fmt.Errorf("bad duration %q: must be positive", s)
	}
	return d, nil
}

// fmtKey and fmtEnd keep descriptions consistent with how mvcc prints regions.
func fmtKey(k []byte) string { return mvcc.FormatKey(k) }
func fmtEnd(k []byte) string { return mvcc.FormatEnd(k) }
