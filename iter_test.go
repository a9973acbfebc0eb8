package regioncache_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/testutil"
	"github.com/regioncache/regioncache/internal/testutil/leaktest"
)

// iterate walks an iterator from First to its end and closes it.
func iterate(t *testing.T, it *regioncache.Iterator) ([]regioncache.KV, regioncache.ReadInfo) {
	t.Helper()
	var out []regioncache.KV
	for ok := it.First(); ok; ok = it.Next() {
		out = append(out, regioncache.KV{Key: bytes.Clone(it.Key()), Value: bytes.Clone(it.Value())})
	}
	info := it.Info()
	if err := it.Close(); err != nil {
		t.Fatalf("iterator: %v", err)
	}
	return out, info
}

// randomData writes keys k000..k(n-1), each with 1 to 4 versions at ts 1..50,
// a quarter of them delete markers.
func randomData(t *testing.T, e *regioncache.Engine, rng *rand.Rand, n int) {
	t.Helper()
	b := new(regioncache.Batch)
	for i := range n {
		key := fmt.Appendf(nil, "k%03d", i)
		for range 1 + rng.IntN(4) {
			ts := 1 + rng.Uint64N(50)
			if rng.IntN(4) == 0 {
				b.Delete(key, ts)
			} else {
				b.Put(key, ts, fmt.Appendf(nil, "%s@%d", key, ts))
			}
		}
	}
	if err := e.Write(b); err != nil {
		t.Fatal(err)
	}
}

// randomKey is a key of the data's key space, at or between its keys, or
// nil (an open bound).
func randomKey(rng *rand.Rand, n int) []byte {
	switch rng.IntN(8) {
	case 0:
		return nil
	case 1:
		return fmt.Appendf(nil, "k%03d\x00", rng.IntN(n))
	default:
		return fmt.Appendf(nil, "k%03d", rng.IntN(n+5))
	}
}

// checkIterAgainstScan runs random iterators and seeks and compares each with
// Scan over the same range at the same ts.
func checkIterAgainstScan(t *testing.T, e *regioncache.Engine, rng *rand.Rand, n int, phase string) (sources map[regioncache.Source]bool) {
	t.Helper()
	sources = map[regioncache.Source]bool{}
	for range 60 {
		lower, upper := randomKey(rng, n), randomKey(rng, n)
		ts := 1 + rng.Uint64N(60)
		batch := []int{1, 2, 3, 7, 64, 0}[rng.IntN(6)]
		want, err := e.Scan(lower, upper, ts, 0)
		if err != nil {
			t.Fatal(err)
		}
		it, err := e.NewIter(regioncache.IterOptions{LowerBound: lower, UpperBound: upper, Ts: ts, BatchSize: batch})
		if err != nil {
			t.Fatal(err)
		}
		got, info := iterate(t, it)
		if !testutil.SameKVs(got, want.Pairs) {
			t.Fatalf("%s: iterator over [%q, %q) at %d, batch %d:\n got %s\nwant %s", phase, lower, upper, ts, batch,
				testutil.FmtKVs(got), testutil.FmtKVs(want.Pairs))
		}
		if len(got) > 0 {
			sources[info.Source] = true
		}

		// SeekGE lands where a scan from the sought key starts.
		key := randomKey(rng, n)
		from := key
		if bytes.Compare(from, lower) < 0 {
			from = lower
		}
		rest, err := e.Scan(from, upper, ts, 3)
		if err != nil {
			t.Fatal(err)
		}
		it, err = e.NewIter(regioncache.IterOptions{LowerBound: lower, UpperBound: upper, Ts: ts, BatchSize: batch})
		if err != nil {
			t.Fatal(err)
		}
		var seen []regioncache.KV
		for ok := it.SeekGE(key); ok && len(seen) < 3; ok = it.Next() {
			seen = append(seen, regioncache.KV{Key: bytes.Clone(it.Key()), Value: bytes.Clone(it.Value())})
		}
		if err := it.Close(); err != nil {
			t.Fatal(err)
		}
		if len(upper) > 0 && bytes.Compare(from, upper) >= 0 {
			rest.Pairs = nil
		}
		if !testutil.SameKVs(seen, rest.Pairs) {
			t.Fatalf("%s: SeekGE(%q) in [%q, %q) at %d: got %s, want %s", phase, key, lower, upper, ts,
				testutil.FmtKVs(seen), testutil.FmtKVs(rest.Pairs))
		}
	}
	return sources
}

// TestIterAgreesWithScan: over random versions and delete markers, an
// iterator returns exactly what Scan returns, whatever its bounds, ts and
// batch size, while every region is on disk, across cached and uncached
// regions, during a load, after GC and after eviction.
func TestIterAgreesWithScan(t *testing.T) {
	leaktest.Check(t)
	const n = 300
	rng := rand.New(rand.NewPCG(13, 1))
	e := testutil.Open(t, regioncache.Options{})
	ctx := testutil.Context(t)
	hooks := testutil.Hooks(e)
	randomData(t, e, rng, n)
	r1 := regioncache.Region{ID: 1, Version: 1, Start: []byte("k000"), End: []byte("k100")}
	r2 := regioncache.Region{ID: 2, Version: 1, Start: []byte("k100"), End: []byte("k200")}
	r3 := regioncache.Region{ID: 3, Version: 1, Start: []byte("k200")}

	if src := checkIterAgainstScan(t, e, rng, n, "all on disk"); src[regioncache.FromMemory] || src[regioncache.FromBoth] {
		t.Fatalf("nothing is cached, yet iterators read from %v", src)
	}

	for _, r := range []regioncache.Region{r1, r3} {
		if _, err := e.Load(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	if src := checkIterAgainstScan(t, e, rng, n, "r1 and r3 cached"); !src[regioncache.FromBoth] || !src[regioncache.FromMemory] {
		t.Fatalf("iterators read from %v, want some from memory and some across cached and uncached regions", src)
	}

	// During a load: r2's copy is paused after it copied.
	if err := hooks.Failpoint(testutil.FPAfterCopy, "pause"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Load(r2); err != nil {
		t.Fatal(err)
	}
	if err := hooks.WaitFailpointPaused(ctx, testutil.FPAfterCopy, 1); err != nil {
		t.Fatal(err)
	}
	if st := e.RegionState(r2.ID); st != regioncache.Loading {
		t.Fatalf("r2 is %s, want loading", st)
	}
	checkIterAgainstScan(t, e, rng, n, "r2 loading")
	if err := hooks.Failpoint(testutil.FPAfterCopy, "off"); err != nil {
		t.Fatal(err)
	}
	if err := e.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	checkIterAgainstScan(t, e, rng, n, "all cached")

	if err := e.GC(25); err != nil {
		t.Fatal(err)
	}
	checkIterAgainstScan(t, e, rng, n, "after GC at 25")

	if _, err := e.Evict(r1, regioncache.EvictManual); err != nil {
		t.Fatal(err)
	}
	if err := e.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	checkIterAgainstScan(t, e, rng, n, "r1 evicted")
	testutil.MustCheck(t, e)
}

// TestIterHoldsNothingBetweenBatches: an open iterator halfway through its
// range keeps no region's memory: the regions it read are evicted and their
// memory released while it is open, and it then finishes with Scan's
// answer, from disk.
func TestIterHoldsNothingBetweenBatches(t *testing.T) {
	leaktest.Check(t)
	const n = 200
	rng := rand.New(rand.NewPCG(7, 7))
	e := testutil.Open(t, regioncache.Options{})
	ctx := testutil.Context(t)
	randomData(t, e, rng, n)
	all := regioncache.Region{ID: 1, Version: 1, Start: []byte("")}
	if _, err := e.Load(all); err != nil {
		t.Fatal(err)
	}
	if err := e.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	want, err := e.Scan(nil, nil, 60, 0)
	if err != nil {
		t.Fatal(err)
	}
	before := testutil.Metrics(t, e).Reads

	it, err := e.NewIter(regioncache.IterOptions{Ts: 60, BatchSize: 5})
	if err != nil {
		t.Fatal(err)
	}
	var got []regioncache.KV
	ok := it.First()
	for ; ok && len(got) < 12; ok = it.Next() {
		got = append(got, regioncache.KV{Key: bytes.Clone(it.Key()), Value: bytes.Clone(it.Value())})
	}
	if _, err := e.Evict(all, regioncache.EvictManual); err != nil {
		t.Fatal(err)
	}
	if err := e.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	if m := testutil.Metrics(t, e); m.Memory.Used != 0 || len(m.Regions) != 0 {
		t.Fatalf("with an iterator open, eviction left %d bytes and %d regions", m.Memory.Used, len(m.Regions))
	}
	for ; ok; ok = it.Next() {
		got = append(got, regioncache.KV{Key: bytes.Clone(it.Key()), Value: bytes.Clone(it.Value())})
	}
	if info := it.Info(); info.Source != regioncache.FromBoth {
		t.Fatalf("iterator read from %s, want memory then disk (mixed)", info.Source)
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	if !testutil.SameKVs(got, want.Pairs) {
		t.Fatalf("got %s\nwant %s", testutil.FmtKVs(got), testutil.FmtKVs(want.Pairs))
	}
	// The iterator is one read, however many batches it took.
	after := testutil.Metrics(t, e).Reads
	if reads := after.Memory + after.Disk + after.Mixed - before.Memory - before.Disk - before.Mixed; reads != 1 || after.Mixed != before.Mixed+1 {
		t.Fatalf("one iterator counted as %d reads (%+v -> %+v)", reads, before, after)
	}
}

// TestIterLifecycle: the edges of an iterator's life.
func TestIterLifecycle(t *testing.T) {
	leaktest.Check(t)
	e, err := regioncache.Open(regioncache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "b", "c"} {
		if err := e.Put([]byte(k), 5, []byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.NewIter(regioncache.IterOptions{}); !errors.Is(err, regioncache.ErrInvalidTimestamp) {
		t.Fatalf("NewIter at ts 0: %v", err)
	}
	if _, err := e.NewIter(regioncache.IterOptions{Ts: 5, BatchSize: -1}); !errors.Is(err, regioncache.ErrInvalidOptions) {
		t.Fatalf("NewIter with batch size -1: %v", err)
	}

	// Unpositioned, empty ranges, reversed bounds.
	it, err := e.NewIter(regioncache.IterOptions{Ts: 5})
	if err != nil {
		t.Fatal(err)
	}
	if it.Valid() || it.Key() != nil || it.Next() {
		t.Fatal("an unpositioned iterator is at a key")
	}
	if !it.SeekGE([]byte("b")) || string(it.Key()) != "b" || !it.Next() || string(it.Value()) != "c" || it.Next() || it.Valid() {
		t.Fatal("SeekGE(b), Next, Next: want b, c, end")
	}
	if !it.First() || string(it.Key()) != "a" {
		t.Fatal("First after the end: want a")
	}
	if err := it.Close(); err != nil {
		t.Fatal(err)
	}
	if it.Valid() || it.Key() != nil || it.First() || !errors.Is(it.Error(), regioncache.ErrIterClosed) {
		t.Fatalf("a closed iterator: valid %v, error %v", it.Valid(), it.Error())
	}
	if err := it.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	for _, b := range [][2]string{{"b", "b"}, {"c", "a"}, {"x", ""}} {
		it, err := e.NewIter(regioncache.IterOptions{LowerBound: []byte(b[0]), UpperBound: []byte(b[1]), Ts: 5})
		if err != nil {
			t.Fatal(err)
		}
		if b[1] == "" {
			it, _ = e.NewIter(regioncache.IterOptions{LowerBound: []byte(b[0]), Ts: 5})
		}
		if it.First() || it.Error() != nil {
			t.Fatalf("[%q, %q): first %q, error %v", b[0], b[1], it.Key(), it.Error())
		}
		_ = it.Close()
	}

	// The engine closes under an open iterator: it stops with ErrClosed at
	// once, even with the rest of the range in its batch.
	it, err = e.NewIter(regioncache.IterOptions{Ts: 5})
	if err != nil {
		t.Fatal(err)
	}
	if !it.First() {
		t.Fatal(it.Error())
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if it.Next() || !errors.Is(it.Error(), regioncache.ErrClosed) || !errors.Is(it.Close(), regioncache.ErrClosed) {
		t.Fatalf("after the engine closed: %v", it.Error())
	}
	if _, err := e.NewIter(regioncache.IterOptions{Ts: 5}); !errors.Is(err, regioncache.ErrClosed) {
		t.Fatalf("NewIter after Close: %v", err)
	}
}

// TestSnapshotIter: an iterator through a snapshot answers as the
// snapshot's Scan did when it was taken, whatever is written meanwhile; it
// refuses a ts above the snapshot's, and stops with ErrReleased once the
// snapshot is released.
func TestSnapshotIter(t *testing.T) {
	leaktest.Check(t)
	const n = 200
	rng := rand.New(rand.NewPCG(3, 9))
	e := testutil.Open(t, regioncache.Options{})
	ctx := testutil.Context(t)
	randomData(t, e, rng, n)
	reg := regioncache.Region{ID: 1, Version: 1, Start: []byte("k050"), End: []byte("k150")}
	for _, cached := range []bool{false, true} {
		if cached {
			if _, err := e.Load(reg); err != nil {
				t.Fatal(err)
			}
			if err := e.WaitIdle(ctx); err != nil {
				t.Fatal(err)
			}
		}
		s, err := e.Snapshot(reg, 40)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.NewIter(regioncache.IterOptions{Ts: 41}); !errors.Is(err, regioncache.ErrAboveSnapshotTs) {
			t.Fatalf("snapshot iterator above its ts: %v", err)
		}
		for _, ts := range []uint64{0, 40, 20} {
			want, err := s.Scan(nil, nil, ts, 0)
			if err != nil {
				t.Fatal(err)
			}
			it, err := s.NewIter(regioncache.IterOptions{LowerBound: []byte("k000"), Ts: ts, BatchSize: 4})
			if err != nil {
				t.Fatal(err)
			}
			var got []regioncache.KV
			for ok := it.First(); ok; ok = it.Next() {
				got = append(got, regioncache.KV{Key: bytes.Clone(it.Key()), Value: bytes.Clone(it.Value())})
				if len(got) == 3 {
					// Written after the snapshot, at and below its ts.
					if err := e.Put([]byte("k120"), 39, []byte("late")); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := it.Close(); err != nil {
				t.Fatal(err)
			}
			if len(want.Pairs) == 0 || !testutil.SameKVs(got, want.Pairs) {
				t.Fatalf("cached %v, ts %d: got %s\nwant %s", cached, ts, testutil.FmtKVs(got), testutil.FmtKVs(want.Pairs))
			}
		}
		// Pairs fetched before the release are not served after it, whatever
		// the batch size (the default batch holds the whole region here).
		for _, batch := range []int{2, 0} {
			s, err := e.Snapshot(reg, 40)
			if err != nil {
				t.Fatal(err)
			}
			it, err := s.NewIter(regioncache.IterOptions{BatchSize: batch})
			if err != nil {
				t.Fatal(err)
			}
			if !it.First() {
				t.Fatal(it.Error())
			}
			s.Release()
			if it.Next() {
				t.Fatalf("batch %d: Next after Release served %q", batch, it.Key())
			}
			if !errors.Is(it.Close(), regioncache.ErrReleased) {
				t.Fatalf("batch %d: iterator through a released snapshot: %v", batch, it.Error())
			}
		}
		s.Release()
	}
}
