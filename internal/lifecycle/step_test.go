package lifecycle_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"github.com/regioncache/regioncache/internal/counters"
	"github.com/regioncache/regioncache/internal/lifecycle"
	"github.com/regioncache/regioncache/internal/mvcc"
)

// --- fixtures ----------------------------------------------------------------

// The region every fixture holds: id 7 at version 5, incarnation gen 3.
var (
	regionV5 = mvcc.Region{ID: 7, Version: 5, Start: []byte("b"), End: []byte("m")}
	regionV4 = mvcc.Region{ID: 7, Version: 4, Start: []byte("b"), End: []byte("m")}
	regionV6 = mvcc.Region{ID: 7, Version: 6, Start: []byte("b"), End: []byte("z")}
	otherID  = mvcc.Region{ID: 8, Version: 5, Start: []byte("x"), End: []byte("y")}
	invalid  = mvcc.Region{ID: 7, Version: 5, Start: []byte("m"), End: []byte("b")}
	// A split of regionV5 into [b, f) (keeps id 7) and [f, m) (id 10).
	childKeep  = mvcc.Region{ID: 7, Version: 6, Start: []byte("b"), End: []byte("f")}
	childOther = mvcc.Region{ID: 10, Version: 6, Start: []byte("f"), End: []byte("m")}
)

const (
	curGen   = 3 // the fixtures' incarnation
	staleGen = 2 // an earlier incarnation of the same id
	newGen   = 9 // the generation a new load request carries
	safePt   = 10
)

var inc = lifecycle.Incarnation{Region: regionV5, Gen: curGen}

type fixture struct {
	name  string
	label string // its row label in ARCHITECTURE.md's table
	m     lifecycle.Machine
}

// fixtures covers every state; states whose behaviour depends on held
// snapshots appear with and without them.
var fixtures = []fixture{
	{"absent", "absent", lifecycle.Machine{State: lifecycle.Absent, Inc: inc, Reason: "manual"}},
	{"absent_zero", "absent", lifecycle.Machine{}},
	{"pending", "pending", lifecycle.Machine{State: lifecycle.Pending, Inc: inc}},
	{"loading", "loading", lifecycle.Machine{State: lifecycle.Loading, Inc: inc}},
	{"active", "active", lifecycle.Machine{State: lifecycle.Active, Inc: inc, SafePoint: safePt}},
	{"active_snap", "active, snapshots held", lifecycle.Machine{State: lifecycle.Active, Inc: inc, SafePoint: safePt, Snapshots: 1}},
	{"loading_canceled", "loading_canceled", lifecycle.Machine{State: lifecycle.LoadingCanceled, Inc: inc, Reason: "manual"}},
	{"pending_evict", "pending_evict, one snapshot held", lifecycle.Machine{State: lifecycle.PendingEvict, Inc: inc, SafePoint: safePt, Snapshots: 1, Reason: "manual"}},
	{"pending_evict_2", "pending_evict, two snapshots held", lifecycle.Machine{State: lifecycle.PendingEvict, Inc: inc, SafePoint: safePt, Snapshots: 2, Reason: "manual"}},
	{"evicting", "evicting", lifecycle.Machine{State: lifecycle.Evicting, Inc: inc, SafePoint: safePt, Reason: "manual"}},
}

type namedEvent struct {
	name  string
	label string // its name in ARCHITECTURE.md's table
	ev    lifecycle.Event
}

var errInjected = errors.New("pebble: injected")

// events covers every event type, each with the variants that matter.
var events = []namedEvent{
	{"load_same", "Load, same version", lifecycle.Load{Region: regionV5, Gen: newGen}},
	{"load_newer", "Load, newer version", lifecycle.Load{Region: regionV6, Gen: newGen}},
	{"load_older", "Load, older version", lifecycle.Load{Region: regionV4, Gen: newGen}},
	{"load_other_id", "Load, another id", lifecycle.Load{Region: otherID, Gen: newGen}},
	{"load_invalid", "Load, invalid descriptor", lifecycle.Load{Region: invalid, Gen: newGen}},
	{"granted", "LoaderGranted", lifecycle.LoaderGranted{Gen: curGen}},
	{"granted_stale", "LoaderGranted, earlier gen", lifecycle.LoaderGranted{Gen: staleGen}},
	{"finished_complete", "LoadFinished, complete", lifecycle.LoadFinished{Gen: curGen, Result: lifecycle.CopyComplete, SafePoint: 20}},
	{"finished_complete_stale", "LoadFinished, complete, earlier gen", lifecycle.LoadFinished{Gen: staleGen, Result: lifecycle.CopyComplete, SafePoint: 20}},
	{"finished_failed", "LoadFinished, failed", lifecycle.LoadFinished{Gen: curGen, Result: lifecycle.CopyFailed, Err: errInjected}},
	{"finished_failed_stale", "LoadFinished, failed, earlier gen", lifecycle.LoadFinished{Gen: staleGen, Result: lifecycle.CopyFailed, Err: errInjected}},
	{"finished_abandoned", "LoadFinished, abandoned", lifecycle.LoadFinished{Gen: curGen, Result: lifecycle.CopyAbandoned}},
	{"finished_abandoned_stale", "LoadFinished, abandoned, earlier gen", lifecycle.LoadFinished{Gen: staleGen, Result: lifecycle.CopyAbandoned}},
	{"evict", "Evict", lifecycle.Evict{Reason: "auto_evict"}},
	{"snap", "SnapshotAcquire", lifecycle.SnapshotAcquire{Version: 5, Ts: 50}},
	{"snap_version", "SnapshotAcquire, another version", lifecycle.SnapshotAcquire{Version: 6, Ts: 50}},
	{"snap_too_old", "SnapshotAcquire, at or below the safe point", lifecycle.SnapshotAcquire{Version: 5, Ts: safePt}},
	{"release", "SnapshotRelease", lifecycle.SnapshotRelease{Gen: curGen}},
	{"release_stale", "SnapshotRelease, earlier gen", lifecycle.SnapshotRelease{Gen: staleGen}},
	{"mem_released", "MemoryReleased", lifecycle.MemoryReleased{Gen: curGen}},
	{"mem_released_stale", "MemoryReleased, earlier gen", lifecycle.MemoryReleased{Gen: staleGen}},
	{"safe_point", "AdvanceSafePoint", lifecycle.AdvanceSafePoint{SafePoint: 30}},
	{"safe_point_lower", "AdvanceSafePoint, lower", lifecycle.AdvanceSafePoint{SafePoint: 5}},
	{"supersede", "Supersede", lifecycle.Supersede{Gen: curGen}},
	{"supersede_stale", "Supersede, earlier gen", lifecycle.Supersede{Gen: staleGen}},
	{"split", "Split", lifecycle.Split{Children: []mvcc.Region{childKeep, childOther}, Gens: []uint64{curGen, 11}}},
	{"split_stale", "Split, earlier gen", lifecycle.Split{Children: []mvcc.Region{childKeep, childOther}, Gens: []uint64{staleGen, 11}}},
	{"split_other_id", "Split, first child of another id", lifecycle.Split{Children: []mvcc.Region{childOther, childKeep}, Gens: []uint64{curGen, 11}}},
	{"split_malformed", "Split, children and gens differ", lifecycle.Split{Children: []mvcc.Region{childKeep, childOther}, Gens: []uint64{curGen}}},
	{"split_empty", "Split, no children", lifecycle.Split{}},
}

// --- transition table and properties -------------------------------------------

type edge struct{ from, to lifecycle.State }

func (e edge) String() string { return e.from.String() + "->" + e.to.String() }

// allowed is the transition table of ARCHITECTURE.md ("Life of a region"). pending->pending is allowed only
// as a replacement (a new incarnation); active->active is a change of held
// snapshots or safe point. Other same-state steps are not state changes.
var allowed = map[edge]bool{
	{lifecycle.Absent, lifecycle.Pending}:                  true,
	{lifecycle.Pending, lifecycle.Pending}:                 true,
	{lifecycle.Pending, lifecycle.Loading}:                 true,
	{lifecycle.Pending, lifecycle.Absent}:                  true,
	{lifecycle.Loading, lifecycle.Active}:                  true,
	{lifecycle.Loading, lifecycle.LoadingCanceled}:         true,
	{lifecycle.Loading, lifecycle.Absent}:                  true,
	{lifecycle.LoadingCanceled, lifecycle.Absent}:          true,
	{lifecycle.Active, lifecycle.PendingEvict}:             true,
	{lifecycle.Active, lifecycle.Evicting}:                 true,
	{lifecycle.Active, lifecycle.Active}:                   true,
	{lifecycle.PendingEvict, lifecycle.Evicting}:           true,
	{lifecycle.Evicting, lifecycle.Absent}:                 true,
	{lifecycle.PendingEvict, lifecycle.PendingEvict}:       true, // a snapshot released, others still held
	{lifecycle.LoadingCanceled, lifecycle.LoadingCanceled}: false,
}

// lazy turns a label builder into a value formatted only when printed, so
// the 100k-step walk does not format a label per step.
type lazy func() string

func (l lazy) String() string { return l() }

// checkStep verifies the properties every single step must have.
func checkStep(t *testing.T, lbl func() string, m lifecycle.Machine, ev lifecycle.Event, res lifecycle.Result) {
	t.Helper()
	label := lazy(lbl)
	switch res.Outcome {
	case lifecycle.Ignored, lifecycle.Rejected, lifecycle.Deduplicated, lifecycle.NotCached:
		if !reflect.DeepEqual(res.Next, m) {
			t.Fatalf("%s: %T outcome %d changed the machine\n from %+v\n   to %+v", label, ev, res.Outcome, m, res.Next)
		}
		for _, e := range res.Effects {
			if e != lifecycle.DeclineLoader && e != lifecycle.DropStaleCopy {
				t.Fatalf("%s: outcome %d performs effect %s", label, res.Outcome, e)
			}
		}
	case lifecycle.Applied:
	default:
		t.Fatalf("%s: unknown outcome %d", label, res.Outcome)
	}
	changedInc := res.Next.Inc.Gen != m.Inc.Gen || res.Next.Inc.Region.ID != m.Inc.Region.ID
	if !changedInc && !reflect.DeepEqual(res.Next.Inc.Region, m.Inc.Region) {
		// Same incarnation, new descriptor: only a split may do that, in
		// place, to a region that holds or is copying data.
		if _, ok := ev.(lifecycle.Split); !ok || res.Next.State != m.State {
			t.Fatalf("%s: %T changed the descriptor of %v to %v", label, ev, m.Inc, res.Next.Inc)
		}
		switch m.State {
		case lifecycle.Loading, lifecycle.Active, lifecycle.LoadingCanceled:
		default:
			t.Fatalf("%s: split changed the descriptor of a %s region", label, m.State)
		}
	}
	if res.Next.State != m.State || changedInc {
		e := edge{m.State, res.Next.State}
		if !allowed[e] {
			t.Fatalf("%s: %T moved %s -> %s (incarnation %v -> %v), not in the transition table",
				label, ev, m.State, res.Next.State, m.Inc, res.Next.Inc)
		}
		if changedInc && !(m.State == lifecycle.Absent || m.State == lifecycle.Pending) {
			t.Fatalf("%s: %T changed the incarnation of a %s region", label, ev, m.State)
		}
	}
	if int(res.Next.State) >= len(lifecycle.States) {
		t.Fatalf("%s: invalid state %d", label, res.Next.State)
	}
	// A step ends this region's part of a load job exactly when the job's
	// end moves it out of loading or loading_canceled, and says how.
	want := lifecycle.NoJobPart
	if _, ok := ev.(lifecycle.LoadFinished); ok && res.Outcome == lifecycle.Applied {
		switch {
		case m.State == lifecycle.LoadingCanceled:
			want = lifecycle.JobCanceled
		case res.Next.State == lifecycle.Active:
			want = lifecycle.JobActivated
		default:
			want = lifecycle.JobFailed
		}
	}
	if res.Job != want {
		t.Fatalf("%s: %T from %s ends a job part %s, want %s", label, ev, m.State, res.Job, want)
	}
	if len(res.Counters) > 0 && slices.ContainsFunc(counterNames(res.Counters), func(c string) bool {
		return c == "loads_completed" || c == "loads_canceled" || c == "loads_failed"
	}) {
		t.Fatalf("%s: a step counts a job's end (%v); only the job does", label, res.Counters)
	}
}

// checkInvariants verifies what must hold of every reachable machine.
func checkInvariants(t *testing.T, lbl func() string, m lifecycle.Machine) {
	t.Helper()
	label := lazy(lbl)
	if m.Snapshots < 0 {
		t.Fatalf("%s: negative snapshot count: %+v", label, m)
	}
	if m.Snapshots > 0 && m.State != lifecycle.Active && m.State != lifecycle.PendingEvict {
		t.Fatalf("%s: %d snapshots held in state %s", label, m.Snapshots, m.State)
	}
	if m.State == lifecycle.PendingEvict && m.Snapshots == 0 {
		t.Fatalf("%s: pending_evict without a held snapshot", label)
	}
}

// TestStepProperties checks the per-step properties over every pair, plus a
// nil event, and the allowed table against the declared states.
func TestStepProperties(t *testing.T) {
	for _, f := range fixtures {
		for _, e := range append(slices.Clone(events), namedEvent{name: "nil"}) {
			label := f.name + "/" + e.name
			res, p := stepSafely(f.m, e.ev)
			if p != nil {
				t.Fatalf("%s: Step panicked: %v", label, p)
			}
			lbl := func() string { return label }
			checkStep(t, lbl, f.m, e.ev, res)
			checkInvariants(t, lbl, res.Next)
		}
	}
	// The nil (unknown) event is ignored.
	if res := lifecycle.Step(lifecycle.Machine{State: lifecycle.Active, Inc: inc}, nil); res.Outcome != lifecycle.Ignored {
		t.Errorf("nil event: outcome %d, want ignored", res.Outcome)
	}
}

// TestEveryAllowedTransitionIsReachable makes sure the table in this test is
// not looser than the machine: every allowed change happens for some pair.
func TestEveryAllowedTransitionIsReachable(t *testing.T) {
	seen := map[edge]bool{}
	for _, f := range fixtures {
		for _, e := range events {
			res := lifecycle.Step(f.m, e.ev)
			changedInc := res.Next.Inc.Gen != f.m.Inc.Gen
			if res.Next.State != f.m.State || changedInc || !reflect.DeepEqual(res.Next, f.m) {
				seen[edge{f.m.State, res.Next.State}] = true
			}
		}
	}
	for e, ok := range allowed {
		if ok && !seen[e] {
			t.Errorf("allowed transition %s -> %s is never taken by the fixtures", e.from, e.to)
		}
	}
}

// TestRandomWalk drives one region id with 100k random events and checks the
// per-step properties and the invariants after every step. It also keeps a
// model of the snapshots handed out and of the load jobs in flight.
func TestRandomWalk(t *testing.T) {
	seed := rand.Uint64()
	if s := os.Getenv("LIFECYCLE_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("LIFECYCLE_SEED: %v", err)
		}
		seed = v
	}
	t.Logf("seed %d (rerun with LIFECYCLE_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))

	const steps = 100_000
	var (
		m       lifecycle.Machine
		nextGen uint64 = 1
		granted int    // snapshots handed out to the current incarnation, not yet released
		starts  = map[uint64]int{}
		seen    = map[edge]int{}
	)
	region := func() mvcc.Region {
		v := m.Inc.Region.Version
		switch rng.IntN(6) {
		case 0:
			v++
		case 1:
			if v > 1 {
				v--
			}
		case 2:
			return mvcc.Region{ID: 99, Version: 1, Start: []byte("q"), End: []byte("r")}
		case 3:
			return mvcc.Region{ID: 7, Version: 0} // invalid
		}
		if v == 0 {
			v = 1
		}
		return mvcc.Region{ID: 7, Version: v, Start: []byte("b"), End: []byte("m")}
	}
	gen := func() uint64 {
		switch rng.IntN(4) {
		case 0, 1:
			return m.Inc.Gen
		case 2:
			return m.Inc.Gen - 1
		default:
			return rng.Uint64N(nextGen + 2)
		}
	}
	results := []lifecycle.LoadResult{lifecycle.CopyComplete, lifecycle.CopyFailed, lifecycle.CopyAbandoned}
	for i := 0; i < steps; i++ {
		var ev lifecycle.Event
		switch k := rng.IntN(17); {
		case k < 2:
			ev = lifecycle.Load{Region: region(), Gen: nextGen}
			nextGen++
		case k < 4:
			ev = lifecycle.LoaderGranted{Gen: gen()}
		case k < 6:
			result := lifecycle.CopyComplete // mostly complete, so the walk gets past loading
			if rng.IntN(3) == 0 {
				result = results[rng.IntN(len(results))]
			}
			ev = lifecycle.LoadFinished{Gen: gen(), Result: result, SafePoint: rng.Uint64N(50)}
		case k < 7:
			ev = lifecycle.Evict{Reason: "random"}
		case k < 10:
			ev = lifecycle.SnapshotAcquire{Version: m.Inc.Region.Version + rng.Uint64N(2), Ts: rng.Uint64N(100)}
		case k < 12:
			ev = lifecycle.SnapshotRelease{Gen: gen()}
		case k < 14:
			ev = lifecycle.MemoryReleased{Gen: gen()}
		case k < 15:
			ev = lifecycle.AdvanceSafePoint{SafePoint: rng.Uint64N(100)}
		case k < 16:
			parent := m.Inc.Region
			keep := mvcc.Region{ID: parent.ID, Version: parent.Version + 1, Start: parent.Start, End: []byte("f")}
			other := mvcc.Region{ID: 50 + rng.Uint64N(5), Version: parent.Version + 1, Start: []byte("f"), End: parent.End}
			ev = lifecycle.Split{Children: []mvcc.Region{keep, other}, Gens: []uint64{gen(), nextGen}}
			nextGen++
		default:
			ev = lifecycle.Supersede{Gen: gen()}
		}
		prev := m
		label := lazy(func() string {
			return fmt.Sprintf("seed %d step %d (%s %+v) from %s", seed, i, lifecycle.EventName(ev), ev, prev.State)
		})
		res, p := stepSafely(m, ev)
		if p != nil {
			t.Fatalf("%s: Step panicked: %v", label, p)
		}
		checkStep(t, label, m, ev, res)
		checkInvariants(t, label, res.Next)

		// Model: snapshots of the current incarnation.
		if res.Next.Inc.Gen != m.Inc.Gen {
			granted = 0
		}
		for _, e := range res.Effects {
			switch e {
			case lifecycle.TakeSnapshot:
				granted++
			case lifecycle.StartCopy:
				starts[res.Next.Inc.Gen]++
				if starts[res.Next.Inc.Gen] > 1 {
					t.Fatalf("%s: a second copy started for gen %d", label, res.Next.Inc.Gen)
				}
			}
		}
		if r, ok := ev.(lifecycle.SnapshotRelease); ok && res.Next.Snapshots < m.Snapshots {
			if r.Gen != m.Inc.Gen {
				t.Fatalf("%s: a release of gen %d dropped a snapshot of gen %d", label, r.Gen, m.Inc.Gen)
			}
			granted--
		}
		if res.Next.State == lifecycle.Absent {
			granted = 0
		}
		if granted != res.Next.Snapshots && res.Next.State != lifecycle.Absent {
			t.Fatalf("%s: machine counts %d snapshots, %d handed out and not released", label, res.Next.Snapshots, granted)
		}
		if res.Next.State != m.State {
			seen[edge{m.State, res.Next.State}]++
		}
		m = res.Next
	}
	t.Logf("transitions taken: %v", seen)
	for _, e := range []edge{
		{lifecycle.Pending, lifecycle.Loading}, {lifecycle.Loading, lifecycle.Active},
		{lifecycle.Active, lifecycle.PendingEvict}, {lifecycle.PendingEvict, lifecycle.Evicting},
		{lifecycle.Loading, lifecycle.LoadingCanceled}, {lifecycle.Evicting, lifecycle.Absent},
	} {
		if seen[e] == 0 {
			t.Errorf("random walk never took %s -> %s; the generator is too weak", e.from, e.to)
		}
	}
}

// TestStateHelpers covers names, parsing and the state predicates.
func TestStateHelpers(t *testing.T) {
	names := []string{"absent", "pending", "loading", "active", "loading_canceled", "pending_evict", "evicting"}
	if len(lifecycle.States) != len(names) {
		t.Fatalf("States has %d entries, want %d", len(lifecycle.States), len(names))
	}
	for i, s := range lifecycle.States {
		if s.String() != names[i] {
			t.Errorf("state %d String() = %q, want %q", i, s, names[i])
		}
		p, err := lifecycle.ParseState(names[i])
		if err != nil || p != s {
			t.Errorf("ParseState(%q) = %v, %v", names[i], p, err)
		}
		wantEvicted := s == lifecycle.LoadingCanceled || s == lifecycle.PendingEvict || s == lifecycle.Evicting
		if s.Evicted() != wantEvicted {
			t.Errorf("%s.Evicted() = %v", s, s.Evicted())
		}
		wantSettled := s == lifecycle.Absent || s == lifecycle.Active || s == lifecycle.PendingEvict
		if s.Settled() != wantSettled {
			t.Errorf("%s.Settled() = %v", s, s.Settled())
		}
	}
	if _, err := lifecycle.ParseState("cached"); err == nil {
		t.Error(`ParseState("cached") succeeded`)
	}
	if got := lifecycle.State(42).String(); got != "state(42)" {
		t.Errorf("State(42).String() = %q", got)
	}
	if got := lifecycle.Effect(0).String(); got != "effect(0)" {
		t.Errorf("Effect(0).String() = %q", got)
	}
	if got := lifecycle.RejectTooOld.String(); got != "too_old_read" {
		t.Errorf("RejectTooOld.String() = %q", got)
	}
	for _, e := range events {
		if lifecycle.EventName(e.ev) == "" {
			t.Errorf("%s: empty event name", e.name)
		}
	}
}

// TestJobEnd: one load job ends exactly once, whatever its split children
// do: completed if its copy became readable in at least one region, else
// failed if it failed, else canceled.
func TestJobEnd(t *testing.T) {
	for _, c := range []struct {
		activated, canceled, failed int
		want                        string
	}{
		{1, 0, 0, "loads_completed"},
		{1, 2, 0, "loads_completed"},
		{3, 0, 0, "loads_completed"},
		{0, 1, 0, "loads_canceled"},
		{0, 3, 0, "loads_canceled"},
		{0, 0, 1, "loads_failed"},
		{0, 2, 1, "loads_failed"},
		{0, 0, 0, "loads_canceled"},
	} {
		if got := lifecycle.JobEnd(c.activated, c.canceled, c.failed); got.String() != c.want {
			t.Errorf("JobEnd(%d activated, %d canceled, %d failed) = %s, want %s", c.activated, c.canceled, c.failed, got, c.want)
		}
	}
}

// TestSplitChildHoldsSnapshots: a child a split starts has the source's
// state and safe point and counts the source's snapshots still held; evicted,
// it waits for them (pending_evict), and the last release lets it go.
func TestSplitChildHoldsSnapshots(t *testing.T) {
	parent := lifecycle.Machine{State: lifecycle.Active, Inc: inc, SafePoint: safePt, Snapshots: 2}
	child := lifecycle.SplitChild(parent, childOther, 11, 2)
	want := lifecycle.Machine{State: lifecycle.Active, Inc: lifecycle.Incarnation{Region: childOther, Gen: 11}, SafePoint: safePt, Snapshots: 2}
	if !reflect.DeepEqual(child, want) {
		t.Fatalf("SplitChild = %+v, want %+v", child, want)
	}
	res := lifecycle.Step(child, lifecycle.Evict{Reason: "manual"})
	if res.Next.State != lifecycle.PendingEvict || slices.Contains(res.Effects, lifecycle.ReleaseMemory) {
		t.Fatalf("evicted child held by snapshots: %+v", res)
	}
	res = lifecycle.Step(res.Next, lifecycle.SnapshotRelease{Gen: 11})
	if res.Next.State != lifecycle.PendingEvict {
		t.Fatalf("one of two snapshots released: %+v", res.Next)
	}
	res = lifecycle.Step(res.Next, lifecycle.SnapshotRelease{Gen: 11})
	if res.Next.State != lifecycle.Evicting || !slices.Equal(res.Effects, []lifecycle.Effect{lifecycle.ReleaseMemory}) {
		t.Fatalf("last snapshot released: %+v", res)
	}
	// Without snapshots still held, the child is evicted at once.
	free := lifecycle.SplitChild(parent, childOther, 11, 0)
	if res := lifecycle.Step(free, lifecycle.Evict{Reason: "manual"}); res.Next.State != lifecycle.Evicting {
		t.Fatalf("child without snapshots evicted to %s", res.Next.State)
	}
}

// counterNames are the spec names of counters.
func counterNames(cs []counters.Name) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.String())
	}
	return out
}

// A failed load's cause names the error without the library's prefix: a
// cause is read after "region 1: loading -> absent", not as an error.
func TestFailedLoadCauseHasNoPrefix(t *testing.T) {
	m := lifecycle.Machine{State: lifecycle.Loading, Inc: lifecycle.Incarnation{Region: mvcc.Region{ID: 1, Version: 1, Start: []byte("a"), End: []byte("b")}, Gen: 1}}
	res := lifecycle.Step(m, lifecycle.LoadFinished{Gen: 1, Result: lifecycle.CopyFailed, Err: errors.New("load/before-copy: regioncache: failpoint: injected error")})
	if want := "load failed: load/before-copy: failpoint: injected error"; res.Why != want {
		t.Errorf("why = %q, want %q", res.Why, want)
	}
}
