package regioncache_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/testutil"
)

// TestBatchAtomicAcrossMemoryAndDisk: one batch writes
// "a" and "m" (each in a cached region) and "z" (not cached); once a read
// has returned a version of a batch, every read that starts later must see
// the whole batch, and a scan sees whole batches. The reader reads one key,
// then another that the same batches wrote: the second may never be older.
// Before the fix a read of "z" from disk saw a batch whose application to
// "a" in memory had not happened yet, and this test failed within its
// first thousands of reads.
func TestBatchAtomicAcrossMemoryAndDisk(t *testing.T) {
	e := testutil.Open(t, regioncache.Options{Durability: regioncache.DurabilityNoSync})
	keys := []string{"a", "m", "z"}
	write := func(n uint64) error {
		b := new(regioncache.Batch)
		for _, k := range keys {
			b.Put([]byte(k), n, []byte(strconv.FormatUint(n, 10)))
		}
		return e.Write(b)
	}
	if err := write(1); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, r := range []regioncache.Region{
		{ID: 1, Version: 1, Start: []byte("a"), End: []byte("b")},
		{ID: 2, Version: 1, Start: []byte("m"), End: []byte("n")},
	} {
		if _, err := e.Load(r); err != nil {
			t.Fatal(err)
		}
		if err := testutil.Hooks(e).WaitRegionState(ctx, r.ID, regioncache.Active); err != nil {
			t.Fatal(err)
		}
	}

	const writes = 3000
	var done, stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	defer func() { stop.Store(true); wg.Wait() }() // before Close, even after a failure
	go func() {
		defer wg.Done()
		defer done.Store(true)
		for n := uint64(2); n <= writes && !stop.Load(); n++ {
			if err := write(n); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	read := func(k string) uint64 {
		res, err := e.Get([]byte(k), 1<<62)
		if err != nil || !res.Found {
			t.Fatalf("get %s: %+v %v", k, res, err)
		}
		n, _ := strconv.ParseUint(string(res.Value), 10, 64)
		return n
	}
	// Every ordered pair of keys: disk then memory, memory then disk, and
	// the two cached regions either way (a batch is applied to them one
	// after the other).
	pairs := [][2]string{{"z", "a"}, {"z", "m"}, {"a", "z"}, {"a", "m"}, {"m", "a"}}
	reads, scans := 0, 0
	for i := 0; !done.Load(); i++ {
		p := pairs[i%len(pairs)]
		first := read(p[0])
		if second := read(p[1]); second < first {
			t.Fatalf("read %s=%d, then %s=%d: a later read saw part of batch %d", p[0], first, p[1], second, first)
		}
		reads += 2
		if i%4 == 0 {
			res, err := e.Scan([]byte("a"), nil, 1<<62, 0)
			if err != nil || len(res.Pairs) != len(keys) {
				t.Fatalf("scan: %v %v", res.Pairs, err)
			}
			if !(string(res.Pairs[0].Value) == string(res.Pairs[1].Value) && string(res.Pairs[1].Value) == string(res.Pairs[2].Value)) {
				t.Fatalf("scan saw part of a batch: %s", fmt.Sprint(res.Pairs))
			}
			scans++
		}
	}
	wg.Wait()
	t.Logf("%d reads and %d scans during %d batches", reads, scans, writes)
}
