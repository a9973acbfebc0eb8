package regioncache_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/testutil"
)

// TestLoadTooBigForCapacityDoesNotGrowTheHeap is issue 11 point 6: loading
// a region far larger than the capacity must stop at the first chunk that
// does not fit, before allocating the rest. Before the fix a loader reserved
// bytes only every 4,096 versions, after copying them: this load allocated
// the whole region (about 48 MiB here) before it failed, and the test failed
// with an allocation of that size. The bound is generous (the capacity plus
// 16 MiB for Pebble's reads and the engine), far below the region's size.
func TestLoadTooBigForCapacityDoesNotGrowTheHeap(t *testing.T) {
	const (
		capacity  = 1 << 20
		valueSize = 512 << 10
		versions  = 96 // 48 MiB
		bound     = capacity + 16<<20
	)
	e, err := regioncache.Open(regioncache.Options{Dir: t.TempDir(), Capacity: capacity})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	value := make([]byte, valueSize)
	for i := 0; i < versions; i++ {
		value[0] = byte(i)
		if err := e.Put([]byte(fmt.Sprintf("k%03d", i)), 10, value); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := e.Load(regioncache.Region{ID: 1, Version: 1, Start: []byte("k"), End: []byte("l")}); err != nil {
		t.Fatal(err)
	}
	if err := e.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)

	if s := e.RegionState(1); s != regioncache.Absent {
		t.Fatalf("region %s, want absent (the load cannot fit)", s)
	}
	if n, _ := testutil.Metrics(t, e).Counter("loads_failed"); n != 1 {
		t.Fatalf("loads_failed %d, want 1", n)
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %d KiB while loading a %d KiB region into %d KiB", allocated>>10, versions*valueSize>>10, capacity>>10)
	if allocated > bound {
		t.Fatalf("allocated %d bytes loading a region that cannot fit in %d; want at most %d", allocated, capacity, bound)
	}
	if m := testutil.Metrics(t, e).Memory.Used; m != 0 {
		t.Fatalf("memory %d after the failed load, want 0", m)
	}
}
