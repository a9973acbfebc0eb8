package regioncache_test

// Engine tests, rule 1: loads are deduplicated: real Pebble (in memory), real actors,
// failpoints to hold work at a known step, waits on conditions; the rig
// (internal/testutil) checks every transition when the test ends.

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/failpoint"
	"github.com/regioncache/regioncache/internal/testutil"
)

func TestRule1_SeedIncident17487(t *testing.T) {
	r := testutil.NewRig(t, 0)
	reg := testutil.Reg(409114, 214, "k", "l")
	r.FillRange("k", 40)
	r.FillRange("j", 5) // outside the region
	r.FillRange("l", 5) // outside the region
	want := r.Model.VersionsIn(reg)

	r.FP(testutil.FPBeforeCopy, "pause")
	r.MustLoad(reg, regioncache.LoadAccepted)
	r.WaitPaused(testutil.FPBeforeCopy, 1)
	r.WaitState(reg.ID, regioncache.Loading)
	r.MustLoad(reg, regioncache.LoadDeduplicated) // 10 ms later in the incident
	r.WantState(reg.ID, regioncache.Loading)
	r.WantCounters(map[string]int64{"loads_requested": 2, "loads_started": 1, "loads_deduplicated": 1})
	if got := r.Counter("loads_started"); got != 1 {
		t.Fatalf("a second copy started: loads_started = %d", got)
	}

	r.FP(testutil.FPBeforeCopy, "resume")
	r.WaitState(reg.ID, regioncache.Active)
	r.WaitIdle()
	r.WantCounters(map[string]int64{
		"loads_requested": 2, "loads_started": 1, "loads_deduplicated": 1, "loads_completed": 1,
		"loads_failed": 0, "loads_canceled": 0, "keys_loaded": want,
	})
	// Every key read from memory equals the disk's answer: the model, the
	// cross-check, and the same reads again from disk after eviction.
	r.CheckGets(reg, regioncache.FromMemory, 0)
	r.CheckScans(reg, regioncache.FromMemory, 0)
	r.MustCheck()
	r.Evict(reg)
	r.WaitState(reg.ID, regioncache.Absent)
	r.CheckGets(reg, regioncache.FromDisk, 0)
	r.CheckScans(reg, regioncache.FromDisk, 0)
	r.WantMemory(0)
}

// TestRule1_DeduplicatedInEveryPhase repeats a load while the region is
// pending, loading (paused before and after the copy) and active.
func TestRule1_DeduplicatedInEveryPhase(t *testing.T) {
	for _, phase := range []string{"pending", "loading/before-copy", "loading/after-copy", "active"} {
		t.Run(phase, func(t *testing.T) {
			r := testutil.NewRig(t, 1)
			reg := testutil.Reg(7, 3, "k", "l")
			r.FillRange("k", 30)
			startsBefore := int64(0)
			var finish func()
			switch phase {
			case "pending":
				_, unblock := r.BlockLoader()
				startsBefore = 1
				r.MustLoad(reg, regioncache.LoadAccepted)
				r.WantState(reg.ID, regioncache.Pending)
				finish = unblock
			case "loading/before-copy", "loading/after-copy":
				fp := failpoint.Name("load/" + strings.TrimPrefix(phase, "loading/"))
				r.FP(fp, "pause")
				r.MustLoad(reg, regioncache.LoadAccepted)
				r.WaitPaused(fp, 1)
				r.WaitState(reg.ID, regioncache.Loading)
				finish = func() { r.FP(fp, "resume") }
			case "active":
				r.MustLoad(reg, regioncache.LoadAccepted)
				r.WaitState(reg.ID, regioncache.Active)
				finish = func() {}
			}
			stateBefore := r.E.RegionState(reg.ID)
			for i := 0; i < 3; i++ {
				r.MustLoad(reg, regioncache.LoadDeduplicated)
				r.WantState(reg.ID, stateBefore)
			}
			r.WantCounters(map[string]int64{"loads_deduplicated": 3, "loads_rejected": 0})
			finish()
			r.WaitState(reg.ID, regioncache.Active)
			r.WaitIdle()
			r.WantCounters(map[string]int64{"loads_started": startsBefore + 1, "loads_completed": startsBefore + 1})
			r.CheckGets(reg, regioncache.FromMemory, 0)
			r.MustCheck()
		})
	}
}

// TestRule1_ConcurrentLoadsStartOneCopy fires many identical loads at once,
// in several rounds (with an eviction in between), so the duplicates reach
// the engine at every possible moment of the first one's life.
func TestRule1_ConcurrentLoadsStartOneCopy(t *testing.T) {
	r := testutil.NewRig(t, 0)
	reg := testutil.Reg(5, 1, "k", "l")
	r.FillRange("k", 50)
	const rounds, callers, perCaller = 8, 8, 4
	for round := 1; round <= rounds; round++ {
		var accepted, deduped atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make(chan error, callers*perCaller)
		for c := 0; c < callers; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for i := 0; i < perCaller; i++ {
					out, err := r.E.Load(reg)
					switch {
					case err != nil:
						errs <- err
					case out == regioncache.LoadAccepted:
						accepted.Add(1)
					default:
						deduped.Add(1)
					}
				}
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d: Load: %v", round, err)
		}
		if accepted.Load() != 1 || deduped.Load() != callers*perCaller-1 {
			t.Fatalf("round %d: %d accepted, %d deduplicated; want 1 and %d", round, accepted.Load(), deduped.Load(), callers*perCaller-1)
		}
		r.WaitState(reg.ID, regioncache.Active)
		r.WantCounters(map[string]int64{
			"loads_started": int64(round), "loads_completed": int64(round),
			"keys_loaded":        int64(round) * r.Model.VersionsIn(reg),
			"loads_deduplicated": int64(round) * (callers*perCaller - 1),
		})
		r.CheckGets(reg, regioncache.FromMemory, 0)
		r.Evict(reg)
		r.WaitState(reg.ID, regioncache.Absent)
	}
	r.WantMemory(0)
}
