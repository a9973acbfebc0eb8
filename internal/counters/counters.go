// Package counters holds the engine's event counters named by the event-log
// spec. Each is one atomic, so hot paths pay an increment and nothing more.
package counters

import "sync/atomic"

// Names lists the spec's counters in its order.
var Names = []string{
	"loads_requested", "loads_deduplicated", "loads_rejected", "loads_started",
	"loads_completed", "loads_canceled", "loads_failed", "evictions",
	"reads_memory", "reads_disk", "keys_loaded",
}

// Set is one engine's counters. The engine derives reads_memory and
// reads_disk from its per-source read counts instead of counting reads twice.
type Set struct {
	vals [11]atomic.Int64
}

func index(name string) int {
	for i, n := range Names {
		if n == name {
			return i
		}
	}
	return -1
}

// Add adds delta to the named counter; unknown names are ignored.
func (s *Set) Add(name string, delta int64) {
	if i := index(name); i >= 0 {
		s.vals[i].Add(delta)
	}
}

// Get returns the named counter and whether the name exists.
func (s *Set) Get(name string) (int64, bool) {
	i := index(name)
	if i < 0 {
		return 0, false
	}
	return s.vals[i].Load(), true
}

// Map returns every counter by name. The engine counts a load's request
// before its start and its start before its end, and Map reads them the
// other way round (ends, then starts, then requests), so that what it
// returns keeps completed+canceled+failed <= started <= requested even while
// loads run.
func (s *Set) Map() map[string]int64 {
	out := make(map[string]int64, len(Names))
	for i := len(Names) - 1; i >= 0; i-- {
		out[Names[i]] = s.vals[i].Load()
	}
	return out
}

// Shortcuts for the counters bumped on hot paths.
func (s *Set) LoadRequested()    { s.vals[0].Add(1) }
func (s *Set) LoadDeduplicated() { s.vals[1].Add(1) }
