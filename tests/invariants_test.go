package tests

import (
	"context"
	"fmt"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/eventlog"
	"github.com/regioncache/regioncache/internal/testutil"
	"github.com/regioncache/regioncache/replay"
)

// invariants checks, after every op of a replay, what must hold at every
// moment, and, when the engine is idle, what must hold once nothing is in
// flight:
//
//   - the memory account is never negative, and has never passed the
//     capacity, at any moment since the engine opened (its peak), with no
//     byte charged past a reservation (checked here for every op of the model, scenario and TiKV logs, the storms and the
//     soak);
//   - loads_completed + loads_canceled + loads_failed <= loads_started <=
//     loads_requested (one load job ends exactly once, whatever its split
//     children do);
//   - idle: completed + canceled + failed == started, and the account is
//     exactly what the held regions and snapshots account
//     (Engine.CheckMemory).
//
// A violation becomes a failure of the op after which it was seen, so the
// model tests shrink it like any other.
type invariants struct {
	eng      *regioncache.Engine
	failures []replay.Failure
}

func (v *invariants) options() replay.Options {
	return replay.Options{
		OnOpen:   func(e *regioncache.Engine) { v.eng = e },
		Observer: replay.Observer{OpDone: v.opDone},
	}
}

func (v *invariants) opDone(i int, op eventlog.Op, _ replay.OpRecord) {
	for _, msg := range checkInvariants(v.eng) {
		v.failures = append(v.failures, replay.Failure{Event: replay.Event{Op: i, Line: op.Line}, OpText: op.Text,
			Message: op.String() + ": invariant: " + msg})
	}
}

// addTo appends the violations to a replay's result.
func (v *invariants) addTo(res *replay.Result) {
	if res == nil || len(v.failures) == 0 {
		return
	}
	res.Failures = append(res.Failures, v.failures...)
	res.Failed += len(v.failures)
}

// checkInvariants returns what is wrong with the engine now: checkAlways,
// and checkIdle if it is idle.
func checkInvariants(e *regioncache.Engine) []string {
	bad := checkAlways(e)
	if idleNow(e) {
		bad = append(bad, checkIdle(e)...)
	}
	return bad
}

// checkAlways returns what is wrong with the engine at any moment, whatever
// runs meanwhile.
func checkAlways(e *regioncache.Engine) []string {
	var bad []string
	met, err := e.Metrics()
	if err != nil {
		return []string{err.Error()}
	}
	if m := met.Memory.Used; m < 0 {
		bad = append(bad, fmt.Sprintf("memory account is negative: %d bytes", m))
	}
	if peak, overdrawn := testutil.Hooks(e).MemoryPeak(); peak > met.Memory.Capacity || overdrawn != 0 {
		bad = append(bad, fmt.Sprintf("memory account passed the capacity: peak %d bytes of %d, %d bytes charged past a reservation",
			peak, met.Memory.Capacity, overdrawn))
	}
	// Counters are read ends first, then starts, then requests (the
	// reverse of the order they are counted in).
	c := met.Counters()
	ended := c["loads_completed"] + c["loads_canceled"] + c["loads_failed"]
	started, requested := c["loads_started"], c["loads_requested"]
	if ended > started || started > requested {
		bad = append(bad, fmt.Sprintf("load counters do not add up: completed %d + canceled %d + failed %d <= started %d <= requested %d is false",
			c["loads_completed"], c["loads_canceled"], c["loads_failed"], started, requested))
	}
	return bad
}

// checkIdle returns what is wrong with an idle engine (nothing may run
// meanwhile).
func checkIdle(e *regioncache.Engine) []string {
	var bad []string
	met, err := e.Metrics()
	if err != nil {
		return []string{err.Error()}
	}
	c := met.Counters()
	if ended := c["loads_completed"] + c["loads_canceled"] + c["loads_failed"]; ended != c["loads_started"] {
		bad = append(bad, fmt.Sprintf("idle, yet completed %d + canceled %d + failed %d != started %d",
			c["loads_completed"], c["loads_canceled"], c["loads_failed"], c["loads_started"]))
	}
	if err := e.CheckMemory(); err != nil {
		bad = append(bad, "idle, yet "+err.Error())
	}
	return bad
}

// idleNow reports whether the engine is idle, without waiting.
func idleNow(e *regioncache.Engine) bool {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return e.WaitIdle(ctx) == nil
}
