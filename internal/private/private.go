// Package private gives the engine's test hooks to the packages of this
// module that need them (tests, package replay, the demo CLI) without putting
// them in the public API, so that an embedder's go doc shows only what
// production code should call. The root package fills in Hooks when it is
// initialised (the pattern of pebble's internal/private).
package private

import (
	"context"

	"github.com/regioncache/regioncache/internal/failpoint"
	"github.com/regioncache/regioncache/internal/lifecycle"
)

// Hooks returns the test hooks of e, a *regioncache.Engine (any other value
// panics: it is a programming error in this module).
var Hooks func(e any) EngineHooks

// EngineHooks are the calls tests and event-log replays use to hold the
// engine's background work at a known step and to wait for conditions
// instead of sleeping. Each answers ErrClosed once the engine is closed, and
// a wait on something that cannot happen (an unknown failpoint, region id 0,
// a nil condition) is an error at once, not at its deadline.
type EngineHooks interface {
	// Failpoint arms a failpoint with an action: "pause", "resume",
	// "error", "panic", "delay:10ms" or "off".
	Failpoint(name failpoint.Name, action string) error
	// WaitFailpointPaused blocks until n steps are paused at the failpoint,
	// and until the region states show every transition that led to them
	// (a region whose memory release is paused at evict/before-delete is
	// evicting; one whose copy is paused at a load failpoint is loading).
	WaitFailpointPaused(ctx context.Context, name failpoint.Name, n int) error
	// WaitRegionState blocks until region id is in state.
	WaitRegionState(ctx context.Context, id uint64, state lifecycle.State) error
	// WaitMemory blocks until cond holds for the accounted memory, checking
	// at every region state change (memory changes with loads, evictions
	// and releases, and trims of split regions, which end in a state report).
	WaitMemory(ctx context.Context, cond func(bytes int64) bool) error
	// WatchIdle calls f with whether the engine is idle (what WaitIdle
	// waits for) now and after every change of a region state or of the
	// work in flight, however briefly it lasts, until stop is called. f
	// must not call the engine: it runs with the engine's state locked.
	WatchIdle(f func(idle bool)) (stop func(), err error)
	// MemoryPeak is the most bytes the memory account has ever held at
	// once, and the bytes ever charged past a reservation (an estimate of
	// the data plane that was too small; zero unless there is a bug): with
	// overdrawn zero, peak never passes the capacity.
	MemoryPeak() (peak, overdrawn int64)
}
