package dataplane

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/regioncache/regioncache/internal/diskengine"
	"github.com/regioncache/regioncache/internal/mvcc"
)

func TestReservationTakesChunksAndStopsAtCapacity(t *testing.T) {
	for _, c := range []struct {
		name      string
		capacity  int64
		chunk     int64
		takes     []int64
		wantErrAt int // index of the first refused take; -1: none
		wantUsed  int64
	}{
		{"one chunk covers several takes", 0, 100, []int64{30, 30, 30}, -1, 100},
		{"a take larger than a chunk reserves what it needs", 0, 100, []int64{250}, -1, 250},
		{"near capacity a chunk shrinks to what is missing", 120, 100, []int64{90, 20}, -1, 110},
		{"the first take past capacity is refused", 120, 100, []int64{90, 20, 20}, 2, 110},
		{"a take alone past capacity is refused", 50, 10, []int64{60}, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := NewAccount(c.capacity)
			r := a.NewReservation(c.chunk)
			errAt := -1
			for i, n := range c.takes {
				if _, err := r.Take(n); err != nil {
					if !errors.Is(err, ErrCapacity) {
						t.Fatalf("take %d: %v, want ErrCapacity", i, err)
					}
					errAt = i
					break
				}
			}
			if errAt != c.wantErrAt {
				t.Fatalf("first refused take %d, want %d", errAt, c.wantErrAt)
			}
			if a.Used() != c.wantUsed {
				t.Fatalf("used %d, want %d", a.Used(), c.wantUsed)
			}
			if c.capacity > 0 && a.Peak() > c.capacity {
				t.Fatalf("peak %d above capacity %d", a.Peak(), c.capacity)
			}
			spent := r.Spent()
			if got := r.Keep(); got != spent || a.Used() != spent {
				t.Fatalf("kept %d, used %d, want both %d (unspent bytes go back)", got, a.Used(), spent)
			}
			a.Release(spent)
			r2 := a.NewReservation(c.chunk)
			_, _ = r2.Take(1)
			r2.Cancel()
			if a.Used() != 0 {
				t.Fatalf("used %d after cancel, want 0", a.Used())
			}
		})
	}
}

// TestAccountNeverPassesCapacityUnderRacingReservations: a loader reserving bytes while writes reserve theirs under the commit lock
// drove the account past the capacity (the write checked, then added; the
// loader's compare-and-swap landed in between). Now both go through
// Account.Reserve. Before the fix this failed with the sampled maximum above
// the capacity (the write path's check and add were two steps).
func TestAccountNeverPassesCapacityUnderRacingReservations(t *testing.T) {
	db, err := diskengine.Open(diskengine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const capacity = 256 << 10
	p := New(db, Limits{Capacity: capacity})
	defer p.CloseSnapshots()

	var stop atomic.Bool
	var written atomic.Int64
	var sampledMax atomic.Int64
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { // a sampler, as a host polling MemoryBytes would
		defer wg.Done()
		for !stop.Load() {
			if u := p.MemoryUsed(); u > sampledMax.Load() {
				sampledMax.Store(u)
			}
		}
	}()
	go func() { // a loader: reserve chunk by chunk until refused, give back, again
		defer wg.Done()
		for !stop.Load() {
			r := p.Account().NewReservation(16 << 10)
			for {
				if _, err := r.Take(4 << 10); err != nil {
					break
				}
			}
			// Hold the bytes while the writer goes on, as a copy does.
			for seen := written.Load(); !stop.Load() && written.Load() < seen+1; {
				runtime.Gosched()
			}
			r.Cancel()
		}
	}()
	go func() { // a writer to a capturing region, re-captured after each drop
		defer wg.Done()
		defer stop.Store(true)
		value := make([]byte, 1<<10)
		var h *Handle
		for i := 0; i < 3000; i++ {
			if h == nil || !h.isCapturing() {
				if h != nil {
					p.Unpublish(h)
					p.Release(h)
				}
				h = NewHandle(mvcc.Region{ID: 1, Version: 1, Start: []byte("a"), End: []byte("z")}, uint64(i+1))
				snap, err := p.BeginCapture(h)
				if err != nil {
					t.Error(err)
					return
				}
				snap.Close()
			}
			var batch []mvcc.Mutation
			for j := 0; j < 8; j++ {
				batch = append(batch, mvcc.Mutation{Key: []byte(fmt.Sprintf("k%05d-%d", i, j)), Ts: uint64(i + 1), Value: value})
			}
			if _, err := p.Write(batch, false); err != nil {
				t.Error(err)
				return
			}
			written.Add(1)
			if u := p.MemoryUsed(); u > capacity {
				t.Errorf("write %d: memory %d above capacity %d", i, u, capacity)
				return
			}
		}
		p.Unpublish(h)
		p.Release(h)
	}()
	wg.Wait()
	if m := sampledMax.Load(); m > capacity {
		t.Errorf("sampled memory %d above capacity %d", m, capacity)
	}
	if pk := p.Account().Peak(); pk > capacity {
		t.Errorf("peak memory %d above capacity %d", pk, capacity)
	}
	if o := p.Account().Overdrawn(); o != 0 {
		t.Errorf("%d bytes charged without a reservation", o)
	}
	if u := p.MemoryUsed(); u != 0 {
		t.Errorf("%d bytes still accounted after everything was released", u)
	}
}

func (h *Handle) isCapturing() bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.capturing
}
