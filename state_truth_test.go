package regioncache_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/failpoint"
	"github.com/regioncache/regioncache/internal/testutil"
)

// TestWriteOverCapacityStateIsTrueWhenWriteReturns: a
// write that would pass the capacity stops its region serving from memory;
// once Write has returned, RegionState must no longer say active (and once
// WaitIdle has returned, the region is gone). Before the fix the eviction
// was only sent to the supervisor, and RegionState said active after Write
// and WaitIdle in 199 runs of 200; this test failed in its first round.
// It runs 200 rounds, the count of the runs in which that was observed.
func TestWriteOverCapacityStateIsTrueWhenWriteReturns(t *testing.T) {
	const capacity, rounds = 64 << 10, 200
	e := testutil.Open(t, regioncache.Options{Capacity: capacity})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	big := make([]byte, capacity)
	hooks := testutil.Hooks(e)
	for round := 1; round <= rounds; round++ {
		r := regioncache.Region{ID: uint64(round), Version: 1, Start: []byte(fmt.Sprintf("r%03d", round)), End: []byte(fmt.Sprintf("r%03d~", round))}
		key := append(append([]byte(nil), r.Start...), '/', 'k')
		if err := e.Put(key, 10, []byte("small")); err != nil {
			t.Fatal(err)
		}
		// Odd rounds write to an active region; even rounds to a loading
		// one, whose copy waits at load/after-copy until the write returned.
		whileLoading := round%2 == 0
		if whileLoading {
			if err := hooks.Failpoint(failpoint.LoadAfterCopy, "pause"); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := e.Load(r); err != nil {
			t.Fatal(err)
		}
		var err error
		if whileLoading {
			err = hooks.WaitFailpointPaused(ctx, failpoint.LoadAfterCopy, 1)
		} else {
			err = hooks.WaitRegionState(ctx, r.ID, regioncache.Active)
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Put(key, 20, big); err != nil {
			t.Fatal(err)
		}
		if s := e.RegionState(r.ID); s == regioncache.Active || (whileLoading && s != regioncache.LoadingCanceled) {
			t.Fatalf("round %d: region %s after a write over capacity returned, want it leaving memory", round, s)
		}
		if whileLoading {
			if err := hooks.Failpoint(failpoint.LoadAfterCopy, "resume"); err != nil {
				t.Fatal(err)
			}
		}
		res, err := e.Get(key, 30)
		if err != nil || res.Source != regioncache.FromDisk || len(res.Value) != len(big) {
			t.Fatalf("round %d: read after the write: source %s, %d bytes, %v", round, res.Source, len(res.Value), err)
		}
		if err := e.WaitIdle(ctx); err != nil {
			t.Fatal(err)
		}
		if s := e.RegionState(r.ID); s != regioncache.Absent {
			t.Fatalf("round %d: region %s after WaitIdle, want absent", round, s)
		}
		if m := testutil.Metrics(t, e).Memory.Used; m > capacity {
			t.Fatalf("round %d: memory %d above capacity %d", round, m, capacity)
		}
	}
	if n, _ := testutil.Metrics(t, e).Counter("evictions"); n != rounds {
		t.Fatalf("evictions %d, want %d", n, rounds)
	}
}

// TestActivationThatCannotBeReadIsNeverReportedActive is the second path by
// which a state could be reported before it was true: a load whose copy is complete but cannot be made readable
// (here the capacity refuses the bytes of rebasing a key written during the
// load at or below the safe point) must never be reported active. The load
// is held at load/after-copy while the write is captured and the safe point
// passes it, so the activation fails by construction. Every transition the
// engine publishes is checked against RegionState at that moment, and none
// may go to active. Before the fix the region was reported loading ->
// active, then evicted through an asynchronous message (RegionState said
// active while reads went to disk), and its load counted as completed.
func TestActivationThatCannotBeReadIsNeverReportedActive(t *testing.T) {
	const capacity = 64 << 10
	r := regioncache.Region{ID: 7, Version: 1, Start: []byte("a"), End: []byte("b")}
	e, tl := openRecording(t, r.ID, regioncache.Options{Capacity: capacity, EvictThreshold: capacity, StopLoadThreshold: capacity})
	hooks := testutil.Hooks(e)

	key := []byte("a/k")
	if err := e.Put(key, 5, make([]byte, 30<<10)); err != nil {
		t.Fatal(err)
	}
	loadPausedAfterCopy(t, e, r)
	// Captured: the copy (30 KiB) and this write (20 KiB) fit; rebasing the
	// key at activation needs its disk version (20 KiB more) and does not.
	if err := e.Put(key, 7, make([]byte, 20<<10)); err != nil {
		t.Fatal(err)
	}
	if err := e.GC(10); err != nil {
		t.Fatal(err)
	}
	if err := hooks.Failpoint(failpoint.LoadAfterCopy, "resume"); err != nil {
		t.Fatal(err)
	}
	got := neverReportedActive(t, e, r, tl)
	m := testutil.Metrics(t, e)
	if m.Loads.Completed != 0 || m.Loads.Failed != 1 || m.Evictions != 1 {
		t.Fatalf("loads completed %d, failed %d, evictions %d; want 0, 1, 1 (transitions %q)", m.Loads.Completed, m.Loads.Failed, m.Evictions, got)
	}
	if !slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, "memory_limit_reached") }) {
		t.Fatalf("no transition names memory_limit_reached: %q", got)
	}
	if m.Memory.Used != 0 || m.Memory.Used > capacity {
		t.Fatalf("memory %d after the region left, want 0", m.Memory.Used)
	}
	res, err := e.Get(key, 20)
	if err != nil || res.Source != regioncache.FromDisk || len(res.Value) != 20<<10 {
		t.Fatalf("read after the failed activation: source %s, %d bytes, %v", res.Source, len(res.Value), err)
	}
	testutil.MustCheck(t, e)
}

// TestActivationWhoseRebaseReadFailsIsNeverReportedActive is the read-error
// variant of the test above: the capacity is ample, and the disk read that
// rebases a key written during the load (at or below the safe point, which
// passed it) fails at failpoint.ActivateRebaseRead. The region must never be
// reported active, its eviction must name read_error, the engine's log must
// carry the disk's error, and every read must still answer what the disk
// holds; with the failpoint off, a second load serves the same data.
func TestActivationWhoseRebaseReadFailsIsNeverReportedActive(t *testing.T) {
	var logs testutil.LogLines
	r := regioncache.Region{ID: 7, Version: 1, Start: []byte("a"), End: []byte("b")}
	logger := zerolog.New(&logs)
	e, tl := openRecording(t, r.ID, regioncache.Options{Logger: &logger})
	ctx := testutil.Context(t)
	hooks := testutil.Hooks(e)

	rebased, other := []byte("a/k"), []byte("a/j")
	for _, kv := range []struct {
		key   []byte
		ts    uint64
		value string
	}{{rebased, 5, "old"}, {other, 5, "other"}} {
		if err := e.Put(kv.key, kv.ts, []byte(kv.value)); err != nil {
			t.Fatal(err)
		}
	}
	loadPausedAfterCopy(t, e, r)
	// Captured during the load, then passed by the safe point: activation
	// must read the key's disk version at 10 to rebase it, and that read fails.
	if err := e.Put(rebased, 7, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if err := e.GC(10); err != nil {
		t.Fatal(err)
	}
	if err := hooks.Failpoint(failpoint.ActivateRebaseRead, "error"); err != nil {
		t.Fatal(err)
	}
	if err := hooks.Failpoint(failpoint.LoadAfterCopy, "resume"); err != nil {
		t.Fatal(err)
	}
	got := neverReportedActive(t, e, r, tl)
	if !slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, "read_error") }) {
		t.Fatalf("no transition names read_error: %q", got)
	}
	m := testutil.Metrics(t, e)
	if m.Loads.Completed != 0 || m.Loads.Failed != 1 || m.Evictions != 1 || m.Memory.Used != 0 {
		t.Fatalf("loads completed %d, failed %d, evictions %d, memory %d; want 0, 1, 1, 0 (transitions %q)",
			m.Loads.Completed, m.Loads.Failed, m.Evictions, m.Memory.Used, got)
	}
	if lines := logs.Matching(string(failpoint.ActivateRebaseRead)); len(lines) != 1 || !strings.Contains(lines[0], `"region":7`) ||
		!strings.Contains(lines[0], "injected error") {
		t.Fatalf("log lines naming the failed read: %q, want one naming region 7 and the disk's error", lines)
	}

	// Nothing was lost: every read answers what the disk holds, before and
	// after a second load with the failpoint off.
	wantReads := func(when string, src regioncache.Source) {
		t.Helper()
		for _, c := range []struct {
			key  []byte
			ts   uint64
			want string
		}{{rebased, 6, "old"}, {rebased, 20, "new"}, {other, 20, "other"}} {
			want := src
			if c.ts < 10 {
				want = regioncache.FromDisk // below the safe point: memory no longer holds it
			}
			res, err := e.Get(c.key, c.ts)
			if err != nil || string(res.Value) != c.want || res.Source != want {
				t.Fatalf("%s: get %s@%d = %q from %s, %v; want %q from %s", when, c.key, c.ts, res.Value, res.Source, err, c.want, want)
			}
		}
		testutil.MustCheck(t, e)
	}
	wantReads("after the failed activation", regioncache.FromDisk)
	if err := hooks.Failpoint(failpoint.ActivateRebaseRead, "off"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Load(r); err != nil {
		t.Fatal(err)
	}
	if err := hooks.WaitRegionState(ctx, r.ID, regioncache.Active); err != nil {
		t.Fatal(err)
	}
	wantReads("after a second load", regioncache.FromMemory)
}

// transitionLog records every transition of one region, each with what
// RegionState said at that moment: "from->to (cause; RegionState s)".
type transitionLog struct {
	engine atomic.Pointer[regioncache.Engine]
	id     uint64
	mu     sync.Mutex
	seen   []string
}

func (l *transitionLog) record(tr regioncache.Transition) {
	if tr.Region.ID != l.id {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seen = append(l.seen, fmt.Sprintf("%s->%s (%s; RegionState %s)", tr.From, tr.To, tr.Cause, l.engine.Load().RegionState(l.id)))
}

func (l *transitionLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.seen)
}

// openRecording opens an engine with opts whose transitions of region id
// are recorded.
func openRecording(t *testing.T, id uint64, opts regioncache.Options) (*regioncache.Engine, *transitionLog) {
	t.Helper()
	tl := &transitionLog{id: id}
	opts.OnTransition = tl.record
	e := testutil.Open(t, opts)
	tl.engine.Store(e)
	return e, tl
}

// loadPausedAfterCopy loads r and returns once its copy is complete and
// held at load/after-copy.
func loadPausedAfterCopy(t *testing.T, e *regioncache.Engine, r regioncache.Region) {
	t.Helper()
	hooks := testutil.Hooks(e)
	if err := hooks.Failpoint(failpoint.LoadAfterCopy, "pause"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Load(r); err != nil {
		t.Fatal(err)
	}
	if err := hooks.WaitFailpointPaused(testutil.Context(t), failpoint.LoadAfterCopy, 1); err != nil {
		t.Fatal(err)
	}
}

// neverReportedActive waits until the engine is idle, fails the test if any
// transition of r went to active or was published while RegionState said
// active, and if r is not absent then; it returns the transitions.
func neverReportedActive(t *testing.T, e *regioncache.Engine, r regioncache.Region, tl *transitionLog) []string {
	t.Helper()
	if err := e.WaitIdle(testutil.Context(t)); err != nil {
		t.Fatal(err)
	}
	got := tl.all()
	for _, s := range got {
		if strings.Contains(s, "->active") || strings.Contains(s, "RegionState active") {
			t.Errorf("region reported active although its copy never became readable: %s", s)
		}
	}
	if t.Failed() {
		t.Fatalf("transitions: %q", got)
	}
	if s := e.RegionState(r.ID); s != regioncache.Absent {
		t.Fatalf("region %s after WaitIdle, want absent; transitions %q", s, got)
	}
	return got
}
