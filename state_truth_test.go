package regioncache_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/testutil"
)

// TestWriteOverCapacityStateIsTrueWhenWriteReturns is issue 11 point 4: a
// write that would pass the capacity stops its region serving from memory;
// once Write has returned, RegionState must no longer say active (and once
// WaitIdle has returned, the region is gone). Before the fix the eviction
// was only sent to the supervisor, and RegionState said active after Write
// and WaitIdle in 199 runs of 200; this test failed in its first round.
func TestWriteOverCapacityStateIsTrueWhenWriteReturns(t *testing.T) {
	const capacity = 64 << 10
	e, err := regioncache.Open(regioncache.Options{Capacity: capacity})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	big := make([]byte, capacity)
	for round := 1; round <= 20; round++ {
		r := regioncache.Region{ID: uint64(round), Version: 1, Start: []byte(fmt.Sprintf("r%02d", round)), End: []byte(fmt.Sprintf("r%02d~", round))}
		key := append(append([]byte(nil), r.Start...), '/', 'k')
		if err := e.Put(key, 10, []byte("small")); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Load(r); err != nil {
			t.Fatal(err)
		}
		if err := testutil.Hooks(e).WaitRegionState(ctx, r.ID, regioncache.Active); err != nil {
			t.Fatal(err)
		}
		if err := e.Put(key, 20, big); err != nil {
			t.Fatal(err)
		}
		if s := e.RegionState(r.ID); s == regioncache.Active {
			t.Fatalf("round %d: region %s after a write over capacity returned, want it leaving memory", round, s)
		}
		res, err := e.Get(key, 30)
		if err != nil || res.Source != regioncache.FromDisk || len(res.Value) != len(big) {
			t.Fatalf("round %d: read after the write: source %s, %d bytes, %v", round, res.Source, len(res.Value), err)
		}
		if err := e.WaitIdle(ctx); err != nil {
			t.Fatal(err)
		}
		if s := e.RegionState(r.ID); s != regioncache.Absent {
			t.Fatalf("round %d: region %s after WaitIdle, want absent", round, s)
		}
		if m := testutil.Metrics(t, e).Memory.Used; m > capacity {
			t.Fatalf("round %d: memory %d above capacity %d", round, m, capacity)
		}
	}
	if n, _ := testutil.Metrics(t, e).Counter("evictions"); n != 20 {
		t.Fatalf("evictions %d, want 20", n)
	}
}
