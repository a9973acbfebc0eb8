package regioncache_test

// Engine tests, rule 4: evicting an active region: real Pebble (in memory), real actors,
// failpoints to hold work at a known step, waits on conditions; the rig
// (internal/testutil) checks every transition when the test ends.

import (
	"errors"
	"strings"
	"testing"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/testutil"
)

func TestRule4_EvictActiveWithoutSnapshots(t *testing.T) {
	r := testutil.NewRig(t, 0)
	reg := testutil.Reg(1, 1, "k", "l")
	r.FillRange("k", 30)
	r.MustLoad(reg, regioncache.LoadAccepted)
	r.WaitState(reg.ID, regioncache.Active)
	if testutil.Metrics(t, r.E).Memory.Used == 0 {
		t.Fatal("an active region is not counted in MemoryBytes")
	}
	if got := r.Evict(reg); len(got) != 1 {
		t.Fatalf("Evict reached %v", got)
	}
	r.WaitState(reg.ID, regioncache.Absent)
	r.WantMemory(0)
	r.WantCounters(map[string]int64{"evictions": 1})
	r.CheckGets(reg, regioncache.FromDisk, 0)
	h := r.History()
	var path []string
	for _, tr := range h {
		path = append(path, tr.To.String())
	}
	if got := strings.Join(path, ","); got != "pending,loading,active,evicting,absent" {
		t.Fatalf("transitions %s", got)
	}
}

// TestRule4_SnapshotHoldsEvictedData: a snapshot taken while active keeps
// answering after eviction, including for values overwritten after it was
// taken; the region stays pending_evict and its memory counted until the
// snapshot is released.
func TestRule4_SnapshotHoldsEvictedData(t *testing.T) {
	r := testutil.NewRig(t, 0)
	reg := testutil.Reg(1, 1, "k", "l")
	r.FillRange("k", 20)
	r.Write(testutil.Put("k-over", 10, "original"), testutil.Put("k-gone", 10, "here"))
	r.MustLoad(reg, regioncache.LoadAccepted)
	r.WaitState(reg.ID, regioncache.Active)

	const snapTs = 45
	snap, err := r.E.Snapshot(reg, snapTs)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Info().Source != regioncache.FromMemory {
		t.Fatalf("snapshot of an active region served from %s", snap.Info().Source)
	}
	view := r.Model.Clone()
	// Overwrite after the snapshot, while still active: an exact
	// overwrite of a version, a newer version below the snapshot's ts and
	// a delete marker.
	r.Write(testutil.Put("k-over", 10, "overwritten"), testutil.Put("k-over", 20, "newer"), testutil.Del("k-gone", 15), testutil.Put("k-new", 5, "new"))
	mem := testutil.Metrics(t, r.E).Memory.Used

	r.Evict(reg)
	r.WantState(reg.ID, regioncache.PendingEvict)
	r.WaitIdle() // pending_evict held by a snapshot is settled
	r.WantState(reg.ID, regioncache.PendingEvict)
	if s, _ := r.RegionStatus(reg.ID); s.Snapshots != 1 {
		t.Fatalf("region holds %d snapshots, want 1", s.Snapshots)
	}
	r.WantMemory(mem)
	r.Write(testutil.Put("k-over", 30, "after-evict")) // Pebble only
	r.WantMemory(mem)

	checkSnapshot := func() {
		t.Helper()
		for _, k := range view.Keys() {
			if !reg.Contains([]byte(k)) {
				continue
			}
			// Above the snapshot's ts is an error: a snapshot is a view as of its ts.
			if _, err := snap.Get([]byte(k), snapTs+1); !errors.Is(err, regioncache.ErrAboveSnapshotTs) {
				t.Fatalf("snapshot Get(%q, %d): %v, want ErrAboveSnapshotTs", k, snapTs+1, err)
			}
			for _, ts := range []uint64{0, 11, 25, snapTs} {
				g, err := snap.Get([]byte(k), ts)
				if err != nil {
					t.Fatalf("snapshot Get(%q, %d): %v", k, ts, err)
				}
				readTs := ts
				if ts == 0 {
					readTs = snapTs
				}
				wv, wok := view.Get(k, readTs)
				if g.Found != wok || string(g.Value) != wv || g.Source != regioncache.FromMemory {
					t.Fatalf("snapshot Get(%q, %d) = %q %v from %s, want %q %v from memory", k, ts, g.Value, g.Found, g.Source, wv, wok)
				}
			}
		}
		for _, limit := range []int{0, 2} {
			sc, err := snap.Scan(nil, nil, 0, limit)
			if err != nil {
				t.Fatal(err)
			}
			if want := view.Scan(reg.Start, reg.End, snapTs, limit); !testutil.SameKVs(sc.Pairs, want) {
				t.Fatalf("snapshot Scan = %s, want %s", testutil.FmtKVs(sc.Pairs), testutil.FmtKVs(want))
			}
		}
		if _, err := snap.Get([]byte("z"), 0); !errors.Is(err, regioncache.ErrOutOfRange) {
			t.Fatalf("snapshot Get outside its region: %v", err)
		}
	}
	checkSnapshot()
	// The live engine sees the overwrites, from disk.
	if g, _ := r.E.Get([]byte("k-over"), snapTs); string(g.Value) != "after-evict" || g.Source != regioncache.FromDisk {
		t.Fatalf("live Get(k-over) = %q from %s", g.Value, g.Source)
	}
	r.Rejected(reg, "evicting")

	snap.Release()
	r.WaitState(reg.ID, regioncache.Absent)
	r.WantMemory(0)
	if _, err := snap.Get([]byte("k-over"), 0); !errors.Is(err, regioncache.ErrReleased) {
		t.Fatalf("Get through a released snapshot: %v", err)
	}
	snap.Release() // idempotent
	r.MustLoad(reg, regioncache.LoadAccepted)
	r.WaitState(reg.ID, regioncache.Active)
	r.CheckGets(reg, regioncache.FromMemory, 0)
	r.MustCheck()
}

// TestRule4_LastSnapshotReleaseEndsEviction: with two snapshots, the first
// release leaves the region pending_evict.
func TestRule4_LastSnapshotReleaseEndsEviction(t *testing.T) {
	r := testutil.NewRig(t, 0)
	reg := testutil.Reg(1, 1, "k", "l")
	r.FillRange("k", 10)
	r.MustLoad(reg, regioncache.LoadAccepted)
	r.WaitState(reg.ID, regioncache.Active)
	s1, err := r.E.Snapshot(reg, 25)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := r.E.Snapshot(reg, 35)
	if err != nil {
		t.Fatal(err)
	}
	mem := testutil.Metrics(t, r.E).Memory.Used
	r.Evict(reg)
	r.WantState(reg.ID, regioncache.PendingEvict)
	s1.Release()
	s1.Release()
	// Release is asynchronous, but its message is in the region actor's
	// mailbox when it returns; a second eviction (ignored by a
	// pending_evict region) is answered only after the actor has taken
	// it, so it orders the check after the release.
	r.Evict(reg)
	r.WantState(reg.ID, regioncache.PendingEvict)
	if st, _ := r.RegionStatus(reg.ID); st.Snapshots != 1 {
		t.Fatalf("region holds %d snapshots after one release, want 1", st.Snapshots)
	}
	r.WantMemory(mem)
	if g, err := s2.Get([]byte("k001"), 0); err != nil || string(g.Value) != "b-k001" {
		t.Fatalf("remaining snapshot: %+v %v", g, err)
	}
	s2.Release()
	r.WaitState(reg.ID, regioncache.Absent)
	r.WantMemory(0)
}

// TestRule4_BeforeDelete: evict/before-delete paused keeps the region
// evicting (memory counted) until resume; error and panic there still end
// absent with the memory released.
func TestRule4_BeforeDelete(t *testing.T) {
	for _, action := range []string{"pause", "error", "panic"} {
		for _, held := range []bool{false, true} {
			name := action
			if held {
				name += "/after-snapshot-release"
			}
			t.Run(name, func(t *testing.T) {
				r := testutil.NewRig(t, 0)
				r.AllowPanics = action == "panic"
				reg := testutil.Reg(1, 1, "k", "l")
				r.FillRange("k", 20)
				r.MustLoad(reg, regioncache.LoadAccepted)
				r.WaitState(reg.ID, regioncache.Active)
				var snap *regioncache.Snapshot
				if held {
					var err error
					if snap, err = r.E.Snapshot(reg, 50); err != nil {
						t.Fatal(err)
					}
				}
				mem := testutil.Metrics(t, r.E).Memory.Used
				r.FP(testutil.FPBeforeDelete, action)
				r.Evict(reg)
				if held {
					r.WantState(reg.ID, regioncache.PendingEvict)
					snap.Release()
				}
				if action == "pause" {
					r.WaitPaused(testutil.FPBeforeDelete, 1)
					r.WaitState(reg.ID, regioncache.Evicting)
					r.WantMemory(mem)
					r.CheckGets(reg, regioncache.FromDisk, 0)
					r.Write(testutil.Put("k005", 60, "while-evicting")) // Pebble only
					r.WantMemory(mem)
					r.Rejected(reg, "evicting")
					r.WantState(reg.ID, regioncache.Evicting)
					r.FP(testutil.FPBeforeDelete, "resume")
				}
				r.WaitState(reg.ID, regioncache.Absent)
				r.WaitIdle()
				r.WantMemory(0)
				r.FP(testutil.FPBeforeDelete, "off")
				if action == "panic" && len(r.Log.Matching("actor panicked")) == 0 {
					t.Error("the injected panic was not logged")
				}
				// The engine goes on: the region loads and evicts again.
				r.MustLoad(reg, regioncache.LoadAccepted)
				r.WaitState(reg.ID, regioncache.Active)
				r.CheckGets(reg, regioncache.FromMemory, 0)
				r.Evict(reg)
				r.WaitState(reg.ID, regioncache.Absent)
				r.WantMemory(0)
			})
		}
	}
}
