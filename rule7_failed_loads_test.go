package regioncache_test

// Engine tests, rule 7: failed loads end cleanly: real Pebble (in memory), real actors,
// failpoints to hold work at a known step, waits on conditions; the rig
// (internal/testutil) checks every transition when the test ends.

import (
	"testing"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/failpoint"
	"github.com/regioncache/regioncache/internal/testutil"
)

func TestRule7_FailedLoadsEndCleanly(t *testing.T) {
	for _, fp := range []failpoint.Name{testutil.FPBeforeCopy, testutil.FPAfterCopy} {
		for _, action := range []string{"error", "panic", "pause-then-error"} {
			t.Run(string(fp)+"/"+action, func(t *testing.T) {
				r := testutil.NewRig(t, 1) // one loader: it must come back
				r.AllowPanics = action == "panic"
				reg := testutil.Reg(1, 1, "k", "l")
				r.FillRange("k", 30)
				if action == "pause-then-error" {
					r.FP(fp, "pause")
				} else {
					r.FP(fp, action)
				}
				r.MustLoad(reg, regioncache.LoadAccepted)
				if action == "pause-then-error" {
					r.WaitPaused(fp, 1)
					r.FP(fp, "error")
				}
				r.WaitState(reg.ID, regioncache.Absent)
				r.WaitIdle()
				r.WantCounters(map[string]int64{"loads_started": 1, "loads_failed": 1, "loads_completed": 0, "keys_loaded": 0})
				r.WantMemory(0)
				r.CheckGets(reg, regioncache.FromDisk, 0)
				if action == "panic" && len(r.Log.Matching("actor panicked")) == 0 {
					t.Error("the loader's panic was not logged")
				}

				r.FP(fp, "off")
				r.MustLoad(reg, regioncache.LoadAccepted)
				r.WaitState(reg.ID, regioncache.Active)
				r.WantCounters(map[string]int64{"loads_started": 2, "loads_failed": 1, "loads_completed": 1,
					"keys_loaded": r.Model.VersionsIn(reg)})
				r.CheckGets(reg, regioncache.FromMemory, 0)
				r.MustCheck()
			})
		}
	}
}

// TestRule7_LoaderSurvivesRepeatedPanics: more panics in a row than
// protoactor's default restart budget (10 in 10 s); the single loader must
// still be there afterwards.
func TestRule7_LoaderSurvivesRepeatedPanics(t *testing.T) {
	r := testutil.NewRig(t, 1)
	r.AllowPanics = true
	reg := testutil.Reg(1, 1, "k", "l")
	r.FillRange("k", 5)
	r.FP(testutil.FPBeforeCopy, "panic")
	const panics = 12
	for i := 1; i <= panics; i++ {
		r.MustLoad(reg, regioncache.LoadAccepted)
		r.WaitState(reg.ID, regioncache.Absent)
		r.WaitIdle()
		if got := r.Counter("loads_failed"); got != int64(i) {
			t.Fatalf("after panic %d: loads_failed = %d", i, got)
		}
	}
	r.FP(testutil.FPBeforeCopy, "off")
	r.MustLoad(reg, regioncache.LoadAccepted)
	r.WaitState(reg.ID, regioncache.Active)
	r.WantCounters(map[string]int64{"loads_failed": panics, "loads_completed": 1})
	if testutil.Metrics(t, r.E).Memory.Used <= 0 {
		t.Fatal("active region not accounted")
	}
	r.CheckGets(reg, regioncache.FromMemory, 0)
}
