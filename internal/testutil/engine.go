package testutil

import (
	"context"
	"fmt"
	"testing"

	"github.com/regioncache/regioncache"
)

// Open opens an engine with opts, closed (and its Close error reported)
// when the test ends.
func Open(t testing.TB, opts regioncache.Options) *regioncache.Engine {
	t.Helper()
	e, err := regioncache.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return e
}

// Context ends after Wait or when the test ends: every wait of a test uses
// it, so that a hang is a failure and not a stuck run.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), Wait)
	t.Cleanup(cancel)
	return ctx
}

// Fill writes keys k000..k(n-1) with three versions each (ts 10, 20 and a
// delete marker at 30 for every fifth key).
func Fill(t testing.TB, e *regioncache.Engine, n int) {
	t.Helper()
	b := new(regioncache.Batch)
	for i := 0; i < n; i++ {
		k := []byte(fmt.Sprintf("k%03d", i))
		b.Put(k, 10, []byte(fmt.Sprintf("a%d", i))).Put(k, 20, []byte(fmt.Sprintf("b%d", i)))
		if i%5 == 0 {
			b.Delete(k, 30)
		}
	}
	if err := e.Write(b); err != nil {
		t.Fatal(err)
	}
}

// MustCheck fails the test if the engine's memory and disk disagree.
func MustCheck(t testing.TB, e *regioncache.Engine) {
	t.Helper()
	diffs, err := e.Check()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range diffs {
		t.Errorf("difference: %s", d)
	}
}

// WaitState waits until region id is in state s.
func WaitState(t testing.TB, e *regioncache.Engine, id uint64, s regioncache.State) {
	t.Helper()
	if err := Hooks(e).WaitRegionState(Context(t), id, s); err != nil {
		t.Fatalf("region %d: want %s, is %s: %v", id, s, e.RegionState(id), err)
	}
}

// WantMemoryGet reads key at ts and wants the answer from memory.
func WantMemoryGet(t testing.TB, e *regioncache.Engine, key string, ts uint64, want string, found bool) {
	t.Helper()
	g, err := e.Get([]byte(key), ts)
	if err != nil {
		t.Fatal(err)
	}
	if g.Source != regioncache.FromMemory || g.Found != found || string(g.Value) != want {
		t.Fatalf("get %s@%d = %q found=%v from %s; want %q found=%v from memory", key, ts, g.Value, g.Found, g.Source, want, found)
	}
}

// Metrics returns e's metrics, failing the test if it cannot.
func Metrics(t testing.TB, e *regioncache.Engine) regioncache.Metrics {
	t.Helper()
	m, err := e.Metrics()
	if err != nil {
		t.Fatalf("Metrics: %v", err)
	}
	return m
}
