package regioncache_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/regioncache/regioncache"
)

func openEngine(t *testing.T, opts regioncache.Options) *regioncache.Engine {
	t.Helper()
	e, err := regioncache.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return e
}

func waitCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func reg(id, ver uint64, start, end string) regioncache.Region {
	return regioncache.Region{ID: id, Version: ver, Start: []byte(start), End: []byte(end)}
}

// fill writes keys k000..k(n-1) with three versions each (ts 10, 20 and a
// delete marker at 30 for every fifth key).
func fill(t *testing.T, e *regioncache.Engine, n int) {
	t.Helper()
	b := new(regioncache.Batch)
	for i := 0; i < n; i++ {
		k := []byte(fmt.Sprintf("k%03d", i))
		b.Put(k, 10, []byte(fmt.Sprintf("a%d", i))).Put(k, 20, []byte(fmt.Sprintf("b%d", i)))
		if i%5 == 0 {
			b.Delete(k, 30)
		}
	}
	if err := e.Write(b); err != nil {
		t.Fatal(err)
	}
}

func mustCheck(t *testing.T, e *regioncache.Engine) {
	t.Helper()
	diffs, err := e.Check()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range diffs {
		t.Errorf("difference: %s", d)
	}
}

func wantState(t *testing.T, e *regioncache.Engine, id uint64, s regioncache.State) {
	t.Helper()
	if err := e.WaitRegionState(waitCtx(t), id, s); err != nil {
		t.Fatalf("region %d: want %s, is %s: %v", id, s, e.RegionState(id), err)
	}
}

func wantMemoryGet(t *testing.T, e *regioncache.Engine, key string, ts uint64, want string, found bool) {
	t.Helper()
	g, err := e.Get([]byte(key), ts)
	if err != nil {
		t.Fatal(err)
	}
	if g.Source != regioncache.FromMemory || g.Found != found || string(g.Value) != want {
		t.Fatalf("get %s@%d = %q found=%v from %s; want %q found=%v from memory", key, ts, g.Value, g.Found, g.Source, want, found)
	}
}

func TestSplitActiveChildrenActiveAtOnce(t *testing.T) {
	e := openEngine(t, regioncache.Options{})
	fill(t, e, 100)
	parent := reg(1, 1, "k", "l")
	if _, err := e.Load(parent); err != nil {
		t.Fatal(err)
	}
	wantState(t, e, 1, regioncache.Active)
	before := e.MemoryBytes()
	snap, err := e.Snapshot(parent, 25)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Split(parent, []regioncache.Region{reg(1, 2, "k", "k050"), reg(2, 2, "k050", "l")}); err != nil {
		t.Fatal(err)
	}
	if s := e.RegionState(2); s != regioncache.Active {
		t.Fatalf("child 2 is %s right after the split, want active", s)
	}
	wantMemoryGet(t, e, "k010", 25, "b10", true)
	wantMemoryGet(t, e, "k060", 25, "b60", true)
	wantMemoryGet(t, e, "k060", 35, "", false)
	if err := e.Put([]byte("k070"), 40, []byte("new")); err != nil {
		t.Fatal(err)
	}
	wantMemoryGet(t, e, "k070", 45, "new", true)
	// The parent's snapshot still answers as before the split and the write.
	g, err := snap.Get([]byte("k070"), 0)
	if err != nil || string(g.Value) != "b70" {
		t.Fatalf("snapshot get = %q, %v", g.Value, err)
	}
	snap.Release()
	mustCheck(t, e)
	// Once trimmed, the children account exactly the parent's data plus the write.
	if err := e.WaitIdle(waitCtx(t)); err != nil {
		t.Fatal(err)
	}
	if err := e.WaitMemory(waitCtx(t), func(b int64) bool { return b > before && b < before+200 }); err != nil {
		t.Fatalf("memory %d after split, %d before: %v", e.MemoryBytes(), before, err)
	}
}

func TestSplitWhileLoadingEachChildResolvedOnItsOwn(t *testing.T) {
	e := openEngine(t, regioncache.Options{})
	fill(t, e, 90)
	parent := reg(1, 1, "k", "l")
	if err := e.Failpoint("load/after-copy", "pause"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Load(parent); err != nil {
		t.Fatal(err)
	}
	if err := e.WaitFailpointPaused(waitCtx(t), "load/after-copy", 1); err != nil {
		t.Fatal(err)
	}
	into := []regioncache.Region{reg(1, 2, "k", "k030"), reg(2, 2, "k030", "k060"), reg(3, 2, "k060", "l")}
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
	if err := e.Failpoint("load/after-copy", "resume"); err != nil {
		t.Fatal(err)
	}
	if err := e.WaitIdle(waitCtx(t)); err != nil {
		t.Fatal(err)
	}
	wantState(t, e, 1, regioncache.Active)
	wantState(t, e, 2, regioncache.Absent)
	wantState(t, e, 3, regioncache.Active)
	wantMemoryGet(t, e, "k070", 45, "during", true)
	wantMemoryGet(t, e, "k001", 25, "b1", true)
	g, _ := e.Get([]byte("k040"), 25)
	if g.Source != regioncache.FromDisk || string(g.Value) != "b40" {
		t.Fatalf("evicted child read %+v", g)
	}
	mustCheck(t, e)
	if n, _ := e.Counter("loads_started"); n != 1 {
		t.Fatalf("loads_started = %d, want the one job", n)
	}
}

func TestSplitPendingAndEvicting(t *testing.T) {
	e := openEngine(t, regioncache.Options{})
	fill(t, e, 40)
	if err := e.Failpoint("load/before-copy", "pause"); err != nil {
		t.Fatal(err)
	}
	// Occupy both loaders so region 5 stays pending.
	for i, r := range []regioncache.Region{reg(7, 1, "a", "b"), reg(8, 1, "b", "c")} {
		if _, err := e.Load(r); err != nil {
			t.Fatal(i, err)
		}
	}
	if err := e.WaitFailpointPaused(waitCtx(t), "load/before-copy", 2); err != nil {
		t.Fatal(err)
	}
	pending := reg(5, 1, "k", "l")
	if _, err := e.Load(pending); err != nil {
		t.Fatal(err)
	}
	if s := e.RegionState(5); s != regioncache.Pending {
		t.Fatalf("region 5 is %s", s)
	}
	if err := e.Split(pending, []regioncache.Region{reg(5, 2, "k", "k020"), reg(6, 2, "k020", "l")}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []uint64{5, 6} {
		if s := e.RegionState(id); s != regioncache.Pending {
			t.Fatalf("child %d is %s, want pending", id, s)
		}
	}
	if err := e.Failpoint("load/before-copy", "off"); err != nil {
		t.Fatal(err)
	}
	if err := e.WaitIdle(waitCtx(t)); err != nil {
		t.Fatal(err)
	}
	wantState(t, e, 5, regioncache.Active)
	wantState(t, e, 6, regioncache.Active)
	wantMemoryGet(t, e, "k021", 25, "b21", true)

	// A split of a region being evicted leaves the children absent.
	if err := e.Failpoint("evict/before-delete", "pause"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Evict(reg(6, 2, "k020", "l"), "manual"); err != nil {
		t.Fatal(err)
	}
	wantState(t, e, 6, regioncache.Evicting)
	if err := e.Split(reg(6, 2, "k020", "l"), []regioncache.Region{reg(6, 3, "k020", "k030"), reg(9, 3, "k030", "l")}); err != nil {
		t.Fatal(err)
	}
	if s := e.RegionState(9); s != regioncache.Absent {
		t.Fatalf("child of an evicting region is %s", s)
	}
	if err := e.Failpoint("evict/before-delete", "off"); err != nil {
		t.Fatal(err)
	}
	wantState(t, e, 6, regioncache.Absent)
	mustCheck(t, e)
}

func TestMergeReloadsWhenASourceWasActive(t *testing.T) {
	e := openEngine(t, regioncache.Options{})
	fill(t, e, 60)
	a, b := reg(1, 3, "k", "k030"), reg(2, 3, "k030", "l")
	for _, r := range []regioncache.Region{a, b} {
		if _, err := e.Load(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.WaitIdle(waitCtx(t)); err != nil {
		t.Fatal(err)
	}
	merged := reg(1, 4, "k", "l")
	if err := e.Merge([]regioncache.Region{a, b}, merged); err != nil {
		t.Fatal(err)
	}
	wantState(t, e, 2, regioncache.Absent)
	wantState(t, e, 1, regioncache.Active)
	if err := e.WaitIdle(waitCtx(t)); err != nil {
		t.Fatal(err)
	}
	st := e.Stats()
	if len(st.Regions) != 1 || st.Regions[0].Region.Version != 4 {
		t.Fatalf("regions after merge: %+v", st.Regions)
	}
	wantMemoryGet(t, e, "k045", 25, "b45", true)
	mustCheck(t, e)
}

func TestVersionsStaleAndMissed(t *testing.T) {
	e := openEngine(t, regioncache.Options{})
	fill(t, e, 20)
	if _, err := e.Load(reg(1, 5, "k", "l")); err != nil {
		t.Fatal(err)
	}
	wantState(t, e, 1, regioncache.Active)
	var rej *regioncache.LoadRejectedError
	if _, err := e.Load(reg(1, 4, "k", "l")); !errors.As(err, &rej) || rej.Reason != "stale_version" {
		t.Fatalf("stale load: %v", err)
	}
	// A newer version of an active region: the engine missed a change.
	if _, err := e.Load(reg(1, 7, "k", "k5")); !errors.As(err, &rej) || rej.Reason != "version_mismatch" {
		t.Fatalf("newer load: %v", err)
	}
	wantState(t, e, 1, regioncache.Absent)
	if _, err := e.Load(reg(1, 7, "k", "k5")); err != nil {
		t.Fatal(err)
	}
	wantState(t, e, 1, regioncache.Active)
	// A stale eviction still evicts what overlaps its range.
	if _, err := e.Evict(reg(1, 2, "k", "l"), "manual"); err != nil {
		t.Fatal(err)
	}
	wantState(t, e, 1, regioncache.Absent)
}

func TestMemoryLimits(t *testing.T) {
	t.Run("invalid", func(t *testing.T) {
		for _, o := range []regioncache.Options{
			{Capacity: 1000, EvictThreshold: 2000},
			{Capacity: 1000, EvictThreshold: 500, StopLoadThreshold: 600},
			{Capacity: -1},
		} {
			if _, err := regioncache.Open(o); !errors.Is(err, regioncache.ErrInvalidOptions) {
				t.Errorf("%+v: %v", o, err)
			}
		}
	})
	t.Run("load over capacity fails and releases", func(t *testing.T) {
		e := openEngine(t, regioncache.Options{Capacity: 20_000})
		fill(t, e, 200) // ~500 versions, ~70 KB accounted
		if _, err := e.Load(reg(1, 1, "k", "l")); err != nil {
			t.Fatal(err)
		}
		if err := e.WaitIdle(waitCtx(t)); err != nil {
			t.Fatal(err)
		}
		if s := e.RegionState(1); s != regioncache.Absent {
			t.Fatalf("region is %s", s)
		}
		if n, _ := e.Counter("loads_failed"); n != 1 {
			t.Fatalf("loads_failed = %d", n)
		}
		if m := e.MemoryBytes(); m != 0 {
			t.Fatalf("memory %d after a failed load", m)
		}
	})
	t.Run("write over capacity evicts the region", func(t *testing.T) {
		e := openEngine(t, regioncache.Options{Capacity: 20_000})
		fill(t, e, 20)
		if _, err := e.Load(reg(1, 1, "k", "l")); err != nil {
			t.Fatal(err)
		}
		wantState(t, e, 1, regioncache.Active)
		big := make([]byte, 16_000)
		if err := e.Put([]byte("k005"), 50, big); err != nil {
			t.Fatal(err)
		}
		g, _ := e.Get([]byte("k005"), 60)
		if g.Source != regioncache.FromDisk || len(g.Value) != len(big) {
			t.Fatalf("read after the over-capacity write: %s, %d bytes", g.Source, len(g.Value))
		}
		wantState(t, e, 1, regioncache.Absent)
		if m := e.MemoryBytes(); m != 0 {
			t.Fatalf("memory %d", m)
		}
	})
	t.Run("evict threshold evicts least recently read", func(t *testing.T) {
		// Three regions of B bytes each: two fit under the evict threshold
		// (2.5 B), the third passes it, and dropping one gets below the
		// stop-load threshold (2.2 B).
		probe := openEngine(t, regioncache.Options{})
		fill(t, probe, 300)
		if _, err := probe.Load(reg(1, 1, "k000", "k100")); err != nil {
			t.Fatal(err)
		}
		wantState(t, probe, 1, regioncache.Active)
		b := probe.MemoryBytes()
		e := openEngine(t, regioncache.Options{Capacity: 10 * b, EvictThreshold: b * 5 / 2, StopLoadThreshold: b * 22 / 10})
		fill(t, e, 300)
		r1, r2 := reg(1, 1, "k000", "k100"), reg(2, 1, "k100", "k200")
		for _, r := range []regioncache.Region{r1, r2} {
			if _, err := e.Load(r); err != nil {
				t.Fatal(err)
			}
			wantState(t, e, r.ID, regioncache.Active)
		}
		wantMemoryGet(t, e, "k150", 25, "b150", true) // r2 read last
		wantMemoryGet(t, e, "k050", 25, "b50", true)  // r1 read last
		if _, err := e.Load(reg(3, 1, "k200", "k300")); err != nil {
			t.Fatal(err)
		}
		if err := e.WaitIdle(waitCtx(t)); err != nil {
			t.Fatal(err)
		}
		if err := e.WaitRegionState(waitCtx(t), 2, regioncache.Absent); err != nil {
			t.Fatalf("least recently read region 2 is %s", e.RegionState(2))
		}
		wantState(t, e, 1, regioncache.Active)
		wantState(t, e, 3, regioncache.Active)
		if e.MemoryBytes() > b*5/2 {
			t.Fatalf("memory %d above the evict threshold", e.MemoryBytes())
		}
	})
}

func TestAutoLoadEvict(t *testing.T) {
	e := openEngine(t, regioncache.Options{AutoLoadEvict: regioncache.AutoLoadEvict{Enabled: true, Interval: time.Hour}})
	// Keys "h..": 20 keys with 12 versions each; keys "c..": one version each.
	b := new(regioncache.Batch)
	for i := 0; i < 20; i++ {
		for v := uint64(1); v <= 12; v++ {
			b.Put([]byte(fmt.Sprintf("h%02d", i)), v, []byte(fmt.Sprintf("v%d", v)))
		}
		b.Put([]byte(fmt.Sprintf("c%02d", i)), 1, []byte("x"))
	}
	if err := e.Write(b); err != nil {
		t.Fatal(err)
	}
	// The engine learns the region table from the host's events.
	if err := e.Split(reg(9, 1, "a", "z"), []regioncache.Region{reg(9, 2, "a", "c"), reg(2, 2, "c", "h"), reg(1, 2, "h", "z")}); err != nil {
		t.Fatal(err)
	}
	hot, cold := reg(1, 2, "h", "z"), reg(2, 2, "c", "h")
	if _, err := e.Load(cold); err != nil {
		t.Fatal(err)
	}
	wantState(t, e, cold.ID, regioncache.Active)
	for i := 0; i < 5; i++ {
		res, err := e.Scan([]byte("h"), []byte("i"), 5, 0) // steps over 12 versions per key
		if err != nil || len(res.Pairs) != 20 {
			t.Fatalf("scan: %d pairs, %v", len(res.Pairs), err)
		}
	}
	if err := e.RunAutoLoadEvict(waitCtx(t)); err != nil {
		t.Fatal(err)
	}
	wantState(t, e, hot.ID, regioncache.Active)
	wantState(t, e, cold.ID, regioncache.Absent) // nobody read it
	res, err := e.Scan([]byte("h"), []byte("i"), 5, 0)
	if err != nil || res.Source != regioncache.FromMemory || len(res.Pairs) != 20 {
		t.Fatalf("after auto load: %d pairs from %s, %v", len(res.Pairs), res.Source, err)
	}
	mustCheck(t, e)
}
