package regioncache_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/cockroachdb/pebble/v2"

	"github.com/regioncache/regioncache"
)

// A host embeds the engine beside its region table: it writes every
// version through it, tells it which regions to cache and how its table
// changes, and reads through it; nothing else is needed. (Set Dir to keep
// the data on disk, Registerer to export Prometheus metrics.)
func Example_embedding() {
	ctx := context.Background()
	e, err := regioncache.Open(regioncache.Options{
		Capacity: 64 << 20,
		Pebble:   &pebble.Options{CacheSize: 16 << 20}, // any Pebble tuning
	})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()

	// Every write goes through the engine, which commits it to Pebble and
	// to the cached regions it touches.
	b := new(regioncache.Batch)
	for i, name := range []string{"ada", "bob", "cy", "dee"} {
		b.Put(fmt.Appendf(nil, "user/%d", i), 10, []byte(name))
	}
	if err := e.Write(b); err != nil {
		log.Fatal(err)
	}

	// Cache a hot region. Load returns at once; the copy runs behind.
	users := regioncache.Region{ID: 1, Version: 1, Start: []byte("user/"), End: []byte("user0")}
	if _, err := e.Load(users); err != nil {
		log.Fatal(err)
	}
	if err := e.WaitIdle(ctx); err != nil { // a host need not wait; reads go to disk meanwhile
		log.Fatal(err)
	}

	res, err := e.Get([]byte("user/1"), 20)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("get user/1: %s from %s\n", res.Value, res.Source)

	// Stream a range.
	it, err := e.NewIter(regioncache.IterOptions{LowerBound: users.Start, UpperBound: users.End, Ts: 20})
	if err != nil {
		log.Fatal(err)
	}
	for ok := it.First(); ok; ok = it.Next() {
		fmt.Printf("  %s=%s", it.Key(), it.Value())
	}
	fmt.Printf(" (%s)\n", it.Info().Source)
	if err := it.Close(); err != nil {
		log.Fatal(err)
	}

	// A snapshot is a view as of its ts: later writes do not show.
	s, err := e.Snapshot(users, 20)
	if err != nil {
		log.Fatal(err)
	}
	if err := e.Put([]byte("user/1"), 15, []byte("bobby")); err != nil {
		log.Fatal(err)
	}
	old, _ := s.Get([]byte("user/1"), 0)
	now, _ := e.Get([]byte("user/1"), 20)
	_, above := s.Get([]byte("user/1"), 30)
	fmt.Printf("snapshot: %s, engine: %s, above its ts: %v\n", old.Value, now.Value, errors.Is(above, regioncache.ErrAboveSnapshotTs))
	s.Release()

	// The host's table changes: the region splits, and one half goes cold.
	left := regioncache.Region{ID: 1, Version: 2, Start: []byte("user/"), End: []byte("user/2")}
	right := regioncache.Region{ID: 2, Version: 2, Start: []byte("user/2"), End: []byte("user0")}
	if err := e.Split(users, []regioncache.Region{left, right}); err != nil {
		log.Fatal(err)
	}
	if _, err := e.Evict(right, regioncache.EvictAutoEvict); err != nil {
		log.Fatal(err)
	}
	if err := e.WaitIdle(ctx); err != nil {
		log.Fatal(err)
	}

	m, err := e.Metrics()
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range m.Regions {
		fmt.Printf("%s: %s, %d versions\n", r.Region, r.State, r.Versions)
	}
	fmt.Printf("loads completed %d, evictions %d, reads from memory %d\n", m.Loads.Completed, m.Evictions, m.Reads.Memory)
	// Output:
	// get user/1: bob from memory
	//   user/0=ada  user/1=bob  user/2=cy  user/3=dee (memory)
	// snapshot: bob, engine: bobby, above its ts: true
	// region 1 v2 ["user/", "user/2"): active, 3 versions
	// loads completed 1, evictions 1, reads from memory 4
}
