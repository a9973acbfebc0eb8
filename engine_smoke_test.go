package regioncache_test

import (
	"context"
	"testing"
	"time"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/testutil"
)

func TestSmoke(t *testing.T) {
	e := testutil.Open(t, regioncache.Options{})
	b := new(regioncache.Batch)
	for i := 0; i < 100; i++ {
		b.Put([]byte{'a', byte(i)}, 10, []byte{'v', byte(i)})
	}
	if err := e.Write(b); err != nil {
		t.Fatal(err)
	}
	r := regioncache.Region{ID: 1, Version: 1, Start: []byte("a"), End: []byte("b")}
	if _, err := e.Load(r); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := testutil.Hooks(e).WaitRegionState(ctx, 1, regioncache.Active); err != nil {
		t.Fatal(err)
	}
	g, err := e.Get([]byte{'a', 5}, 20)
	if err != nil || !g.Found || g.Source != regioncache.FromMemory || string(g.Value) != "v\x05" {
		t.Fatalf("get: %+v %v", g, err)
	}
	t.Logf("stats %+v", testutil.Metrics(t, e))
}
