package benchmarks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/loadpipe"
	"github.com/regioncache/regioncache/internal/memstore"
	"github.com/regioncache/regioncache/internal/mvcc"
)

// bench is an engine and a raw Pebble over the shared data set.
type bench struct {
	e   *regioncache.Engine
	raw *pebble.DB
	fx  *fixture
	sz  sizes
	p   progress
	// loadSeconds are the timed loads of the load region, for read_during_load.
	loadSeconds []float64
}

// openBench prepares the data set and opens the engine on it (with the read
// regions active) and Pebble on its checkpoint.
func openBench(ctx context.Context, sz sizes, p progress) (*bench, error) {
	fx, err := prepareFixture(ctx, sz, p)
	if err != nil {
		return nil, fmt.Errorf("preparing data: %w", err)
	}
	e, err := regioncache.Open(regioncache.Options{Dir: fx.engineDir, Durability: benchDurability})
	if err != nil {
		fx.remove()
		return nil, err
	}
	raw, err := pebble.Open(fx.rawDir, pebbleOptions())
	if err != nil {
		e.Close()
		fx.remove()
		return nil, err
	}
	b := &bench{e: e, raw: raw, fx: fx, sz: sz, p: p}
	var active []regioncache.Region
	for i, ks := range fx.data.reads {
		active = append(active, ks.region(uint64(idReadBase+i)))
	}
	for _, r := range active {
		if err := b.loadAndWait(ctx, r); err != nil {
			b.close()
			return nil, err
		}
	}
	return b, nil
}

func (b *bench) close() {
	b.e.Close()
	b.raw.Close()
	b.fx.remove()
}

// loadAndWait loads r through the public API and waits until the engine is
// idle; the region must then be active.
func (b *bench) loadAndWait(ctx context.Context, r regioncache.Region) error {
	if _, err := b.e.Load(r); err != nil {
		return fmt.Errorf("load %s: %w", r, err)
	}
	if err := b.e.WaitIdle(ctx); err != nil {
		return err
	}
	if st := b.e.RegionState(r.ID); st != regioncache.Active {
		failed := counter(b.e, "loads_failed")
		return fmt.Errorf("region %s is %s after its load (loads_failed=%d)", r, st, failed)
	}
	return nil
}

// evictAndWait evicts r (if held) and waits until its memory is released.
func (b *bench) evictAndWait(ctx context.Context, r regioncache.Region) error {
	if b.e.RegionState(r.ID) == regioncache.Absent {
		return nil
	}
	if _, err := b.e.Evict(r, "manual"); err != nil {
		return err
	}
	return b.e.WaitIdle(ctx)
}

// runShared measures the figures over the shared data set. A failing step
// fails its figures and the next step still runs.
func runShared(ctx context.Context, sz sizes, p progress, figs map[string]*Figure, fail func([]string, error)) error {
	b, err := openBench(ctx, sz, p)
	if err != nil {
		return err
	}
	defer b.close()
	steps := []struct {
		names []string
		run   func() error
	}{
		{[]string{figLoadVsScan, figMemoryAmplification}, func() error {
			return b.measureLoad(ctx, figs[figLoadVsScan], figs[figMemoryAmplification])
		}},
		{[]string{figReadDuringLoad}, func() error { return b.measureReadDuringLoad(ctx, figs[figReadDuringLoad]) }},
		{[]string{figGetSpeedup}, func() error { return b.measureGets(ctx, figs[figGetSpeedup]) }},
		{[]string{figMVCCScanSpeedup}, func() error { return b.measureMVCC(ctx, figs[figMVCCScanSpeedup]) }},
		{[]string{figWriteOverhead}, func() error { return b.measureWrite(ctx, figs[figWriteOverhead]) }},
	}
	for _, st := range steps {
		if err := st.run(); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			fail(st.names, err)
		}
		// Whatever the step left, the next starts with these not cached.
		d := b.fx.data
		for _, r := range []regioncache.Region{d.load.region(idLoad), d.loadTwin.region(idLoadTwin), d.mvcc.region(idMVCC), d.mvccTwin.region(idMVCCTwin)} {
			if err := b.evictAndWait(ctx, r); err != nil {
				return err
			}
		}
	}
	return nil
}

// timeGets reads every key through Engine.Get at readTs; each must be found
// and served from want.
func (b *bench) timeGets(keys [][]byte, want regioncache.Source) (time.Duration, error) {
	start := time.Now()
	for _, k := range keys {
		res, err := b.e.Get(k, readTs)
		if err != nil {
			return 0, err
		}
		if !res.Found || res.Source != want {
			return 0, fmt.Errorf("get %q: found=%v source=%v, want found from %v", k, res.Found, res.Source, want)
		}
	}
	return time.Since(start), nil
}

// rawScan iterates the raw Pebble over the region's encoded key range,
// reading every key and value (and, with decode, decoding them as the
// engine's diskengine.Reader.Versions does).
func (b *bench) rawScan(r regioncache.Region, decode bool) (n int, size int64, d time.Duration, err error) {
	start := time.Now()
	it, err := b.raw.NewIter(&pebble.IterOptions{LowerBound: mvcc.KeyBound(r.Start), UpperBound: mvcc.KeyBound(r.End)})
	if err != nil {
		return 0, 0, 0, err
	}
	var kbuf []byte
	for valid := it.First(); valid; valid = it.Next() {
		k := it.Key()
		v, verr := it.ValueAndErr()
		if verr != nil {
			it.Close()
			return 0, 0, 0, verr
		}
		if decode {
			uk, _, derr := mvcc.DecodeKey(kbuf[:0], k)
			if derr != nil {
				it.Close()
				return 0, 0, 0, derr
			}
			kbuf = uk
			if _, _, derr := mvcc.DecodeValue(v); derr != nil {
				it.Close()
				return 0, 0, 0, derr
			}
		}
		n++
		size += int64(len(k) + len(v))
	}
	err = errors.Join(it.Error(), it.Close())
	return n, size, time.Since(start), err
}

// builderOnly copies the region from the raw Pebble into a base run with
// the loader's code path (decode, RunBuilder.Add) on this goroutine, with
// no actors, locks or accounting: what a load costs at the least.
func (b *bench) builderOnly(r regioncache.Region) (time.Duration, int, error) {
	start := time.Now()
	it, err := b.raw.NewIter(&pebble.IterOptions{LowerBound: mvcc.KeyBound(r.Start), UpperBound: mvcc.KeyBound(r.End)})
	if err != nil {
		return 0, 0, err
	}
	bl := memstore.NewRunBuilder(0, nil)
	if err := withinKeys(it, bl, r); err != nil {
		it.Close()
		return 0, 0, err
	}
	var kbuf []byte
	for valid := it.First(); valid; valid = it.Next() {
		k, ts, err := mvcc.DecodeKey(kbuf[:0], it.Key())
		if err != nil {
			it.Close()
			return 0, 0, err
		}
		kbuf = k
		raw, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return 0, 0, err
		}
		v, tomb, err := mvcc.DecodeValue(raw)
		if err != nil {
			it.Close()
			return 0, 0, err
		}
		if _, err := bl.Add(k, ts, v, tomb); err != nil {
			it.Close()
			return 0, 0, err
		}
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return 0, 0, err
	}
	run, err := bl.Finish()
	if err != nil {
		return 0, 0, err
	}
	return time.Since(start), run.Len(), nil
}

// withinKeys bounds the builder's keys by the range's first and last, as
// the loader does (diskengine.Reader.KeyRange), so that the record prefixes
// are taken as versions are added.
func withinKeys(it *pebble.Iterator, bl *memstore.RunBuilder, r regioncache.Region) error {
	if !it.First() {
		bl.Within(r.Start, r.End)
		return it.Error()
	}
	first, _, err := mvcc.DecodeKey(nil, it.Key())
	if err != nil {
		return err
	}
	it.Last()
	last, _, err := mvcc.DecodeKey(nil, it.Key())
	if err != nil {
		return err
	}
	bl.Within(first, last)
	return nil
}

// pipelineOnly copies the region from the raw Pebble into a base run as the
// loader does (loadpipe.Copy: iteration on this goroutine, decode and
// RunBuilder.Add on a second), with no actors, locks or accounting.
func (b *bench) pipelineOnly(r regioncache.Region) (time.Duration, int, error) {
	start := time.Now()
	bl := memstore.NewRunBuilder(0, nil)
	src := func(yield func(k, v []byte) error) error {
		it, err := b.raw.NewIter(&pebble.IterOptions{LowerBound: mvcc.KeyBound(r.Start), UpperBound: mvcc.KeyBound(r.End)})
		if err != nil {
			return err
		}
		if err := withinKeys(it, bl, r); err != nil {
			it.Close()
			return err
		}
		for valid := it.First(); valid; valid = it.Next() {
			v, err := it.ValueAndErr()
			if err != nil {
				it.Close()
				return err
			}
			if err := yield(it.Key(), v); err != nil {
				it.Close()
				return err
			}
		}
		return errors.Join(it.Error(), it.Close())
	}
	if _, err := loadpipe.Copy(src, bl, loadpipe.Options{}); err != nil {
		bl.Abort()
		return 0, 0, err
	}
	run, err := bl.Finish()
	if err != nil {
		return 0, 0, err
	}
	return time.Since(start), run.Len(), nil
}

// measureLoad measures load_vs_scan and memory_amplification over the load
// region, in reps that each time the raw scans, then the load through the
// engine and the heap it grew, then evict it.
func (b *bench) measureLoad(ctx context.Context, lvs, mem *Figure) error {
	ks := b.fx.data.load
	reg := ks.region(idLoad)
	var loadS, rawS, decodeS, buildS, pipeS, heapRatio, acctRatio, heapPerKey []float64
	var gcLoads []gcAccount
	var rawBytes int64
	logical := float64(ks.logicalBytes())
	for rep := 0; rep < b.sz.LoadReps; rep++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		b.p.printf("load_vs_scan: rep %d/%d, region of %d keys", rep+1, b.sz.LoadReps, ks.n)
		if rep == 0 { // warm the page cache and the code path
			if _, _, _, err := b.rawScan(reg, false); err != nil {
				return err
			}
		}
		heapAfterGC()
		n, size, d, err := b.rawScan(reg, false)
		if err != nil {
			return err
		}
		if n != ks.n {
			return fmt.Errorf("raw scan saw %d versions, want %d", n, ks.n)
		}
		rawBytes = size
		rawS = append(rawS, d.Seconds())
		if _, _, d, err = b.rawScan(reg, true); err != nil {
			return err
		}
		decodeS = append(decodeS, d.Seconds())
		heapAfterGC()
		d, built, err := b.builderOnly(reg)
		if err != nil {
			return err
		}
		if built != ks.n {
			return fmt.Errorf("builder copied %d versions, want %d", built, ks.n)
		}
		buildS = append(buildS, d.Seconds())
		heapAfterGC()
		d, built, err = b.pipelineOnly(reg)
		if err != nil {
			return err
		}
		if built != ks.n {
			return fmt.Errorf("pipeline copied %d versions, want %d", built, ks.n)
		}
		pipeS = append(pipeS, d.Seconds())

		heap0 := heapAfterGC()
		mem0 := memoryUsed(b.e)
		loaded0 := counter(b.e, "keys_loaded")
		gc0 := readGCAccount()
		start := time.Now()
		if err := b.loadAndWait(ctx, reg); err != nil {
			return err
		}
		loadS = append(loadS, time.Since(start).Seconds())
		gcLoad := readGCAccount().sub(gc0)
		if loaded := counter(b.e, "keys_loaded"); loaded-loaded0 != int64(ks.n) {
			return fmt.Errorf("load copied %d keys, want %d", loaded-loaded0, ks.n)
		}
		heap1 := heapAfterGC()
		mem1 := memoryUsed(b.e)
		// Live objects after a full GC, against the count before the load.
		gcLoad.liveObjects = readGCAccount().liveObjects - gc0.liveObjects
		gcLoads = append(gcLoads, gcLoad)
		heapRatio = append(heapRatio, (float64(heap1)-float64(heap0))/logical)
		acctRatio = append(acctRatio, float64(mem1-mem0)/logical)
		heapPerKey = append(heapPerKey, (float64(heap1)-float64(heap0))/float64(ks.n))
		if err := b.evictAndWait(ctx, reg); err != nil {
			return err
		}
	}
	b.loadSeconds = append([]float64(nil), loadS...)

	for k, v := range map[string]float64{"keys": float64(ks.n), "key_bytes": keyLen, "value_bytes": valueLen, "reps": float64(b.sz.LoadReps)} {
		lvs.Details[k] = v
		mem.Details[k] = v
	}
	rawMed, loadMed, decMed, buildMed := median(rawS), median(loadS), median(decodeS), median(buildS)
	lvs.Value = loadMed / rawMed
	lvs.Details["load_s"] = loadMed
	lvs.Details["raw_scan_s"] = rawMed
	lvs.Details["raw_scan_decode_s"] = decMed
	lvs.Details["builder_only_s"] = buildMed
	lvs.Details["load_keys_per_s"] = float64(ks.n) / loadMed
	lvs.Details["raw_keys_per_s"] = float64(ks.n) / rawMed
	lvs.Details["raw_encoded_mb"] = float64(rawBytes) / 1e6
	lvs.Details["builder_only_over_raw"] = buildMed / rawMed
	lvs.Details["load_over_builder_only"] = loadMed / buildMed
	pipeMed := median(pipeS)
	lvs.Details["pipeline_only_s"] = pipeMed
	lvs.Details["pipeline_only_over_raw"] = pipeMed / rawMed
	lvs.Details["load_over_pipeline_only"] = loadMed / pipeMed
	lvs.Details["load_s_min"] = slices.Min(loadS)
	lvs.Details["raw_scan_s_min"] = slices.Min(rawS)
	lvs.Details["ratio_of_mins"] = slices.Min(loadS) / slices.Min(rawS)
	gcMed := func(f func(a gcAccount) float64) float64 {
		var xs []float64
		for _, a := range gcLoads {
			xs = append(xs, f(a))
		}
		return median(xs)
	}
	n := float64(ks.n)
	for _, f := range []*Figure{lvs, mem} {
		f.Details["load_gc_cycles"] = gcMed(func(a gcAccount) float64 { return a.cycles })
		f.Details["load_gc_mark_cpu_s"] = gcMed(func(a gcAccount) float64 { return a.markCPU })
		f.Details["load_gc_assist_cpu_s"] = gcMed(func(a gcAccount) float64 { return a.assistCPU })
		f.Details["load_alloc_objects_per_version"] = gcMed(func(a gcAccount) float64 { return a.allocObjects / n })
		f.Details["load_alloc_bytes_per_logical_byte"] = gcMed(func(a gcAccount) float64 { return a.allocBytes / logical })
		f.Details["load_live_objects_per_version"] = gcMed(func(a gcAccount) float64 { return a.liveObjects / n })
	}
	lvs.Note = "load = Engine.Load of a not-cached region until WaitIdle returns with it active (supervisor, region and loader actors, " +
		"Pebble snapshot iteration on the loader's goroutine, MVCC decode and memstore.RunBuilder copy on a second (loadpipe), activation); raw = a Pebble iterator First..Next over the " +
		"same region's encoded keys reading every key and value, no decoding, on a Pebble checkpoint of the engine's directory (hard " +
		"links to the same sstables; same options: defaults, 8 MB block cache); medians of reps, page cache warm; raw_scan_decode_s " +
		"adds diskengine's key/value decoding; builder_only_s = decode + memstore.RunBuilder on one goroutine, no actors; " +
		"pipeline_only_s = the same through loadpipe.Copy (iteration on one goroutine, decode + build on a second), no actors " +
		"(what the loader does at the least); load_gc_* = the Go runtime's own account (runtime/metrics) of the load: GC cycles completed, " +
		"CPU seconds of marking (assist + dedicated + idle workers) and of assists alone; load_alloc_* = heap objects allocated per " +
		"loaded version and bytes allocated per logical byte during the load (whole process: actors, Pebble iteration too); " +
		"load_live_objects_per_version = heap objects still live after the load and a full GC, per version"
	lvs.judge()

	hr, ar := median(heapRatio), median(acctRatio)
	mem.Value = max(hr, ar)
	mem.Details["heap_growth_per_logical_byte"] = hr
	mem.Details["accounted_per_logical_byte"] = ar
	mem.Details["heap_bytes_per_key"] = median(heapPerKey)
	mem.Details["accounted_bytes_per_key"] = ar * logical / float64(ks.n)
	mem.Details["logical_bytes"] = logical
	mem.Details["run_overhead_bytes"] = memstore.RunOverhead
	mem.Note = "value = the larger of Engine.MemoryBytes growth and Go heap growth (HeapAlloc after runtime.GC, before and after " +
		"the load) per logical byte (24-byte key + 100-byte value) of the loaded region, medians of reps; both must be <= target"
	mem.judge(hr <= targets[figMemoryAmplification].bound, ar <= targets[figMemoryAmplification].bound)
	return nil
}

// alternate times sides a and b over [0, n) in chunks, the sides taking turns
// to go first, so that whatever else loads the machine falls on both. It
// returns each side's total and per-chunk times.
func alternate(n, chunk int, a, b func(lo, hi int) error) (ta, tb time.Duration, ca, cb []time.Duration, err error) {
	timed := func(f func(lo, hi int) error, lo, hi int, tot *time.Duration, per *[]time.Duration) error {
		t := time.Now()
		if err := f(lo, hi); err != nil {
			return err
		}
		d := time.Since(t)
		*tot += d
		*per = append(*per, d)
		return nil
	}
	for c := 0; c*chunk < n; c++ {
		lo, hi := c*chunk, min(n, (c+1)*chunk)
		first := func() error { return timed(a, lo, hi, &ta, &ca) }
		second := func() error { return timed(b, lo, hi, &tb, &cb) }
		if c%2 == 1 {
			first, second = second, first
		}
		if err := first(); err != nil {
			return 0, 0, nil, nil, err
		}
		if err := second(); err != nil {
			return 0, 0, nil, nil, err
		}
	}
	return ta, tb, ca, cb, nil
}

// chunkRatios are x[i]/y[i] of paired chunk times.
func chunkRatios(x, y []time.Duration) []float64 {
	out := make([]float64, 0, len(x))
	for i := range x {
		if i < len(y) && y[i] > 0 {
			out = append(out, float64(x[i])/float64(y[i]))
		}
	}
	return out
}

// measureGets compares random point gets of the load region, active, with
// the same gets of its twin, not cached, in alternating chunks.
func (b *bench) measureGets(ctx context.Context, f *Figure) error {
	ks, twin := b.fx.data.load, b.fx.data.loadTwin
	reg := ks.region(idLoad)
	if err := b.loadAndWait(ctx, reg); err != nil {
		return err
	}
	if err := b.evictAndWait(ctx, twin.region(idLoadTwin)); err != nil {
		return err
	}
	idx := indices(1, b.sz.GetOps, ks.n)
	cached, disk := make([][]byte, len(idx)), make([][]byte, len(idx))
	for i, x := range idx {
		cached[i], disk[i] = ks.key(x), twin.key(x)
	}
	b.p.printf("get_speedup: %d gets per side over %d keys", len(idx), ks.n)
	// An untimed pass per side warms the page cache, Pebble's block cache
	// (as far as 8 MB go) and the code paths.
	if _, err := b.timeGets(disk, regioncache.FromDisk); err != nil {
		return err
	}
	if _, err := b.timeGets(cached, regioncache.FromMemory); err != nil {
		return err
	}
	heapAfterGC()
	tp, tc, cp, cc, err := alternate(len(idx), 1000,
		func(lo, hi int) error { _, err := b.timeGets(disk[lo:hi], regioncache.FromDisk); return err },
		func(lo, hi int) error { _, err := b.timeGets(cached[lo:hi], regioncache.FromMemory); return err })
	if err != nil {
		return err
	}
	n := float64(len(idx))
	f.Value = float64(tp) / float64(tc)
	f.Details["pebble_ns_per_get"] = float64(tp.Nanoseconds()) / n
	f.Details["cached_ns_per_get"] = float64(tc.Nanoseconds()) / n
	f.Details["median_chunk_ratio"] = median(chunkRatios(cp, cc))
	f.Details["gets_per_side"] = n
	f.Details["keys"] = float64(ks.n)
	f.Note = "Engine.Get of the same random existing keys (uniform, one goroutine) at a ts above every version; cached = the load " +
		"region active (Source memory); pebble = its twin (same values under another 3-byte tag, same sstables' level) not cached " +
		"(Source disk: a Pebble iterator per get, default 8 MB block cache, page cache warm); warmed by an untimed pass per side, " +
		"then sides alternate in chunks of 1000 gets; value = total pebble time / total cached time"
	f.judge()
	return b.evictAndWait(ctx, reg)
}

// getLatencies runs Engine.Get over keys (cycling) until stop, recording
// each call's latency; every read must be served from memory.
func (b *bench) getLatencies(keys [][]byte, stop *atomic.Bool, out *[]time.Duration) error {
	for i := 0; !stop.Load(); i++ {
		k := keys[i%len(keys)]
		t := time.Now()
		res, err := b.e.Get(k, readTs)
		*out = append(*out, time.Since(t))
		if err != nil {
			return err
		}
		if !res.Found || res.Source != regioncache.FromMemory {
			return fmt.Errorf("get %q: found=%v source=%v during read_during_load", k, res.Found, res.Source)
		}
	}
	return nil
}

// measureReadDuringLoad compares the p99 of point gets on the active read
// regions while the load region loads with their p99 just before, for as
// long as a load takes.
func (b *bench) measureReadDuringLoad(ctx context.Context, f *Figure) error {
	ld := b.fx.data.load
	reg := ld.region(idLoad)
	var keys [][]byte
	r := rand.New(rand.NewPCG(7, 7))
	for i := 0; i < 1<<16; i++ {
		ks := b.fx.data.reads[r.IntN(len(b.fx.data.reads))]
		keys = append(keys, ks.key(r.IntN(ks.n)))
	}
	baseWindow := 500 * time.Millisecond
	if len(b.loadSeconds) > 0 {
		baseWindow = max(baseWindow, time.Duration(median(append([]float64(nil), b.loadSeconds...))*float64(time.Second)))
	}
	run := func(during func() error) ([]time.Duration, error) {
		var stop atomic.Bool
		lat := make([]time.Duration, 0, 1<<20)
		var rerr error
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); rerr = b.getLatencies(keys, &stop, &lat) }()
		err := during()
		stop.Store(true)
		wg.Wait()
		return lat, errors.Join(err, rerr)
	}
	var base, loading []time.Duration
	var loadS []float64
	var rtBase, rtLoad []runtimeDelta
	for rep := 0; rep < b.sz.ReadReps; rep++ {
		b.p.printf("read_during_load: rep %d/%d (baseline %s, then a load of %d keys)", rep+1, b.sz.ReadReps, baseWindow.Round(time.Millisecond), ld.n)
		heapAfterGC()
		rt0 := sampleRuntime()
		lat, err := run(func() error {
			select {
			case <-time.After(baseWindow):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		if err != nil {
			return err
		}
		rt1 := sampleRuntime()
		base = append(base, lat...)
		start := time.Now()
		lat, err = run(func() error { return b.loadAndWait(ctx, reg) })
		if err != nil {
			return err
		}
		rt2 := sampleRuntime()
		rtBase, rtLoad = append(rtBase, rt0.until(rt1)), append(rtLoad, rt1.until(rt2))
		loadS = append(loadS, time.Since(start).Seconds())
		loading = append(loading, lat...)
		if err := b.evictAndWait(ctx, reg); err != nil {
			return err
		}
	}
	sortDurations(base)
	sortDurations(loading)
	p99b, p99l := percentile(base, 99), percentile(loading, 99)
	f.Value = float64(p99l) / float64(p99b)
	f.Details["p99_during_load_us"] = micros(p99l)
	f.Details["p99_no_load_us"] = micros(p99b)
	f.Details["p50_during_load_us"] = micros(percentile(loading, 50))
	f.Details["p50_no_load_us"] = micros(percentile(base, 50))
	f.Details["p999_during_load_us"] = micros(percentile(loading, 99.9))
	f.Details["p999_no_load_us"] = micros(percentile(base, 99.9))
	f.Details["max_during_load_us"] = micros(loading[len(loading)-1])
	f.Details["gets_during_load"] = float64(len(loading))
	f.Details["gets_no_load"] = float64(len(base))
	f.Details["load_s"] = median(loadS)
	f.Details["load_keys"] = float64(ld.n)
	f.Details["read_regions"] = float64(len(b.fx.data.reads))
	f.Details["reps"] = float64(b.sz.ReadReps)
	// The runtime's account of both windows (summed over reps; sched and
	// pause figures are the worst rep): what the tail is made of.
	for _, w := range []struct {
		suffix string
		ds     []runtimeDelta
	}{{"no_load", rtBase}, {"during_load", rtLoad}} {
		var cycles, assist, mark, schedP99, schedMax, pauseMax float64
		for _, d := range w.ds {
			cycles += d.GCCycles
			assist += d.AssistCPU
			mark += d.MarkCPU
			schedP99, schedMax, pauseMax = max(schedP99, d.SchedP99), max(schedMax, d.Sched), max(pauseMax, d.GCPauseMax)
		}
		f.Details["gc_cycles_"+w.suffix] = cycles
		f.Details["gc_assist_cpu_s_"+w.suffix] = assist
		f.Details["gc_mark_worker_cpu_s_"+w.suffix] = mark
		f.Details["sched_latency_p99_us_"+w.suffix] = schedP99 * 1e6
		f.Details["sched_latency_max_us_"+w.suffix] = schedMax * 1e6
		f.Details["gc_stw_pause_max_us_"+w.suffix] = pauseMax * 1e6
	}
	f.Note = "one goroutine does Engine.Get of random keys of other active regions back to back; p99 while Engine.Load copies the " +
		"load region (from the Load call until WaitIdle) over p99 in an equally long window just before, no load; reps pooled"
	f.judge()
	return nil
}

// measureMVCC compares 100-key scans at ts 100 over keys with 10 versions:
// Engine.Scan of the MVCC region, active after Engine.GC to safe point 95
// (which keeps versions 100 and 90 of each key), and of its twin, not cached
// (Pebble), in alternating chunks.
func (b *bench) measureMVCC(ctx context.Context, f *Figure) error {
	ks, twin := b.fx.data.mvcc, b.fx.data.mvccTwin
	reg, twinReg := ks.region(idMVCC), twin.region(idMVCCTwin)
	const limit = 100
	starts := indices(3, b.sz.MVCCScans, max(1, ks.n-limit))
	cached, disk := make([][]byte, len(starts)), make([][]byte, len(starts))
	for i, s := range starts {
		cached[i], disk[i] = ks.key(s), twin.key(s)
	}
	scan := func(keys [][]byte, end []byte, want regioncache.Source, lo, hi int) ([][]regioncache.KV, error) {
		var samples [][]regioncache.KV
		for i := lo; i < hi; i++ {
			res, err := b.e.Scan(keys[i], end, mvccReadTs, limit)
			if err != nil {
				return nil, err
			}
			wantN := min(limit, ks.n-starts[i])
			if len(res.Pairs) != wantN || res.Source != want {
				return nil, fmt.Errorf("scan from %q: %d pairs from %v, want %d from %v", keys[i], len(res.Pairs), res.Source, wantN, want)
			}
			if i < 3 {
				samples = append(samples, res.Pairs)
			}
		}
		return samples, nil
	}
	b.p.printf("mvcc_scan_speedup: %d scans per side over %d keys x %d versions", len(starts), ks.n, mvccVersion)
	if err := b.evictAndWait(ctx, twinReg); err != nil {
		return err
	}
	mem0 := memoryUsed(b.e)
	if err := b.loadAndWait(ctx, reg); err != nil {
		return err
	}
	memLoaded := memoryUsed(b.e) - mem0
	t := time.Now()
	if err := b.e.GC(mvccSafePoint); err != nil {
		return err
	}
	gcS := time.Since(t).Seconds()
	memGCed := memoryUsed(b.e) - mem0
	// Both sides must give the same answers (the twin's keys differ in
	// their tag only).
	diskSamples, err := scan(disk, twinReg.End, regioncache.FromDisk, 0, min(3, len(disk)))
	if err != nil {
		return err
	}
	memSamples, err := scan(cached, reg.End, regioncache.FromMemory, 0, min(3, len(cached)))
	if err != nil {
		return err
	}
	for i := range diskSamples {
		if !samePairsButTag(diskSamples[i], memSamples[i]) {
			return fmt.Errorf("scan %d: memory and disk answers differ", i)
		}
	}
	warm := min(len(starts), 500)
	if _, err := scan(disk, twinReg.End, regioncache.FromDisk, 0, warm); err != nil {
		return err
	}
	if _, err := scan(cached, reg.End, regioncache.FromMemory, 0, warm); err != nil {
		return err
	}
	heapAfterGC()
	tp, tc, cp, cc, err := alternate(len(starts), 100,
		func(lo, hi int) error { _, err := scan(disk, twinReg.End, regioncache.FromDisk, lo, hi); return err },
		func(lo, hi int) error { _, err := scan(cached, reg.End, regioncache.FromMemory, lo, hi); return err })
	if err != nil {
		return err
	}
	n := float64(len(starts))
	f.Value = float64(tp) / float64(tc)
	f.Details["pebble_us_per_scan"] = micros(tp) / n
	f.Details["cached_us_per_scan"] = micros(tc) / n
	f.Details["median_chunk_ratio"] = median(chunkRatios(cp, cc))
	f.Details["scans_per_side"] = n
	f.Details["user_keys"] = float64(ks.n)
	f.Details["versions_per_key"] = mvccVersion
	f.Details["read_ts"] = mvccReadTs
	f.Details["safe_point"] = mvccSafePoint
	f.Details["gc_s"] = gcS
	f.Details["cached_bytes_before_gc"] = float64(memLoaded)
	f.Details["cached_bytes_after_gc"] = float64(memGCed)
	f.Note = "Engine.Scan(start, region end, ts 100, limit 100) from the same random start keys, one goroutine; cached = the MVCC " +
		"region loaded, then Engine.GC(95) (keeps ts 100 and 90 of each key); pebble = its twin (same values under another tag) " +
		"not cached (diskengine steps over all 10 versions of each key); answers compared; an untimed pass per side, then sides " +
		"alternate in chunks of 100 scans; value = total pebble time / total cached time"
	f.judge()
	return b.evictAndWait(ctx, reg)
}

// samePairsButTag: the same pairs, keys compared without their region tag.
func samePairsButTag(a, b []regioncache.KV) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i].Key) != len(b[i].Key) || !bytes.Equal(a[i].Key[tagLen:], b[i].Key[tagLen:]) || !bytes.Equal(a[i].Value, b[i].Value) {
			return false
		}
	}
	return true
}

// measureWrite compares Engine.Write throughput of the same batch sizes into
// an active region (A) and into a region not cached (B, Pebble alone), in
// alternating rounds so Pebble's background work falls on both.
func (b *bench) measureWrite(ctx context.Context, f *Figure) error {
	a, bk := b.fx.data.writeA, b.fx.data.writeB
	n, size := b.sz.WriteBatches, b.sz.WriteBatchSize
	build := func(ks keyspace, seed uint64) []*regioncache.Batch {
		r := rand.New(rand.NewPCG(seed, 11))
		vbuf := make([]byte, valueLen)
		out := make([]*regioncache.Batch, n)
		for i := range out {
			bt := new(regioncache.Batch)
			for j := 0; j < size; j++ {
				x := r.IntN(ks.n)
				bt.Put(ks.key(x), writeTsBase+uint64(i), fillValue(vbuf, seed, x, i))
			}
			out[i] = bt
		}
		return out
	}
	batchesA, batchesB := build(a, 21), build(bk, 22)
	if err := b.loadAndWait(ctx, a.region(idWriteA)); err != nil {
		return err
	}
	if st := b.e.RegionState(idWriteB); st != regioncache.Absent {
		return fmt.Errorf("write region B is %s, want not cached", st)
	}
	memA0 := memoryUsed(b.e)
	heapAfterGC()
	b.p.printf("write_overhead: %d batches of %d per side", n, size)
	var latA, latB []time.Duration
	write := func(batches []*regioncache.Batch, lat *[]time.Duration) error {
		for _, bt := range batches {
			if err := ctx.Err(); err != nil {
				return err
			}
			t := time.Now()
			if err := b.e.Write(bt); err != nil {
				return err
			}
			*lat = append(*lat, time.Since(t))
		}
		return nil
	}
	per := max(1, (n+b.sz.WriteRounds-1)/max(1, b.sz.WriteRounds))
	totB, totA, cb, ca, err := alternate(n, per,
		func(lo, hi int) error { return write(batchesB[lo:hi], &latB) },
		func(lo, hi int) error { return write(batchesA[lo:hi], &latA) })
	if err != nil {
		return err
	}
	// The writes must have reached region A's memory.
	if res, err := b.e.Get(a.key(0), mvcc.MaxTS); err != nil || res.Source != regioncache.FromMemory {
		return fmt.Errorf("write region A not served from memory after the writes: %+v %v", res.ReadInfo, err)
	}
	muts := float64(n * size)
	tpA, tpB := muts/totA.Seconds(), muts/totB.Seconds()
	sortDurations(latA)
	sortDurations(latB)
	f.Value = tpA / tpB
	f.Details["active_writes_per_s"] = tpA
	f.Details["pebble_writes_per_s"] = tpB
	f.Details["median_round_ratio"] = median(chunkRatios(cb, ca))
	f.Details["active_batch_p50_us"] = micros(percentile(latA, 50))
	f.Details["pebble_batch_p50_us"] = micros(percentile(latB, 50))
	f.Details["active_batch_p99_us"] = micros(percentile(latA, 99))
	f.Details["pebble_batch_p99_us"] = micros(percentile(latB, 99))
	f.Details["batches_per_side"] = float64(n)
	f.Details["batch_size"] = float64(size)
	f.Details["rounds"] = float64((n + per - 1) / per)
	f.Details["region_keys"] = float64(a.n)
	f.Details["active_region_bytes_growth"] = float64(memoryUsed(b.e) - memA0)
	f.Note = "Engine.Write of prebuilt batches (random existing keys, a new ts per batch, 100-byte values; both sides DurabilityNoSync, so an fsync does not hide the engine's own cost) " +
		"into a region that is active (commit + apply to its memstore) vs a region of the same size that is not cached (Pebble " +
		"alone); one goroutine, sides alternate in rounds; value = writes/s active / writes/s Pebble alone (totals)"
	f.judge()
	return nil
}

// counter reads a spec counter of e (0 once e is closed).
func counter(e *regioncache.Engine, name string) int64 {
	m, _ := e.Metrics()
	v, _ := m.Counter(name)
	return v
}

// memoryUsed is the memory e accounts to cached data (0 once e is closed).
func memoryUsed(e *regioncache.Engine) int64 {
	m, _ := e.Metrics()
	return m.Memory.Used
}
