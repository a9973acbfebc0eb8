package regioncache_test

// Engine tests, the declared region table and automatic load and evict by
// heat: real Pebble (in memory), real actors, rounds driven explicitly.

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/testutil"
)

// autoRegions are four regions ["a", "b"), ["b", "c"), ... with ids 1..4.
func autoRegions() []regioncache.Region {
	var out []regioncache.Region
	for i := 0; i < 4; i++ {
		out = append(out, testutil.Reg(uint64(i+1), 1, string(rune('a'+i)), string(rune('b'+i))))
	}
	return out
}

// fillVersioned writes, in each of the four regions, 50 keys with versions
// at ts 1..12 (100-byte values; a delete marker at ts 6 for every third
// key), and returns the bytes one region takes in memory after a GC at 12
// (one version per key).
func fillVersioned(t *testing.T, e *regioncache.Engine) {
	t.Helper()
	b := new(regioncache.Batch)
	val := bytes.Repeat([]byte("v"), 100)
	for r := 0; r < 4; r++ {
		for k := 0; k < 50; k++ {
			key := []byte(fmt.Sprintf("%c%03d", 'a'+r, k))
			for ts := uint64(1); ts <= 12; ts++ {
				if ts == 6 && k%3 == 0 {
					b.Delete(key, ts)
					continue
				}
				b.Put(key, ts, val)
			}
		}
	}
	if err := e.Write(b); err != nil {
		t.Fatal(err)
	}
}

// readRegion scans region i (0-based) n times at ts 13.
func readRegion(t *testing.T, e *regioncache.Engine, i, n int) regioncache.Source {
	t.Helper()
	var src regioncache.Source
	for j := 0; j < n; j++ {
		res, err := e.Scan([]byte{byte('a' + i)}, []byte{byte('b' + i)}, 13, 10)
		if err != nil || len(res.Pairs) != 10 {
			t.Fatalf("scan of region %d: %d pairs, %v", i+1, len(res.Pairs), err)
		}
		src = res.Source
	}
	return src
}

func TestDeclareRegionsValidation(t *testing.T) {
	e := testutil.Open(t, regioncache.Options{})
	cases := []struct {
		name    string
		regions []regioncache.Region
		ok      bool
	}{
		{"a table", autoRegions(), true},
		{"nothing", nil, true},
		{"an invalid region", []regioncache.Region{testutil.Reg(1, 1, "b", "a")}, false},
		{"an id twice", []regioncache.Region{testutil.Reg(1, 1, "a", "b"), testutil.Reg(1, 2, "c", "d")}, false},
		{"overlapping ranges", []regioncache.Region{testutil.Reg(1, 1, "a", "c"), testutil.Reg(2, 1, "b", "d")}, false},
		{"overlapping an unbounded one", []regioncache.Region{testutil.Reg(1, 1, "x", ""), testutil.Reg(2, 1, "a", "z")}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := e.DeclareRegions(c.regions)
			if c.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, c.ok)
			}
			if err != nil && !errors.Is(err, regioncache.ErrInvalidRegion) {
				t.Fatalf("err %v does not match ErrInvalidRegion", err)
			}
		})
	}
}

// A declared region newer than what the engine holds replaces it: the held
// one is evicted as a change the engine missed.
func TestDeclareRegionsEvictsOutdated(t *testing.T) {
	e := testutil.Open(t, regioncache.Options{})
	fillVersioned(t, e)
	if _, err := e.Load(testutil.Reg(1, 1, "a", "c")); err != nil {
		t.Fatal(err)
	}
	testutil.WaitState(t, e, 1, regioncache.Active)
	// The host split region 1 without telling the engine.
	if err := e.DeclareRegions([]regioncache.Region{testutil.Reg(1, 2, "a", "b"), testutil.Reg(2, 2, "b", "c")}); err != nil {
		t.Fatal(err)
	}
	testutil.WaitState(t, e, 1, regioncache.Absent)
	// An older descriptor is now stale.
	var rej *regioncache.LoadRejectedError
	if _, err := e.Load(testutil.Reg(1, 1, "a", "c")); !errors.As(err, &rej) || rej.Reason != "stale_version" {
		t.Fatalf("load of the outdated region: %v", err)
	}
	testutil.MustCheck(t, e)
}

// The host declares its regions and only reads: the engine loads what is
// read with high MVCC amplification, and copies only what reads above the
// safe point can see.
func TestAutoLoadOfDeclaredRegions(t *testing.T) {
	e := testutil.Open(t, regioncache.Options{AutoLoadEvict: regioncache.AutoLoadEvict{Enabled: true, Interval: time.Hour}})
	fillVersioned(t, e)
	if err := e.GC(12); err != nil {
		t.Fatal(err)
	}
	if err := e.DeclareRegions(autoRegions()); err != nil {
		t.Fatal(err)
	}
	readRegion(t, e, 0, 5)
	readRegion(t, e, 2, 5)
	if err := e.RunAutoLoadEvict(testutil.Context(t)); err != nil {
		t.Fatal(err)
	}
	testutil.WaitState(t, e, 1, regioncache.Active)
	testutil.WaitState(t, e, 3, regioncache.Active)
	for _, id := range []uint64{2, 4} {
		if s := e.RegionState(id); s != regioncache.Absent {
			t.Fatalf("region %d was never read but is %s", id, s)
		}
	}
	if src := readRegion(t, e, 0, 1); src != regioncache.FromMemory {
		t.Fatalf("read of a loaded region from %s", src)
	}
	// One version per key was copied: 50 keys of 4+100 bytes, plus the
	// per-version overhead, per region.
	if got, max := testutil.Metrics(t, e).Memory.Used, int64(2*50*(4+100+200)); got > max {
		t.Fatalf("memory %d after loading two regions, want at most %d: old versions were copied", got, max)
	}
	testutil.MustCheck(t, e)
}

// Loading after the safe point moved keeps exactly what loading first and
// collecting garbage afterwards keeps.
func TestLoadCopiesWhatGCKeeps(t *testing.T) {
	gcFirst := testutil.Open(t, regioncache.Options{})
	loadFirst := testutil.Open(t, regioncache.Options{})
	for _, e := range []*regioncache.Engine{gcFirst, loadFirst} {
		fillVersioned(t, e)
	}
	for _, sp := range []uint64{5, 6, 9} {
		if err := gcFirst.GC(sp); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range []*regioncache.Engine{gcFirst, loadFirst} {
		if _, err := e.Load(testutil.Reg(1, 1, "a", "e")); err != nil {
			t.Fatal(err)
		}
		testutil.WaitState(t, e, 1, regioncache.Active)
	}
	if err := loadFirst.GC(9); err != nil {
		t.Fatal(err)
	}
	if a, b := testutil.Metrics(t, gcFirst).Memory.Used, testutil.Metrics(t, loadFirst).Memory.Used; a != b {
		t.Fatalf("memory after GC then load %d, after load then GC %d", a, b)
	}
	testutil.MustCheck(t, gcFirst)
}

// When the hot set moves, regions much hotter than cached ones displace
// them within the stop-load threshold; memory never passes capacity.
func TestAutoLoadEvictFollowsTheHotSet(t *testing.T) {
	// Two regions (one version per key after GC: 7,360 bytes each as base
	// runs) fit below the stop-load threshold (80%: 20,000), three do not.
	const capacity = 25000
	e := testutil.Open(t, regioncache.Options{Capacity: capacity,
		AutoLoadEvict: regioncache.AutoLoadEvict{Enabled: true, Interval: time.Hour}})
	fillVersioned(t, e)
	if err := e.GC(12); err != nil {
		t.Fatal(err)
	}
	if err := e.DeclareRegions(autoRegions()); err != nil {
		t.Fatal(err)
	}
	round := func(hot ...int) {
		t.Helper()
		for _, i := range hot {
			readRegion(t, e, i, 10)
		}
		if err := e.RunAutoLoadEvict(testutil.Context(t)); err != nil {
			t.Fatal(err)
		}
		if m := testutil.Metrics(t, e).Memory.Used; m > capacity {
			t.Fatalf("memory %d above capacity %d", m, capacity)
		}
	}
	round(0, 1, 2) // three hot, two fit: two load, the third waits
	testutil.WaitState(t, e, 1, regioncache.Active)
	testutil.WaitState(t, e, 2, regioncache.Active)
	if s := e.RegionState(3); s != regioncache.Absent {
		t.Fatalf("region 3 is %s: it does not fit", s)
	}
	round(0, 1)
	// The hot set moves to regions 3 and 4: after one round 1 and 2 are
	// still warm (their past halved once against 10 reads), after two they
	// are not (less than half the candidates' heat).
	round(2, 3)
	testutil.WaitState(t, e, 1, regioncache.Active)
	round(2, 3)
	testutil.WaitState(t, e, 3, regioncache.Active)
	testutil.WaitState(t, e, 4, regioncache.Active)
	testutil.WaitState(t, e, 1, regioncache.Absent)
	testutil.WaitState(t, e, 2, regioncache.Absent)
	if src := readRegion(t, e, 3, 1); src != regioncache.FromMemory {
		t.Fatalf("read of the new hot region from %s", src)
	}
	if m := testutil.Metrics(t, e).Memory.Used; m > capacity {
		t.Fatalf("memory %d above capacity %d", m, capacity)
	}
	testutil.MustCheck(t, e)
}

// A region whose history is twelve times what reads above the safe point
// see loads into a capacity that holds only what they see: the copy never
// reserves the versions GC would drop.
func TestLoadFitsWhatGCKeeps(t *testing.T) {
	e := testutil.Open(t, regioncache.Options{Capacity: 15000})
	fillVersioned(t, e)
	if err := e.GC(12); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Load(testutil.Reg(1, 1, "a", "b")); err != nil {
		t.Fatal(err)
	}
	testutil.WaitState(t, e, 1, regioncache.Active)
	if src := readRegion(t, e, 0, 1); src != regioncache.FromMemory {
		t.Fatalf("read from %s", src)
	}
	testutil.MustCheck(t, e)
}
