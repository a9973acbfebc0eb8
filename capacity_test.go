package regioncache_test

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/testutil"
)

// TestLoadTooBigForCapacityDoesNotGrowTheHeap: loading
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
	e := testutil.Open(t, regioncache.Options{Dir: t.TempDir(), Capacity: capacity})
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

// TestCompactionThatCannotFitLeavesTheRegionItsData checks the compaction
// half of ARCHITECTURE.md's invariant 7: a compaction whose new run the
// capacity refuses gives up at its first refused chunk, gives its bytes
// back, and the region keeps its data and keeps serving it from memory.
// A GC drops the older of each key's two versions, which calls for a
// compaction into a new run of half the base; the capacity leaves room
// for less than that.
func TestCompactionThatCannotFitLeavesTheRegionItsData(t *testing.T) {
	r := regioncache.Region{ID: 1, Version: 1, Start: []byte("k"), End: []byte("l")}
	value := func(ts int) []byte { return bytes.Repeat([]byte{byte('a' + ts/10)}, 2<<10) }
	fill := func(e *regioncache.Engine) {
		b := new(regioncache.Batch)
		for i := 0; i < 100; i++ {
			k := []byte(fmt.Sprintf("k%03d", i))
			b.Put(k, 10, value(10)).Put(k, 20, value(20))
		}
		if err := e.Write(b); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Load(r); err != nil {
			t.Fatal(err)
		}
		if err := testutil.Hooks(e).WaitRegionState(testutil.Context(t), r.ID, regioncache.Active); err != nil {
			t.Fatal(err)
		}
	}
	// The same data in an engine without a tight capacity: what it holds.
	probe := testutil.Open(t, regioncache.Options{})
	fill(probe)
	held := testutil.Metrics(t, probe).Memory.Used

	capacity := held + 64<<10 // the new run needs about held/2
	log := &testutil.LogLines{}
	logger := zerolog.New(log)
	e := testutil.Open(t, regioncache.Options{Capacity: capacity, EvictThreshold: capacity, StopLoadThreshold: capacity, Logger: &logger})
	fill(e)
	if err := e.GC(25); err != nil {
		t.Fatal(err)
	}
	if err := e.WaitIdle(testutil.Context(t)); err != nil {
		t.Fatal(err)
	}
	if len(log.Matching("compaction gave up")) == 0 {
		t.Fatalf("no compaction gave up (memory %d of %d): the test did not reach the case", testutil.Metrics(t, e).Memory.Used, capacity)
	}
	if s := e.RegionState(r.ID); s != regioncache.Active {
		t.Fatalf("region %s after its compaction gave up, want active", s)
	}
	for i := 0; i < 100; i++ {
		res, err := e.Get([]byte(fmt.Sprintf("k%03d", i)), 30)
		if err != nil || res.Source != regioncache.FromMemory || !bytes.Equal(res.Value, value(20)) {
			t.Fatalf("k%03d after the refused compaction: source %s, found %v, %v", i, res.Source, res.Found, err)
		}
	}
	m := testutil.Metrics(t, e)
	if m.Memory.Used != held {
		t.Fatalf("memory %d after the refused compaction, want the region's %d (its bytes given back)", m.Memory.Used, held)
	}
	if peak, overdrawn := testutil.Hooks(e).MemoryPeak(); peak > capacity || overdrawn != 0 {
		t.Fatalf("peak %d of capacity %d, %d overdrawn", peak, capacity, overdrawn)
	}
	if err := e.CheckMemory(); err != nil {
		t.Fatal(err)
	}
	testutil.MustCheck(t, e)
}
