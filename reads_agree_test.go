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

// TestScannedPairsBelongToTheCaller: the pairs a scan from memory returns
// (Engine.Scan, Snapshot.Scan) are the caller's copies: overwriting them, or appending to one, changes neither the cache
// nor the other pairs, and the next scan answers as before.
func TestScannedPairsBelongToTheCaller(t *testing.T) {
	r := testutil.NewRig(t, 0)
	reg := testutil.Reg(1, 1, "k", "l")
	r.FillRange("k", 25)
	r.MustLoad(reg, regioncache.LoadAccepted)
	r.WaitState(reg.ID, regioncache.Active)
	snap, err := r.E.Snapshot(reg, 100)
	if err != nil || snap.Info().Source != regioncache.FromMemory {
		t.Fatalf("snapshot: %+v %v", snap, err)
	}
	defer snap.Release()
	scans := map[string]func() []regioncache.KV{
		"Engine.Scan": func() []regioncache.KV {
			res, err := r.E.Scan([]byte("k"), []byte("l"), 100, 10)
			if err != nil || res.Source != regioncache.FromMemory {
				t.Fatalf("Engine.Scan: %s %v", res.Source, err)
			}
			return res.Pairs
		},
		"Snapshot.Scan": func() []regioncache.KV {
			res, err := snap.Scan([]byte("k"), []byte("l"), 0, 10)
			if err != nil || res.Source != regioncache.FromMemory {
				t.Fatalf("Snapshot.Scan: %s %v", res.Source, err)
			}
			return res.Pairs
		},
	}
	for name, scan := range scans {
		first := scan()
		want := make([]string, len(first))
		for i, kv := range first {
			want[i] = string(kv.Key) + "=" + string(kv.Value)
		}
		if len(first) < 2 {
			t.Fatalf("%s: %d pairs", name, len(first))
		}
		// Appending to a key or value must not reach the next pair.
		_ = append(first[0].Key, "XXXXXXXX"...)
		_ = append(first[0].Value, "XXXXXXXX"...)
		if got := string(first[1].Key) + "=" + string(first[1].Value); got != want[1] {
			t.Fatalf("%s: appending to pair 0 changed pair 1 to %q, was %q", name, got, want[1])
		}
		for _, kv := range first {
			for i := range kv.Key {
				kv.Key[i] = '!'
			}
			for i := range kv.Value {
				kv.Value[i] = '!'
			}
		}
		for i, kv := range scan() {
			if got := string(kv.Key) + "=" + string(kv.Value); got != want[i] {
				t.Fatalf("%s after overwriting the last answer: pair %d is %q, want %q", name, i, got, want[i])
			}
		}
	}
	r.CheckScans(reg, regioncache.FromMemory, 0)
	r.MustCheck()
}
