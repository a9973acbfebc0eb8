package regioncache_test

// Engine tests, split and merge: real Pebble (in memory), real actors, waits on
// conditions.

import (
	"errors"
	"testing"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/testutil"
)

func TestSplitActiveChildrenActiveAtOnce(t *testing.T) {
	e := testutil.Open(t, regioncache.Options{})
	testutil.Fill(t, e, 100)
	parent := testutil.Reg(1, 1, "k", "l")
	if _, err := e.Load(parent); err != nil {
		t.Fatal(err)
	}
	testutil.WaitState(t, e, 1, regioncache.Active)
	before := testutil.Metrics(t, e).Memory.Used
	snap, err := e.Snapshot(parent, 25)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Split(parent, []regioncache.Region{testutil.Reg(1, 2, "k", "k050"), testutil.Reg(2, 2, "k050", "l")}); err != nil {
		t.Fatal(err)
	}
	if s := e.RegionState(2); s != regioncache.Active {
		t.Fatalf("child 2 is %s right after the split, want active", s)
	}
	testutil.WantMemoryGet(t, e, "k010", 25, "b10", true)
	testutil.WantMemoryGet(t, e, "k060", 25, "b60", true)
	testutil.WantMemoryGet(t, e, "k060", 35, "", false)
	if err := e.Put([]byte("k070"), 40, []byte("new")); err != nil {
		t.Fatal(err)
	}
	testutil.WantMemoryGet(t, e, "k070", 45, "new", true)
	// The parent's snapshot still answers as before the split and the write.
	g, err := snap.Get([]byte("k070"), 0)
	if err != nil || string(g.Value) != "b70" {
		t.Fatalf("snapshot get = %q, %v", g.Value, err)
	}
	snap.Release()
	testutil.MustCheck(t, e)
	// Once trimmed, the children account exactly the parent's data plus the write.
	if err := e.WaitIdle(testutil.Context(t)); err != nil {
		t.Fatal(err)
	}
	if err := testutil.Hooks(e).WaitMemory(testutil.Context(t), func(b int64) bool { return b > before && b < before+200 }); err != nil {
		t.Fatalf("memory %d after split, %d before: %v", testutil.Metrics(t, e).Memory.Used, before, err)
	}
}

func TestSplitWhileLoadingEachChildResolvedOnItsOwn(t *testing.T) {
	e := testutil.Open(t, regioncache.Options{})
	testutil.Fill(t, e, 90)
	parent := testutil.Reg(1, 1, "k", "l")
	if err := testutil.Hooks(e).Failpoint("load/after-copy", "pause"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Load(parent); err != nil {
		t.Fatal(err)
	}
	if err := testutil.Hooks(e).WaitFailpointPaused(testutil.Context(t), "load/after-copy", 1); err != nil {
		t.Fatal(err)
	}
	into := []regioncache.Region{testutil.Reg(1, 2, "k", "k030"), testutil.Reg(2, 2, "k030", "k060"), testutil.Reg(3, 2, "k060", "l")}
	if err := e.Split(parent, into); err != nil {
		t.Fatal(err)
	}
	for _, id := range []uint64{1, 2, 3} {
		if s := e.RegionState(id); s != regioncache.Loading {
			t.Fatalf("region %d is %s, want loading", id, s)
		}
	}
	if _, err := e.Evict(into[1], "manual"); err != nil {
		t.Fatal(err)
	}
	if s := e.RegionState(2); s != regioncache.LoadingCanceled {
		t.Fatalf("evicted child is %s", s)
	}
	if err := e.Put([]byte("k070"), 40, []byte("during")); err != nil {
		t.Fatal(err)
	}
	if err := testutil.Hooks(e).Failpoint("load/after-copy", "resume"); err != nil {
		t.Fatal(err)
	}
	if err := e.WaitIdle(testutil.Context(t)); err != nil {
		t.Fatal(err)
	}
	testutil.WaitState(t, e, 1, regioncache.Active)
	testutil.WaitState(t, e, 2, regioncache.Absent)
	testutil.WaitState(t, e, 3, regioncache.Active)
	testutil.WantMemoryGet(t, e, "k070", 45, "during", true)
	testutil.WantMemoryGet(t, e, "k001", 25, "b1", true)
	g, _ := e.Get([]byte("k040"), 25)
	if g.Source != regioncache.FromDisk || string(g.Value) != "b40" {
		t.Fatalf("evicted child read %+v", g)
	}
	testutil.MustCheck(t, e)
	if n, _ := testutil.Metrics(t, e).Counter("loads_started"); n != 1 {
		t.Fatalf("loads_started = %d, want the one job", n)
	}
}

func TestSplitPendingAndEvicting(t *testing.T) {
	e := testutil.Open(t, regioncache.Options{})
	testutil.Fill(t, e, 40)
	if err := testutil.Hooks(e).Failpoint("load/before-copy", "pause"); err != nil {
		t.Fatal(err)
	}
	// Occupy both loaders so region 5 stays pending.
	for i, r := range []regioncache.Region{testutil.Reg(7, 1, "a", "b"), testutil.Reg(8, 1, "b", "c")} {
		if _, err := e.Load(r); err != nil {
			t.Fatal(i, err)
		}
	}
	if err := testutil.Hooks(e).WaitFailpointPaused(testutil.Context(t), "load/before-copy", 2); err != nil {
		t.Fatal(err)
	}
	pending := testutil.Reg(5, 1, "k", "l")
	if _, err := e.Load(pending); err != nil {
		t.Fatal(err)
	}
	if s := e.RegionState(5); s != regioncache.Pending {
		t.Fatalf("region 5 is %s", s)
	}
	if err := e.Split(pending, []regioncache.Region{testutil.Reg(5, 2, "k", "k020"), testutil.Reg(6, 2, "k020", "l")}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []uint64{5, 6} {
		if s := e.RegionState(id); s != regioncache.Pending {
			t.Fatalf("child %d is %s, want pending", id, s)
		}
	}
	if err := testutil.Hooks(e).Failpoint("load/before-copy", "off"); err != nil {
		t.Fatal(err)
	}
	if err := e.WaitIdle(testutil.Context(t)); err != nil {
		t.Fatal(err)
	}
	testutil.WaitState(t, e, 5, regioncache.Active)
	testutil.WaitState(t, e, 6, regioncache.Active)
	testutil.WantMemoryGet(t, e, "k021", 25, "b21", true)

	// A split of a region being evicted leaves the children absent.
	if err := testutil.Hooks(e).Failpoint("evict/before-delete", "pause"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Evict(testutil.Reg(6, 2, "k020", "l"), "manual"); err != nil {
		t.Fatal(err)
	}
	testutil.WaitState(t, e, 6, regioncache.Evicting)
	if err := e.Split(testutil.Reg(6, 2, "k020", "l"), []regioncache.Region{testutil.Reg(6, 3, "k020", "k030"), testutil.Reg(9, 3, "k030", "l")}); err != nil {
		t.Fatal(err)
	}
	if s := e.RegionState(9); s != regioncache.Absent {
		t.Fatalf("child of an evicting region is %s", s)
	}
	if err := testutil.Hooks(e).Failpoint("evict/before-delete", "off"); err != nil {
		t.Fatal(err)
	}
	testutil.WaitState(t, e, 6, regioncache.Absent)
	testutil.MustCheck(t, e)
}

func TestMergeReloadsWhenASourceWasActive(t *testing.T) {
	e := testutil.Open(t, regioncache.Options{})
	testutil.Fill(t, e, 60)
	a, b := testutil.Reg(1, 3, "k", "k030"), testutil.Reg(2, 3, "k030", "l")
	for _, r := range []regioncache.Region{a, b} {
		if _, err := e.Load(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.WaitIdle(testutil.Context(t)); err != nil {
		t.Fatal(err)
	}
	merged := testutil.Reg(1, 4, "k", "l")
	if err := e.Merge([]regioncache.Region{a, b}, merged); err != nil {
		t.Fatal(err)
	}
	testutil.WaitState(t, e, 2, regioncache.Absent)
	testutil.WaitState(t, e, 1, regioncache.Active)
	if err := e.WaitIdle(testutil.Context(t)); err != nil {
		t.Fatal(err)
	}
	st := testutil.Metrics(t, e)
	if len(st.Regions) != 1 || st.Regions[0].Region.Version != 4 {
		t.Fatalf("regions after merge: %+v", st.Regions)
	}
	testutil.WantMemoryGet(t, e, "k045", 25, "b45", true)
	testutil.MustCheck(t, e)
}

func TestVersionsStaleAndMissed(t *testing.T) {
	e := testutil.Open(t, regioncache.Options{})
	testutil.Fill(t, e, 20)
	if _, err := e.Load(testutil.Reg(1, 5, "k", "l")); err != nil {
		t.Fatal(err)
	}
	testutil.WaitState(t, e, 1, regioncache.Active)
	var rej *regioncache.LoadRejectedError
	if _, err := e.Load(testutil.Reg(1, 4, "k", "l")); !errors.As(err, &rej) || rej.Reason != "stale_version" {
		t.Fatalf("stale load: %v", err)
	}
	// A newer version of an active region: the engine missed a change.
	if _, err := e.Load(testutil.Reg(1, 7, "k", "k5")); !errors.As(err, &rej) || rej.Reason != "version_mismatch" {
		t.Fatalf("newer load: %v", err)
	}
	testutil.WaitState(t, e, 1, regioncache.Absent)
	if _, err := e.Load(testutil.Reg(1, 7, "k", "k5")); err != nil {
		t.Fatal(err)
	}
	testutil.WaitState(t, e, 1, regioncache.Active)
	// A stale eviction still evicts what overlaps its range.
	if _, err := e.Evict(testutil.Reg(1, 2, "k", "l"), "manual"); err != nil {
		t.Fatal(err)
	}
	testutil.WaitState(t, e, 1, regioncache.Absent)
}
