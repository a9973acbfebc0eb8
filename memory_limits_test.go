package regioncache_test

// Engine tests, memory limits: real Pebble (in memory), real actors, waits on
// conditions.

import (
	"errors"
	"testing"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/testutil"
)

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
		e := testutil.Open(t, regioncache.Options{Capacity: 20_000})
		testutil.Fill(t, e, 200) // ~500 versions, ~70 KB accounted
		if _, err := e.Load(testutil.Reg(1, 1, "k", "l")); err != nil {
			t.Fatal(err)
		}
		if err := e.WaitIdle(testutil.Context(t)); err != nil {
			t.Fatal(err)
		}
		if s := e.RegionState(1); s != regioncache.Absent {
			t.Fatalf("region is %s", s)
		}
		if n, _ := testutil.Metrics(t, e).Counter("loads_failed"); n != 1 {
			t.Fatalf("loads_failed = %d", n)
		}
		if m := testutil.Metrics(t, e).Memory.Used; m != 0 {
			t.Fatalf("memory %d after a failed load", m)
		}
	})
	t.Run("write over capacity evicts the region", func(t *testing.T) {
		e := testutil.Open(t, regioncache.Options{Capacity: 20_000})
		testutil.Fill(t, e, 20)
		if _, err := e.Load(testutil.Reg(1, 1, "k", "l")); err != nil {
			t.Fatal(err)
		}
		testutil.WaitState(t, e, 1, regioncache.Active)
		// One byte more than the capacity has left, whatever the store's
		// layout costs.
		big := make([]byte, 20_000-testutil.Metrics(t, e).Memory.Used+1)
		if err := e.Put([]byte("k005"), 50, big); err != nil {
			t.Fatal(err)
		}
		g, _ := e.Get([]byte("k005"), 60)
		if g.Source != regioncache.FromDisk || len(g.Value) != len(big) {
			t.Fatalf("read after the over-capacity write: %s, %d bytes", g.Source, len(g.Value))
		}
		testutil.WaitState(t, e, 1, regioncache.Absent)
		if m := testutil.Metrics(t, e).Memory.Used; m != 0 {
			t.Fatalf("memory %d", m)
		}
	})
	t.Run("evict threshold evicts least recently read", func(t *testing.T) {
		// Three regions of B bytes each: two fit under the evict threshold
		// (2.5 B), the third passes it, and dropping one gets below the
		// stop-load threshold (2.2 B).
		probe := testutil.Open(t, regioncache.Options{})
		testutil.Fill(t, probe, 300)
		if _, err := probe.Load(testutil.Reg(1, 1, "k000", "k100")); err != nil {
			t.Fatal(err)
		}
		testutil.WaitState(t, probe, 1, regioncache.Active)
		b := testutil.Metrics(t, probe).Memory.Used
		e := testutil.Open(t, regioncache.Options{Capacity: 10 * b, EvictThreshold: b * 5 / 2, StopLoadThreshold: b * 22 / 10})
		testutil.Fill(t, e, 300)
		r1, r2 := testutil.Reg(1, 1, "k000", "k100"), testutil.Reg(2, 1, "k100", "k200")
		for _, r := range []regioncache.Region{r1, r2} {
			if _, err := e.Load(r); err != nil {
				t.Fatal(err)
			}
			testutil.WaitState(t, e, r.ID, regioncache.Active)
		}
		testutil.WantMemoryGet(t, e, "k150", 25, "b150", true) // r2 read last
		testutil.WantMemoryGet(t, e, "k050", 25, "b50", true)  // r1 read last
		if _, err := e.Load(testutil.Reg(3, 1, "k200", "k300")); err != nil {
			t.Fatal(err)
		}
		if err := e.WaitIdle(testutil.Context(t)); err != nil {
			t.Fatal(err)
		}
		if err := testutil.Hooks(e).WaitRegionState(testutil.Context(t), 2, regioncache.Absent); err != nil {
			t.Fatalf("least recently read region 2 is %s", e.RegionState(2))
		}
		testutil.WaitState(t, e, 1, regioncache.Active)
		testutil.WaitState(t, e, 3, regioncache.Active)
		if testutil.Metrics(t, e).Memory.Used > b*5/2 {
			t.Fatalf("memory %d above the evict threshold", testutil.Metrics(t, e).Memory.Used)
		}
	})
}
