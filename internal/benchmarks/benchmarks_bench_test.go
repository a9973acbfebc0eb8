package benchmarks

// Go benchmarks of every figure, over the same data set and public API as
// Run. The data set is built once per process, at the quick scale unless
// -args -benchsize=full is given:
//
//	go test ./benchmarks -run '^$' -bench . -benchtime 2s
//	go test ./benchmarks -run '^$' -bench 'MVCCScan/cached' -cpuprofile /tmp/cpu.out
//	go test ./benchmarks -run '^$' -bench . -args -benchsize=full

import (
	"context"
	"flag"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/testutil/leaktest"
)

var (
	benchSize   = flag.String("benchsize", "quick", "data scale of the Go benchmarks: quick or full")
	regionsHeap = flag.String("regionsheap", "", "BenchmarkRegions writes a heap profile of the engine holding every region here")
)

var (
	fixtureOnce sync.Once
	fixtureB    *bench
	fixtureErr  error
)

// sharedBench is the data set and engine every benchmark of this file uses.
func sharedBench(b *testing.B) *bench {
	b.Helper()
	fixtureOnce.Do(func() {
		sz := sizesFor(*benchSize != "full")
		var p progress
		if testing.Verbose() {
			p = progress{w: os.Stderr, start: time.Now()}
		}
		fixtureB, fixtureErr = openBench(context.Background(), sz, p)
	})
	if fixtureErr != nil {
		b.Fatal(fixtureErr)
	}
	return fixtureB
}

// TestMain checks that no goroutine outlives the tests and benchmarks once
// the fixture every benchmark shares is closed.
func TestMain(m *testing.M) {
	leaktest.MainAfter(m, func() {
		if fixtureB != nil {
			fixtureB.close()
		}
	})
}

// ensure puts region r in the wanted state (active or not cached).
func ensure(b *testing.B, fx *bench, r regioncache.Region, active bool) {
	b.Helper()
	ctx := context.Background()
	var err error
	switch st := fx.e.RegionState(r.ID); {
	case active && st != regioncache.Active:
		err = fx.loadAndWait(ctx, r)
	case !active && st != regioncache.Absent:
		err = fx.evictAndWait(ctx, r)
	}
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkLoadVsScan: one op copies the whole load region. load is the
// engine (Engine.Load until WaitIdle); raw is a raw Pebble iteration of the
// same sstables; raw-decode adds MVCC decoding; builder adds memstore.RunBuilder;
// pipeline is builder on two goroutines, as the loader copies (loadpipe).
func BenchmarkLoadVsScan(b *testing.B) {
	fx := sharedBench(b)
	reg := fx.fx.data.load.region(idLoad)
	n := fx.fx.data.load.n
	report := func(b *testing.B) {
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "keys/s")
	}
	b.Run("load", func(b *testing.B) {
		ctx := context.Background()
		ensure(b, fx, reg, false)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := fx.loadAndWait(ctx, reg); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if err := fx.evictAndWait(ctx, reg); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		report(b)
	})
	for _, v := range []struct {
		name string
		run  func() error
	}{
		{"raw", func() error { _, _, _, err := fx.rawScan(reg, false); return err }},
		{"raw-decode", func() error { _, _, _, err := fx.rawScan(reg, true); return err }},
		{"builder", func() error { _, _, err := fx.builderOnly(reg); return err }},
		{"pipeline", func() error { _, _, err := fx.pipelineOnly(reg); return err }},
	} {
		b.Run(v.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if err := v.run(); err != nil {
					b.Fatal(err)
				}
			}
			report(b)
		})
	}
}

// BenchmarkMVCCScan: one op is a 100-key Engine.Scan at ts 100 over keys with
// 10 versions; pebble over the twin region, not cached; cached over the MVCC
// region, active after Engine.GC(95).
func BenchmarkMVCCScan(b *testing.B) {
	fx := sharedBench(b)
	starts := indices(3, 1<<14, max(1, fx.fx.data.mvcc.n-100))
	run := func(b *testing.B, ks keyspace, reg regioncache.Region, want regioncache.Source) {
		keys := make([][]byte, len(starts))
		for i, s := range starts {
			keys[i] = ks.key(s)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			res, err := fx.e.Scan(keys[i%len(keys)], reg.End, mvccReadTs, 100)
			if err != nil || res.Source != want || len(res.Pairs) == 0 {
				b.Fatalf("scan: %d pairs from %v, err %v", len(res.Pairs), res.Source, err)
			}
		}
	}
	b.Run("pebble", func(b *testing.B) {
		ks := fx.fx.data.mvccTwin
		reg := ks.region(idMVCCTwin)
		ensure(b, fx, reg, false)
		run(b, ks, reg, regioncache.FromDisk)
	})
	b.Run("cached", func(b *testing.B) {
		ks := fx.fx.data.mvcc
		reg := ks.region(idMVCC)
		ensure(b, fx, reg, true)
		if err := fx.e.GC(mvccSafePoint); err != nil {
			b.Fatal(err)
		}
		run(b, ks, reg, regioncache.FromMemory)
		b.StopTimer()
		ensure(b, fx, reg, false)
	})
}

// BenchmarkGet: one op is an Engine.Get of a random key; pebble of the load
// region's twin, not cached; cached of the load region, active.
func BenchmarkGet(b *testing.B) {
	fx := sharedBench(b)
	idx := indices(1, 1<<16, fx.fx.data.load.n)
	run := func(b *testing.B, ks keyspace, want regioncache.Source) {
		keys := make([][]byte, len(idx))
		for i, x := range idx {
			keys[i] = ks.key(x)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			res, err := fx.e.Get(keys[i%len(keys)], readTs)
			if err != nil || !res.Found || res.Source != want {
				b.Fatalf("get: %+v %v", res, err)
			}
		}
	}
	b.Run("pebble", func(b *testing.B) {
		ks := fx.fx.data.loadTwin
		ensure(b, fx, ks.region(idLoadTwin), false)
		run(b, ks, regioncache.FromDisk)
	})
	b.Run("cached", func(b *testing.B) {
		ks := fx.fx.data.load
		reg := ks.region(idLoad)
		ensure(b, fx, reg, true)
		run(b, ks, regioncache.FromMemory)
		b.StopTimer()
		ensure(b, fx, reg, false)
	})
}

// BenchmarkMemoryAmplification: one op loads the load region; it reports the
// Go heap growth and the accounted bytes per logical byte of the last load.
func BenchmarkMemoryAmplification(b *testing.B) {
	fx := sharedBench(b)
	ks := fx.fx.data.load
	reg := ks.region(idLoad)
	ctx := context.Background()
	ensure(b, fx, reg, false)
	var heapRatio, acctRatio float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		heap0, mem0 := heapAfterGC(), memoryUsed(fx.e)
		b.StartTimer()
		if err := fx.loadAndWait(ctx, reg); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		heap1, mem1 := heapAfterGC(), memoryUsed(fx.e)
		heapRatio = (float64(heap1) - float64(heap0)) / float64(ks.logicalBytes())
		acctRatio = float64(mem1-mem0) / float64(ks.logicalBytes())
		if err := fx.evictAndWait(ctx, reg); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(heapRatio, "heap-B/logical-B")
	b.ReportMetric(acctRatio, "accounted-B/logical-B")
}

// BenchmarkWrite: one op is an Engine.Write of a 100-version batch; active
// into a cached region, pebble into a region that is not cached.
func BenchmarkWrite(b *testing.B) {
	fx := sharedBench(b)
	var ts atomic.Uint64
	ts.Store(writeTsBase << 1)
	run := func(b *testing.B, ks keyspace, id uint64, active bool) {
		ensure(b, fx, ks.region(id), active)
		r := rand.New(rand.NewPCG(uint64(id), 1))
		vbuf := make([]byte, valueLen)
		const chunk = 1000
		batches := make([]*regioncache.Batch, 0, chunk)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if i%chunk == 0 {
				b.StopTimer()
				batches = batches[:0]
				for j := 0; j < min(chunk, b.N-i); j++ {
					bt := new(regioncache.Batch)
					t := ts.Add(1)
					for k := 0; k < 100; k++ {
						x := r.IntN(ks.n)
						bt.Put(ks.key(x), t, fillValue(vbuf, 3, x, int(t)))
					}
					batches = append(batches, bt)
				}
				b.StartTimer()
			}
			if err := fx.e.Write(batches[i%chunk]); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)*100/b.Elapsed().Seconds(), "writes/s")
	}
	b.Run("pebble", func(b *testing.B) { run(b, fx.fx.data.writeB, idWriteB, false) })
	b.Run("active", func(b *testing.B) { run(b, fx.fx.data.writeA, idWriteA, true) })
}

// BenchmarkReadDuringLoad: one op is an Engine.Get of an active read region;
// loading runs the load region's load and eviction in a loop meanwhile. Both
// report the p99 of the op.
func BenchmarkReadDuringLoad(b *testing.B) {
	fx := sharedBench(b)
	reg := fx.fx.data.load.region(idLoad)
	var keys [][]byte
	r := rand.New(rand.NewPCG(7, 7))
	for i := 0; i < 1<<16; i++ {
		ks := fx.fx.data.reads[r.IntN(len(fx.fx.data.reads))]
		keys = append(keys, ks.key(r.IntN(ks.n)))
	}
	run := func(b *testing.B) {
		lat := make([]time.Duration, 0, b.N)
		for i := 0; i < b.N; i++ {
			t := time.Now()
			res, err := fx.e.Get(keys[i%len(keys)], readTs)
			lat = append(lat, time.Since(t))
			if err != nil || res.Source != regioncache.FromMemory {
				b.Fatalf("get: %+v %v", res, err)
			}
		}
		b.StopTimer()
		sortDurations(lat)
		b.ReportMetric(micros(percentile(lat, 99)), "p99-us")
	}
	b.Run("idle", func(b *testing.B) {
		ensure(b, fx, reg, false)
		b.ResetTimer()
		run(b)
	})
	b.Run("loading", func(b *testing.B) {
		ensure(b, fx, reg, false)
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		var loads atomic.Int64
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if err := fx.loadAndWait(ctx, reg); err != nil {
					return
				}
				loads.Add(1)
				if err := fx.evictAndWait(context.Background(), reg); err != nil {
					return
				}
			}
		}()
		b.ResetTimer()
		run(b)
		cancel()
		wg.Wait()
		b.ReportMetric(float64(loads.Load()), "loads")
		ensure(b, fx, reg, false)
	})
}

// BenchmarkDedupStorm: one op is one load request in a storm of b.N requests
// over 1000 regions from 16 goroutines; engine against a fresh engine,
// singleflight against singleflight.Group.Do keyed by region id.
func BenchmarkDedupStorm(b *testing.B) {
	const regions, goroutines = 1000, 16
	regs := make([]regioncache.Region, regions)
	keys := make([]string, regions)
	for i := range regs {
		regs[i] = dedupRegion(i)
		keys[i] = strconv.Itoa(i + 1)
	}
	// ns/op is the storm's wall time per request (as in the figure): the
	// engine's copies, which finish after the last request, are not in it.
	report := func(b *testing.B, res stormResult) {
		b.ReportMetric(res.nsPerRequest(), "ns/op")
		b.ReportMetric(micros(percentile(res.lat, 50)), "p50-us")
		b.ReportMetric(micros(percentile(res.lat, 99)), "p99-us")
	}
	b.Run("engine", func(b *testing.B) {
		ctx := context.Background()
		b.StopTimer()
		e, err := dedupEngine(ctx, regions)
		if err != nil {
			b.Fatal(err)
		}
		defer e.Close()
		plan := stormPlan(b.N, regions, goroutines)
		b.StartTimer()
		res, err := engineStorm(ctx, e, regs, plan)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if want := int64(min(b.N, regions)); res.copies != want {
			b.Fatalf("%d copies, want %d", res.copies, want)
		}
		report(b, res.stormResult)
		b.ReportMetric(float64(res.copies), "copies")
	})
	b.Run("singleflight", func(b *testing.B) {
		plan := stormPlan(b.N, regions, goroutines)
		sf := newSFRegistry()
		res, err := storm(plan, func(ri int) error { return sf.do(keys[ri], regs[ri]) })
		if err != nil {
			b.Fatal(err)
		}
		report(b, res)
		b.ReportMetric(float64(sf.registrations.Load()), "copies")
	})
}

// BenchmarkRegions: one op registers one empty region (an actor) in a fresh
// engine holding b.N of them; it reports the heap bytes per region.
// Use -benchtime 100000x for the figure's scale.
func BenchmarkRegions(b *testing.B) {
	regionsHeapProfile = *regionsHeap
	defer func() { regionsHeapProfile = "" }()
	res, err := registerRegions(context.Background(), b.N, time.Hour, progress{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(res.heapGrowth/float64(res.active), "heap-B/region")
	b.ReportMetric(float64(res.active)/res.seconds, "regions/s")
}
