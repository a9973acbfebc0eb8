package lifecycle

import (
	"fmt"
	"strings"

	"github.com/regioncache/regioncache/internal/counters"
)

// Step applies one event to a region's machine. It never panics and never
// returns a state the transition table does not allow: an event that does not
// fit is Ignored or Rejected with the machine unchanged.
func Step(m Machine, ev Event) Result {
	switch e := ev.(type) {
	case Load:
		return stepLoad(m, e)
	case LoaderGranted:
		return stepGranted(m, e)
	case LoadFinished:
		return stepFinished(m, e)
	case Evict:
		return stepEvict(m, e)
	case SnapshotAcquire:
		return stepSnapshotAcquire(m, e)
	case SnapshotRelease:
		return stepSnapshotRelease(m, e)
	case MemoryReleased:
		return stepMemoryReleased(m, e)
	case AdvanceSafePoint:
		return stepSafePoint(m, e)
	case Supersede:
		return stepSupersede(m, e)
	case Split:
		return stepSplit(m, e)
	default:
		return ignore(m, fmt.Sprintf("unknown event %T", ev))
	}
}

func ignore(m Machine, why string) Result {
	return Result{Next: m, Outcome: Ignored, Why: why}
}

func reject(m Machine, reason RejectReason, why string) Result {
	return Result{Next: m, Outcome: Rejected, Reject: reason, Counters: []counters.Name{counters.LoadsRejected}, Why: why}
}

func stepLoad(m Machine, e Load) Result {
	if err := e.Region.Validate(); err != nil {
		return reject(m, RejectVersion, err.Error())
	}
	if m.State == Absent {
		return Result{
			Next:    Machine{State: Pending, Inc: Incarnation(e)},
			Effects: []Effect{RequestLoader},
		}
	}
	if m.Inc.Region.ID != e.Region.ID {
		return ignore(m, fmt.Sprintf("load of region %d delivered to region %d", e.Region.ID, m.Inc.Region.ID))
	}
	if m.State.Evicted() {
		return reject(m, RejectEvicting, fmt.Sprintf("region is %s", m.State))
	}
	cur := m.Inc.Region
	switch {
	case cur.Version == e.Region.Version:
		return Result{Next: m, Outcome: Deduplicated, Counters: []counters.Name{counters.LoadsDeduplicated},
			Why: fmt.Sprintf("already %s", m.State)}
	case e.Region.Version < cur.Version:
		return reject(m, RejectStale, fmt.Sprintf("version %d is older than held version %d", e.Region.Version, cur.Version))
	case m.State == Pending:
		// A pending region holds no data and no loader yet: a newer
		// descriptor simply replaces it.
		return Result{
			Next:    Machine{State: Pending, Inc: Incarnation(e)},
			Effects: []Effect{CancelLoaderRequest, RequestLoader},
			Why:     fmt.Sprintf("replaces pending version %d", cur.Version),
		}
	default:
		return reject(m, RejectVersion, fmt.Sprintf("region is %s at version %d", m.State, cur.Version))
	}
}

func stepGranted(m Machine, e LoaderGranted) Result {
	if m.State != Pending || m.Inc.Gen != e.Gen {
		r := ignore(m, fmt.Sprintf("loader granted to gen %d while %s gen %d", e.Gen, m.State, m.Inc.Gen))
		r.Effects = []Effect{DeclineLoader}
		return r
	}
	next := m
	next.State = Loading
	return Result{Next: next, Effects: []Effect{StartCopy}, Counters: []counters.Name{counters.LoadsStarted}}
}

func stepFinished(m Machine, e LoadFinished) Result {
	if (m.State != Loading && m.State != LoadingCanceled) || m.Inc.Gen != e.Gen {
		r := ignore(m, fmt.Sprintf("load job of gen %d finished while %s gen %d", e.Gen, m.State, m.Inc.Gen))
		r.Effects = []Effect{DropStaleCopy}
		return r
	}
	absent := Machine{State: Absent, Inc: m.Inc}
	if m.State == LoadingCanceled {
		return Result{Next: absent, Effects: []Effect{DiscardCopy}, Job: JobCanceled, Why: "canceled while loading"}
	}
	switch e.Result {
	case CopyComplete:
		next := m
		next.State = Active
		next.SafePoint = e.SafePoint
		return Result{Next: next, Effects: []Effect{Activate}, Job: JobActivated}
	case CopyAbandoned:
		// Only a canceled job abandons its copy; seen while Loading it is a
		// job that stopped on its own (engine closing): treat as failed.
		return Result{Next: absent, Effects: []Effect{Unpublish, DiscardCopy}, Job: JobFailed, Why: "load abandoned"}
	default:
		why := "load failed"
		if e.Err != nil {
			// A cause is not an error: the library's "regioncache: " prefix,
			// which its errors carry (nested ones too), says nothing here.
			why = "load failed: " + strings.ReplaceAll(e.Err.Error(), "regioncache: ", "")
		}
		return Result{Next: absent, Effects: []Effect{Unpublish, DiscardCopy}, Job: JobFailed, Why: why}
	}
}

func stepEvict(m Machine, e Evict) Result {
	next := m
	next.Reason = e.Reason
	evicted := []counters.Name{counters.Evictions}
	switch m.State {
	case Pending:
		return Result{Next: Machine{State: Absent, Inc: m.Inc, Reason: e.Reason}, Effects: []Effect{CancelLoaderRequest}, Counters: evicted}
	case Loading:
		next.State = LoadingCanceled
		return Result{Next: next, Effects: []Effect{CancelCopy}, Counters: evicted}
	case Active:
		if m.Snapshots > 0 {
			next.State = PendingEvict
			return Result{Next: next, Effects: []Effect{Unpublish}, Counters: evicted}
		}
		next.State = Evicting
		return Result{Next: next, Effects: []Effect{Unpublish, ReleaseMemory}, Counters: evicted}
	default:
		return ignore(m, fmt.Sprintf("evict while %s", m.State))
	}
}

func stepSnapshotAcquire(m Machine, e SnapshotAcquire) Result {
	switch {
	case m.State != Active:
		return Result{Next: m, Outcome: NotCached, Reject: RejectNotActive, Why: fmt.Sprintf("region is %s", m.State)}
	case m.Inc.Region.Version != e.Version:
		return Result{Next: m, Outcome: NotCached, Reject: RejectVersion,
			Why: fmt.Sprintf("version %d, held %d", e.Version, m.Inc.Region.Version)}
	case e.Ts <= m.SafePoint:
		return Result{Next: m, Outcome: NotCached, Reject: RejectTooOld,
			Why: fmt.Sprintf("ts %d at or below safe point %d", e.Ts, m.SafePoint)}
	}
	next := m
	next.Snapshots++
	return Result{Next: next, Effects: []Effect{TakeSnapshot}}
}

func stepSnapshotRelease(m Machine, e SnapshotRelease) Result {
	if m.Inc.Gen != e.Gen || m.Snapshots == 0 || (m.State != Active && m.State != PendingEvict) {
		return ignore(m, fmt.Sprintf("snapshot release for gen %d while %s gen %d with %d held", e.Gen, m.State, m.Inc.Gen, m.Snapshots))
	}
	next := m
	next.Snapshots--
	if next.State == PendingEvict && next.Snapshots == 0 {
		next.State = Evicting
		return Result{Next: next, Effects: []Effect{ReleaseMemory}}
	}
	return Result{Next: next}
}

func stepMemoryReleased(m Machine, e MemoryReleased) Result {
	if m.State != Evicting || m.Inc.Gen != e.Gen {
		return ignore(m, fmt.Sprintf("memory of gen %d released while %s gen %d", e.Gen, m.State, m.Inc.Gen))
	}
	return Result{Next: Machine{State: Absent, Inc: m.Inc, Reason: m.Reason}}
}

func stepSafePoint(m Machine, e AdvanceSafePoint) Result {
	if m.State != Active {
		return ignore(m, fmt.Sprintf("safe point while %s", m.State))
	}
	if e.SafePoint <= m.SafePoint {
		return Result{Next: m}
	}
	next := m
	next.SafePoint = e.SafePoint
	return Result{Next: next, Effects: []Effect{RunGC}}
}

func stepSupersede(m Machine, e Supersede) Result {
	if m.State != Pending || m.Inc.Gen != e.Gen {
		return ignore(m, fmt.Sprintf("supersede of gen %d while %s gen %d", e.Gen, m.State, m.Inc.Gen))
	}
	return Result{Next: Machine{State: Absent, Inc: m.Inc, Reason: "superseded"}, Effects: []Effect{CancelLoaderRequest},
		Why: "superseded by a newer overlapping region"}
}

func stepSplit(m Machine, e Split) Result {
	if len(e.Children) == 0 || len(e.Children) != len(e.Gens) || e.Children[0].ID != m.Inc.Region.ID || e.Gens[0] != m.Inc.Gen {
		return ignore(m, "split that does not continue this incarnation")
	}
	switch m.State {
	case Loading, Active:
		next := m
		next.Inc.Region = e.Children[0]
		return Result{Next: next, Effects: []Effect{SplitData}, Why: fmt.Sprintf("split into %d regions", len(e.Children))}
	case LoadingCanceled:
		// The job still owns the region; it ends absent, and so do the
		// other children, which never start.
		next := m
		next.Inc.Region = e.Children[0]
		return Result{Next: next, Why: "split while loading_canceled: children absent"}
	default:
		return ignore(m, fmt.Sprintf("split while %s: children absent", m.State))
	}
}
