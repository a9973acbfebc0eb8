package actors

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/regioncache/regioncache/internal/dataplane"
	"github.com/regioncache/regioncache/internal/lifecycle"
	"github.com/regioncache/regioncache/internal/mvcc"
)

// RegionStatus is the published state of one region id.
type RegionStatus struct {
	Region    mvcc.Region
	Gen       uint64
	State     lifecycle.State
	Snapshots int
	// Handle is the incarnation's data (nil while pending), for the debug view.
	Handle *dataplane.Handle
	// Since is when the incarnation entered State; LoadedAt when its data
	// became readable from memory (zero until then; a split child keeps its
	// source's). The board stamps both.
	Since, LoadedAt time.Time
	pid             *actor.PID
}

// Transition is one recorded state change.
type Transition struct {
	Region   mvcc.Region
	Gen      uint64
	From, To lifecycle.State
	Cause    string
}

// Board is the engine's published view of region states. Only the
// supervisor writes it, and it writes before answering any caller, so what a
// caller sees after a call returns includes that call's effect.
type Board struct {
	mu      sync.Mutex
	changed *sync.Cond
	regions map[uint64]RegionStatus
	// busy counts the regions something is in flight for.
	busy   int
	closed bool
}

func newBoard() *Board {
	b := &Board{regions: make(map[uint64]RegionStatus)}
	b.changed = sync.NewCond(&b.mu)
	return b
}

// set records a region's status; a report about an older incarnation than
// the one on the board (a superseded region's last words) changes nothing.
func (b *Board) set(s RegionStatus) {
	b.mu.Lock()
	cur, held := b.regions[s.Region.ID]
	if held && !(cur.Gen > s.Gen) && busy(cur) {
		b.busy--
	}
	switch {
	case held && cur.Gen > s.Gen:
	case s.State == lifecycle.Absent:
		delete(b.regions, s.Region.ID)
	default:
		now := time.Now()
		s.Since = now
		if held && cur.Gen == s.Gen {
			if cur.State == s.State {
				s.Since = cur.Since
			}
			if s.LoadedAt.IsZero() {
				s.LoadedAt = cur.LoadedAt
			}
		}
		if s.State == lifecycle.Active && s.LoadedAt.IsZero() {
			s.LoadedAt = now
		}
		b.regions[s.Region.ID] = s
		if busy(s) {
			b.busy++
		}
	}
	b.changed.Broadcast()
	b.mu.Unlock()
}

func (b *Board) close() {
	b.mu.Lock()
	b.closed = true
	b.changed.Broadcast()
	b.mu.Unlock()
}

// Get returns the status of a region id (absent when not held).
func (b *Board) Get(id uint64) RegionStatus {
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := b.regions[id]
	if !ok {
		return RegionStatus{Region: mvcc.Region{ID: id}, State: lifecycle.Absent}
	}
	return s
}

// IsDuplicateLoad reports whether a load of r would certainly change nothing:
// the same incarnation is already pending, loading or active.
func (b *Board) IsDuplicateLoad(r mvcc.Region) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := b.regions[r.ID]
	if !ok || s.Region.Version != r.Version {
		return false
	}
	return s.State == lifecycle.Pending || s.State == lifecycle.Loading || s.State == lifecycle.Active
}

// All returns every held region, ordered by start key.
func (b *Board) All() []RegionStatus {
	b.mu.Lock()
	out := make([]RegionStatus, 0, len(b.regions))
	for _, s := range b.regions {
		out = append(out, s)
	}
	b.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		return string(out[i].Region.Start) < string(out[j].Region.Start) ||
			(string(out[i].Region.Start) == string(out[j].Region.Start) && out[i].Region.ID < out[j].Region.ID)
	})
	return out
}

// busy reports whether something is in flight for the region.
func busy(s RegionStatus) bool {
	return !s.State.Settled() || (s.State == lifecycle.PendingEvict && s.Snapshots == 0)
}

// idleLocked: nothing is in flight for any region. It is O(1): waiters
// re-check it on every state change.
func (b *Board) idleLocked() bool { return b.busy == 0 }

// errBoardClosed is returned by waits when the engine closes.
var errBoardClosed = context.Canceled

// WaitUntil blocks until cond holds over the board, the engine closes or
// ctx ends.
func (b *Board) WaitUntil(ctx context.Context, cond func(regions map[uint64]RegionStatus) bool) error {
	stop := context.AfterFunc(ctx, func() {
		b.mu.Lock()
		b.changed.Broadcast()
		b.mu.Unlock()
	})
	defer stop()
	b.mu.Lock()
	defer b.mu.Unlock()
	for !cond(b.regions) {
		if err := ctx.Err(); err != nil {
			return err
		}
		if b.closed {
			return errBoardClosed
		}
		b.changed.Wait()
	}
	return nil
}

// WaitIdle blocks until no region is pending, loading, loading_canceled or
// evicting, and none is pending_evict without a held snapshot.
func (b *Board) WaitIdle(ctx context.Context) error {
	return b.WaitUntil(ctx, func(map[uint64]RegionStatus) bool { return b.idleLocked() })
}

// WaitState blocks until region id is in state.
func (b *Board) WaitState(ctx context.Context, id uint64, state lifecycle.State) error {
	return b.WaitUntil(ctx, func(r map[uint64]RegionStatus) bool {
		s, ok := r[id]
		if !ok {
			return state == lifecycle.Absent
		}
		return s.State == state
	})
}
