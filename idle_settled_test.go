package regioncache_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/testutil"
)

// Idle means settled (ARCHITECTURE invariant 10): at no
// moment may the engine look idle while work it has already decided on is
// still to come (a merged region's reload, the eviction of an id a split
// reused, an automatic round's evictions). If it did, WaitIdle could return
// there, and a load counted as started afterwards would break "idle:
// completed + canceled + failed = started" (seen once in TestRandomLogs,
// seed 1, at the release of the snapshot holding a merge's source).
//
// Every moment WaitIdle could return is seen through the board's watch
// (called at every change, however short), in one log with the region
// transitions (reported by the supervisor before it records them), so the
// test is exact whatever the scheduling: no moment between the decision
// and the work it decided may be idle.

// idleLog is the watch's observations and the transitions, in order.
type idleLog struct {
	mu      sync.Mutex
	entries []idleEntry
	// seen is closed by the first transition matching until.
	until trMatch
	seen  chan struct{}
}

type idleEntry struct {
	tr   *regioncache.Transition // nil: an observation
	idle bool
}

func (l *idleLog) observe(idle bool) {
	l.mu.Lock()
	l.entries = append(l.entries, idleEntry{idle: idle})
	l.mu.Unlock()
}

func (l *idleLog) transition(tr regioncache.Transition) {
	l.mu.Lock()
	l.entries = append(l.entries, idleEntry{tr: &tr})
	if l.until != nil && l.until(tr) {
		l.until = nil
		close(l.seen)
	}
	l.mu.Unlock()
}

// waitFor returns a channel closed once a transition matching m is seen.
func (l *idleLog) waitFor(m trMatch) <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.until, l.seen = m, make(chan struct{})
	return l.seen
}

func (l *idleLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, e := range l.entries {
		if e.tr != nil {
			fmt.Fprintf(&b, "  region %d v%d gen %d: %s -> %s (%s)\n", e.tr.Region.ID, e.tr.Region.Version, e.tr.Gen, e.tr.From, e.tr.To, e.tr.Cause)
		} else if e.idle {
			b.WriteString("  idle\n")
		} else {
			b.WriteString("  busy\n")
		}
	}
	return b.String()
}

type trMatch func(regioncache.Transition) bool

func trIs(id, version uint64, from, to regioncache.State) trMatch {
	return func(tr regioncache.Transition) bool {
		return tr.Region.ID == id && tr.Region.Version == version && tr.From == from && tr.To == to
	}
}

// idleBetween returns the idle observations after the first transition
// matching from (or, with from nil, just before to) and before the first
// transition matching to after it; an error if to never came.
func (l *idleLog) idleBetween(from, to trMatch) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	start := -1
	if from != nil {
		for i, e := range l.entries {
			if e.tr != nil && from(*e.tr) {
				start = i
				break
			}
		}
		if start < 0 {
			return 0, fmt.Errorf("the deciding transition never came")
		}
	}
	for i := start + 1; i < len(l.entries); i++ {
		e := l.entries[i]
		if e.tr == nil || !to(*e.tr) {
			continue
		}
		idle := 0
		if from == nil {
			// The last moment before it.
			for j := i - 1; j >= 0; j-- {
				if l.entries[j].tr == nil {
					if l.entries[j].idle {
						idle = 1
					}
					break
				}
			}
			return idle, nil
		}
		for _, o := range l.entries[start+1 : i] {
			if o.tr == nil && o.idle {
				idle++
			}
		}
		return idle, nil
	}
	return 0, fmt.Errorf("the decided transition never came")
}

func TestIdleNeverBeforeDecidedWork(t *testing.T) {
	cases := []struct {
		name string
		// setup brings the engine to the state before the call (idle).
		setup func(t *testing.T, e *regioncache.Engine) (call func())
		// from is the moment the engine decides the work (nil: the call
		// decides it and may return before it is taken), to the work.
		from, to trMatch
		// done is the last transition of the work.
		done trMatch
	}{
		{
			// The merge's source 1 is held by a snapshot; its release lets
			// it go, and once it is absent the merged region is loaded
			// again: between the two the engine is not idle.
			name: "merged region reloaded after the release of its source",
			setup: func(t *testing.T, e *regioncache.Engine) func() {
				for _, r := range []regioncache.Region{testutil.Reg(1, 1, "k000", "k020"), testutil.Reg(2, 1, "k020", "")} {
					if _, err := e.Load(r); err != nil {
						t.Fatal(err)
					}
					testutil.WaitState(t, e, r.ID, regioncache.Active)
				}
				s, err := e.Snapshot(testutil.Reg(1, 1, "k000", "k020"), 50)
				mustOK(t, err)
				mustOK(t, e.Merge([]regioncache.Region{testutil.Reg(1, 1, "k000", "k020"), testutil.Reg(2, 1, "k020", "")}, testutil.Reg(1, 2, "k000", "")))
				testutil.WaitState(t, e, 1, regioncache.PendingEvict)
				return s.Release
			},
			from: trIs(1, 1, regioncache.Evicting, regioncache.Absent),
			to:   trIs(1, 2, regioncache.Absent, regioncache.Pending),
			done: trIs(1, 2, regioncache.Loading, regioncache.Active),
		},
		{
			// A split gives id 5, held elsewhere, to a child: the old 5 is
			// evicted (missed_change) and the split answered before it
			// takes the eviction.
			name: "id reused by a split evicts the old holder",
			setup: func(t *testing.T, e *regioncache.Engine) func() {
				for _, r := range []regioncache.Region{testutil.Reg(1, 1, "k000", "k020"), testutil.Reg(5, 1, "k030", "k040")} {
					if _, err := e.Load(r); err != nil {
						t.Fatal(err)
					}
					testutil.WaitState(t, e, r.ID, regioncache.Active)
				}
				return func() {
					mustOK(t, e.Split(testutil.Reg(1, 1, "k000", "k020"), []regioncache.Region{testutil.Reg(1, 2, "k000", "k010"), testutil.Reg(5, 2, "k010", "k020")}))
				}
			},
			from: trIs(5, 2, regioncache.Absent, regioncache.Active),
			to:   trIs(5, 1, regioncache.Active, regioncache.Evicting),
			done: trIs(5, 1, regioncache.Evicting, regioncache.Absent),
		},
		{
			// An automatic round evicts a region nobody reads; the round
			// returns once decided, before the region takes the eviction.
			name: "automatic round evicts a cold region",
			setup: func(t *testing.T, e *regioncache.Engine) func() {
				r := testutil.Reg(3, 1, "k000", "k040")
				if _, err := e.Load(r); err != nil {
					t.Fatal(err)
				}
				testutil.WaitState(t, e, r.ID, regioncache.Active)
				return func() { mustOK(t, e.RunAutoLoadEvict(testutil.Context(t))) }
			},
			to:   trIs(3, 1, regioncache.Active, regioncache.Evicting),
			done: trIs(3, 1, regioncache.Evicting, regioncache.Absent),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			log := &idleLog{}
			e := testutil.Open(t, regioncache.Options{
				OnTransition: log.transition,
				// Rounds run only when the test asks.
				AutoLoadEvict: regioncache.AutoLoadEvict{Enabled: true, Interval: time.Hour},
			})
			testutil.Fill(t, e, 40)
			call := tc.setup(t, e)
			mustOK(t, e.WaitIdle(testutil.Context(t)))
			stop, err := testutil.Hooks(e).WatchIdle(log.observe)
			mustOK(t, err)
			done := log.waitFor(tc.done)
			call()
			select {
			case <-done:
			case <-testutil.Context(t).Done():
				t.Fatalf("the work never ended; log:\n%s", log)
			}
			wantIdleAccount(t, e)
			stop()
			idle, err := log.idleBetween(tc.from, tc.to)
			if err != nil {
				t.Fatalf("%v; log:\n%s", err, log)
			}
			if idle > 0 {
				t.Fatalf("the engine looked idle %d time(s) while work it had decided was still to come; log:\n%s", idle, log)
			}
		})
	}
}
