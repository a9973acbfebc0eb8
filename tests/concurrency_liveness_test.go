package tests

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/failpoint"
	"github.com/regioncache/regioncache/internal/testutil"
	"github.com/regioncache/regioncache/internal/testutil/leaktest"
)

var failpointNames = failpoint.Names

// TestLivenessAfterFailpointStorm: loads, evictions (current and stale
// descriptors), splits, merges and snapshots race a storm of failpoint
// actions (pause, resume, error, panic, delay) on every failpoint. Once every
// failpoint is off, the engine must be idle within 60 s, and then every
// region is active, or pending_evict held by a snapshot; memory equals disk;
// and once the snapshots are released and everything is evicted, nothing is
// held and no memory is accounted.
func TestLivenessAfterFailpointStorm(t *testing.T) {
	for _, c := range []struct {
		name     string
		capacity int64
	}{{"roomy", 0}, {"pressure", 64 << 10}} {
		t.Run(c.name, func(t *testing.T) {
			leaktest.Check(t)
			seed := uint64(time.Now().UnixNano())
			if *flagSeed != 0 {
				seed = *flagSeed
			}
			t.Logf("seed %d (rerun with -seed=%d)", seed, seed)
			storm(t, seed, c.capacity)
		})
	}
}

func storm(t *testing.T, seed uint64, capacity int64) {
	e, err := regioncache.Open(regioncache.Options{Capacity: capacity, Loaders: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	rng := rand.New(rand.NewPCG(seed, 2))
	var bounds [][]byte
	b := new(regioncache.Batch)
	for i := 0; i < 200; i++ {
		k := []byte(fmt.Sprintf("k%03d", i))
		if i > 0 && i%5 == 0 {
			bounds = append(bounds, k)
		}
		for ts := uint64(1); ts <= 3; ts++ {
			b.Put(k, ts, []byte(fmt.Sprintf("v%d.%d", i, ts)))
		}
	}
	if err := e.Write(b); err != nil {
		t.Fatal(err)
	}
	host := newHostTable(bounds, 4, rng)

	rounds := 3
	stormFor := 700 * time.Millisecond
	if testing.Short() {
		rounds, stormFor = 2, 300*time.Millisecond
	}
	for round := 0; round < rounds; round++ {
		var mu sync.Mutex
		var snaps []*regioncache.Snapshot
		ctx, cancel := context.WithTimeout(context.Background(), stormFor)
		var wg sync.WaitGroup
		run := func(worker uint64, fn func(rng *rand.Rand) error) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(seed, uint64(round)*100+worker))
				for ctx.Err() == nil {
					if err := fn(rng); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		for w := uint64(1); w <= 2; w++ {
			run(w, func(rng *rand.Rand) error {
				reg := host.pick(rng, 25)
				if rng.IntN(4) > 0 {
					if _, err := e.Load(reg); err != nil && !errors.Is(err, regioncache.ErrLoadRejected) {
						return fmt.Errorf("load: %w", err)
					}
				} else if _, err := e.Evict(reg, "manual"); err != nil {
					return fmt.Errorf("evict: %w", err)
				}
				time.Sleep(time.Duration(rng.IntN(300)) * time.Microsecond)
				return nil
			})
		}
		run(3, func(rng *rand.Rand) error {
			time.Sleep(time.Duration(1+rng.IntN(5)) * time.Millisecond)
			return host.change(e, rng)
		})
		run(4, func(rng *rand.Rand) error {
			s, err := e.Snapshot(host.pick(rng, 20), 10)
			if err != nil {
				return fmt.Errorf("snapshot: %w", err)
			}
			mu.Lock()
			snaps = append(snaps, s)
			if len(snaps) > 4 {
				i := rng.IntN(len(snaps))
				snaps[i].Release()
				snaps = append(snaps[:i], snaps[i+1:]...)
			}
			mu.Unlock()
			time.Sleep(time.Duration(1+rng.IntN(3)) * time.Millisecond)
			return nil
		})
		// What must hold at every moment, checked while the storm runs.
		run(6, func(*rand.Rand) error {
			if bad := checkAlways(e); len(bad) > 0 {
				return fmt.Errorf("round %d: %v", round, bad)
			}
			return nil
		})
		run(5, func(rng *rand.Rand) error {
			fp := failpointNames[rng.IntN(len(failpointNames))]
			actions := []string{"pause", "resume", "error", "panic", "delay:2ms", "off"}
			if err := testutil.Hooks(e).Failpoint(fp, actions[rng.IntN(len(actions))]); err != nil {
				return err
			}
			time.Sleep(time.Duration(rng.IntN(2000)) * time.Microsecond)
			return nil
		})
		wg.Wait()
		cancel()

		for _, fp := range failpointNames {
			if err := testutil.Hooks(e).Failpoint(fp, "off"); err != nil {
				t.Fatal(err)
			}
		}
		wctx, wcancel := context.WithTimeout(context.Background(), 60*time.Second)
		err := e.WaitIdle(wctx)
		wcancel()
		if err != nil {
			t.Fatalf("round %d: not idle 60s after every failpoint was turned off: %v\n%v", round, err, testutil.Metrics(t, e).Regions)
		}
		for _, s := range testutil.Metrics(t, e).Regions {
			if s.State != regioncache.Active && !(s.State == regioncache.PendingEvict && s.Snapshots > 0) {
				t.Errorf("round %d: idle, but region %v is %v with %d snapshot(s)", round, s.Region, s.State, s.Snapshots)
			}
		}
		if diffs, err := e.Check(); err != nil || len(diffs) > 0 {
			t.Fatalf("round %d: check: %v %v", round, err, diffs)
		}
		// Idle: every load job ended exactly once, and the account is what
		// the held regions and snapshots account.
		if bad := append(checkAlways(e), checkIdle(e)...); len(bad) > 0 {
			t.Errorf("round %d: idle engine: %v", round, bad)
		}
		for _, s := range snaps {
			s.Release()
		}
	}

	// Release everything; nothing may be left held or accounted.
	if _, err := e.Evict(regioncache.Region{ID: 1 << 40, Version: 1, Start: []byte{}}, "manual"); err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer wcancel()
	if err := e.WaitIdle(wctx); err != nil {
		t.Fatalf("not idle after evicting everything: %v\n%v", err, testutil.Metrics(t, e).Regions)
	}
	// Snapshot releases are messages: the regions they held go on to absent.
	if err := testutil.Hooks(e).WaitMemory(wctx, func(b int64) bool { return b == 0 }); err != nil {
		t.Errorf("memory still accounted after everything was evicted and released: %d bytes; regions %v", testutil.Metrics(t, e).Memory.Used, testutil.Metrics(t, e).Regions)
	}
	for _, s := range testutil.Metrics(t, e).Regions {
		t.Errorf("region %v still %v after everything was evicted", s.Region, s.State)
	}
	if bad := append(checkAlways(e), checkIdle(e)...); len(bad) > 0 {
		t.Errorf("idle engine after the storm: %v", bad)
	}
}

// TestCloseReleasesPausedWork: Close returns promptly with loads paused
// before and after their copy and a release paused before its delete, and
// leaves no goroutine behind; calls after Close fail with ErrClosed.
func TestCloseReleasesPausedWork(t *testing.T) {
	leaktest.Check(t)
	e, err := regioncache.Open(regioncache.Options{Loaders: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	r := func(id uint64, start, end string) regioncache.Region {
		return regioncache.Region{ID: id, Version: 1, Start: []byte(start), End: []byte(end)}
	}
	must(e.Write(new(regioncache.Batch).Put([]byte("a"), 1, []byte("1")).Put([]byte("m"), 1, []byte("2")).Put([]byte("x"), 1, []byte("3"))))
	_, err = e.Load(r(1, "a", "f"))
	must(err)
	must(testutil.Hooks(e).WaitRegionState(ctx, 1, regioncache.Active))
	must(testutil.Hooks(e).Failpoint("evict/before-delete", "pause"))
	_, err = e.Evict(r(1, "a", "f"), "manual")
	must(err)
	must(testutil.Hooks(e).WaitFailpointPaused(ctx, "evict/before-delete", 1))
	must(testutil.Hooks(e).Failpoint("load/before-copy", "pause"))
	_, err = e.Load(r(2, "f", "p"))
	must(err)
	must(testutil.Hooks(e).WaitFailpointPaused(ctx, "load/before-copy", 1))
	must(testutil.Hooks(e).Failpoint("load/after-copy", "pause"))
	must(testutil.Hooks(e).Failpoint("load/before-copy", "off"))
	must(testutil.Hooks(e).WaitFailpointPaused(ctx, "load/after-copy", 1))

	closed := make(chan error, 1)
	go func() { closed <- e.Close() }()
	select {
	case err := <-closed:
		must(err)
	case <-time.After(20 * time.Second):
		t.Fatal("Close is stuck behind paused work")
	}
	if _, err := e.Get([]byte("a"), 5); !errors.Is(err, regioncache.ErrClosed) {
		t.Errorf("Get after Close: %v, want ErrClosed", err)
	}
	if _, err := e.Load(r(3, "p", "")); !errors.Is(err, regioncache.ErrClosed) {
		t.Errorf("Load after Close: %v, want ErrClosed", err)
	}
}
