// Package actors holds the supervisor: the actor that owns the range index of
// every region the engine holds, checks overlaps and spawns region actors
// atomically (one mailbox, one decision at a time), routes load, evict and
// snapshot requests, forwards loader grants only to regions still pending,
// and records every state change on the Board the public API reads.
//
// It is the engine's actor layer, importable because the product's layout
// keeps it at the top level, but with no compatibility promise to importers:
// embed package regioncache instead.
package actors

import (
	"context"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/scheduler"
	"github.com/rs/zerolog"

	"github.com/regioncache/regioncache/internal/actorlog"
	"github.com/regioncache/regioncache/internal/counters"
	"github.com/regioncache/regioncache/internal/dataplane"
	"github.com/regioncache/regioncache/internal/evictreason"
	"github.com/regioncache/regioncache/internal/failpoint"
	"github.com/regioncache/regioncache/internal/lifecycle"
	"github.com/regioncache/regioncache/internal/mvcc"
	"github.com/regioncache/regioncache/internal/rangeindex"
	"github.com/regioncache/regioncache/loaderactor"
	"github.com/regioncache/regioncache/messages"
	"github.com/regioncache/regioncache/regionactor"
)

// Deps are what the supervisor needs from its engine.
type Deps struct {
	Plane      *dataplane.Plane
	Failpoints *failpoint.Set
	Counters   *counters.Set
	Log        zerolog.Logger
	Ctx        context.Context
	Loaders    int
	SafePoint  func() uint64
	// OnTransition, if set, is called in order for every state change.
	OnTransition func(Transition)
	// Auto configures automatic load and evict.
	Auto AutoLoadEvict
	// Timings, if set, receives load and eviction durations (metrics).
	Timings regionactor.Timings
}

// Supervisor is a running supervisor.
type Supervisor struct {
	PID   *actor.PID
	Board *Board
}

// Start spawns the supervisor (with its loader pool) under root.
func Start(root *actor.RootContext, d Deps) *Supervisor {
	if d.Auto.HeatDecay <= 0 || d.Auto.HeatDecay >= 1 {
		d.Auto.HeatDecay = DefaultHeatDecay
	}
	if d.Auto.SwapMargin < 1 {
		d.Auto.SwapMargin = DefaultSwapMargin
	}
	board := newBoard()
	if d.Plane != nil {
		// Idle also means no compaction in flight: what GC frees is freed
		// when WaitIdle returns.
		board.jobs = d.Plane.Jobs
		d.Plane.OnJobsIdle(board.kick)
	}
	st := &supervisorState{
		d:         d,
		board:     board,
		byID:      make(map[uint64]*entry),
		displaced: make(map[incKey]*entry),
		seen:      make(map[uint64]uint64),
		known:     newKnownRegions(),
		ranges:    rangeindex.New(func(e *entry) ([]byte, []byte) { return e.region.Start, e.region.End }),
	}
	props := actor.PropsFromProducer(func() actor.Actor { return &supervisor{st: st} },
		actor.WithReceiverMiddleware(actorlog.PanicGuard(d.Log)),
		actor.WithGuardian(actorlog.ResumeOnPanic()),
		actor.WithSupervisor(actorlog.ResumeOnPanic()),
	)
	pid := root.SpawnPrefix(props, "regioncache-supervisor-")
	return &Supervisor{PID: pid, Board: st.board}
}

// Close closes the board so that waiters return.
func (s *Supervisor) Close() { s.Board.close() }

// Stop stops the supervisor after the messages already queued for it, and
// with it every region actor and loader; the channel closes once all have
// stopped.
func (s *Supervisor) Stop(root *actor.RootContext) <-chan struct{} {
	done := make(chan struct{})
	watcher := actor.PropsFromFunc(func(c actor.Context) {
		switch c.Message().(type) {
		case *actor.Started:
			c.Watch(s.PID) // an already stopped PID answers Terminated at once
		case *actor.Terminated:
			close(done)
			c.Stop(c.Self())
		}
	})
	root.Spawn(watcher)
	root.Poison(s.PID)
	return done
}

type entry struct {
	region mvcc.Region
	gen    uint64
	pid    *actor.PID
	state  lifecycle.State
	// pending is authoritative: a region leaves pending only through a grant,
	// an eviction or a supersede, all of which this supervisor forwards.
	pending bool
	snaps   int
	handle  *dataplane.Handle
	// leaving: an eviction was sent to it.
	leaving bool
}

type supervisorState struct {
	d     Deps
	board *Board
	byID  map[uint64]*entry
	// displaced is every entry no longer in byID (superseded, replaced by
	// an id a split reused, or on its way out) whose actor has not reported
	// absent yet, by incarnation: it is still told when its load job ends
	// (see liveEntry). Entries in byID are not here, so the common case, a
	// million held regions, costs no second map.
	displaced map[incKey]*entry
	ranges    *rangeindex.Index[*entry]
	nextGen   uint64
	pool      *actor.PID
	region    *regionactor.Deps
	// regionProps are the props of every region actor that starts absent.
	regionProps *actor.Props
	// seen is the newest version the engine has heard of for each region
	// id, from any event, cached or not: older events are stale.
	seen map[uint64]uint64
	// merges are merged regions to load again once their sources' memory
	// is released.
	merges []*pendingMerge
	// known is every region descriptor heard of (for read statistics).
	known *knownRegions
	// stopTicker cancels the automatic load/evict timer.
	stopTicker func()
	// auto is automatic load/evict's state between rounds.
	auto autoState
}

type incKey struct{ id, gen uint64 }

type pendingMerge struct {
	into    mvcc.Region
	waiting map[uint64]bool // source ids not yet absent
	// decided: every source took its eviction and one of them was active.
	decided bool
}

type supervisor struct{ st *supervisorState }

func (s *supervisor) Receive(c actor.Context) {
	st := s.st
	switch msg := c.Message().(type) {
	case *actor.Started:
		if st.pool == nil {
			st.pool = c.SpawnPrefix(loaderactor.PoolProps(&loaderactor.Deps{
				Plane: st.d.Plane, Failpoints: st.d.Failpoints, Log: st.d.Log, Loaders: st.d.Loaders, Grants: c.Self(),
			}), "loaders")
			st.region = &regionactor.Deps{
				Plane: st.d.Plane, Failpoints: st.d.Failpoints, Counters: st.d.Counters, Log: st.d.Log,
				Ctx: st.d.Ctx, Pool: st.pool, SafePoint: st.d.SafePoint, Timings: st.d.Timings,
			}
			st.regionProps = regionactor.Props(st.region, nil)
			if st.d.Auto.Enabled && st.d.Auto.Interval > 0 {
				st.stopTicker = scheduler.NewTimerScheduler(c.ActorSystem().Root).
					SendRepeatedly(st.d.Auto.Interval, st.d.Auto.Interval, c.Self(), &autoTick{})
			}
		}
	case *actor.Stopping:
		if st.stopTicker != nil {
			st.stopTicker()
			st.stopTicker = nil
		}
	case *autoTick:
		st.autoLoadEvict(c)
		if msg.done != nil {
			close(msg.done)
		}
	case *publishHeat:
		if st.known.dirty {
			st.publishHeat()
		}
	case *messages.LoadRegion:
		st.load(c, msg)
	case *messages.DeclareRegions:
		st.declare(c, msg)
	case *messages.EvictRegion:
		st.evict(c, msg)
	case *messages.AcquireSnapshot:
		st.acquireSnapshot(c, msg)
	case *messages.GCRegions:
		st.gc(c, msg)
	case *messages.LoaderGrant:
		st.grant(c, msg)
	case *messages.Stepped:
		st.stepped(c, msg)
	case *messages.SplitRegion:
		st.split(c, msg)
	case *messages.MergeRegions:
		st.merge(c, msg)
	case *messages.FamilyCopyDone:
		st.familyCopyDone(c, msg)
	case *messages.Sync:
		msg.Reply <- struct{}{}
	case *messages.SnapshotReleased:
		st.board.Done(1)
	case *messages.MemoryPressure:
		st.relieve(c, msg.Done)
	case *messages.CompactionNeeded:
		if e := st.liveEntry(msg.RegionID, msg.Gen); e != nil && e.pid != nil {
			c.Send(e.pid, msg)
		}
	case *messages.RetryRequest:
		if req, ok := msg.Request.(*messages.LoadRegion); ok {
			st.load(c, req)
		}
	}
}

// overlapping returns the entries whose range intersects r's, in key order.
func (st *supervisorState) overlapping(r mvcc.Region) []*entry {
	var out []*entry
	st.ranges.Overlapping(r.Start, r.End, func(e *entry) bool {
		out = append(out, e)
		return true
	})
	return out
}

func (st *supervisorState) answer(req *messages.LoadRegion, o messages.Outcome) {
	req.Reply <- o
	if req.Done != nil {
		req.Done()
	}
}

// clearOverlaps makes room for r: overlapping pending regions of another id
// with an older version are superseded; any other overlap of another id
// refuses the load (the region of r's own id is not in the way: the caller
// steps it with the load, and its actor decides). A region of
// another id that is on its way out (loading_canceled, pending_evict,
// evicting, or an eviction sent) refuses it with reason evicting, as TiKV's
// load_region answers Evicting: retryable, the same load is accepted once
// it is gone. Any other held region refuses it with reason overlap, which
// wins when both meet the range (waiting would not help). A refusal changes
// nothing: regions are superseded only when the load goes ahead.
func (st *supervisorState) clearOverlaps(c actor.Context, r mvcc.Region, b *barrier) *overlapRefusal {
	var doomed []*entry
	var leaving *entry
	for _, e := range st.overlapping(r) {
		switch {
		case e.region.ID == r.ID:
			continue
		case e.pending && e.region.Version < r.Version:
			doomed = append(doomed, e)
		case e.leaving || e.state.Evicted():
			if leaving == nil {
				leaving = e
			}
		default:
			reg := e.region
			return &overlapRefusal{reason: lifecycle.RejectOverlap, why: fmt.Sprintf("overlaps %s", reg), conflict: &reg}
		}
	}
	if leaving != nil {
		reg := leaving.region
		return &overlapRefusal{reason: lifecycle.RejectEvicting,
			why: fmt.Sprintf("overlaps %s, still %s; retry once it is gone", reg, evictionState(leaving)), conflict: &reg}
	}
	for _, e := range doomed {
		e.pending = false
		st.unindex(e)
		b.left++
		c.Send(e.pid, &messages.Step{Event: lifecycle.Supersede{Gen: e.gen}, Done: b.side})
	}
	return nil
}

// overlapRefusal is why a load's range cannot be made room for.
type overlapRefusal struct {
	reason   lifecycle.RejectReason
	why      string
	conflict *mvcc.Region
}

// barrier answers a caller once its main step and every side step it caused
// (superseded regions) are recorded, so the caller sees all of them.
type barrier struct {
	left int
	out  messages.Outcome
	then func(messages.Outcome)
}

func newBarrier(then func(messages.Outcome)) *barrier { return &barrier{left: 1, then: then} }

func (b *barrier) side(messages.Outcome) { b.left--; b.fire() }

func (b *barrier) main(o messages.Outcome) { b.out = o; b.left--; b.fire() }

func (b *barrier) fire() {
	if b.left == 0 {
		b.then(b.out)
	}
}

func (st *supervisorState) index(e *entry) {
	if old := st.byID[e.region.ID]; old != nil && old != e {
		st.displaced[incKey{old.region.ID, old.gen}] = old
	}
	delete(st.displaced, incKey{e.region.ID, e.gen})
	st.byID[e.region.ID] = e
	st.ranges.Set(e)
}

// liveEntry is the entry of incarnation (id, gen) whose actor has not
// reported absent, if any.
func (st *supervisorState) liveEntry(id, gen uint64) *entry {
	if e := st.byID[id]; e != nil && e.gen == gen {
		return e
	}
	return st.displaced[incKey{id, gen}]
}

// forget drops an entry whose actor reported absent from every table.
func (st *supervisorState) forget(e *entry) {
	st.unindex(e)
	delete(st.displaced, incKey{e.region.ID, e.gen})
}

// unindex takes e out of the tables by id and range; until its actor
// reports absent it stays reachable by incarnation (liveEntry).
func (st *supervisorState) unindex(e *entry) {
	if cur, ok := st.byID[e.region.ID]; ok && cur == e {
		delete(st.byID, e.region.ID)
		st.displaced[incKey{e.region.ID, e.gen}] = e
	}
	if cur, ok := st.ranges.Get(e.region.Start); ok && cur == e {
		st.ranges.Delete(e.region.Start)
	}
}

func (st *supervisorState) reject(req *messages.LoadRegion, reason lifecycle.RejectReason, why string, conflict *mvcc.Region) {
	st.d.count(counters.LoadsRejected, 1)
	st.answer(req, messages.Outcome{Outcome: lifecycle.Rejected, Reject: reason, Why: why, Conflict: conflict})
}

// mismatch refuses a descriptor that has the id and version of a held
// region but another range (nil when it does not).
func (st *supervisorState) mismatch(r mvcc.Region) error {
	if e := st.byID[r.ID]; e != nil && e.region.Version == r.Version && !e.region.SameRange(r) {
		return &mvcc.MismatchError{Given: r.Clone(), Held: e.region.Clone()}
	}
	return nil
}

func (st *supervisorState) load(c actor.Context, req *messages.LoadRegion) {
	r := req.Region
	if err := st.mismatch(r); err != nil {
		st.answer(req, messages.Outcome{Err: err})
		return
	}
	if seen := st.seen[r.ID]; r.Version < seen {
		st.reject(req, lifecycle.RejectStale, fmt.Sprintf("version %d is older than version %d already seen", r.Version, seen), nil)
		return
	}
	st.see(r)
	st.noteKnown(c, r)
	st.nextGen++
	gen := st.nextGen
	b := newBarrier(func(o messages.Outcome) { st.answer(req, o) })
	if e := st.byID[r.ID]; e != nil {
		if r.Version > e.region.Version && (e.leaving || e.state.Evicted()) {
			// An older incarnation of the id is still on its way out (its
			// job canceled, its snapshots held, its memory being released).
			// A region is an (id, version) incarnation, and the new one may
			// not share the id with it: refuse, changing nothing; the same
			// load is accepted once the old one is absent (tikv#17550).
			st.reject(req, lifecycle.RejectEvicting, fmt.Sprintf("version %d of region %d is still %s; retry once it is gone",
				e.region.Version, r.ID, evictionState(e)), nil)
			return
		}
		if !e.pending && r.Version > e.region.Version {
			// The host moved on and the engine missed it: the held range
			// cannot be trusted. Evict it; the load can be retried once it
			// is gone.
			held := e.region.Version
			st.evictEntries(c, []*entry{e}, string(evictreason.MissedChange), func([]lifecycle.State) {
				st.reject(req, lifecycle.RejectVersion, fmt.Sprintf("held at version %d, evicted as outdated", held), nil)
			})
			return
		}
		if e.pending && r.Version > e.region.Version {
			if no := st.clearOverlaps(c, r, b); no != nil {
				st.reject(req, no.reason, no.why, no.conflict)
				return
			}
			st.unindex(e)
			delete(st.displaced, incKey{e.region.ID, e.gen})
			e.region, e.gen = r, gen
			st.index(e)
		}
		// The region actor decides: duplicate, stale, evicting, replaced.
		c.Send(e.pid, &messages.Step{Event: lifecycle.Load{Region: r, Gen: gen}, Done: b.main, Retry: req})
		return
	}
	if no := st.clearOverlaps(c, r, b); no != nil {
		st.reject(req, no.reason, no.why, no.conflict)
		return
	}
	e := &entry{region: r, gen: gen, pending: true, state: lifecycle.Absent}
	e.pid = c.SpawnPrefix(st.regionProps, fmt.Sprintf("region-%d-", r.ID))
	st.index(e)
	c.Send(e.pid, &messages.Step{Event: lifecycle.Load{Region: r, Gen: gen}, Done: b.main, Retry: req})
}

// evictionState names the state of an entry on its way out, for messages.
func evictionState(e *entry) string {
	if e.state.Evicted() {
		return e.state.String()
	}
	return "being evicted"
}

// see records the newest version heard of for a region id.
func (st *supervisorState) see(r mvcc.Region) {
	if r.Version > st.seen[r.ID] {
		st.seen[r.ID] = r.Version
	}
	st.invalidateMerges(r)
}

// evictUnanswered evicts entries the engine chose on its own, answering no
// caller: until each has taken its eviction (and the board shows it) they
// are work in flight, so WaitIdle waits for them.
func (st *supervisorState) evictUnanswered(c actor.Context, targets []*entry, reason string) {
	if len(targets) == 0 {
		return
	}
	st.board.Begin(1)
	st.evictEntries(c, targets, reason, func([]lifecycle.State) { st.board.Done(1) })
}

// evictEntries evicts the entries and runs done (if set) once each has
// taken the eviction, with the states they left.
func (st *supervisorState) evictEntries(c actor.Context, targets []*entry, reason string, done func(prev []lifecycle.State)) {
	remaining := len(targets)
	prev := make([]lifecycle.State, 0, len(targets))
	if remaining == 0 {
		if done != nil {
			done(prev)
		}
		return
	}
	for _, e := range targets {
		e.pending, e.leaving = false, true
		c.Send(e.pid, &messages.Step{Event: lifecycle.Evict{Reason: reason}, Done: func(o messages.Outcome) {
			prev = append(prev, o.Prev)
			remaining--
			if remaining == 0 && done != nil {
				done(prev)
			}
		}})
	}
}

func (st *supervisorState) evict(c actor.Context, req *messages.EvictRegion) {
	if err := st.mismatch(req.Region); err != nil {
		req.Reply <- messages.EvictOutcome{Err: err}
		if req.Done != nil {
			req.Done()
		}
		return
	}
	// Evicting is always safe, so even a stale descriptor evicts whatever
	// overlaps its range.
	st.invalidateMerges(req.Region)
	targets := st.overlapping(req.Region)
	if e := st.byID[req.Region.ID]; e != nil {
		if !contains(targets, e) {
			targets = append(targets, e)
		}
	}
	out := messages.EvictOutcome{}
	for _, e := range targets {
		out.Evicted = append(out.Evicted, e.region)
	}
	st.evictEntries(c, targets, req.Reason, func([]lifecycle.State) {
		req.Reply <- out
		if req.Done != nil {
			req.Done()
		}
	})
}

func (st *supervisorState) acquireSnapshot(c actor.Context, req *messages.AcquireSnapshot) {
	if err := st.mismatch(req.Region); err != nil {
		req.Reply <- messages.SnapshotGranted{Err: err}
		return
	}
	e := st.byID[req.Region.ID]
	if e == nil || e.state != lifecycle.Active {
		req.Reply <- messages.SnapshotGranted{Reason: lifecycle.RejectNotActive}
		return
	}
	c.Send(e.pid, &messages.Step{
		Event: lifecycle.SnapshotAcquire{Version: req.Region.Version, Ts: req.Ts},
		Done: func(o messages.Outcome) {
			if o.Snapshot != nil {
				req.Reply <- *o.Snapshot
				return
			}
			req.Reply <- messages.SnapshotGranted{Reason: o.Reject}
		},
	})
}

// gc raises the safe point of every region that is, or may just have
// become, active: the board may still show a region loading whose actor has
// activated it with the older safe point (the actor ignores it if not).
func (st *supervisorState) gc(c actor.Context, req *messages.GCRegions) {
	var targets []*entry
	for _, e := range st.byID {
		if e.state == lifecycle.Active || e.state == lifecycle.Loading {
			targets = append(targets, e)
		}
	}
	remaining := len(targets)
	if remaining == 0 {
		req.Reply <- nil
		return
	}
	for _, e := range targets {
		c.Send(e.pid, &messages.Step{Event: lifecycle.AdvanceSafePoint{SafePoint: req.SafePoint}, Done: func(messages.Outcome) {
			remaining--
			if remaining == 0 {
				req.Reply <- nil
			}
		}})
	}
}

func (st *supervisorState) grant(c actor.Context, g *messages.LoaderGrant) {
	e := st.byID[g.RegionID]
	if e == nil || !e.pending || e.gen != g.Gen {
		c.Send(st.pool, &messages.LoaderDeclined{Worker: g.Worker})
		return
	}
	e.pending = false
	c.Send(e.pid, g)
}

func (st *supervisorState) stepped(c actor.Context, m *messages.Stepped) {
	// A step recorded here can make the board idle (a region absent or
	// active) while handling it goes on to decide more work (a merged
	// region's reload, the next automatic loads, the eviction of an id a
	// split reused, the callers' answers). The step is work in flight until
	// all of it is decided and counted, so no one sees idle in between.
	st.board.Begin(1)
	defer st.board.Done(1)
	if m.FromState != m.To || m.Inc.Gen != m.Prev.Gen {
		st.record(m)
	}
	if e := st.byID[m.Inc.Region.ID]; e != nil && e.pid.Equal(m.From) && e.gen == m.Inc.Gen {
		e.state, e.snaps, e.handle = m.To, m.Snapshots, m.Handle
		if m.FromState == m.To {
			st.board.set(RegionStatus{Region: e.region, Gen: e.gen, State: e.state, Snapshots: e.snaps, Handle: e.handle, pid: e.pid})
		}
		if m.To == lifecycle.Absent {
			st.unindex(e)
		}
	}
	if m.To == lifecycle.Absent {
		if e := st.liveEntry(m.Inc.Region.ID, m.Inc.Gen); e != nil && e.pid.Equal(m.From) {
			st.forget(e)
		}
	}
	if m.To == lifecycle.Absent && m.FromState != lifecycle.Absent {
		st.sourceGone(c, m.Inc.Region.ID)
	}
	if m.FromState != m.To && (m.To == lifecycle.Active || m.To == lifecycle.Absent) {
		st.autoLoadSettled(c, m.Inc.Region.ID, m.To)
	}
	if m.To == lifecycle.Absent && m.FromState != lifecycle.Absent {
		// The actor's life is over; anything already queued for it (a late
		// retry excepted) is answered before the pill.
		c.Poison(m.From)
	}
	if m.Done != nil {
		m.Done(m.Outcome)
	}
}

// record publishes a state change: the board, the log and the observer.
func (st *supervisorState) record(m *messages.Stepped) {
	if m.Inc.Gen != m.Prev.Gen && m.FromState != lifecycle.Absent && m.Prev.Gen != 0 {
		// A pending region replaced by a newer version: the old one is gone.
		st.emit(Transition{Region: m.Prev.Region, Gen: m.Prev.Gen, From: m.FromState, To: lifecycle.Absent, Cause: "replaced by a newer version"})
		st.board.set(RegionStatus{Region: m.Prev.Region, Gen: m.Prev.Gen, State: lifecycle.Absent})
		st.emit(Transition{Region: m.Inc.Region, Gen: m.Inc.Gen, From: lifecycle.Absent, To: m.To, Cause: m.Cause})
	} else {
		st.emit(Transition{Region: m.Inc.Region, Gen: m.Inc.Gen, From: m.FromState, To: m.To, Cause: m.Cause})
	}
	st.board.set(RegionStatus{Region: m.Inc.Region, Gen: m.Inc.Gen, State: m.To, Snapshots: m.Snapshots, Handle: m.Handle, pid: m.From})
}

func (st *supervisorState) emit(t Transition) {
	st.d.Log.Info().Uint64("region", t.Region.ID).Uint64("version", t.Region.Version).Uint64("gen", t.Gen).
		Str("from", t.From.String()).Str("to", t.To.String()).Str("cause", t.Cause).Msg("region state changed")
	if st.d.OnTransition != nil {
		st.callOnTransition(t)
	}
}

// callOnTransition calls the host's callback. A panic in it is the host's
// bug, not the engine's: it is logged and the transition goes on, since a
// panic here would restart the supervisor and lose the range index (and
// leave the request that caused the transition without an answer).
func (st *supervisorState) callOnTransition(t Transition) {
	defer func() {
		if p := recover(); p != nil {
			st.d.Log.Error().Uint64("region", t.Region.ID).Str("from", t.From.String()).Str("to", t.To.String()).
				Str("panic", fmt.Sprint(p)).Msg("Options.OnTransition panicked; the engine goes on")
		}
	}()
	st.d.OnTransition(t)
}

// count adds delta to a counter; a Name that is not one of the constants
// is logged, never silently dropped.
func (d *Deps) count(n counters.Name, delta int64) {
	if err := d.Counters.Add(n, delta); err != nil {
		d.Log.Error().Err(err).Msg("counting")
	}
}
