package regioncache_test

import (
	"fmt"
	"testing"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/failpoint"
	"github.com/regioncache/regioncache/internal/testutil"
)

// TestStateShownWhenFailpointWaitReturns: what the engine says is what it
// does, for work paused at a failpoint: once a wait on the failpoint returns, RegionState shows
// every transition that led to the paused work. Before the fix the region
// actor started the releaser (or sent the loader its copy) before its step
// report reached the supervisor, so the wait could return while the Board
// still said pending_evict (or pending): this test failed within its rounds
// under -race (see the commit for the count).
func TestStateShownWhenFailpointWaitReturns(t *testing.T) {
	const rounds = 60
	cases := []struct {
		name string
		// pausedAt is the failpoint the test waits on; want the state the
		// region must show as soon as the wait returns.
		pausedAt failpoint.Name
		want     regioncache.State
		// start brings region r to the step that runs into pausedAt.
		start func(t *testing.T, e *regioncache.Engine, r regioncache.Region)
	}{
		{
			// Evicted while a snapshot holds it: pending_evict; releasing
			// the snapshot makes it evicting and starts the release, with no
			// call waiting for that step.
			name: "evict/before-delete after pending_evict", pausedAt: testutil.FPBeforeDelete, want: regioncache.Evicting,
			start: func(t *testing.T, e *regioncache.Engine, r regioncache.Region) {
				_, err := e.Load(r)
				mustOK(t, err)
				testutil.WaitState(t, e, r.ID, regioncache.Active)
				snap, err := e.Snapshot(r, 20)
				mustOK(t, err)
				mustOK(t, testutil.Hooks(e).Failpoint(testutil.FPBeforeDelete, "pause"))
				_, err = e.Evict(r, regioncache.EvictManual)
				mustOK(t, err)
				if s := e.RegionState(r.ID); s != regioncache.PendingEvict {
					t.Fatalf("region %d %s after Evict with a snapshot held, want pending_evict", r.ID, s)
				}
				snap.Release()
			},
		},
		{
			name: "evict/before-delete from active", pausedAt: testutil.FPBeforeDelete, want: regioncache.Evicting,
			start: func(t *testing.T, e *regioncache.Engine, r regioncache.Region) {
				_, err := e.Load(r)
				mustOK(t, err)
				testutil.WaitState(t, e, r.ID, regioncache.Active)
				mustOK(t, testutil.Hooks(e).Failpoint(testutil.FPBeforeDelete, "pause"))
				_, err = e.Evict(r, regioncache.EvictManual)
				mustOK(t, err)
			},
		},
		{
			// Pending until a loader is granted; the grant makes it loading
			// and hands the loader its copy.
			name: "load/before-copy", pausedAt: testutil.FPBeforeCopy, want: regioncache.Loading,
			start: func(t *testing.T, e *regioncache.Engine, r regioncache.Region) {
				mustOK(t, testutil.Hooks(e).Failpoint(testutil.FPBeforeCopy, "pause"))
				_, err := e.Load(r)
				mustOK(t, err)
			},
		},
		{
			name: "load/after-copy", pausedAt: testutil.FPAfterCopy, want: regioncache.Loading,
			start: func(t *testing.T, e *regioncache.Engine, r regioncache.Region) {
				mustOK(t, testutil.Hooks(e).Failpoint(testutil.FPAfterCopy, "pause"))
				_, err := e.Load(r)
				mustOK(t, err)
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := testutil.Open(t, regioncache.Options{})
			for i := 1; i <= rounds; i++ {
				key := fmt.Sprintf("r%03d", i)
				mustOK(t, e.Put([]byte(key+"/k"), 10, []byte("v")))
				r := regioncache.Region{ID: uint64(i), Version: 1, Start: []byte(key), End: []byte(key + "~")}
				tc.start(t, e, r)
				mustOK(t, testutil.Hooks(e).WaitFailpointPaused(testutil.Context(t), tc.pausedAt, 1))
				if s := e.RegionState(r.ID); s != tc.want {
					t.Fatalf("round %d: region %d is %s as soon as the wait on %s returned, want %s", i, r.ID, s, tc.pausedAt, tc.want)
				}
				mustOK(t, testutil.Hooks(e).Failpoint(tc.pausedAt, "off"))
				if tc.want == regioncache.Loading {
					testutil.WaitState(t, e, r.ID, regioncache.Active)
					_, err := e.Evict(r, regioncache.EvictManual)
					mustOK(t, err)
				}
				mustOK(t, e.WaitIdle(testutil.Context(t)))
				if s := e.RegionState(r.ID); s != regioncache.Absent {
					t.Fatalf("round %d: region %d is %s after its eviction, want absent", i, r.ID, s)
				}
			}
		})
	}
}
