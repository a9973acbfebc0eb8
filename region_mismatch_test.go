package regioncache_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/testutil"
)

// TestContradictingDescriptorsAreRefused: the engine
// holds 1 v1 ["a","m"); a call naming 1 v1 ["a","z") (same id and version,
// another range) is a host error. Before the fix Split, Snapshot and Load
// accepted it (deduplicated it, or served it from memory) and reads of "n"
// and "q" answered "not found" from memory although both were on disk. Now
// each call answers a *RegionMismatchError and changes nothing.
func TestContradictingDescriptorsAreRefused(t *testing.T) {
	held := regioncache.Region{ID: 1, Version: 1, Start: []byte("a"), End: []byte("m")}
	wrong := regioncache.Region{ID: 1, Version: 1, Start: []byte("a"), End: []byte("z")}
	for _, c := range []struct {
		name string
		call func(e *regioncache.Engine) error
	}{
		{"load", func(e *regioncache.Engine) error { _, err := e.Load(wrong); return err }},
		{"split", func(e *regioncache.Engine) error {
			return e.Split(wrong, []regioncache.Region{
				{ID: 1, Version: 2, Start: []byte("a"), End: []byte("p")},
				{ID: 2, Version: 2, Start: []byte("p"), End: []byte("z")},
			})
		}},
		{"snapshot", func(e *regioncache.Engine) error {
			s, err := e.Snapshot(wrong, 100)
			if err == nil {
				s.Release()
			}
			return err
		}},
		{"evict", func(e *regioncache.Engine) error { _, err := e.Evict(wrong, regioncache.EvictManual); return err }},
		{"merge", func(e *regioncache.Engine) error {
			return e.Merge([]regioncache.Region{wrong, {ID: 3, Version: 1, Start: []byte("z")}},
				regioncache.Region{ID: 1, Version: 2, Start: []byte("a")})
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := testutil.Open(t, regioncache.Options{})
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			for _, k := range []string{"b", "n", "q"} {
				if err := e.Put([]byte(k), 10, []byte(k)); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := e.Load(held); err != nil {
				t.Fatal(err)
			}
			if err := testutil.Hooks(e).WaitRegionState(ctx, 1, regioncache.Active); err != nil {
				t.Fatal(err)
			}
			before := testutil.Metrics(t, e)

			err := c.call(e)
			var mismatch *regioncache.RegionMismatchError
			if !errors.Is(err, regioncache.ErrRegionMismatch) || !errors.As(err, &mismatch) {
				t.Fatalf("%s of %s: %v, want a RegionMismatchError", c.name, wrong, err)
			}
			if string(mismatch.Held.End) != "m" || string(mismatch.Given.End) != "z" {
				t.Fatalf("error names given %s and held %s", mismatch.Given, mismatch.Held)
			}
			if err := e.WaitIdle(ctx); err != nil {
				t.Fatal(err)
			}
			after := testutil.Metrics(t, e)
			if len(after.Regions) != 1 || after.Regions[0].State != regioncache.Active ||
				string(after.Regions[0].Region.End) != "m" || after.Memory.Used != before.Memory.Used {
				t.Fatalf("changed: before %+v, after %+v", before.Regions, after.Regions)
			}
			for _, k := range []string{"b", "n", "q"} {
				res, err := e.Get([]byte(k), 100)
				if err != nil || !res.Found || string(res.Value) != k {
					t.Fatalf("get %s: %+v %v", k, res, err)
				}
			}
		})
	}
}

// TestMergeRefusesDuplicateSources: a merge naming a
// source id twice (here with two ranges) was accepted.
func TestMergeRefusesDuplicateSources(t *testing.T) {
	e := testutil.Open(t, regioncache.Options{})
	for _, c := range []struct {
		name    string
		sources []regioncache.Region
	}{
		{"same id, two ranges", []regioncache.Region{
			{ID: 1, Version: 1, Start: []byte("a"), End: []byte("m")},
			{ID: 1, Version: 1, Start: []byte("m"), End: []byte("z")},
		}},
		{"same source twice", []regioncache.Region{
			{ID: 1, Version: 1, Start: []byte("a"), End: []byte("m")},
			{ID: 1, Version: 1, Start: []byte("a"), End: []byte("m")},
			{ID: 2, Version: 1, Start: []byte("m"), End: []byte("z")},
		}},
	} {
		err := e.Merge(c.sources, regioncache.Region{ID: 1, Version: 2, Start: []byte("a"), End: []byte("z")})
		if !errors.Is(err, regioncache.ErrInvalidMerge) {
			t.Errorf("%s: %v, want ErrInvalidMerge", c.name, err)
		}
	}
}
