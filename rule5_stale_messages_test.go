package regioncache_test

// Engine tests, rule 5: stale and unfit messages: real Pebble (in memory), real actors,
// failpoints to hold work at a known step, waits on conditions; the rig
// (internal/testutil) checks every transition when the test ends.

import (
	"strings"
	"testing"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/testutil"
)

// TestRule5_ReplacedIncarnationsNeverStart: a pending incarnation replaced
// twice while its loader request is queued; only the last one is copied and
// the earlier ones' requests and grants are dropped.
func TestRule5_ReplacedIncarnationsNeverStart(t *testing.T) {
	r := testutil.NewRig(t, 1)
	r.FillRange("k", 20)
	_, unblock := r.BlockLoader()
	for v := uint64(1); v <= 3; v++ {
		r.MustLoad(testutil.Reg(1, v, "k", "l"), regioncache.LoadAccepted)
	}
	// An overlapping newer region of another id replaces it too.
	last := testutil.Reg(2, 4, "k", "k5")
	r.MustLoad(last, regioncache.LoadAccepted)
	r.WaitState(1, regioncache.Absent)
	unblock()
	r.WaitState(last.ID, regioncache.Active)
	r.WaitIdle()
	r.WantState(1, regioncache.Absent)
	r.WantCounters(map[string]int64{"loads_started": 2, "loads_completed": 2, "keys_loaded": 1 + r.Model.VersionsIn(last)})
	// Each incarnation of id 1 was one pending life that never loaded.
	gens := map[uint64][]string{}
	for _, tr := range r.History() {
		if tr.Region.ID == 1 {
			gens[tr.Gen] = append(gens[tr.Gen], tr.From.String()+">"+tr.To.String())
		}
	}
	if len(gens) != 3 {
		t.Fatalf("region 1 had %d incarnations, want 3: %v", len(gens), gens)
	}
	for g, path := range gens {
		if strings.Join(path, ",") != "absent>pending,pending>absent" {
			t.Fatalf("region 1 gen %d went %v", g, path)
		}
	}
	r.CheckGets(last, regioncache.FromMemory, 0)
	r.MustCheck()
}

// TestRule5_UnfitRequestsAreHarmless sends requests that do not fit the
// region's state; each is refused, ignored or served from disk, nothing
// panics and the engine keeps working.
func TestRule5_UnfitRequestsAreHarmless(t *testing.T) {
	r := testutil.NewRig(t, 0)
	reg := testutil.Reg(1, 5, "k", "l")
	r.FillRange("k", 20)

	// Absent region: eviction reaches nothing, snapshots come from disk.
	if got := r.Evict(reg); len(got) != 0 {
		t.Fatalf("Evict of an absent region reached %v", got)
	}
	s, err := r.E.Snapshot(reg, 25)
	if err != nil || s.Info().Source != regioncache.FromDisk || s.Info().Reason != regioncache.NotCached {
		t.Fatalf("snapshot of an absent region: %+v %v", s.Info(), err)
	}
	s.Release()
	s.Release()
	if err := r.E.GC(3); err != nil { // nothing active
		t.Fatal(err)
	}

	// Loading region: snapshots from disk, GC ignored.
	r.FP(testutil.FPBeforeCopy, "pause")
	r.MustLoad(reg, regioncache.LoadAccepted)
	r.WaitPaused(testutil.FPBeforeCopy, 1)
	s, err = r.E.Snapshot(reg, 25)
	if err != nil || s.Info().Source != regioncache.FromDisk {
		t.Fatalf("snapshot of a loading region: %+v %v", s.Info(), err)
	}
	s.Release()
	if err := r.E.GC(4); err != nil {
		t.Fatal(err)
	}
	r.WaitState(reg.ID, regioncache.Loading)
	r.FP(testutil.FPBeforeCopy, "resume")
	r.WaitState(reg.ID, regioncache.Active)

	// Active region: snapshots at the wrong version or below the safe
	// point come from disk, with the reason.
	for _, tc := range []struct {
		r      regioncache.Region
		ts     uint64
		reason regioncache.DiskReason
	}{
		{testutil.Reg(1, 4, "k", "l"), 25, regioncache.VersionMismatch},
		{testutil.Reg(1, 6, "k", "l"), 25, regioncache.VersionMismatch},
		{reg, 4, regioncache.TooOldRead},
		{testutil.Reg(2, 1, "k", "l"), 25, regioncache.NotCached},
	} {
		s, err := r.E.Snapshot(tc.r, tc.ts)
		if err != nil || s.Info().Source != regioncache.FromDisk || s.Info().Reason != tc.reason {
			t.Fatalf("Snapshot(%s, %d) = %+v, %v; want disk (%s)", tc.r, tc.ts, s.Info(), err, tc.reason)
		}
		g, err := s.Get([]byte("k001"), 0)
		if wv, wok := r.Model.Get("k001", tc.ts); err != nil || g.Found != wok || string(g.Value) != wv {
			t.Fatalf("disk snapshot Get = %+v %v, want %q", g, err, wv)
		}
		s.Release()
	}
	// Repeated evictions: the second one meets an evicting region, which
	// logs and ignores it.
	r.FP(testutil.FPBeforeDelete, "pause")
	r.Evict(reg)
	r.WaitPaused(testutil.FPBeforeDelete, 1)
	r.Evict(reg)
	r.WantState(reg.ID, regioncache.Evicting)
	if len(r.Log.Matching("event ignored")) == 0 {
		t.Error("the ignored eviction was not logged")
	}
	r.FP(testutil.FPBeforeDelete, "resume")
	r.WaitState(reg.ID, regioncache.Absent)
	r.WantCounters(map[string]int64{"loads_failed": 0, "loads_rejected": 0})
	r.WantMemory(0)
	// Still working.
	r.MustLoad(reg, regioncache.LoadAccepted)
	r.WaitState(reg.ID, regioncache.Active)
	r.CheckGets(reg, regioncache.FromMemory, 4)
	r.MustCheck()
}
