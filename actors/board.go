package actors

import (
	"context"
	"math"
	"slices"
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

// boardRecord is how the board keeps a RegionStatus: one per held region,
// so a million regions make it worth keeping small (112 B against 152 B;
// times are Unix nanoseconds, 0 for the zero time). The map holds it by
// pointer: a map grows by doubling, so its slots are often half empty, and
// an empty slot of 16 B costs less than one of 120 B.
type boardRecord struct {
	region          mvcc.Region
	gen             uint64
	handle          *dataplane.Handle
	pid             *actor.PID
	since, loadedAt int64
	snapshots       int32
	state           lifecycle.State
}

func recordOf(s RegionStatus) boardRecord {
	return boardRecord{region: s.Region, gen: s.Gen, handle: s.Handle, pid: s.pid,
		since: unixNanos(s.Since), loadedAt: unixNanos(s.LoadedAt), snapshots: int32(min(s.Snapshots, math.MaxInt32)), state: s.State}
}

func (r boardRecord) status() RegionStatus {
	return RegionStatus{Region: r.region, Gen: r.gen, State: r.state, Snapshots: int(r.snapshots), Handle: r.handle,
		Since: fromUnixNanos(r.since), LoadedAt: fromUnixNanos(r.loadedAt), pid: r.pid}
}

func unixNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// Transition is one recorded state change.
type Transition struct {
	Region   mvcc.Region
	Gen      uint64
	From, To lifecycle.State
	Cause    string
}

// Board is the engine's published view of region states. Only the
// supervisor writes region states, and it writes before answering any
// caller, so what a caller sees after a call returns includes that call's
// effect.
//
// A region is an incarnation (id, generation): an older incarnation of an id
// may still be on its way out (pending_evict, evicting) while a newer one is
// held. The board keeps every held incarnation; reads by id see the newest,
// and idleness counts all of them, so waiting for idle also waits for the
// eviction of an older incarnation.
type Board struct {
	mu      sync.Mutex
	changed *sync.Cond
	// regions is the newest held incarnation of each id.
	regions map[uint64]*boardRecord
	// older is, for the ids that hold more than one incarnation (an old one
	// on its way out), every held incarnation but the newest; most ids have
	// none, and so no entry (a million regions must not pay a map each).
	older map[uint64][]boardRecord
	// busy counts the incarnations something is in flight for.
	busy int
	// inflight counts work the public API started that no region state
	// shows yet: snapshot releases on their way to the regions holding
	// them, GC calls not yet answered.
	inflight int
	// jobs, when set, counts background work in flight besides the
	// regions' states (the data plane's compactions).
	jobs   func() int64
	closed bool
	// watchers are told the idleness after every change (Watch).
	watchers  map[int]func(idle bool)
	nextWatch int
}

// kick makes waiters look at the board again (background work ended).
func (b *Board) kick() {
	b.mu.Lock()
	b.changed.Broadcast()
	b.mu.Unlock()
}

func newBoard() *Board {
	b := &Board{regions: make(map[uint64]*boardRecord), older: make(map[uint64][]boardRecord)}
	b.changed = sync.NewCond(&b.mu)
	return b
}

// set records the status of one incarnation.
func (b *Board) set(s RegionStatus) {
	b.mu.Lock()
	id := s.Region.ID
	rec, held := b.incarnationLocked(id, s.Gen)
	cur := rec.status()
	if held && busy(cur) {
		b.busy--
	}
	if s.State == lifecycle.Absent {
		if held {
			b.removeLocked(id, s.Gen)
		}
	} else {
		now := time.Now()
		s.Since = now
		if held {
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
		b.putLocked(recordOf(s))
		if busy(s) {
			b.busy++
		}
	}
	b.changedLocked()
	b.mu.Unlock()
}

// changedLocked wakes the waiters and tells the watchers after a change.
func (b *Board) changedLocked() {
	b.changed.Broadcast()
	b.tellWatchersLocked()
}

// tellWatchersLocked tells the watchers whether the engine is idle now.
func (b *Board) tellWatchersLocked() {
	if len(b.watchers) > 0 {
		idle := b.idleLocked()
		for _, f := range b.watchers {
			f(idle)
		}
	}
}

// Watch calls f with whether the engine is idle (what WaitIdle waits for)
// now and after every change of a region state or of the work in flight,
// however briefly it lasts, until stop is called. f runs with the board
// locked: it must not call the board. Tests use it to see every moment at
// which WaitIdle could return.
func (b *Board) Watch(f func(idle bool)) (stop func()) {
	b.mu.Lock()
	if b.watchers == nil {
		b.watchers = make(map[int]func(bool))
	}
	id := b.nextWatch
	b.nextWatch++
	b.watchers[id] = f
	f(b.idleLocked())
	b.mu.Unlock()
	return func() {
		b.mu.Lock()
		delete(b.watchers, id)
		b.mu.Unlock()
	}
}

// incarnationLocked is the held incarnation (id, gen), if any.
func (b *Board) incarnationLocked(id, gen uint64) (boardRecord, bool) {
	if s, ok := b.regions[id]; ok && s.gen == gen {
		return *s, true
	}
	for _, s := range b.older[id] {
		if s.gen == gen {
			return s, true
		}
	}
	return boardRecord{}, false
}

// putLocked records s as a held incarnation, keeping regions[id] the
// newest and older[id] the others.
func (b *Board) putLocked(s boardRecord) {
	id := s.region.ID
	newest, ok := b.regions[id]
	switch {
	case !ok:
		b.regions[id] = &s
	case newest.gen == s.gen:
		*newest = s
	case s.gen > newest.gen:
		b.older[id] = append(b.older[id], *newest)
		*newest = s
	default:
		olds := b.older[id]
		for i := range olds {
			if olds[i].gen == s.gen {
				olds[i] = s
				return
			}
		}
		b.older[id] = append(olds, s)
	}
}

// removeLocked drops the held incarnation (id, gen); when it was the
// newest, the newest of the others (if any) takes its place.
func (b *Board) removeLocked(id, gen uint64) {
	olds := b.older[id]
	if s, ok := b.regions[id]; ok && s.gen == gen {
		if len(olds) == 0 {
			delete(b.regions, id)
			return
		}
		top := 0
		for i := range olds {
			if olds[i].gen > olds[top].gen {
				top = i
			}
		}
		*s = olds[top]
		olds = append(olds[:top], olds[top+1:]...)
	} else {
		olds = slices.DeleteFunc(olds, func(s boardRecord) bool { return s.gen == gen })
	}
	if len(olds) == 0 {
		delete(b.older, id)
	} else {
		b.older[id] = olds
	}
}

// Begin counts n pieces of work in flight that no region state shows yet
// (snapshot releases sent to the regions holding them, a GC call); Done
// ends them. Idleness waits for them.
func (b *Board) Begin(n int) {
	if n <= 0 {
		return
	}
	b.mu.Lock()
	b.inflight += n
	b.tellWatchersLocked() // nothing a waiter waits for became true
	b.mu.Unlock()
}

// Done ends n pieces of work counted by Begin.
func (b *Board) Done(n int) {
	if n <= 0 {
		return
	}
	b.mu.Lock()
	b.inflight -= n
	if b.inflight < 0 {
		b.inflight = 0 // a Done without its Begin is a bug; never wait forever on it
	}
	b.changedLocked()
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
	return s.status()
}

// IsDuplicateLoad reports whether a load of r would certainly change nothing:
// the same incarnation is already pending, loading or active.
func (b *Board) IsDuplicateLoad(r mvcc.Region) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := b.regions[r.ID]
	if !ok || s.region.Version != r.Version || !s.region.SameRange(r) {
		return false // a contradicting range is for the supervisor to refuse
	}
	return s.state == lifecycle.Pending || s.state == lifecycle.Loading || s.state == lifecycle.Active
}

// All returns every held region, ordered by start key.
func (b *Board) All() []RegionStatus {
	b.mu.Lock()
	out := make([]RegionStatus, 0, len(b.regions))
	for _, s := range b.regions {
		out = append(out, s.status())
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

// idleLocked: nothing is in flight for any incarnation, and no release or
// GC the API started is still on its way. It is O(1): waiters
// re-check it on every state change.
func (b *Board) idleLocked() bool {
	return b.busy == 0 && b.inflight == 0 && (b.jobs == nil || b.jobs() == 0)
}

// errBoardClosed is returned by waits when the engine closes.
var errBoardClosed = context.Canceled

// WaitUntil blocks until cond holds, the engine closes or ctx ends. cond is
// called with the board locked, once now and after every change: it must
// not call the board.
func (b *Board) WaitUntil(ctx context.Context, cond func() bool) error {
	stop := context.AfterFunc(ctx, func() {
		b.mu.Lock()
		b.changed.Broadcast()
		b.mu.Unlock()
	})
	defer stop()
	b.mu.Lock()
	defer b.mu.Unlock()
	for !cond() {
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

// WaitJobs blocks until no background job (compaction) is in flight.
func (b *Board) WaitJobs(ctx context.Context) error {
	return b.WaitUntil(ctx, func() bool { return b.jobs == nil || b.jobs() == 0 })
}

// WaitIdle blocks until no incarnation is pending, loading, loading_canceled
// or evicting, none is pending_evict without a held snapshot, no snapshot
// release or GC call is still on its way, and no compaction is running.
func (b *Board) WaitIdle(ctx context.Context) error {
	return b.WaitUntil(ctx, func() bool { return b.idleLocked() })
}

// WaitState blocks until region id is in state.
func (b *Board) WaitState(ctx context.Context, id uint64, state lifecycle.State) error {
	return b.WaitUntil(ctx, func() bool {
		s, ok := b.regions[id]
		if !ok {
			return state == lifecycle.Absent
		}
		return s.state == state
	})
}
