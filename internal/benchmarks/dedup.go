package benchmarks

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/regioncache/regioncache"
)

// dedupRegion is region i of the dedup storm: [dd/i/, dd/i0).
func dedupRegion(i int) regioncache.Region {
	return regioncache.Region{ID: uint64(i + 1), Version: 1,
		Start: fmt.Appendf(nil, "dd/%06d/", i), End: fmt.Appendf(nil, "dd/%06d0", i)}
}

// dedupKeysPerRegion is the data of each storm region: a few versions, so
// each copy is real but small.
const dedupKeysPerRegion = 8

// stormPlan spreads requests over regions (each region requests/regions
// times, or one more) in a seeded random order, split among goroutines.
func stormPlan(requests, regions, goroutines int) [][]int {
	all := make([]int, requests)
	for j := range all {
		all[j] = j % regions
	}
	r := rand.New(rand.NewPCG(5, 5))
	r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	plan := make([][]int, goroutines)
	per := (requests + goroutines - 1) / goroutines
	for g := range plan {
		lo, hi := min(requests, g*per), min(requests, (g+1)*per)
		plan[g] = all[lo:hi]
	}
	return plan
}

// stormResult is the outcome of one storm.
type stormResult struct {
	wall     time.Duration
	lat      []time.Duration // sorted
	requests int
}

func (s stormResult) nsPerRequest() float64 {
	return float64(s.wall.Nanoseconds()) / float64(s.requests)
}

// storm runs plan (one goroutine per row, all started together), calling do
// for every request and timing each call.
func storm(plan [][]int, do func(region int) error) (stormResult, error) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	lats := make([][]time.Duration, len(plan))
	errs := make([]error, len(plan))
	for g, rows := range plan {
		lats[g] = make([]time.Duration, 0, len(rows))
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for _, ri := range rows {
				t := time.Now()
				err := do(ri)
				lats[g] = append(lats[g], time.Since(t))
				if err != nil {
					errs[g] = err
					return
				}
			}
		}()
	}
	t0 := time.Now()
	close(start)
	wg.Wait()
	res := stormResult{wall: time.Since(t0)}
	for g := range plan {
		if errs[g] != nil {
			return res, errs[g]
		}
		res.lat = append(res.lat, lats[g]...)
	}
	res.requests = len(res.lat)
	sortDurations(res.lat)
	return res, nil
}

// dedupEngine is an engine holding the storm's data, none of it cached.
func dedupEngine(ctx context.Context, regions int) (*regioncache.Engine, error) {
	e, err := regioncache.Open(regioncache.Options{Durability: benchDurability})
	if err != nil {
		return nil, err
	}
	b := new(regioncache.Batch)
	vbuf := make([]byte, valueLen)
	for i := 0; i < regions; i++ {
		for k := 0; k < dedupKeysPerRegion; k++ {
			b.Put(fmt.Appendf(nil, "dd/%06d/%03d", i, k), tsBase, fillValue(vbuf, 9, i, k))
		}
		if b.Len() >= 1000 || i == regions-1 {
			if err := e.Write(b); err != nil {
				e.Close()
				return nil, err
			}
			b = new(regioncache.Batch)
		}
	}
	return e, ctx.Err()
}

// engineStormResult is the engine side of a storm.
type engineStormResult struct {
	stormResult
	copies, completed, deduplicated int64
	idle                            time.Duration
}

// engineStorm sends the plan's requests as Engine.Load calls, then waits
// until every copy is done and counts the copies (loads_started).
func engineStorm(ctx context.Context, e *regioncache.Engine, regions []regioncache.Region, plan [][]int) (engineStormResult, error) {
	var out engineStormResult
	started0 := counter(e, "loads_started")
	completed0 := counter(e, "loads_completed")
	var dedup atomic.Int64
	res, err := storm(plan, func(ri int) error {
		o, err := e.Load(regions[ri])
		if o == regioncache.LoadDeduplicated {
			dedup.Add(1)
		}
		return err
	})
	if err != nil {
		return out, err
	}
	out.stormResult = res
	t := time.Now()
	if err := e.WaitIdle(ctx); err != nil {
		return out, err
	}
	out.idle = time.Since(t)
	started := counter(e, "loads_started")
	completed := counter(e, "loads_completed")
	out.copies, out.completed, out.deduplicated = started-started0, completed-completed0, dedup.Load()
	return out, nil
}

// sfRegistry is the singleflight side: the smallest correct dedup of
// registrations, as groupcache does it.
type sfRegistry struct {
	g             singleflight.Group
	mu            sync.RWMutex
	m             map[uint64]regioncache.Region
	registrations atomic.Int64
	executions    atomic.Int64
}

func newSFRegistry() *sfRegistry { return &sfRegistry{m: make(map[uint64]regioncache.Region)} }

// register is the trivial registration both sides share in spirit: insert
// the region under its id once.
func (s *sfRegistry) register(r regioncache.Region) (any, error) {
	s.executions.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[r.ID]; ok {
		return false, nil
	}
	s.m[r.ID] = r.Clone()
	s.registrations.Add(1)
	return true, nil
}

// do is one request: singleflight.Group.Do keyed by region id.
func (s *sfRegistry) do(key string, r regioncache.Region) error {
	_, err, _ := s.g.Do(key, func() (any, error) { return s.register(r) })
	return err
}

// doCached checks the registry first and calls Do only on a miss.
func (s *sfRegistry) doCached(key string, r regioncache.Region) error {
	s.mu.RLock()
	_, ok := s.m[r.ID]
	s.mu.RUnlock()
	if ok {
		return nil
	}
	return s.do(key, r)
}

// measureDedupFigure runs the storm against a fresh engine and against
// singleflight, DedupReps times, the sides taking turns.
func measureDedupFigure(ctx context.Context, sz sizes, f *Figure) error {
	plan := stormPlan(sz.DedupRequests, sz.DedupRegions, sz.DedupGoroutines)
	regions := make([]regioncache.Region, sz.DedupRegions)
	keys := make([]string, sz.DedupRegions)
	for i := range regions {
		regions[i] = dedupRegion(i)
		keys[i] = strconv.FormatUint(regions[i].ID, 10)
	}
	var engNs, sfNs, sfcNs, idle, storms []float64
	var engLat, sfLat, sfcLat []time.Duration
	var minCopies, maxCopies, minActive, dedup, sfRegs, sfExecs int64 = -1, 0, -1, 0, 0, 0
	reps := max(1, sz.DedupReps)
	for rep := 0; rep < reps; rep++ {
		e, err := dedupEngine(ctx, sz.DedupRegions)
		if err != nil {
			return err
		}
		heapAfterGC()
		eng, err := engineStorm(ctx, e, regions, plan)
		if err != nil {
			e.Close()
			return err
		}
		var active int64
		for i := range regions {
			if e.RegionState(regions[i].ID) == regioncache.Active {
				active++
			}
		}
		if err := e.Close(); err != nil {
			return err
		}
		if minCopies < 0 || eng.copies < minCopies {
			minCopies = eng.copies
		}
		maxCopies = max(maxCopies, eng.copies)
		if minActive < 0 || active < minActive {
			minActive = active
		}
		dedup += eng.deduplicated
		engNs, idle, storms = append(engNs, eng.nsPerRequest()), append(idle, eng.idle.Seconds()), append(storms, eng.wall.Seconds())
		engLat = append(engLat, eng.lat...)

		heapAfterGC()
		sf := newSFRegistry()
		sfRes, err := storm(plan, func(ri int) error { return sf.do(keys[ri], regions[ri]) })
		if err != nil {
			return err
		}
		sfNs, sfLat = append(sfNs, sfRes.nsPerRequest()), append(sfLat, sfRes.lat...)
		sfRegs, sfExecs = sfRegs+sf.registrations.Load(), sfExecs+sf.executions.Load()
		sfc := newSFRegistry()
		sfcRes, err := storm(plan, func(ri int) error { return sfc.doCached(keys[ri], regions[ri]) })
		if err != nil {
			return err
		}
		sfcNs, sfcLat = append(sfcNs, sfcRes.nsPerRequest()), append(sfcLat, sfcRes.lat...)
	}
	sortDurations(engLat)
	sortDurations(sfLat)
	sortDurations(sfcLat)
	en, sn, scn := median(engNs), median(sfNs), median(sfcNs)
	// The value is the copies per region of the rep with the most: exactly
	// 1 is the target; the storm's cost against singleflight is a detail.
	f.Value = float64(maxCopies) / float64(sz.DedupRegions)
	d := f.Details
	d["engine_over_sf"] = en / sn
	d["copies"] = float64(minCopies)
	d["copies_max"] = float64(maxCopies)
	d["regions_active"] = float64(minActive)
	d["requests"] = float64(sz.DedupRequests)
	d["regions"] = float64(sz.DedupRegions)
	d["goroutines"] = float64(sz.DedupGoroutines)
	d["reps"] = float64(reps)
	d["deduplicated_per_rep"] = float64(dedup) / float64(reps)
	d["engine_ns_per_request"] = en
	d["engine_p50_us"] = micros(percentile(engLat, 50))
	d["engine_p99_us"] = micros(percentile(engLat, 99))
	d["engine_max_us"] = micros(engLat[len(engLat)-1])
	d["engine_storm_s"] = median(storms)
	d["engine_copies_done_after_s"] = median(idle)
	d["sf_ns_per_request"] = sn
	d["sf_p50_us"] = micros(percentile(sfLat, 50))
	d["sf_p99_us"] = micros(percentile(sfLat, 99))
	d["sf_registrations_per_rep"] = float64(sfRegs) / float64(reps)
	d["sf_executions_per_rep"] = float64(sfExecs) / float64(reps)
	d["sf_cached_ns_per_request"] = scn
	d["sf_cached_p99_us"] = micros(percentile(sfcLat, 99))
	d["engine_over_sf_cached"] = en / scn
	f.Note = fmt.Sprintf("value = copies (loads_started delta after WaitIdle) per region, the largest over reps; it must be "+
		"exactly 1 and the smallest rep too. engine_over_sf = wall time per request of the storm (median of reps, each on a "+
		"fresh engine), engine / singleflight. engine: Engine.Load (returns when the request is decided; the copies run in the background, on the same 2 "+
		"CPUs, during the storm); copies = loads_started delta after WaitIdle, the smallest and largest of the reps (must be "+
		"exactly %d); singleflight: singleflight.Group.Do keyed by the region id (string prebuilt) whose function registers the "+
		"region in a mutex-guarded map if absent (no copy); sf_cached: the same behind an RWMutex map check, calling Do only on a "+
		"miss; latencies pooled over reps", sz.DedupRegions)
	ok := minCopies == int64(sz.DedupRegions) && maxCopies == int64(sz.DedupRegions) && minActive == int64(sz.DedupRegions)
	f.judge(ok)
	if !ok {
		f.Note += fmt.Sprintf("; COPIES %d..%d, ACTIVE %d, WANT %d", minCopies, maxCopies, minActive, sz.DedupRegions)
	}
	return nil
}
