package testutil

import (
	"context"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/failpoint"
	"github.com/regioncache/regioncache/internal/lifecycle"
	"github.com/regioncache/regioncache/internal/private"
)

// EngineHooks are an engine's test hooks (internal/private) in the root
// package's types.
type EngineHooks struct{ h private.EngineHooks }

// Hooks returns e's test hooks.
func Hooks(e *regioncache.Engine) EngineHooks { return EngineHooks{private.Hooks(e)} }

// Failpoint arms a failpoint with an action ("pause", "resume", "error",
// "panic", "delay:10ms", "off").
func (h EngineHooks) Failpoint(name failpoint.Name, action string) error {
	return h.h.Failpoint(name, action)
}

// WaitFailpointPaused blocks until n steps are paused at the failpoint and
// the region states show the transitions that led to them.
func (h EngineHooks) WaitFailpointPaused(ctx context.Context, name failpoint.Name, n int) error {
	return h.h.WaitFailpointPaused(ctx, name, n)
}

// WaitRegionState blocks until region id is in state s.
func (h EngineHooks) WaitRegionState(ctx context.Context, id uint64, s regioncache.State) error {
	return h.h.WaitRegionState(ctx, id, lifecycle.State(s))
}

// WaitMemory blocks until cond holds for the accounted memory.
func (h EngineHooks) WaitMemory(ctx context.Context, cond func(bytes int64) bool) error {
	return h.h.WaitMemory(ctx, cond)
}

// WatchIdle calls f with whether the engine is idle now and after every
// change of a region state or of the work in flight, until stop is called;
// f must not call the engine.
func (h EngineHooks) WatchIdle(f func(idle bool)) (stop func(), err error) {
	return h.h.WatchIdle(f)
}

// MemoryPeak is the most bytes the memory account has ever held at once,
// and the bytes ever charged past a reservation (zero unless there is a
// bug).
func (h EngineHooks) MemoryPeak() (peak, overdrawn int64) { return h.h.MemoryPeak() }
