package regioncache_test

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/testutil"
)

// The lifecycle on real actors: new incarnations of a region id,
// snapshots that hold every child of a split, a memory account that is never
// negative and exact when idle, and load counters that add up.

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantIdleAccount(t *testing.T, e *regioncache.Engine) {
	t.Helper()
	mustOK(t, e.WaitIdle(testutil.Context(t)))
	if err := e.CheckMemory(); err != nil {
		t.Fatal(err)
	}
	c := testutil.Metrics(t, e).Counters()
	if ended := c["loads_completed"] + c["loads_canceled"] + c["loads_failed"]; ended != c["loads_started"] || c["loads_started"] > c["loads_requested"] {
		t.Fatalf("idle load counters do not add up: %v", c)
	}
}

func wantRejected(t *testing.T, e *regioncache.Engine, r regioncache.Region, reason string) {
	t.Helper()
	_, err := e.Load(r)
	var rej *regioncache.LoadRejectedError
	if !errors.As(err, &rej) || rej.Reason != reason {
		t.Fatalf("load %s: %v, want rejected (%s)", r, err, reason)
	}
}

func wantCounter(t *testing.T, e *regioncache.Engine, name string, want int64) {
	t.Helper()
	if got, _ := testutil.Metrics(t, e).Counter(name); got != want {
		t.Fatalf("%s = %d, want %d (counters %v)", name, got, want, testutil.Metrics(t, e).Counters())
	}
}

// TestNewIncarnationAfterMergeAndSplit is tikv#17548/#17550: region 5 is
// evicted by a merge while something still holds it, the merged region
// splits so that a child gets id 5 back, and that child is loaded. While the
// old incarnation is on its way out the load is refused as "evicting" and
// nothing changes; once it is gone, the same load is accepted, whether it
// comes before or after the release.
func TestNewIncarnationAfterMergeAndSplit(t *testing.T) {
	holds := []struct {
		name string
		// hold puts the old incarnation of 5 into its evicted state and
		// returns what lets it go.
		hold  func(t *testing.T, e *regioncache.Engine) (release func())
		state regioncache.State
	}{
		{"snapshot held", func(t *testing.T, e *regioncache.Engine) func() {
			s, err := e.Snapshot(testutil.Reg(5, 3, "a", "m"), 50)
			mustOK(t, err)
			if s.Info().Source != regioncache.FromMemory {
				t.Fatalf("snapshot from %v", s.Info().Source)
			}
			return s.Release
		}, regioncache.PendingEvict},
		{"release paused", func(t *testing.T, e *regioncache.Engine) func() {
			mustOK(t, testutil.Hooks(e).Failpoint("evict/before-delete", "pause"))
			return func() { mustOK(t, testutil.Hooks(e).Failpoint("evict/before-delete", "resume")) }
		}, regioncache.Evicting},
	}
	for _, h := range holds {
		for _, when := range []string{"reload before release", "reload after release"} {
			t.Run(h.name+"/"+when, func(t *testing.T) {
				e := testutil.Open(t, regioncache.Options{})
				testutil.Fill(t, e, 60)
				mustOK(t, e.Put([]byte("b"), 10, []byte("left")))
				mustOK(t, e.Put([]byte("q"), 10, []byte("right")))
				old := testutil.Reg(5, 3, "a", "m")
				_, err := e.Load(old)
				mustOK(t, err)
				testutil.WaitState(t, e, 5, regioncache.Active)
				release := h.hold(t, e)
				// The host merges 5 and 6 into 5 v4, then splits it: 7 takes
				// the left half, id 5 the right one, which does not overlap
				// the old range.
				mustOK(t, e.Merge([]regioncache.Region{old, testutil.Reg(6, 3, "m", "z")}, testutil.Reg(5, 4, "a", "z")))
				if h.state == regioncache.Evicting {
					mustOK(t, testutil.Hooks(e).WaitFailpointPaused(testutil.Context(t), "evict/before-delete", 1))
				}
				testutil.WaitState(t, e, 5, h.state)
				mustOK(t, e.Split(testutil.Reg(5, 4, "a", "z"), []regioncache.Region{testutil.Reg(7, 5, "a", "m"), testutil.Reg(5, 5, "m", "z")}))
				fresh := testutil.Reg(5, 5, "m", "z")
				before := testutil.Metrics(t, e)
				wantRejected(t, e, fresh, "evicting")
				after := testutil.Metrics(t, e)
				if e.RegionState(5) != h.state || after.Memory.Used != before.Memory.Used ||
					after.Evictions != before.Evictions || after.Loads.Started != before.Loads.Started {
					t.Fatalf("a refused load changed the engine: %v -> %v", before, after)
				}
				if when == "reload before release" {
					// Refused again for as long as the old one is held.
					wantRejected(t, e, fresh, "evicting")
				}
				release()
				testutil.WaitState(t, e, 5, regioncache.Absent)
				mustOK(t, e.WaitIdle(testutil.Context(t)))
				if out, err := e.Load(fresh); err != nil || out != regioncache.LoadAccepted {
					t.Fatalf("load of the new incarnation once the old one is gone: %v %v", out, err)
				}
				testutil.WaitState(t, e, 5, regioncache.Active)
				testutil.WantMemoryGet(t, e, "q", 20, "right", true)
				g, err := e.Get([]byte("b"), 20)
				mustOK(t, err)
				if g.Source != regioncache.FromDisk || string(g.Value) != "left" {
					t.Fatalf("old range read %+v, want from disk", g)
				}
				// And again after another eviction: nothing of the old
				// incarnation shadows the id.
				_, err = e.Evict(fresh, "manual")
				mustOK(t, err)
				testutil.WaitState(t, e, 5, regioncache.Absent)
				_, err = e.Load(fresh)
				mustOK(t, err)
				testutil.WaitState(t, e, 5, regioncache.Active)
				testutil.MustCheck(t, e)
				wantIdleAccount(t, e)
			})
		}
	}
}

// TestNewIncarnationWhileLoadingCanceled: an old incarnation still owned by
// its canceled load job refuses a newer version of its id as "evicting"; once
// the job ends, the newer one loads.
func TestNewIncarnationWhileLoadingCanceled(t *testing.T) {
	e := testutil.Open(t, regioncache.Options{})
	testutil.Fill(t, e, 30)
	mustOK(t, testutil.Hooks(e).Failpoint("load/before-copy", "pause"))
	_, err := e.Load(testutil.Reg(9, 1, "k", "k010"))
	mustOK(t, err)
	mustOK(t, testutil.Hooks(e).WaitFailpointPaused(testutil.Context(t), "load/before-copy", 1))
	_, err = e.Evict(testutil.Reg(9, 1, "k", "k010"), "manual")
	mustOK(t, err)
	testutil.WaitState(t, e, 9, regioncache.LoadingCanceled)
	wantRejected(t, e, testutil.Reg(9, 2, "k020", "l"), "evicting")
	mustOK(t, testutil.Hooks(e).Failpoint("load/before-copy", "resume"))
	testutil.WaitState(t, e, 9, regioncache.Absent)
	_, err = e.Load(testutil.Reg(9, 2, "k020", "l"))
	mustOK(t, err)
	testutil.WaitState(t, e, 9, regioncache.Active)
	testutil.WantMemoryGet(t, e, "k021", 25, "b21", true)
	wantIdleAccount(t, e)
}

// TestSnapshotBeforeSplitHoldsEveryChild: a snapshot taken before a split
// reads every child's range from memory, so every child it covers stays
// pending_evict when evicted, and their memory stays accounted (and
// evict/before-delete is not reached) until it is released. The same holds
// when the children are then merged, and for a grandchild of a second split.
func TestSnapshotBeforeSplitHoldsEveryChild(t *testing.T) {
	for _, then := range []string{"evict", "merge", "split again"} {
		t.Run(then, func(t *testing.T) {
			e := testutil.Open(t, regioncache.Options{})
			testutil.Fill(t, e, 90)
			parent := testutil.Reg(1, 1, "k", "l")
			_, err := e.Load(parent)
			mustOK(t, err)
			testutil.WaitState(t, e, 1, regioncache.Active)
			full := testutil.Metrics(t, e).Memory.Used
			snap, err := e.Snapshot(parent, 25)
			mustOK(t, err)
			children := []regioncache.Region{testutil.Reg(1, 2, "k", "k030"), testutil.Reg(2, 2, "k030", "k060"), testutil.Reg(3, 2, "k060", "l")}
			mustOK(t, e.Split(parent, children))
			// A write after the split is the children's, not the snapshot's.
			mustOK(t, e.Put([]byte("k070"), 40, []byte("new")))
			held := testutil.Metrics(t, e).Memory.Used
			if held <= full {
				t.Fatalf("a write after the split is not accounted: %d then %d", full, held)
			}
			mustOK(t, testutil.Hooks(e).Failpoint("evict/before-delete", "pause"))
			ids := []uint64{1, 2, 3}
			switch then {
			case "evict":
				for _, c := range children {
					_, err := e.Evict(c, "manual")
					mustOK(t, err)
				}
			case "merge":
				mustOK(t, e.Merge(children, testutil.Reg(2, 3, "k", "l")))
			case "split again":
				mustOK(t, e.Split(children[2], []regioncache.Region{testutil.Reg(3, 3, "k060", "k075"), testutil.Reg(4, 3, "k075", "l")}))
				ids = append(ids, 4)
				for _, c := range []regioncache.Region{children[0], children[1], testutil.Reg(3, 3, "k060", "k075"), testutil.Reg(4, 3, "k075", "l")} {
					_, err := e.Evict(c, "manual")
					mustOK(t, err)
				}
			}
			for _, id := range ids {
				testutil.WaitState(t, e, id, regioncache.PendingEvict)
			}
			mustOK(t, e.WaitIdle(testutil.Context(t)))
			if m := testutil.Metrics(t, e).Memory.Used; m != held {
				t.Fatalf("memory while the snapshot holds every child: %d, want %d", m, held)
			}
			mustOK(t, e.CheckMemory())
			// The snapshot still reads every child's range from memory, as
			// it was.
			for _, k := range []string{"k001", "k045", "k070", "k080"} {
				g, err := snap.Get([]byte(k), 0)
				mustOK(t, err)
				if g.Source != regioncache.FromMemory || !g.Found {
					t.Fatalf("snapshot read of %s: %+v", k, g)
				}
			}
			snap.Release()
			// Now every child goes: each reaches evict/before-delete.
			mustOK(t, testutil.Hooks(e).WaitFailpointPaused(testutil.Context(t), "evict/before-delete", len(ids)))
			if m := testutil.Metrics(t, e).Memory.Used; m != held {
				t.Fatalf("memory before the deletes: %d, want %d", m, held)
			}
			mustOK(t, testutil.Hooks(e).Failpoint("evict/before-delete", "off"))
			mustOK(t, e.WaitIdle(testutil.Context(t)))
			if then == "merge" {
				// The merged region loads again once its sources are gone.
				testutil.WaitState(t, e, 2, regioncache.Active)
				testutil.WantMemoryGet(t, e, "k070", 45, "new", true)
				testutil.MustCheck(t, e)
			} else {
				for _, id := range ids {
					testutil.WaitState(t, e, id, regioncache.Absent)
				}
				if m := testutil.Metrics(t, e).Memory.Used; m != 0 {
					t.Fatalf("memory after every child is gone: %d", m)
				}
			}
			wantIdleAccount(t, e)
		})
	}
}

// TestSplitGCEvictNeverNegative runs split, GC, evict, WaitIdle while a
// sampler reads the account all along and it is never below zero; idle,
// it is exactly what is held, and zero once everything is gone.
func TestSplitGCEvictNeverNegative(t *testing.T) {
	for run := 0; run < 12; run++ {
		t.Run(fmt.Sprint(run), func(t *testing.T) {
			e := testutil.Open(t, regioncache.Options{})
			testutil.Fill(t, e, 300)
			var negative atomic.Int64
			stop := make(chan struct{})
			sampled := make(chan struct{})
			go func() {
				defer close(sampled)
				for {
					select {
					case <-stop:
						return
					default:
					}
					if m := testutil.Metrics(t, e).Memory.Used; m < 0 {
						negative.Store(m)
					}
				}
			}()
			parent := testutil.Reg(1, 1, "k", "l")
			_, err := e.Load(parent)
			mustOK(t, err)
			testutil.WaitState(t, e, 1, regioncache.Active)
			kids := []regioncache.Region{testutil.Reg(1, 2, "k", "k100"), testutil.Reg(2, 2, "k100", "k200"), testutil.Reg(3, 2, "k200", "l")}
			mustOK(t, e.Split(parent, kids))
			mustOK(t, e.GC(25))
			if run%2 == 0 {
				_, err = e.Evict(kids[run%3], "manual")
				mustOK(t, err)
				wantIdleAccount(t, e)
			}
			for _, k := range kids {
				_, err = e.Evict(k, "manual")
				mustOK(t, err)
			}
			mustOK(t, e.WaitIdle(testutil.Context(t)))
			m := testutil.Metrics(t, e).Memory.Used
			close(stop)
			<-sampled
			if n := negative.Load(); n < 0 {
				t.Fatalf("the account was negative: %d", n)
			}
			if m != 0 {
				t.Fatalf("idle with everything evicted, memory is %d", m)
			}
			wantIdleAccount(t, e)
		})
	}
}

// TestGCReturnsWithMemoryFreed: once GC returns, what it dropped is off the
// account (a region's own data), and WaitIdle has nothing left to wait for.
func TestGCReturnsWithMemoryFreed(t *testing.T) {
	e := testutil.Open(t, regioncache.Options{})
	testutil.Fill(t, e, 200)
	_, err := e.Load(testutil.Reg(1, 1, "k", "l"))
	mustOK(t, err)
	testutil.WaitState(t, e, 1, regioncache.Active)
	before := testutil.Metrics(t, e).Memory.Used
	mustOK(t, e.GC(25))
	after := testutil.Metrics(t, e).Memory.Used
	if after >= before {
		t.Fatalf("GC returned with the memory it frees still accounted: %d then %d", before, after)
	}
	mustOK(t, e.CheckMemory())
	// With a snapshot held, what GC drops stays accounted (the snapshot may
	// read it) until the snapshot is released.
	snap, err := e.Snapshot(testutil.Reg(1, 1, "k", "l"), 40)
	mustOK(t, err)
	mustOK(t, e.Put([]byte("k001"), 50, []byte("x")))
	mustOK(t, e.Put([]byte("k001"), 60, []byte("y")))
	held := testutil.Metrics(t, e).Memory.Used
	mustOK(t, e.GC(70))
	if m := testutil.Metrics(t, e).Memory.Used; m != held {
		t.Fatalf("GC under a snapshot changed the account: %d then %d", held, m)
	}
	snap.Release()
	mustOK(t, e.WaitIdle(testutil.Context(t)))
	if m := testutil.Metrics(t, e).Memory.Used; m >= held {
		t.Fatalf("releasing the snapshot did not free what GC dropped: %d then %d", held, m)
	}
	wantIdleAccount(t, e)
}

// TestSplitDuringLoadCountsOneJob: one load job ends exactly once, whatever
// its split children do: completed if the copy became readable in at least
// one child, else failed if the copy failed, else canceled.
func TestSplitDuringLoadCountsOneJob(t *testing.T) {
	cases := []struct {
		name    string
		evict   []int  // children evicted while the job runs
		fail    bool   // the copy fails
		counter string // the one counter the job's end adds to
	}{
		{"all children activate", nil, false, "loads_completed"},
		{"one child evicted", []int{1}, false, "loads_completed"},
		{"all but one evicted", []int{0, 2}, false, "loads_completed"},
		{"all evicted", []int{0, 1, 2}, false, "loads_canceled"},
		{"copy fails", nil, true, "loads_failed"},
		{"copy fails, one evicted", []int{0}, true, "loads_failed"},
		{"copy fails, all evicted", []int{0, 1, 2}, true, "loads_canceled"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := testutil.Open(t, regioncache.Options{Loaders: 1})
			testutil.Fill(t, e, 90)
			parent := testutil.Reg(1, 1, "k", "l")
			mustOK(t, testutil.Hooks(e).Failpoint("load/after-copy", "pause"))
			_, err := e.Load(parent)
			mustOK(t, err)
			mustOK(t, testutil.Hooks(e).WaitFailpointPaused(testutil.Context(t), "load/after-copy", 1))
			kids := []regioncache.Region{testutil.Reg(1, 2, "k", "k030"), testutil.Reg(2, 2, "k030", "k060"), testutil.Reg(3, 2, "k060", "l")}
			mustOK(t, e.Split(parent, kids))
			for _, i := range tc.evict {
				_, err := e.Evict(kids[i], "manual")
				mustOK(t, err)
			}
			if tc.fail {
				mustOK(t, testutil.Hooks(e).Failpoint("load/after-copy", "error"))
			} else {
				mustOK(t, testutil.Hooks(e).Failpoint("load/after-copy", "off"))
			}
			wantIdleAccount(t, e)
			wantCounter(t, e, "loads_requested", 1)
			wantCounter(t, e, "loads_started", 1)
			for _, c := range []string{"loads_completed", "loads_canceled", "loads_failed"} {
				want := int64(0)
				if c == tc.counter {
					want = 1
				}
				wantCounter(t, e, c, want)
			}
			wantCounter(t, e, "evictions", int64(len(tc.evict)))
			testutil.MustCheck(t, e)
		})
	}
}

// TestSplitOfPendingRegionCountsRequests: children of a pending region are
// loads the engine asks for, so started never passes requested.
func TestSplitOfPendingRegionCountsRequests(t *testing.T) {
	e := testutil.Open(t, regioncache.Options{Loaders: 1})
	testutil.Fill(t, e, 60)
	mustOK(t, testutil.Hooks(e).Failpoint("load/before-copy", "pause"))
	_, err := e.Load(testutil.Reg(9, 1, "a", "b")) // takes the one loader
	mustOK(t, err)
	mustOK(t, testutil.Hooks(e).WaitFailpointPaused(testutil.Context(t), "load/before-copy", 1))
	parent := testutil.Reg(1, 1, "k", "l")
	_, err = e.Load(parent)
	mustOK(t, err)
	testutil.WaitState(t, e, 1, regioncache.Pending)
	mustOK(t, e.Split(parent, []regioncache.Region{testutil.Reg(1, 2, "k", "k020"), testutil.Reg(2, 2, "k020", "k040"), testutil.Reg(3, 2, "k040", "l")}))
	mustOK(t, testutil.Hooks(e).Failpoint("load/before-copy", "off"))
	wantIdleAccount(t, e)
	wantCounter(t, e, "loads_requested", 4)
	wantCounter(t, e, "loads_started", 4)
	wantCounter(t, e, "loads_completed", 4)
}
