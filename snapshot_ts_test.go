package regioncache_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/testutil"
)

// TestSnapshotIsAViewAsOfItsTs: a snapshot answers at its ts and below from
// what it froze, whatever is written afterwards, and refuses a read above
// its ts with ErrAboveSnapshotTs, from memory and from disk alike.
func TestSnapshotIsAViewAsOfItsTs(t *testing.T) {
	reg := regioncache.Region{ID: 1, Version: 1, Start: []byte("a"), End: []byte("m")}
	for _, c := range []struct {
		name   string
		load   bool
		source regioncache.Source
	}{
		{"memory", true, regioncache.FromMemory},
		{"disk", false, regioncache.FromDisk},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := testutil.Open(t, regioncache.Options{})
			ctx := testutil.Context(t)
			for _, w := range []struct {
				ts uint64
				v  string
			}{{10, "v10"}, {20, "v20"}} {
				if err := e.Put([]byte("b"), w.ts, []byte(w.v)); err != nil {
					t.Fatal(err)
				}
			}
			if c.load {
				if _, err := e.Load(reg); err != nil {
					t.Fatal(err)
				}
				if err := e.WaitIdle(ctx); err != nil {
					t.Fatal(err)
				}
			}
			s, err := e.Snapshot(reg, 30)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Release()
			if s.Info().Source != c.source {
				t.Fatalf("snapshot served from %s, want %s", s.Info().Source, c.source)
			}
			// Written after the snapshot, below and above its ts: invisible.
			if err := e.Write(new(regioncache.Batch).Put([]byte("b"), 25, []byte("v25")).Put([]byte("c"), 40, []byte("v40"))); err != nil {
				t.Fatal(err)
			}
			for _, read := range []struct {
				ts   uint64
				want string
			}{{0, "v20"}, {30, "v20"}, {20, "v20"}, {15, "v10"}} {
				g, err := s.Get([]byte("b"), read.ts)
				if err != nil || !g.Found || string(g.Value) != read.want {
					t.Errorf("get b at %d: %+v %v, want %s", read.ts, g, err, read.want)
				}
				sc, err := s.Scan(nil, nil, read.ts, 0)
				if err != nil || len(sc.Pairs) != 1 || string(sc.Pairs[0].Value) != read.want {
					t.Errorf("scan at %d: %+v %v, want b=%s only", read.ts, sc.Pairs, err, read.want)
				}
			}
			for _, ts := range []uint64{31, 40, 1 << 62} {
				_, gerr := s.Get([]byte("b"), ts)
				_, serr := s.Scan(nil, nil, ts, 0)
				_, eerr := s.Scan([]byte("z"), []byte("zz"), ts, 0) // empty within the region: still refused
				for _, err := range []error{gerr, serr, eerr} {
					if !errors.Is(err, regioncache.ErrAboveSnapshotTs) || !strings.HasPrefix(err.Error(), "regioncache: ") {
						t.Errorf("read at %d through a snapshot at 30: %v, want ErrAboveSnapshotTs", ts, err)
					}
				}
			}
		})
	}
}
