// Package lifecycle is the region state machine as a pure function:
// Step(state, event) -> (state, effects). It has no goroutines, no I/O and no
// clock; the region actor performs the effects it returns. Every rule of a
// region's life (deduplicated loads, cancellation owned by the load job,
// eviction held by snapshots, incarnation checks) is decided here, so it can
// be tested exhaustively over every state and event.
package lifecycle

import "fmt"

// State is where a region incarnation is in its life.
type State uint8

const (
	// Absent: the engine holds nothing for the region.
	Absent State = iota
	// Pending: a load was requested and waits for a loader.
	Pending
	// Loading: a loader owns the load job; writes are captured.
	Loading
	// Active: loaded; reads above the safe point are served from memory.
	Active
	// LoadingCanceled: evicted while loading; the job still owns the region.
	LoadingCanceled
	// PendingEvict: evicted while held snapshots still use its data.
	PendingEvict
	// Evicting: its memory is being released.
	Evicting
)

// States lists every state, in declaration order.
var States = []State{Absent, Pending, Loading, Active, LoadingCanceled, PendingEvict, Evicting}

var stateNames = [...]string{"absent", "pending", "loading", "active", "loading_canceled", "pending_evict", "evicting"}

func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// ParseState returns the state with the given spec name.
func ParseState(name string) (State, error) {
	for i, n := range stateNames {
		if n == name {
			return State(i), nil
		}
	}
	return Absent, fmt.Errorf("unknown region state %q", name)
}

// Evicted reports whether the region is on its way out (a load of it is refused).
func (s State) Evicted() bool { return s == LoadingCanceled || s == PendingEvict || s == Evicting }

// Settled reports whether nothing is in flight for the region: it is what
// `wait until idle` waits for (pending_evict counts as settled only while a
// snapshot holds it, which the caller checks).
func (s State) Settled() bool { return s == Absent || s == Active || s == PendingEvict }
