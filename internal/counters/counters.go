// Package counters holds the engine's event counters named by the event-log
// spec. Each is one atomic, so hot paths pay an increment and nothing more.
// The counters are a typed vocabulary, defined here once: the engine counts
// with the Name constants, and a name from outside (the API, an event log)
// is parsed, an unknown one being an error.
package counters

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
)

// Name is one of the spec's counters.
type Name uint8

// The spec's counters, in its order.
const (
	LoadsRequested Name = iota
	LoadsDeduplicated
	LoadsRejected
	LoadsStarted
	LoadsCompleted
	LoadsCanceled
	LoadsFailed
	Evictions
	ReadsMemory
	ReadsDisk
	KeysLoaded
	numNames
)

var spec = [numNames]string{
	"loads_requested", "loads_deduplicated", "loads_rejected", "loads_started",
	"loads_completed", "loads_canceled", "loads_failed", "evictions",
	"reads_memory", "reads_disk", "keys_loaded",
}

// All lists every counter in the spec's order.
var All = func() []Name {
	out := make([]Name, numNames)
	for i := range out {
		out[i] = Name(i)
	}
	return out
}()

// Names lists the spec's counter names in its order.
var Names = spec[:]

// String is the spec's name.
func (n Name) String() string {
	if n.Valid() {
		return spec[n]
	}
	return fmt.Sprintf("counter(%d)", uint8(n))
}

// Valid reports whether n is one of the constants.
func (n Name) Valid() bool { return n < numNames }

// ErrUnknown: a counter name the spec does not have.
var ErrUnknown = errors.New("regioncache: unknown counter")

// Parse returns the counter with the spec name s, or an error matching
// ErrUnknown that lists the names there are.
func Parse(s string) (Name, error) {
	for i, n := range spec {
		if n == s {
			return Name(i), nil
		}
	}
	return 0, fmt.Errorf("%w %q (want one of %s)", ErrUnknown, s, strings.Join(spec[:], ", "))
}

// Set is one engine's counters. The engine derives reads_memory and
// reads_disk from its per-source read counts instead of counting reads twice.
type Set struct {
	vals [numNames]atomic.Int64
}

// Add adds delta to counter n. A Name that is not one of the constants (it
// can only be made by a conversion) is an error matching ErrUnknown, and
// nothing is counted.
func (s *Set) Add(n Name, delta int64) error {
	if !n.Valid() {
		return fmt.Errorf("%w: %s", ErrUnknown, n)
	}
	s.vals[n].Add(delta)
	return nil
}

// Get returns counter n (0 for a Name that is not one of the constants).
func (s *Set) Get(n Name) int64 {
	if !n.Valid() {
		return 0
	}
	return s.vals[n].Load()
}

// Snapshot returns every counter, indexed by Name. The engine counts a
// load's request before its start and its start before its end, and
// Snapshot reads them the other way round (ends, then starts, then
// requests), so that what it returns keeps completed+canceled+failed <=
// started <= requested even while loads run.
func (s *Set) Snapshot() [numNames]int64 {
	var out [numNames]int64
	for i := numNames - 1; ; i-- {
		out[i] = s.vals[i].Load()
		if i == 0 {
			return out
		}
	}
}

// Shortcuts for the counters bumped on hot paths.
func (s *Set) LoadRequested()    { s.vals[LoadsRequested].Add(1) }
func (s *Set) LoadDeduplicated() { s.vals[LoadsDeduplicated].Add(1) }
