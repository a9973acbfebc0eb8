package regioncache_test

import (
	"testing"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/testutil"
)

// TestOverlapWithRegionOnItsWayOutIsEvicting: TiKV's load_region answers
// Evicting for a load whose id or range meets a region still being evicted.
// A load of another id whose range overlaps a region on its way out
// (loading_canceled, pending_evict, evicting) is refused with reason
// evicting, changing nothing; once that region is absent the same load is
// accepted. An overlap with a held region not on its way out stays
// overlap, also when the range meets both.
func TestOverlapWithRegionOnItsWayOutIsEvicting(t *testing.T) {
	cases := []struct {
		state regioncache.State
		// hold puts region 1 into state and returns what lets it go.
		hold func(r *testutil.Rig, reg regioncache.Region) (letGo func())
	}{
		{regioncache.LoadingCanceled, func(r *testutil.Rig, reg regioncache.Region) func() {
			r.FP(testutil.FPBeforeCopy, "pause")
			r.MustLoad(reg, regioncache.LoadAccepted)
			r.WaitPaused(testutil.FPBeforeCopy, 1)
			r.Evict(reg)
			return func() { r.FP(testutil.FPBeforeCopy, "resume") }
		}},
		{regioncache.PendingEvict, func(r *testutil.Rig, reg regioncache.Region) func() {
			r.MustLoad(reg, regioncache.LoadAccepted)
			r.WaitState(reg.ID, regioncache.Active)
			snap, err := r.E.Snapshot(reg, 50)
			if err != nil {
				r.T.Fatal(err)
			}
			r.Evict(reg)
			return snap.Release
		}},
		{regioncache.Evicting, func(r *testutil.Rig, reg regioncache.Region) func() {
			r.MustLoad(reg, regioncache.LoadAccepted)
			r.WaitState(reg.ID, regioncache.Active)
			r.FP(testutil.FPBeforeDelete, "pause")
			r.Evict(reg)
			r.WaitPaused(testutil.FPBeforeDelete, 1)
			return func() { r.FP(testutil.FPBeforeDelete, "resume") }
		}},
	}
	for _, tc := range cases {
		t.Run(tc.state.String(), func(t *testing.T) {
			r := testutil.NewRig(t, 0)
			r.FillRange("k", 20)
			leaving := testutil.Reg(1, 1, "k", "l")
			held := testutil.Reg(3, 1, "m", "n")
			r.MustLoad(held, regioncache.LoadAccepted)
			r.WaitState(held.ID, regioncache.Active)
			letGo := tc.hold(r, leaving)
			r.WantState(leaving.ID, tc.state)
			before := r.SnapshotState()

			over := testutil.Reg(2, 1, "k5", "l5") // meets only the region on its way out
			lr := r.Rejected(over, "evicting")
			if lr.Conflict == nil || lr.Conflict.ID != leaving.ID {
				t.Fatalf("conflict %v, want region %d", lr.Conflict, leaving.ID)
			}
			r.WantUnchanged(before, "a load over a region on its way out")
			// Meeting a held region that stays is an overlap, whatever
			// else the range meets: waiting would not help.
			r.Rejected(testutil.Reg(4, 1, "l5", "m5"), "overlap")
			r.Rejected(testutil.Reg(5, 1, "k5", "z"), "overlap")
			r.WantUnchanged(before, "loads over a held region")
			r.WantCounters(map[string]int64{"loads_rejected": 3})

			letGo()
			r.WaitState(leaving.ID, regioncache.Absent)
			r.MustLoad(over, regioncache.LoadAccepted)
			r.WaitState(over.ID, regioncache.Active)
			r.WaitIdle()
			r.CheckGets(over, regioncache.FromMemory, 0)
			r.MustCheck()
		})
	}
}
