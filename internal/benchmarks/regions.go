package benchmarks

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/actorlog"
)

// tinyRegion is region i of regions_1m: [rg/i, rg/i+1), no data.
func tinyRegion(i int) regioncache.Region {
	return regioncache.Region{ID: uint64(i + 1), Version: 1,
		Start: appendKey(make([]byte, 0, keyLen), "rg/", i), End: appendKey(make([]byte, 0, keyLen), "rg/", i+1)}
}

// regionsResult is what registering many regions cost.
type regionsResult struct {
	target, issued, active int
	seconds, closeSeconds  float64
	heapGrowth             float64
	budgetHit              bool
	closeErr               error   // Engine.Close's error, measured rather than fatal
	lastRate               float64 // regions/s over the last tenth registered
}

// regionsHeapProfile, when set (by the benchmarks' -regionsheap flag), is
// where registerRegions writes a heap profile of the engine holding every
// region, before Close: what a region costs, by allocation site.
var regionsHeapProfile string

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return pprof.Lookup("heap").WriteTo(f, 0)
}

// regionsWindow bounds the loads requested but not completed, so that the
// budget bounds completion as well as requests.
const regionsWindow = 2048

// registerRegions loads n empty regions (an actor each) into a fresh engine
// through Engine.Load from two goroutines, stops requesting when budget is
// spent, waits until every requested load completed, and measures the heap
// growth (after runtime.GC) and the time.
func registerRegions(ctx context.Context, n int, budget time.Duration, p progress) (regionsResult, error) {
	res := regionsResult{target: n}
	e, err := regioncache.Open(regioncache.Options{Durability: benchDurability})
	if err != nil {
		return res, err
	}
	closed := false
	defer func() {
		if !closed {
			e.Close()
		}
	}()
	// settled says whether the load of region i has ended, one way or the
	// other. It asks the board for that one region: Engine.Metrics is a
	// picture of every region (O(regions)), which asked per region would
	// make registering n regions O(n²).
	settled := func(i int) bool { return e.RegionState(tinyRegion(i).ID).Settled() }
	heap0 := heapAfterGC()
	start := time.Now()
	deadline := start.Add(budget)
	var issued atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for w := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += len(errs) {
				// This goroutine's load of regionsWindow/2 requests ago must
				// have ended: with the other goroutine's, at most about
				// regionsWindow loads are in flight.
				for i >= regionsWindow && !settled(i-regionsWindow) && !stop.Load() {
					time.Sleep(200 * time.Microsecond)
				}
				if stop.Load() {
					return
				}
				if _, err := e.Load(tinyRegion(i)); err != nil {
					errs[w] = err
					stop.Store(true)
					return
				}
				issued.Add(1)
			}
		}()
	}
	// Watch the budget and report progress.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(50 * time.Millisecond)
	lastReport := start
	tenth := max(1, n/10)
	var markAt time.Time
	var markCount int64
	for waiting := true; waiting; {
		select {
		case <-done:
			waiting = false
		case <-tick.C:
			now := time.Now()
			if now.After(deadline) || ctx.Err() != nil {
				stop.Store(true)
				res.budgetHit = ctx.Err() == nil
			}
			c := issued.Load()
			if c >= int64(n-tenth) && markAt.IsZero() {
				markAt, markCount = now, c
			}
			if now.Sub(lastReport) >= 5*time.Second {
				p.printf("regions_1m: %d requested after %.0fs", c, now.Sub(start).Seconds())
				lastReport = now
			}
		}
	}
	tick.Stop()
	for _, err := range errs {
		if err != nil {
			return res, err
		}
	}
	res.issued = int(issued.Load())
	if err := e.WaitIdle(ctx); err != nil {
		return res, err
	}
	end := time.Now()
	res.seconds = end.Sub(start).Seconds()
	if !markAt.IsZero() && end.After(markAt) {
		res.lastRate = float64(int64(res.issued)-markCount) / end.Sub(markAt).Seconds()
	}
	active := counter(e, "loads_completed")
	res.active = int(active)
	if failed := counter(e, "loads_failed"); failed > 0 {
		return res, fmt.Errorf("%d of %d loads failed", failed, res.issued)
	}
	if rejected := counter(e, "loads_rejected"); rejected > 0 {
		return res, fmt.Errorf("%d of %d loads rejected", rejected, res.issued)
	}
	heap1 := heapAfterGC()
	res.heapGrowth = float64(heap1) - float64(heap0)
	if regionsHeapProfile != "" {
		if err := writeHeapProfile(regionsHeapProfile); err != nil {
			return res, err
		}
	}
	t := time.Now()
	closed = true
	res.closeErr = e.Close()
	res.closeSeconds = time.Since(t).Seconds()
	return res, nil
}

// settledHeap is the live heap once it stops falling: right after an engine
// of a million regions closes, its actors are still letting go of their
// memory for a while, and a yardstick measured from there came out
// negative (-4,288 B per actor at 1M, 353 instead of ~686 at 100k).
func settledHeap() uint64 {
	h := heapAfterGC()
	for range 50 {
		time.Sleep(20 * time.Millisecond) // let the closed engine's goroutines end
		next := heapAfterGC()
		if next+next/100 >= h { // within 1%: settled
			return min(h, next)
		}
		h = next
	}
	return h
}

// bareActorBytes is the yardstick of regions_1m: the heap growth per actor
// of n do-nothing protoactor actors spawned under the root of a fresh actor
// system (the engine's logging adapter, default mailbox): the floor any
// design with one protoactor actor per region pays.
func bareActorBytes(n int) float64 {
	sys := actorlog.NewActorSystem(zerolog.Nop())
	props := actor.PropsFromFunc(func(actor.Context) {})
	pids := make([]*actor.PID, n)
	heap0 := settledHeap()
	for i := range pids {
		pids[i] = sys.Root.Spawn(props)
	}
	heap1 := heapAfterGC()
	for _, pid := range pids {
		sys.Root.Stop(pid)
	}
	sys.Shutdown()
	return (float64(heap1) - float64(heap0)) / float64(n)
}

func measureRegionsFigure(ctx context.Context, sz sizes, p progress, f *Figure) error {
	res, err := registerRegions(ctx, sz.Regions, sz.RegionsBudget, p)
	if err != nil {
		return err
	}
	if res.active == 0 {
		return fmt.Errorf("no region registered within %s", sz.RegionsBudget)
	}
	f.Value = res.heapGrowth / float64(res.active)
	d := f.Details
	d["regions_target"] = float64(res.target)
	d["regions_registered"] = float64(res.active)
	d["register_s"] = res.seconds
	d["regions_per_s"] = float64(res.active) / res.seconds
	if res.lastRate > 0 {
		d["regions_per_s_last_tenth"] = res.lastRate
	}
	d["heap_growth_mb"] = res.heapGrowth / 1e6
	d["close_s"] = res.closeSeconds
	d["budget_s"] = sz.RegionsBudget.Seconds()
	d["bare_protoactor_actor_bytes"] = bareActorBytes(res.active)
	f.Note = "a fresh engine (in-memory Pebble, no data); Engine.Load of empty adjacent regions from 2 goroutines (at most " +
		fmt.Sprint(regionsWindow) + " requested and not yet active), each becomes an actor and goes through a full load to active; " +
		"value = Go heap growth (HeapAlloc after runtime.GC) per active region; register_s = first Load to WaitIdle; " +
		"bare_protoactor_actor_bytes = heap per do-nothing protoactor actor, as many, same process (the floor of an actor per region)"
	if res.closeErr != nil {
		d["close_failed"] = 1
		f.Note += fmt.Sprintf("; ENGINE CLOSE FAILED after %.1fs: %v", res.closeSeconds, res.closeErr)
	}
	if res.budgetHit {
		f.Note += fmt.Sprintf("; STOPPED AT THE %s BUDGET: %d of %d registered (measured at that scale, nothing extrapolated)",
			sz.RegionsBudget, res.active, res.target)
	}
	f.judge(!res.budgetHit)
	return nil
}
