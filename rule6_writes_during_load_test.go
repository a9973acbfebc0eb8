package regioncache_test

// Engine tests, rule 6: no write is lost by a load: real Pebble (in memory), real actors,
// failpoints to hold work at a known step, waits on conditions; the rig
// (internal/testutil) checks every transition when the test ends.

import (
	"fmt"
	"sync"
	"testing"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/failpoint"
	"github.com/regioncache/regioncache/internal/mvcc"
	"github.com/regioncache/regioncache/internal/testutil"
)

func TestRule6_WritesDuringLoad(t *testing.T) {
	for _, phase := range []string{string(testutil.FPBeforeCopy), string(testutil.FPAfterCopy), "pending"} {
		t.Run(phase, func(t *testing.T) {
			loaders := 0
			if phase == "pending" {
				loaders = 1
			}
			r := testutil.NewRig(t, loaders)
			reg := testutil.Reg(1, 1, "k", "l")
			r.FillRange("k", 30)
			var resume func()
			if phase == "pending" {
				_, unblock := r.BlockLoader()
				r.MustLoad(reg, regioncache.LoadAccepted)
				r.WantState(reg.ID, regioncache.Pending)
				resume = unblock
			} else {
				r.FP(failpoint.Name(phase), "pause")
				r.MustLoad(reg, regioncache.LoadAccepted)
				r.WaitPaused(failpoint.Name(phase), 1)
				r.WaitState(reg.ID, regioncache.Loading)
				resume = func() { r.FP(failpoint.Name(phase), "resume") }
			}
			// Every kind of write, in several batches, one spanning the
			// region's edges.
			r.Write(testutil.Put("k000", 50, "new-version"), testutil.Put("k001", 20, "exact-overwrite"), testutil.Del("k002", 50))
			r.Write(testutil.Put("k-brand-new", 7, "fresh"), testutil.Del("k004", 20), testutil.Put("k004", 60, "back"))
			r.Write(testutil.Put("j-outside", 50, "o"), testutil.Put("k\x00", 50, "inside-nul"), testutil.Put("l-outside", 50, "o"),
				testutil.Put("k\xff\xff\xff", 70, "last"))
			for i := 0; i < 20; i++ {
				r.Write(testutil.Put(fmt.Sprintf("k%03d", i), uint64(100+i), fmt.Sprintf("burst-%d", i)))
			}
			r.CheckGets(reg, regioncache.FromDisk, 0)
			resume()
			r.WaitState(reg.ID, regioncache.Active)
			r.WaitIdle()
			r.CheckGets(reg, regioncache.FromMemory, 0)
			r.CheckScans(reg, regioncache.FromMemory, 0)
			r.MustCheck()
			// And after activation, writes keep landing in memory.
			r.Write(testutil.Put("k010", 200, "post"), testutil.Del("k011", 200))
			r.CheckGets(reg, regioncache.FromMemory, 0)
			r.MustCheck()
		})
	}
}

// TestRule6_ConcurrentWriterDuringLoad: a writer keeps committing while the
// region is paused before its copy, paused after it, copying in between and
// active; nothing it wrote is missing. The test asks the writer for a number
// of further commits at each phase, so every phase certainly sees writes.
func TestRule6_ConcurrentWriterDuringLoad(t *testing.T) {
	r := testutil.NewRig(t, 0)
	reg := testutil.Reg(1, 1, "k", "l")
	r.FillRange("k", 200)
	type milestone struct {
		n    int
		done chan struct{}
	}
	ask := make(chan milestone)
	var mu sync.Mutex
	var written []mvcc.Mutation
	stop := make(chan struct{})
	writerErr := make(chan error, 1)
	go func() {
		defer close(writerErr)
		var pending *milestone
		due := 0
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case m := <-ask:
				pending, due = &m, i+m.n
			default:
			}
			if pending != nil && i >= due {
				close(pending.done)
				pending = nil
			}
			muts := []mvcc.Mutation{testutil.Put(fmt.Sprintf("k%03d", i%200), uint64(1000+i), fmt.Sprintf("w%d", i))}
			if i%7 == 0 {
				muts = append(muts, testutil.Del(fmt.Sprintf("k%03d", (i*13)%200), uint64(1000+i)))
			}
			if i%11 == 0 {
				muts = append(muts, testutil.Put(fmt.Sprintf("j%03d", i), 5, "outside"))
			}
			b := new(regioncache.Batch)
			for _, m := range muts {
				if m.Tombstone {
					b.Delete(m.Key, m.Ts)
				} else {
					b.Put(m.Key, m.Ts, m.Value)
				}
			}
			if err := r.E.Write(b); err != nil {
				writerErr <- err
				return
			}
			mu.Lock()
			written = append(written, muts...)
			mu.Unlock()
		}
	}()
	moreWrites := func(n int) {
		t.Helper()
		m := milestone{n: n, done: make(chan struct{})}
		select {
		case ask <- m:
		case <-r.Ctx.Done():
			t.Fatal("writer gone")
		}
		select {
		case <-m.done:
		case <-r.Ctx.Done():
			t.Fatal("writer stalled")
		}
	}
	moreWrites(20) // before the load
	r.FP(testutil.FPBeforeCopy, "pause")
	r.FP(testutil.FPAfterCopy, "pause")
	r.MustLoad(reg, regioncache.LoadAccepted)
	r.WaitPaused(testutil.FPBeforeCopy, 1)
	moreWrites(50) // loading, before the copy
	r.FP(testutil.FPBeforeCopy, "resume")
	r.WaitPaused(testutil.FPAfterCopy, 1)
	moreWrites(50) // loading, copy done
	r.FP(testutil.FPAfterCopy, "resume")
	r.WaitState(reg.ID, regioncache.Active)
	moreWrites(50) // active
	close(stop)
	if err := <-writerErr; err != nil {
		t.Fatal(err)
	}
	r.Model.Apply(written)
	t.Logf("%d versions written concurrently with the load", len(written))
	r.MustCheck()
	// Every version the writer committed, read at its own ts, and every key
	// at a few more.
	seen := map[string]bool{}
	for _, m := range written {
		probe := []uint64{m.Ts}
		if !seen[string(m.Key)] {
			seen[string(m.Key)] = true
			probe = append(probe, 25, 999, mvcc.MaxTS)
		}
		for _, ts := range probe {
			k := string(m.Key)
			g, err := r.E.Get(m.Key, ts)
			wv, wok := r.Model.Get(k, ts)
			if err != nil || g.Found != wok || string(g.Value) != wv {
				t.Fatalf("Get(%q, %d) = %+v %v, want %q %v", k, ts, g, err, wv, wok)
			}
			if reg.Contains(m.Key) && g.Source != regioncache.FromMemory {
				t.Fatalf("Get(%q, %d) from %s", k, ts, g.Source)
			}
		}
	}
	for _, ts := range []uint64{25, 999, 1100, mvcc.MaxTS} {
		got, err := r.E.Scan(reg.Start, reg.End, ts, 0)
		if want := r.Model.Scan(reg.Start, reg.End, ts, 0); err != nil || !testutil.SameKVs(got.Pairs, want) || got.Source != regioncache.FromMemory {
			t.Fatalf("Scan at %d = %s from %s, %v; want %s", ts, testutil.FmtKVs(got.Pairs), got.Source, err, testutil.FmtKVs(want))
		}
	}
}

// TestRule6_WritesOutsideLoadingOrActiveGoToPebbleOnly: writes to a region
// that is absent, pending, loading_canceled, pending_evict or evicting do not
// touch memory, and reads see them from disk.
func TestRule6_WritesOutsideLoadingOrActiveGoToPebbleOnly(t *testing.T) {
	r := testutil.NewRig(t, 1)
	reg := testutil.Reg(1, 1, "k", "l")
	r.FillRange("k", 10)
	ts := uint64(100)
	writeAndCheck := func(state string) {
		t.Helper()
		mem := testutil.Metrics(t, r.E).Memory.Used
		ts++
		r.Write(testutil.Put("k001", ts, state), testutil.Del("k002", ts), testutil.Put("k-"+state, ts, state))
		if got := testutil.Metrics(t, r.E).Memory.Used; got != mem {
			t.Fatalf("a write to a %s region changed MemoryBytes %d -> %d", state, mem, got)
		}
		g, err := r.E.Get([]byte("k001"), ts)
		if err != nil || string(g.Value) != state || g.Source != regioncache.FromDisk {
			t.Fatalf("Get after a write to a %s region = %+v %v", state, g, err)
		}
	}
	writeAndCheck("absent")
	_, unblock := r.BlockLoader()
	r.MustLoad(reg, regioncache.LoadAccepted)
	writeAndCheck("pending")
	unblock()
	r.WaitState(reg.ID, regioncache.Active)

	snap, err := r.E.Snapshot(reg, 500)
	if err != nil {
		t.Fatal(err)
	}
	r.Evict(reg)
	r.WantState(reg.ID, regioncache.PendingEvict)
	writeAndCheck("pending_evict")
	r.FP(testutil.FPBeforeDelete, "pause")
	snap.Release()
	r.WaitPaused(testutil.FPBeforeDelete, 1)
	r.WaitState(reg.ID, regioncache.Evicting)
	writeAndCheck("evicting")
	r.FP(testutil.FPBeforeDelete, "resume")
	r.WaitState(reg.ID, regioncache.Absent)

	r.FP(testutil.FPBeforeCopy, "pause")
	r.MustLoad(reg, regioncache.LoadAccepted)
	r.WaitPaused(testutil.FPBeforeCopy, 1)
	r.Evict(reg)
	r.WantState(reg.ID, regioncache.LoadingCanceled)
	writeAndCheck("loading_canceled")
	r.FP(testutil.FPBeforeCopy, "resume")
	r.WaitState(reg.ID, regioncache.Absent)
	r.Evict(testutil.Reg(900, 1, "a", "b")) // the blocker
	r.WaitIdle()
	r.WantMemory(0)
	r.CheckGets(reg, regioncache.FromDisk, 0)
}
