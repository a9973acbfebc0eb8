package regioncache_test

// Engine tests, API edges: invalid input, Close: real Pebble (in memory), real actors,
// failpoints to hold work at a known step, waits on conditions; the rig
// (internal/testutil) checks every transition when the test ends.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/failpoint"
	"github.com/regioncache/regioncache/internal/testutil"
)

func TestInvalidRegionsAndTimestamps(t *testing.T) {
	r := testutil.NewRig(t, 0)
	for _, bad := range []regioncache.Region{
		testutil.Reg(0, 1, "a", "b"), testutil.Reg(1, 0, "a", "b"), testutil.Reg(1, 1, "b", "a"), testutil.Reg(1, 1, "b", "b"),
	} {
		if _, err := r.E.Load(bad); !errors.Is(err, regioncache.ErrInvalidRegion) {
			t.Errorf("Load(%s) = %v, want ErrInvalidRegion", bad, err)
		}
		if _, err := r.E.Evict(bad, "manual"); !errors.Is(err, regioncache.ErrInvalidRegion) {
			t.Errorf("Evict(%s) = %v, want ErrInvalidRegion", bad, err)
		}
		if _, err := r.E.Snapshot(bad, 5); !errors.Is(err, regioncache.ErrInvalidRegion) {
			t.Errorf("Snapshot(%s) = %v, want ErrInvalidRegion", bad, err)
		}
	}
	ok := testutil.Reg(1, 1, "a", "b")
	if _, err := r.E.Get([]byte("a"), 0); !errors.Is(err, regioncache.ErrInvalidTimestamp) {
		t.Errorf("Get at ts 0: %v", err)
	}
	if _, err := r.E.Scan(nil, nil, 0, 0); !errors.Is(err, regioncache.ErrInvalidTimestamp) {
		t.Errorf("Scan at ts 0: %v", err)
	}
	if err := r.E.Put([]byte("a"), 0, []byte("v")); !errors.Is(err, regioncache.ErrInvalidTimestamp) {
		t.Errorf("Put at ts 0: %v", err)
	}
	if err := r.E.Write(new(regioncache.Batch).Put([]byte("a"), 1, nil).Delete([]byte("b"), 0)); !errors.Is(err, regioncache.ErrInvalidTimestamp) {
		t.Errorf("batch with a ts 0: %v", err)
	}
	if g, _ := r.E.Get([]byte("a"), 5); g.Found {
		t.Error("a batch with an invalid timestamp was partly written")
	}
	if _, err := r.E.Snapshot(ok, 0); !errors.Is(err, regioncache.ErrInvalidTimestamp) {
		t.Errorf("Snapshot at ts 0: %v", err)
	}
	if err := testutil.Hooks(r.E).Failpoint("no/such", "pause"); err == nil {
		t.Error("unknown failpoint accepted")
	}
	if err := testutil.Hooks(r.E).Failpoint(testutil.FPBeforeCopy, "sometimes"); err == nil {
		t.Error("unknown failpoint action accepted")
	}
	r.WantCounters(map[string]int64{"loads_requested": 0, "loads_rejected": 0})
	if len(testutil.Metrics(t, r.E).Regions) != 0 {
		t.Errorf("invalid requests left regions: %+v", testutil.Metrics(t, r.E).Regions)
	}
	if _, err := regioncache.Open(regioncache.Options{Loaders: -1}); !errors.Is(err, regioncache.ErrInvalidOptions) {
		t.Errorf("Open with negative loaders: %v", err)
	}
}

func TestAPIAfterClose(t *testing.T) {
	e, err := regioncache.Open(regioncache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	reg := testutil.Reg(1, 1, "a", "b")
	if err := e.Put([]byte("a1"), 1, []byte("v")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Load(reg); err != nil {
		t.Fatal(err)
	}
	if err := testutil.Hooks(e).WaitRegionState(testutil.Context(t), 1, regioncache.Active); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Wait)
	defer cancel()
	checks := map[string]error{}
	checks["Write"] = e.Write(new(regioncache.Batch).Put([]byte("a"), 1, nil))
	checks["Put"] = e.Put([]byte("a"), 1, nil)
	checks["Delete"] = e.Delete([]byte("a"), 1)
	_, checks["Get"] = e.Get([]byte("a"), 1)
	_, checks["Scan"] = e.Scan(nil, nil, 1, 0)
	_, checks["Load"] = e.Load(reg)
	_, checks["Evict"] = e.Evict(reg, "manual")
	checks["GC"] = e.GC(1)
	_, checks["Snapshot"] = e.Snapshot(reg, 1)
	_, checks["Check"] = e.Check()
	checks["WaitIdle"] = e.WaitIdle(ctx)
	checks["RunAutoLoadEvict"] = e.RunAutoLoadEvict(ctx)
	hooks := testutil.Hooks(e)
	checks["WaitRegionState"] = hooks.WaitRegionState(ctx, 1, regioncache.Active)
	checks["WaitRegionState absent"] = hooks.WaitRegionState(ctx, 1, regioncache.Absent)
	checks["Failpoint"] = hooks.Failpoint(testutil.FPBeforeCopy, "pause")
	checks["WaitFailpointPaused"] = hooks.WaitFailpointPaused(ctx, testutil.FPBeforeCopy, 0)
	checks["WaitMemory"] = hooks.WaitMemory(ctx, func(int64) bool { return true })
	for name, err := range checks {
		if !errors.Is(err, regioncache.ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
	// Metrics no longer lists the regions an open engine held.
	if m, err := e.Metrics(); !errors.Is(err, regioncache.ErrClosed) || len(m.Regions) != 0 {
		t.Errorf("Metrics after Close = %d regions, %v; want ErrClosed", len(m.Regions), err)
	}
	// A closed engine holds nothing: the region it held is absent.
	if st := e.RegionState(1); st != regioncache.Absent {
		t.Errorf("RegionState after Close = %s, want absent", st)
	}
}

// TestWaitFailpointPausedAfterClose: like every other wait, it must end when
// the engine closes instead of running until its context does.
func TestWaitFailpointPausedAfterClose(t *testing.T) {
	e, err := regioncache.Open(regioncache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testutil.Wait)
	defer cancel()
	if err := testutil.Hooks(e).WaitFailpointPaused(ctx, testutil.FPBeforeCopy, 1); !errors.Is(err, regioncache.ErrClosed) {
		t.Fatalf("WaitFailpointPaused after Close = %v, want ErrClosed", err)
	}
}

// TestCloseWithPausedFailpoints: Close returns while work is paused at each
// failpoint, and snapshots released after Close are harmless.
func TestCloseWithPausedFailpoints(t *testing.T) {
	for _, fp := range []failpoint.Name{testutil.FPBeforeCopy, testutil.FPAfterCopy, testutil.FPBeforeDelete} {
		t.Run(string(fp), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), testutil.Wait)
			defer cancel()
			e, err := regioncache.Open(regioncache.Options{})
			if err != nil {
				t.Fatal(err)
			}
			reg, other := testutil.Reg(1, 1, "k", "l"), testutil.Reg(2, 1, "m", "n")
			for _, k := range []string{"k1", "k2", "m1"} {
				if err := e.Put([]byte(k), 5, []byte("v")); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := e.Load(other); err != nil {
				t.Fatal(err)
			}
			if err := testutil.Hooks(e).WaitRegionState(ctx, other.ID, regioncache.Active); err != nil {
				t.Fatal(err)
			}
			memSnap, err := e.Snapshot(other, 10)
			if err != nil || memSnap.Info().Source != regioncache.FromMemory {
				t.Fatalf("memory snapshot: %v", err)
			}
			diskSnap, err := e.Snapshot(testutil.Reg(3, 1, "x", "y"), 10)
			if err != nil {
				t.Fatal(err)
			}
			if err := testutil.Hooks(e).Failpoint(fp, "pause"); err != nil {
				t.Fatal(err)
			}
			if fp == testutil.FPBeforeDelete {
				if _, err := e.Load(reg); err != nil {
					t.Fatal(err)
				}
				if err := testutil.Hooks(e).WaitRegionState(ctx, reg.ID, regioncache.Active); err != nil {
					t.Fatal(err)
				}
				if _, err := e.Evict(reg, "manual"); err != nil {
					t.Fatal(err)
				}
			} else if _, err := e.Load(reg); err != nil {
				t.Fatal(err)
			}
			if err := testutil.Hooks(e).WaitFailpointPaused(ctx, fp, 1); err != nil {
				t.Fatal(err)
			}
			closed := make(chan error, 1)
			go func() { closed <- e.Close() }()
			select {
			case err := <-closed:
				if err != nil {
					t.Errorf("Close: %v", err)
				}
			case <-ctx.Done():
				t.Fatal("Close hung with a paused failpoint")
			}
			memSnap.Release()
			diskSnap.Release()
			memSnap.Release()
			if _, err := e.Load(reg); !errors.Is(err, regioncache.ErrClosed) {
				t.Errorf("Load after Close: %v", err)
			}
		})
	}
}

// TestSnapshotReadsAfterClose: a snapshot still held when the engine closes
// must answer or return an error; it must not panic.
func TestSnapshotReadsAfterClose(t *testing.T) {
	e, err := regioncache.Open(regioncache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Put([]byte("k1"), 1, []byte("v")); err != nil {
		t.Fatal(err)
	}
	s, err := e.Snapshot(testutil.Reg(1, 1, "k", "l"), 5) // not cached: a disk snapshot
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	defer s.Release()
	for name, read := range map[string]func() error{
		"Get":  func() error { _, err := s.Get([]byte("k1"), 0); return err },
		"Scan": func() error { _, err := s.Scan(nil, nil, 0, 0); return err },
	} {
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("snapshot %s after Close panicked: %v", name, p)
				}
			}()
			if err := read(); err != nil && !errors.Is(err, regioncache.ErrClosed) {
				t.Errorf("snapshot %s after Close = %v, want a value or ErrClosed", name, err)
			}
		}()
	}
}

// TestCallsRacingClose: calls in flight when Close starts either complete or
// return ErrClosed; none panics or hangs.
func TestCallsRacingClose(t *testing.T) {
	e, err := regioncache.Open(regioncache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	reg := testutil.Reg(1, 1, "k", "l")
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				var err error
				switch i % 6 {
				case 0:
					err = e.Put([]byte(fmt.Sprintf("k%d", i%20)), uint64(i+1), []byte("v"))
				case 1:
					_, err = e.Get([]byte("k1"), uint64(i+1))
				case 2:
					_, err = e.Load(reg)
					if errors.Is(err, regioncache.ErrLoadRejected) {
						err = nil
					}
				case 3:
					_, err = e.Evict(reg, "manual")
				case 4:
					_, err = e.Scan(nil, nil, uint64(i+1), 5)
				case 5:
					var s *regioncache.Snapshot
					if s, err = e.Snapshot(reg, uint64(i+1)); err == nil {
						s.Release()
					}
				}
				if errors.Is(err, regioncache.ErrClosed) {
					return
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	if err := e.Put([]byte("k0"), 1, []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("call racing Close: %v", err)
	}
}

// TestGCZeroAndEmptyRangesAreNoOps pins what the go doc of GC, Scan and
// NewIter says: GC(0), and GC at or below the current safe point, change
// nothing and return nil; a range whose start is at or above its end (and a
// snapshot range outside its region) has no keys and no error.
func TestGCZeroAndEmptyRangesAreNoOps(t *testing.T) {
	e := testutil.Open(t, regioncache.Options{})
	ctx := testutil.Context(t)
	r := regioncache.Region{ID: 1, Version: 1, Start: []byte("a"), End: []byte("m")}
	for _, k := range []string{"b", "c", "d"} {
		if err := e.Put([]byte(k), 5, []byte("v"+k)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.Load(r); err != nil {
		t.Fatal(err)
	}
	if err := e.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	used := testutil.Metrics(t, e).Memory.Used
	wantMemory := func(what string) {
		t.Helper()
		res, err := e.Get([]byte("b"), 6)
		if err != nil || string(res.Value) != "vb" || res.Source != regioncache.FromMemory || e.RegionState(r.ID) != regioncache.Active {
			t.Fatalf("%s: get b@6 = %q from %s, %v; region %s; want vb from memory, active", what, res.Value, res.Source, err, e.RegionState(r.ID))
		}
		if m := testutil.Metrics(t, e).Memory.Used; m != used {
			t.Fatalf("%s: memory %d, want %d", what, m, used)
		}
	}
	if err := e.GC(0); err != nil {
		t.Fatalf("GC(0): %v", err)
	}
	wantMemory("after GC(0)")
	if err := e.GC(4); err != nil {
		t.Fatal(err)
	}
	if err := e.GC(2); err != nil {
		t.Fatalf("GC below the safe point: %v", err)
	}
	if err := e.GC(0); err != nil {
		t.Fatalf("GC(0) after GC(4): %v", err)
	}
	wantMemory("after GC(4), GC(2), GC(0)")

	snap, err := e.Snapshot(r, 6)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Release()
	for _, b := range [][2]string{{"c", "c"}, {"d", "b"}, {"z", "y"}, {"n", ""}} {
		lower, upper := []byte(b[0]), []byte(b[1])
		if len(upper) == 0 {
			upper = nil // [n, unbounded): not empty for the engine; outside the snapshot's region
		}
		if upper != nil {
			res, err := e.Scan(lower, upper, 6, 0)
			if err != nil || len(res.Pairs) != 0 {
				t.Errorf("Engine.Scan(%q, %q) = %d keys, %v; want none, nil", lower, upper, len(res.Pairs), err)
			}
			it, err := e.NewIter(regioncache.IterOptions{LowerBound: lower, UpperBound: upper, Ts: 6})
			if err != nil {
				t.Fatal(err)
			}
			if it.First() || it.Error() != nil {
				t.Errorf("Engine.NewIter [%q, %q): First %v, error %v; want false, nil", lower, upper, it.Valid(), it.Error())
			}
			if err := it.Close(); err != nil {
				t.Fatal(err)
			}
		}
		res, err := snap.Scan(lower, upper, 0, 0)
		if err != nil || len(res.Pairs) != 0 {
			t.Errorf("Snapshot.Scan(%q, %q) = %d keys, %v; want none, nil", lower, upper, len(res.Pairs), err)
		}
		it, err := snap.NewIter(regioncache.IterOptions{LowerBound: lower, UpperBound: upper})
		if err != nil {
			t.Fatal(err)
		}
		if it.First() || it.Error() != nil {
			t.Errorf("Snapshot.NewIter [%q, %q): First %v, error %v; want false, nil", lower, upper, it.Valid(), it.Error())
		}
		if err := it.Close(); err != nil {
			t.Fatal(err)
		}
	}
	testutil.MustCheck(t, e)
}
