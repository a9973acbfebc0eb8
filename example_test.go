package regioncache_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/regioncache/regioncache"
)

// Open with the zero Options runs an engine with its disk engine (Pebble) in
// memory and the documented defaults.
func ExampleOpen() {
	e, err := regioncache.Open(regioncache.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()

	o := e.Options() // defaults filled in
	fmt.Printf("loaders %d, capacity %d MiB, evict at %d MiB, stop loads at %d MiB\n",
		o.Loaders, o.Capacity>>20, o.EvictThreshold>>20, o.StopLoadThreshold>>20)
	// Output:
	// loaders 2, capacity 1024 MiB, evict at 921 MiB, stop loads at 819 MiB
}

// Options left zero take their defaults; settings that cannot work are
// refused with the reason.
func ExampleOptions() {
	e, err := regioncache.Open(regioncache.Options{Capacity: 64 << 20, Loaders: 4})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	fmt.Println(e.Options().Loaders, e.Options().Capacity>>20)

	_, err = regioncache.Open(regioncache.Options{Capacity: 100, EvictThreshold: 200, StopLoadThreshold: 50})
	fmt.Println(err)
	// Output:
	// 4 64
	// regioncache: invalid options: evict threshold 200 is above capacity 100
}

// Write commits a batch atomically: to disk first, then to every cached
// region it touches. Reads see every version at or below their timestamp.
func ExampleEngine_Write() {
	e, err := regioncache.Open(regioncache.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()

	b := new(regioncache.Batch).
		Put([]byte("apple"), 10, []byte("red")).
		Put([]byte("apple"), 20, []byte("green")).
		Put([]byte("kiwi"), 10, []byte("brown")).
		Delete([]byte("kiwi"), 30)
	if err := e.Write(b); err != nil {
		log.Fatal(err)
	}
	for _, r := range []struct {
		key string
		ts  uint64
	}{{"apple", 15}, {"apple", 25}, {"kiwi", 25}, {"kiwi", 35}} {
		g, err := e.Get([]byte(r.key), r.ts)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s@%d: %q found=%v\n", r.key, r.ts, g.Value, g.Found)
	}
	// Output:
	// apple@15: "red" found=true
	// apple@25: "green" found=true
	// kiwi@25: "brown" found=true
	// kiwi@35: "" found=false
}

// Load asks for a region to be cached and returns at once; WaitIdle waits
// for the copy. Asking again changes nothing.
func ExampleEngine_Load() {
	e, err := regioncache.Open(regioncache.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	if err := e.Put([]byte("b1"), 10, []byte("v")); err != nil {
		log.Fatal(err)
	}

	r := regioncache.Region{ID: 1, Version: 1, Start: []byte("a"), End: []byte("m")}
	out, err := e.Load(r)
	fmt.Println(out, err)
	out, err = e.Load(r)
	fmt.Println(out, err)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.WaitIdle(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println(e.RegionState(r.ID))

	// A region overlapping a held one is refused, with the reason.
	_, err = e.Load(regioncache.Region{ID: 2, Version: 1, Start: []byte("k"), End: []byte("z")})
	fmt.Println(err)
	// Output:
	// accepted <nil>
	// deduplicated <nil>
	// active
	// regioncache: load of region 2 v1 ["k", "z") rejected (overlap): overlaps region 1 v1 ["a", "m")
}

// Get reads one key at a timestamp and says where the answer came from:
// memory when the key's region is active (and the read is above its safe
// point), else disk, with the reason. The value is the same either way.
func ExampleEngine_Get() {
	e, err := regioncache.Open(regioncache.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	if err := e.Put([]byte("b1"), 10, []byte("v1")); err != nil {
		log.Fatal(err)
	}
	show := func() {
		g, err := e.Get([]byte("b1"), 20)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s from %s %s\n", g.Value, g.Source, g.Reason)
	}
	show()

	r := regioncache.Region{ID: 1, Version: 1, Start: []byte("a"), End: []byte("m")}
	if _, err := e.Load(r); err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.WaitIdle(ctx); err != nil {
		log.Fatal(err)
	}
	show()
	// Output:
	// v1 from disk not_cached
	// v1 from memory
}

// Scan reads a key range in order; a range crossing cached and uncached
// regions is served piecewise and reported as mixed.
func ExampleEngine_Scan() {
	e, err := regioncache.Open(regioncache.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	b := new(regioncache.Batch)
	for _, k := range []string{"a1", "a2", "n1", "n2"} {
		b.Put([]byte(k), 10, []byte("v-"+k))
	}
	if err := e.Write(b); err != nil {
		log.Fatal(err)
	}
	if _, err := e.Load(regioncache.Region{ID: 1, Version: 1, Start: []byte("a"), End: []byte("m")}); err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.WaitIdle(ctx); err != nil {
		log.Fatal(err)
	}

	for _, rng := range [][2]string{{"a", "m"}, {"a", ""}} {
		s, err := e.Scan([]byte(rng[0]), []byte(rng[1]), 20, 0)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("[%s, %s): %d keys from %s:", rng[0], rng[1], len(s.Pairs), s.Source)
		for _, kv := range s.Pairs {
			fmt.Printf(" %s=%s", kv.Key, kv.Value)
		}
		fmt.Println()
	}
	// Output:
	// [a, m): 2 keys from memory: a1=v-a1 a2=v-a2
	// [a, ): 4 keys from mixed: a1=v-a1 a2=v-a2 n1=v-n1 n2=v-n2
}

// A snapshot answers as the region was when it was taken, whatever happens
// after: new writes, even eviction. An evicted region keeps its memory
// (pending_evict) until its last snapshot is released.
func ExampleEngine_Snapshot() {
	e, err := regioncache.Open(regioncache.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Put([]byte("b1"), 10, []byte("old")); err != nil {
		log.Fatal(err)
	}
	r := regioncache.Region{ID: 1, Version: 1, Start: []byte("a"), End: []byte("m")}
	if _, err := e.Load(r); err != nil {
		log.Fatal(err)
	}
	if err := e.WaitIdle(ctx); err != nil {
		log.Fatal(err)
	}

	s, err := e.Snapshot(r, 20)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("snapshot from", s.Info().Source)
	if err := e.Put([]byte("b1"), 15, []byte("new")); err != nil {
		log.Fatal(err)
	}
	if _, err := e.Evict(r, "manual"); err != nil {
		log.Fatal(err)
	}
	fmt.Println("region", e.RegionState(r.ID))

	g, err := s.Get([]byte("b1"), 0) // 0: the snapshot's ts
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("snapshot reads %s from %s\n", g.Value, g.Source)
	live, err := e.Get([]byte("b1"), 20)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("engine reads %s from %s\n", live.Value, live.Source)

	s.Release() // the region's memory is released once no snapshot holds it
	// Output:
	// snapshot from memory
	// region pending_evict
	// snapshot reads old from memory
	// engine reads new from disk
}

// Evict drops every held region overlapping the range and returns them once
// each has taken the eviction; its memory is released in the background.
func ExampleEngine_Evict() {
	e, err := regioncache.Open(regioncache.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Put([]byte("b1"), 10, []byte("v")); err != nil {
		log.Fatal(err)
	}
	for _, r := range []regioncache.Region{
		{ID: 1, Version: 1, Start: []byte("a"), End: []byte("m")},
		{ID: 2, Version: 1, Start: []byte("m"), End: []byte("z")},
	} {
		if _, err := e.Load(r); err != nil {
			log.Fatal(err)
		}
	}
	if err := e.WaitIdle(ctx); err != nil {
		log.Fatal(err)
	}

	// Any range evicts what it overlaps: here both regions.
	gone, err := e.Evict(regioncache.Region{ID: 9, Version: 1, Start: []byte("k"), End: []byte("p")}, "manual")
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range gone {
		fmt.Println("evicted", r)
	}
	if err := e.WaitIdle(ctx); err != nil {
		log.Fatal(err)
	}
	g, err := e.Get([]byte("b1"), 20)
	if err != nil {
		log.Fatal(err)
	}
	m, err := e.Metrics()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(e.RegionState(1), e.RegionState(2), m.Memory.Used, g.Source)
	// Output:
	// evicted region 1 v1 ["a", "m")
	// evicted region 2 v1 ["m", "z")
	// absent absent 0 disk
}
