package regioncache_test

// Engine tests, reads: memory and disk agree: real Pebble (in memory), real actors,
// failpoints to hold work at a known step, waits on conditions; the rig
// (internal/testutil) checks every transition when the test ends.

import (
	"testing"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/testutil"
)

// TestReadsIdenticalFromMemoryAndDisk reads every key at every interesting
// ts, and scans with limits, before the load (disk), after it (memory),
// across the region's edge (both) and around a GC safe point.
func TestReadsIdenticalFromMemoryAndDisk(t *testing.T) {
	r := testutil.NewRig(t, 0)
	reg := testutil.Reg(1, 1, "k", "l")
	r.FillRange("k", 25)
	r.FillRange("j", 5)
	r.FillRange("l", 5)
	r.Write(testutil.Del("k-only-marker", 10), testutil.Put("k-del-put-del", 1, "1"), testutil.Del("k-del-put-del", 2), testutil.Put("k-del-put-del", 3, "3"),
		testutil.Del("k-del-put-del", 4), testutil.Put("\x00", 3, "lowest"), testutil.Put("\xff\xff", 3, "highest"))

	r.CheckGets(reg, regioncache.FromDisk, 0)
	r.CheckScans(reg, regioncache.FromDisk, 0)
	r.MustLoad(reg, regioncache.LoadAccepted)
	r.WaitState(reg.ID, regioncache.Active)
	r.CheckGets(reg, regioncache.FromMemory, 0)
	r.CheckScans(reg, regioncache.FromMemory, 0)
	wide, err := r.E.Scan([]byte("j"), []byte("m"), 25, 0)
	if err != nil || wide.Source != regioncache.FromBoth {
		t.Fatalf("scan across the region's edges: source %s, %v", wide.Source, err)
	}
	r.MustCheck()

	// GC: reads at or below the safe point go to disk, above it to memory,
	// and every answer is unchanged.
	const sp = 20
	if err := r.E.GC(sp); err != nil {
		t.Fatal(err)
	}
	r.CheckGets(reg, regioncache.FromMemory, sp)
	r.CheckScans(reg, regioncache.FromMemory, sp)
	g, err := r.E.Get([]byte("k001"), sp)
	if err != nil || g.Source != regioncache.FromDisk || g.Reason != regioncache.TooOldRead {
		t.Fatalf("read at the safe point: %+v %v", g, err)
	}
	r.MustCheck()

	// A load after GC gets the same answers too.
	r.Evict(reg)
	r.WaitState(reg.ID, regioncache.Absent)
	r.MustLoad(reg, regioncache.LoadAccepted)
	r.WaitState(reg.ID, regioncache.Active)
	r.CheckGets(reg, regioncache.FromMemory, sp)
	r.CheckScans(reg, regioncache.FromMemory, sp)
	r.MustCheck()
}

// TestSnapshotsFromDiskAreIsolated: a disk snapshot (region not cached) does
// not see later writes either.
func TestSnapshotsFromDiskAreIsolated(t *testing.T) {
	r := testutil.NewRig(t, 0)
	reg := testutil.Reg(1, 1, "k", "l")
	r.FillRange("k", 10)
	view := r.Model.Clone()
	s, err := r.E.Snapshot(reg, 100)
	if err != nil || s.Info().Source != regioncache.FromDisk {
		t.Fatalf("%+v %v", s, err)
	}
	defer s.Release()
	r.Write(testutil.Put("k001", 50, "later"), testutil.Del("k000", 50))
	for _, k := range []string{"k000", "k001", "k002"} {
		g, err := s.Get([]byte(k), 0)
		wv, wok := view.Get(k, 100)
		if err != nil || g.Found != wok || string(g.Value) != wv {
			t.Fatalf("disk snapshot Get(%q) = %+v %v, want %q", k, g, err, wv)
		}
	}
	sc, err := s.Scan(nil, nil, 0, 0)
	if err != nil || !testutil.SameKVs(sc.Pairs, view.Scan(reg.Start, reg.End, 100, 0)) {
		t.Fatalf("disk snapshot Scan = %s, %v", testutil.FmtKVs(sc.Pairs), err)
	}
}
