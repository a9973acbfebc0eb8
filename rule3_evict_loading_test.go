package regioncache_test

// Engine tests, rule 3: evicting a loading region: real Pebble (in memory), real actors,
// failpoints to hold work at a known step, waits on conditions; the rig
// (internal/testutil) checks every transition when the test ends.

import (
	"fmt"
	"testing"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/failpoint"
	"github.com/regioncache/regioncache/internal/mvcc"
	"github.com/regioncache/regioncache/internal/testutil"
)

func TestRule3_EvictWhileLoading(t *testing.T) {
	for _, fp := range []failpoint.Name{testutil.FPBeforeCopy, testutil.FPAfterCopy} {
		t.Run(string(fp), func(t *testing.T) {
			r := testutil.NewRig(t, 0)
			reg := testutil.Reg(1, 1, "k", "l")
			r.FillRange("k", 40)
			r.FP(fp, "pause")
			r.MustLoad(reg, regioncache.LoadAccepted)
			r.WaitPaused(fp, 1)
			r.Write(testutil.Put("k001", 50, "captured"), testutil.Del("k002", 50)) // captured by the load
			mem := testutil.Metrics(t, r.E).Memory.Used
			if fp == testutil.FPAfterCopy && mem == 0 {
				t.Fatal("a finished copy is not counted in MemoryBytes")
			}

			evicted := r.Evict(reg)
			if len(evicted) != 1 || evicted[0].ID != reg.ID {
				t.Fatalf("Evict reached %v", evicted)
			}
			r.WantState(reg.ID, regioncache.LoadingCanceled)
			// Only the load job moves it on: more evictions and a GC do not.
			r.Evict(reg)
			if err := r.E.GC(5); err != nil {
				t.Fatal(err)
			}
			r.WantState(reg.ID, regioncache.LoadingCanceled)
			r.WantMemory(mem) // counted until released
			// Partial data is never readable; writes go to Pebble only.
			r.Write(testutil.Put("k003", 60, "after-evict"))
			r.WantMemory(mem)
			r.CheckGets(reg, regioncache.FromDisk, 0)
			r.CheckScans(reg, regioncache.FromDisk, 0)
			if s, err := r.E.Snapshot(reg, 70); err != nil || s.Info().Source != regioncache.FromDisk {
				t.Fatalf("snapshot of a loading_canceled region: %+v, %v", s, err)
			} else {
				s.Release()
			}

			r.FP(fp, "resume")
			r.WaitState(reg.ID, regioncache.Absent)
			r.WaitIdle()
			r.WantCounters(map[string]int64{"loads_started": 1, "loads_canceled": 1, "loads_completed": 0, "loads_failed": 0,
				"keys_loaded": 0})
			r.WantMemory(0)
			r.CheckGets(reg, regioncache.FromDisk, 0)

			// The id is free again.
			r.MustLoad(reg, regioncache.LoadAccepted)
			r.WaitState(reg.ID, regioncache.Active)
			r.CheckGets(reg, regioncache.FromMemory, 5)
			r.MustCheck()
		})
	}
}

// TestRule3_EvictPendingRegion: a pending region holds no loader and no
// data; evicting it makes it absent at once and it is never copied.
func TestRule3_EvictPendingRegion(t *testing.T) {
	r := testutil.NewRig(t, 1)
	r.FillRange("k", 10)
	_, unblock := r.BlockLoader()
	reg := testutil.Reg(1, 1, "k", "l")
	r.MustLoad(reg, regioncache.LoadAccepted)
	r.Evict(reg)
	r.WantState(reg.ID, regioncache.Absent)
	unblock()
	r.WaitIdle()
	r.WantState(reg.ID, regioncache.Absent)
	r.WantCounters(map[string]int64{"loads_started": 1, "loads_completed": 1, "evictions": 1})
	r.CheckGets(reg, regioncache.FromDisk, 0)
}

// TestRule3_EvictRacingLoadCompletion evicts right after each load without
// waiting, so the eviction meets the region pending, loading or active,
// while a reader checks every answer. The load job always has the last word.
func TestRule3_EvictRacingLoadCompletion(t *testing.T) {
	r := testutil.NewRig(t, 2)
	regs := []regioncache.Region{testutil.Reg(1, 1, "k", "l"), testutil.Reg(2, 1, "m", "n")}
	r.FillRange("k", 60)
	r.FillRange("m", 60)
	frozen := r.Model.Clone()
	stop := make(chan struct{})
	readerErr := make(chan error, 1)
	go func() {
		defer close(readerErr)
		keys := frozen.Keys()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			k := keys[i%len(keys)]
			ts := []uint64{15, 25, 35, mvcc.MaxTS}[i%4]
			g, err := r.E.Get([]byte(k), ts)
			if err != nil {
				readerErr <- err
				return
			}
			if wv, wok := frozen.Get(k, ts); g.Found != wok || string(g.Value) != wv {
				readerErr <- fmt.Errorf("Get(%q, %d) = %q %v from %s, want %q %v", k, ts, g.Value, g.Found, g.Source, wv, wok)
				return
			}
		}
	}()
	for round := 0; round < 40; round++ {
		for _, reg := range regs {
			r.MustLoad(reg, regioncache.LoadAccepted)
		}
		for _, reg := range regs {
			r.Evict(reg)
		}
		for _, reg := range regs {
			r.WaitState(reg.ID, regioncache.Absent)
		}
	}
	close(stop)
	if err := <-readerErr; err != nil {
		t.Fatal(err)
	}
	r.WaitIdle()
	r.WantMemory(0)
	started, completed := r.Counter("loads_started"), r.Counter("loads_completed")
	canceled, failed := r.Counter("loads_canceled"), r.Counter("loads_failed")
	if failed != 0 || started != completed+canceled {
		t.Fatalf("loads started %d = completed %d + canceled %d + failed %d does not add up", started, completed, canceled, failed)
	}
	if ev := r.Counter("evictions"); ev != 80 {
		t.Fatalf("evictions = %d, want 80", ev)
	}
	t.Logf("of 80 loads: %d started (%d completed, %d canceled)", started, completed, canceled)
}
