package regioncache_test

// Engine tests, automatic load and evict: real Pebble (in memory), real actors, waits on
// conditions.

import (
	"fmt"
	"testing"
	"time"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/testutil"
)

func TestAutoLoadEvict(t *testing.T) {
	e := testutil.Open(t, regioncache.Options{AutoLoadEvict: regioncache.AutoLoadEvict{Enabled: true, Interval: time.Hour}})
	// Keys "h..": 20 keys with 12 versions each; keys "c..": one version each.
	b := new(regioncache.Batch)
	for i := 0; i < 20; i++ {
		for v := uint64(1); v <= 12; v++ {
			b.Put([]byte(fmt.Sprintf("h%02d", i)), v, []byte(fmt.Sprintf("v%d", v)))
		}
		b.Put([]byte(fmt.Sprintf("c%02d", i)), 1, []byte("x"))
	}
	if err := e.Write(b); err != nil {
		t.Fatal(err)
	}
	// The engine learns the region table from the host's events.
	if err := e.Split(testutil.Reg(9, 1, "a", "z"), []regioncache.Region{testutil.Reg(9, 2, "a", "c"), testutil.Reg(2, 2, "c", "h"), testutil.Reg(1, 2, "h", "z")}); err != nil {
		t.Fatal(err)
	}
	hot, cold := testutil.Reg(1, 2, "h", "z"), testutil.Reg(2, 2, "c", "h")
	if _, err := e.Load(cold); err != nil {
		t.Fatal(err)
	}
	testutil.WaitState(t, e, cold.ID, regioncache.Active)
	for i := 0; i < 5; i++ {
		res, err := e.Scan([]byte("h"), []byte("i"), 5, 0) // steps over 12 versions per key
		if err != nil || len(res.Pairs) != 20 {
			t.Fatalf("scan: %d pairs, %v", len(res.Pairs), err)
		}
	}
	if err := e.RunAutoLoadEvict(testutil.Context(t)); err != nil {
		t.Fatal(err)
	}
	testutil.WaitState(t, e, hot.ID, regioncache.Active)
	testutil.WaitState(t, e, cold.ID, regioncache.Absent) // nobody read it
	res, err := e.Scan([]byte("h"), []byte("i"), 5, 0)
	if err != nil || res.Source != regioncache.FromMemory || len(res.Pairs) != 20 {
		t.Fatalf("after auto load: %d pairs from %s, %v", len(res.Pairs), res.Source, err)
	}
	testutil.MustCheck(t, e)
}
