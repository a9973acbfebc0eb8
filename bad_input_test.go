package regioncache_test

// Bad input and a misbehaving host callback get an error or a logged no-op,
// never a panic.

import (
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/testutil"
	"github.com/rs/zerolog"
)

func TestNilBatches(t *testing.T) {
	e := testutil.Open(t, regioncache.Options{})
	if err := e.Write(nil); !errors.Is(err, regioncache.ErrNilBatch) {
		t.Fatalf("Write(nil) = %v, want ErrNilBatch", err)
	}
	var b *regioncache.Batch
	if b.Len() != 0 {
		t.Fatal("a nil batch has versions")
	}
	b = b.Put([]byte("a"), 10, []byte("v")).Delete([]byte("b"), 10).SetDurability(regioncache.DurabilityNoSync)
	if b.Len() != 2 {
		t.Fatalf("Put and Delete on a nil batch: %d versions, want 2", b.Len())
	}
	if err := e.Write(b); err != nil {
		t.Fatal(err)
	}
	if g, err := e.Get([]byte("a"), 10); err != nil || string(g.Value) != "v" {
		t.Fatalf("Get = %+v, %v", g, err)
	}
}

// An OnTransition callback that panics is the host's bug: it is logged and
// the engine answers every request (a panic used to restart the supervisor
// and leave the Load in flight blocked until Close).
func TestPanickingOnTransition(t *testing.T) {
	var calls atomic.Int64
	log := &testutil.LogLines{}
	logger := zerolog.New(log)
	e := testutil.Open(t, regioncache.Options{Logger: &logger, OnTransition: func(regioncache.Transition) {
		if calls.Add(1) == 1 {
			panic("host bug")
		}
	}})
	if err := e.Put([]byte("k1"), 10, []byte("v")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Load(testutil.Reg(1, 1, "k", "l")); err != nil {
		t.Fatal(err)
	}
	if err := e.WaitIdle(testutil.Context(t)); err != nil {
		t.Fatal(err)
	}
	if st := e.RegionState(1); st != regioncache.Active {
		t.Fatalf("region is %s, want active", st)
	}
	if g, err := e.Get([]byte("k1"), 20); err != nil || g.Source != regioncache.FromMemory {
		t.Fatalf("Get = %+v, %v; want it from memory", g, err)
	}
	if len(log.Matching("OnTransition panicked")) != 1 {
		t.Fatalf("the panic was not logged once: %v", log.Matching("panic"))
	}
	if calls.Load() < 3 {
		t.Fatalf("callback called %d times; later transitions must still reach it", calls.Load())
	}
}

// A second engine on a directory in use is refused with an error that names
// the directory and its lock.
func TestDirectoryInUse(t *testing.T) {
	dir := t.TempDir()
	testutil.Open(t, regioncache.Options{Dir: dir})
	_, err := regioncache.Open(regioncache.Options{Dir: dir})
	if !errors.Is(err, regioncache.ErrLocked) {
		t.Fatalf("second Open = %v, want ErrLocked", err)
	}
	for _, want := range []string{"regioncache: ", dir + " is locked by another engine in this process", filepath.Join(dir, "LOCK")} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
}

// An invalid region is named in the error.
func TestInvalidRegionIsNamed(t *testing.T) {
	e := testutil.Open(t, regioncache.Options{})
	_, err := e.Load(regioncache.Region{ID: 7, Version: 0, Start: []byte("a"), End: []byte("b")})
	if !errors.Is(err, regioncache.ErrInvalidRegion) || !strings.Contains(err.Error(), `region 7 v0 ["a", "b")`) ||
		!strings.HasPrefix(err.Error(), "regioncache: ") {
		t.Fatalf("Load of a version 0 region = %v; want ErrInvalidRegion naming the region", err)
	}
}
