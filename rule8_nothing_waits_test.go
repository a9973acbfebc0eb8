package regioncache_test

// Engine tests, rule 8: nothing waits for a copy: real Pebble (in memory), real actors,
// failpoints to hold work at a known step, waits on conditions; the rig
// (internal/testutil) checks every transition when the test ends.

import (
	"sync"
	"testing"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/testutil"
)

// TestRule8_PausedCopiesBlockNothing: with both loaders paused before their
// copies, loads still return at once and every operation on an active region
// completes.
func TestRule8_PausedCopiesBlockNothing(t *testing.T) {
	r := testutil.NewRig(t, 2)
	active := testutil.Reg(1, 1, "k", "l")
	r.FillRange("k", 30)
	r.FillRange("m", 10)
	r.FillRange("p", 10)
	r.MustLoad(active, regioncache.LoadAccepted)
	r.WaitState(active.ID, regioncache.Active)

	r.FP(testutil.FPBeforeCopy, "pause")
	b, c, d := testutil.Reg(2, 1, "m", "n"), testutil.Reg(3, 1, "p", "q"), testutil.Reg(4, 1, "s", "t")
	r.MustLoad(b, regioncache.LoadAccepted) // returns although its copy cannot run
	r.MustLoad(c, regioncache.LoadAccepted)
	r.WaitPaused(testutil.FPBeforeCopy, 2) // both loaders are stuck
	r.MustLoad(d, regioncache.LoadAccepted)
	r.WantState(d.ID, regioncache.Pending)

	// The active region serves everything, from memory.
	r.Write(testutil.Put("k001", 90, "while-paused"), testutil.Del("k003", 90))
	r.CheckGets(active, regioncache.FromMemory, 0)
	r.CheckScans(active, regioncache.FromMemory, 0)
	snap, err := r.E.Snapshot(active, 95)
	if err != nil || snap.Info().Source != regioncache.FromMemory {
		t.Fatalf("snapshot: %+v %v", snap, err)
	}
	if g, err := snap.Get([]byte("k001"), 0); err != nil || string(g.Value) != "while-paused" {
		t.Fatalf("snapshot Get = %+v %v", g, err)
	}
	snap.Release()
	if err := r.E.GC(15); err != nil {
		t.Fatal(err)
	}
	r.MustCheck()
	// The loading regions answer from disk.
	r.CheckGets(b, regioncache.FromDisk, 0)
	// Evicting another region works too.
	r.Evict(active)
	r.WaitState(active.ID, regioncache.Absent)

	r.FP(testutil.FPBeforeCopy, "resume")
	for _, reg := range []regioncache.Region{b, c, d} {
		r.WaitState(reg.ID, regioncache.Active)
	}
	r.WaitIdle()
	r.CheckGets(b, regioncache.FromMemory, 15)
	r.MustCheck()
}

// TestRule8_ReadsDoNotQueueBehindTheSupervisor holds the supervisor inside
// a transition callback (which the options forbid; here it is the tool that
// proves the point) and reads and writes an active region meanwhile.
func TestRule8_ReadsDoNotQueueBehindTheSupervisor(t *testing.T) {
	r := testutil.NewRig(t, 0)
	active := testutil.Reg(1, 1, "k", "l")
	r.FillRange("k", 20)
	r.MustLoad(active, regioncache.LoadAccepted)
	r.WaitState(active.ID, regioncache.Active)

	blocked, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock) // before Close, even if the test fails
	hook := func(tr regioncache.Transition) {
		if tr.Region.ID == 99 && tr.To == regioncache.Pending {
			close(blocked)
			<-release
		}
	}
	r.Hook.Store(&hook)
	loadDone := make(chan error, 1)
	go func() {
		_, err := r.E.Load(testutil.Reg(99, 1, "x", "y"))
		loadDone <- err
	}()
	select {
	case <-blocked:
	case <-r.Ctx.Done():
		t.Fatal("the supervisor never reached the transition")
	}
	// The supervisor is stuck; the data path is not.
	r.Write(testutil.Put("k002", 80, "supervisor-busy"))
	r.CheckGets(active, regioncache.FromMemory, 0)
	r.CheckScans(active, regioncache.FromMemory, 0)
	_ = testutil.Metrics(t, r.E)
	r.WantState(active.ID, regioncache.Active)
	select {
	case err := <-loadDone:
		t.Fatalf("Load returned (%v) while the supervisor was held", err)
	default:
	}
	unblock()
	select {
	case err := <-loadDone:
		if err != nil {
			t.Fatal(err)
		}
	case <-r.Ctx.Done():
		t.Fatal("Load did not return after the supervisor was released")
	}
	r.Hook.Store(nil)
	r.WaitState(99, regioncache.Active)
}
