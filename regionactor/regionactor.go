// Package regionactor is the actor that owns one region's life: it feeds
// every event to the pure state machine in package lifecycle and performs the
// effects the machine returns (queue a load job, start capturing writes,
// install the copy, unpublish, release memory through evict/before-delete,
// hand out memory snapshots). It reports every step to its parent, the
// supervisor, which records the state and answers the caller, before it
// starts the work the step hands to others (a loader's copy, a releaser), so
// that work is never seen before the Board shows the step.
//
// It also runs its region's compactions: when GC or a write layer past its
// limit calls for one, a child actor builds a new base run from a view of
// the region's store, off the write path, and hands it back by message; the
// region actor installs it, so it stays the only one that changes its
// region's data.
//
// The machine, not this shell, decides; a duplicate Load is a no-op because
// the machine says so, whatever the timing.
//
// It is the engine's actor layer, importable because the product's layout
// keeps it at the top level, but with no compatibility promise to importers:
// embed package regioncache instead.
package regionactor

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/regioncache/regioncache/internal/actorlog"
	"github.com/regioncache/regioncache/internal/counters"
	"github.com/regioncache/regioncache/internal/dataplane"
	"github.com/regioncache/regioncache/internal/failpoint"
	"github.com/regioncache/regioncache/internal/lifecycle"
	"github.com/regioncache/regioncache/internal/memstore"
	"github.com/regioncache/regioncache/internal/mvcc"
	"github.com/regioncache/regioncache/messages"
)

// Deps are what a region actor needs from its engine.
type Deps struct {
	Plane      *dataplane.Plane
	Failpoints *failpoint.Set
	Counters   *counters.Set
	Log        zerolog.Logger
	// Ctx ends when the engine closes; paused work stops waiting.
	Ctx context.Context
	// Pool is the loader pool.
	Pool *actor.PID
	// SafePoint is the engine's current GC safe point.
	SafePoint func() uint64
	// Timings, if set, is told how long load jobs and evictions took. Nil
	// costs nothing: the clock is read only for it.
	Timings Timings
}

// Timings receives the durations the region actor measures.
type Timings interface {
	// LoadDone: a load job ran from its StartCopy to its end; outcome is
	// "completed", "failed" or "canceled".
	LoadDone(outcome string, d time.Duration)
	// EvictDone: an eviction ran from its request to the region being absent.
	EvictDone(reason string, d time.Duration)
}

// Init is the state a region actor starts in when a split creates it.
type Init struct {
	Machine lifecycle.Machine
	Handle  *dataplane.Handle
	// Holds are the snapshots taken on the split source that the child
	// holds (Machine.Snapshots counts them).
	Holds []*messages.SnapshotHolders
	// Tally is the load job the child shares, when the source was loading.
	Tally *messages.JobTally
}

// Props returns the props of a region actor, starting absent (init nil) or,
// for a split's new child, in the parent's state with its share of the data.
// Props without init are the same for every region: the supervisor builds
// them once (its regionProps) rather than per spawn, since a host may hold a
// million regions. The actor's state is created by the producer; its parent resumes
// it after a panic (never restarts it), so the state is never rebuilt.
func Props(d *Deps, init *Init) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		a := &regionActor{d: d}
		if init != nil {
			a.st.m, a.st.handle, a.st.everHeld = init.Machine, init.Handle, true
			if len(init.Holds) > 0 || init.Tally != nil {
				x := a.st.extra()
				x.holds, x.tally = init.Holds, init.Tally
			}
		}
		return a
		// No receiver middleware: it would give every region a context
		// extension block (~180 B); Receive guards against panics itself.
	}, releaserSupervision,
		// A region actor is idle almost always: a lock-free mailbox holds no
		// ring buffer while empty (the default keeps two, ~350 B).
		actor.WithMailbox(actor.UnboundedLockfree()))
}

// releaserSupervision stops a releaser that panics; the region then
// releases the memory itself.
var releaserSupervision = actor.WithSupervisor(actor.NewOneForOneStrategy(0, 0, func(any) actor.Directive { return actor.StopDirective }))

// regionState is what a region actor holds. A host may hold a million
// regions, nearly all of them idle, so it keeps only what every region
// needs; what a region needs only while it loads, holds snapshots, compacts
// or is timed evicting lives in x, allocated when first needed and dropped
// when the region is idle again (see trim).
type regionState struct {
	m        lifecycle.Machine
	handle   *dataplane.Handle
	job      *messages.Job
	releaser *actor.PID
	// everHeld: the actor has left absent once; back at absent it is done,
	// and any load reaching it goes back to the supervisor.
	everHeld bool
	x        *regionExtra
}

// regionExtra is the part of a region's state that an idle region does not
// use; nil means every field is zero.
type regionExtra struct {
	// family are the siblings split off while this region's load job ran;
	// the job's end is theirs too.
	family []familyMember
	// tally counts the end of the load job this region is part of, once
	// for the whole family.
	tally *messages.JobTally
	// holds are the memory snapshots this region holds: taken on it, or on
	// a split source whose range covered it.
	holds []*messages.SnapshotHolders
	// evictStart (with evictReason) times the eviction in flight, when
	// Deps.Timings is set; the load job is timed by its tally.
	evictStart  time.Time
	evictReason string
	// compactor is the child building a compaction (nil: none), canceled
	// when the region lets go of its data; compactAgain asks for another
	// when it ends. released holds a MemoryReleased that arrived while a
	// compaction ran: it is handled when the compaction has ended, so that
	// nothing the region held is left in the account when it is absent.
	compactor     *actor.PID
	compactCancel *atomic.Bool
	compactAgain  bool
	released      *messages.MemoryReleased
}

// extra returns the region's extra state, allocating it if it has none.
func (st *regionState) extra() *regionExtra {
	if st.x == nil {
		st.x = &regionExtra{}
	}
	return st.x
}

// trim drops the extra state once nothing in it is in use.
func (st *regionState) trim() {
	x := st.x
	if x != nil && len(x.family) == 0 && x.tally == nil && len(x.holds) == 0 && x.evictStart.IsZero() &&
		x.evictReason == "" && x.compactor == nil && x.compactCancel == nil && !x.compactAgain && x.released == nil {
		st.x = nil
	}
}

// The nil-safe readers of the extra state.
func (x *regionExtra) compacting() bool { return x != nil && x.compactor != nil }

func (x *regionExtra) releasedWhileCompacting() bool { return x != nil && x.released != nil }

func (x *regionExtra) jobTally() *messages.JobTally {
	if x == nil {
		return nil
	}
	return x.tally
}

type familyMember struct{ regionID, gen uint64 }

// regionActor is one object per region (its state is not behind a pointer
// of its own): a million regions pay one allocation each, not two.
type regionActor struct {
	d  *Deps
	st regionState
}

// effectInput is what an event brought that its effects need.
type effectInput struct {
	worker   *actor.PID
	copyDone *messages.CopyDone
	prev     lifecycle.Machine
	snapshot *messages.SnapshotGranted
	split    *messages.SplitResult
	children []mvcc.Region
	gens     []uint64
	// launch starts work outside this actor (a loader's copy, a releaser)
	// once the step is reported: see step.
	launch []func()
	// notReadable is why Activate could not make the copy readable (an
	// evict reason), "" when it did or did not run.
	notReadable string
}

func (a *regionActor) Receive(c actor.Context) {
	defer func() {
		if r := recover(); r != nil {
			actorlog.Panicked(a.d.Log, c.Self(), c.Message(), r)
			panic(r) // supervision applies as usual: the parent resumes it
		}
	}()
	a.receive(c)
	a.st.trim()
}

func (a *regionActor) receive(c actor.Context) {
	switch msg := c.Message().(type) {
	case *messages.CompactionNeeded:
		if msg.Gen == a.st.m.Inc.Gen {
			a.startCompaction(c)
		}
	case *messages.CompactionDone:
		a.compactionDone(c, msg)
	case *messages.Step:
		if a.st.everHeld && a.st.m.State == lifecycle.Absent && msg.Retry != nil {
			c.Send(c.Parent(), &messages.RetryRequest{Request: msg.Retry})
			return
		}
		in := effectInput{}
		if sp, ok := msg.Event.(lifecycle.Split); ok {
			in.children, in.gens = sp.Children, sp.Gens
		}
		a.step(c, msg.Event, in, msg.Done)
	case *messages.LoaderGrant:
		a.step(c, lifecycle.LoaderGranted{Gen: msg.Gen}, effectInput{worker: msg.Worker}, nil)
	case *messages.CopyDone:
		if msg.Copy == nil && msg.Accounted > 0 {
			msg.Copy = a.d.Plane.ChargeCopy(msg.Accounted)
		}
		if msg.Gen == a.st.m.Inc.Gen && a.st.x != nil && len(a.st.x.family) > 0 {
			a.handOnToFamily(c, msg)
		}
		a.step(c, lifecycle.LoadFinished{Gen: msg.Gen, Result: msg.Result, Err: msg.Err, SafePoint: a.d.SafePoint()},
			effectInput{copyDone: msg}, nil)
	case *messages.ReleaseSnapshot:
		if x := a.st.x; x != nil {
			x.holds = slices.DeleteFunc(x.holds, func(h *messages.SnapshotHolders) bool { return h == msg.Holders })
		}
		a.step(c, lifecycle.SnapshotRelease{Gen: msg.Gen}, effectInput{}, nil)
		if x := a.st.x; x != nil && x.compactAgain && x.compactor == nil && a.st.m.Snapshots == 0 && a.st.m.State == lifecycle.Active {
			x.compactAgain = false
			if a.d.Plane.NeedsCompaction(a.st.handle) {
				a.startCompaction(c)
			}
		}
		c.Send(c.Parent(), &messages.SnapshotReleased{})
	case *messages.MemoryReleased:
		if x := a.st.x; x.compacting() {
			x.compactCancel.Store(true)
			x.released = msg
			return
		}
		if msg.Gen == a.st.m.Inc.Gen && a.st.handle != nil {
			a.d.Plane.Release(a.st.handle) // idempotent: the releaser may have done it
			a.st.handle = nil
		}
		if a.st.releaser != nil {
			c.Stop(a.st.releaser)
			a.st.releaser = nil
		}
		a.step(c, lifecycle.MemoryReleased{Gen: msg.Gen}, effectInput{}, nil)
	case *actor.Terminated:
		if a.st.releaser != nil && msg.Who.Equal(a.st.releaser) && a.st.m.State == lifecycle.Evicting {
			// The releaser stopped without reporting (it panicked): release here.
			a.d.Log.Warn().Uint64("region", a.st.m.Inc.Region.ID).Msg("releaser stopped early; releasing memory in the region actor")
			a.st.releaser = nil // already gone: nothing to stop
			c.Send(c.Self(), &messages.MemoryReleased{Gen: a.st.m.Inc.Gen})
		}
	case *actor.Stopping:
		a.shutdown()
	}
}

// shutdown gives back everything the incarnation holds when the engine closes.
func (a *regionActor) shutdown() {
	if j := a.st.job; j != nil {
		j.Canceled.Store(true)
	}
	if h := a.st.handle; h != nil {
		a.d.Plane.Unpublish(h)
		a.d.Plane.Release(h)
		a.st.handle = nil
	}
}

func (a *regionActor) step(c actor.Context, ev lifecycle.Event, in effectInput, done func(messages.Outcome)) {
	prev := a.st.m
	res := a.apply(c, ev, &in)
	job := res.Job
	cause := lifecycle.EventName(ev)
	if res.Why != "" {
		cause += ": " + res.Why
	}
	if e, ok := ev.(lifecycle.Evict); ok {
		cause = "evict (" + e.Reason + ")"
	}
	if reason := in.notReadable; reason != "" {
		// The copy could not be made readable (see dataplane.Activate): the
		// region is evicted now, in the same step as the load's end, so
		// the supervisor is never told it is active, and the job's part is
		// a failure, since its copy never served a read.
		a.apply(c, lifecycle.Evict{Reason: reason}, &in)
		job = lifecycle.JobFailed
		cause += "; not readable: evict (" + reason + ")"
	}
	if job != lifecycle.NoJobPart {
		a.endJobPart(job)
	}
	out := messages.Outcome{Outcome: res.Outcome, Reject: res.Reject, Why: res.Why, Snapshot: in.snapshot, Prev: prev.State, Split: in.split}
	a.report(c, prev, cause, done, out)
	// Work that runs outside this actor starts only now, after the report
	// is in the supervisor's mailbox: whoever sees that work (paused at a
	// failpoint) and then asks the supervisor anything is answered after
	// the Board shows the step that started it.
	for _, start := range in.launch {
		start()
	}
}

// apply feeds one event to the machine and performs the effects it
// returns; the caller reports the result.
func (a *regionActor) apply(c actor.Context, ev lifecycle.Event, in *effectInput) lifecycle.Result {
	prev := a.st.m
	res := lifecycle.Step(prev, ev)
	a.st.m = res.Next
	if res.Next.State != lifecycle.Absent {
		a.st.everHeld = true
	}
	in.prev = prev
	for _, name := range res.Counters {
		a.d.count(name, 1)
	}
	for _, eff := range res.Effects {
		a.perform(c, eff, in)
	}
	if a.d.Timings != nil {
		a.time(prev, res, ev)
	}
	if res.Outcome == lifecycle.Ignored {
		a.d.Log.Debug().Uint64("region", prev.Inc.Region.ID).Str("event", lifecycle.EventName(ev)).
			Str("state", prev.State.String()).Str("why", res.Why).Msg("event ignored")
	}
	return res
}

// report tells the supervisor what the machine is now.
func (a *regionActor) report(c actor.Context, prev lifecycle.Machine, cause string, done func(messages.Outcome), out messages.Outcome) {
	c.Send(c.Parent(), &messages.Stepped{
		From: c.Self(), Inc: a.st.m.Inc, Prev: prev.Inc, FromState: prev.State, To: a.st.m.State,
		Cause: cause, Done: done, Outcome: out, Snapshots: a.st.m.Snapshots, Handle: a.st.handle,
	})
}

func (a *regionActor) perform(c actor.Context, eff lifecycle.Effect, in *effectInput) {
	m := a.st.m
	switch eff {
	case lifecycle.RequestLoader:
		c.Send(a.d.Pool, &messages.RequestLoader{Inc: m.Inc, Region: c.Self()})
	case lifecycle.CancelLoaderRequest:
		c.Send(a.d.Pool, &messages.CancelLoaderRequest{RegionID: in.prev.Inc.Region.ID, Gen: in.prev.Inc.Gen})
	case lifecycle.DeclineLoader:
		if in.worker != nil {
			c.Send(a.d.Pool, &messages.LoaderDeclined{Worker: in.worker})
		}
	case lifecycle.StartCopy:
		a.startCopy(c, in)
	case lifecycle.CancelCopy:
		if a.st.job != nil {
			a.st.job.Canceled.Store(true)
		}
		if a.st.handle != nil {
			a.d.Plane.Unpublish(a.st.handle)
		}
	case lifecycle.Activate:
		cd := in.copyDone
		// The copy becomes the base run, bounded to the region's range (a
		// region split while loading shares the copy with its siblings).
		var readErr error
		in.notReadable, readErr = a.d.Plane.Activate(a.st.handle, cd.Run, cd.RunHeld, cd.Copy, m.SafePoint)
		if readErr != nil {
			a.d.Log.Error().Err(readErr).Uint64("region", m.Inc.Region.ID).
				Msg("activation: a key written during the load could not be read from disk to rebase it; the region is evicted, reads go to disk")
		}
		cd.RunHeld = false
		letGoCopy(cd)
		a.d.count(counters.KeysLoaded, int64(cd.Keys))
		a.st.job = nil
		// The copy was GC'd at the job's safe point; a GC since, or many
		// writes during the load, call for a compaction.
		if in.notReadable == "" && a.d.Plane.NeedsCompaction(a.st.handle) {
			a.startCompaction(c)
		}
	case lifecycle.DiscardCopy:
		a.dropCopy(in.copyDone)
		if h := a.st.handle; h != nil {
			a.d.Plane.Unpublish(h)
			a.d.Plane.Release(h)
			a.st.handle = nil
		}
		a.st.job = nil
	case lifecycle.DropStaleCopy:
		a.dropCopy(in.copyDone)
	case lifecycle.Unpublish:
		if a.st.handle != nil {
			a.d.Plane.Unpublish(a.st.handle)
		}
	case lifecycle.ReleaseMemory:
		if x := a.st.x; x != nil && x.compactCancel != nil {
			x.compactCancel.Store(true) // its result would be dropped
		}
		a.startRelease(c, in)
	case lifecycle.TakeSnapshot:
		a.takeSnapshot(c, in)
	case lifecycle.SplitData:
		a.splitData(c, in)
	case lifecycle.RunGC:
		if a.st.handle != nil && a.d.Plane.GC(a.st.handle, m.SafePoint) {
			a.startCompaction(c)
		}
	}
}

// startCompaction builds a new base run for the region in a child actor,
// from a view of its store taken now; writes and reads go on meanwhile.
// The child reserves each chunk of the new run before allocating it and
// gives up (the region keeps its data) when the capacity refuses one.
func (a *regionActor) startCompaction(c actor.Context) {
	h := a.st.handle
	if h == nil || a.st.x.releasedWhileCompacting() {
		return
	}
	if a.st.x.compacting() || a.st.m.Snapshots > 0 {
		// One at a time; and none while snapshots read the region: the
		// old run would stay for them beside the new one (twice the
		// memory). The last release starts it.
		a.st.extra().compactAgain = true
		return
	}
	from, safePoint, ok := a.d.Plane.CompactionView(h)
	if !ok {
		return
	}
	gen, plane, log, ctx := h.Gen, a.d.Plane, a.d.Log, a.d.Ctx
	cancel := &atomic.Bool{}
	props := actor.PropsFromFunc(func(cc actor.Context) {
		if _, ok := cc.Message().(*actor.Started); !ok {
			return
		}
		run, err := memstore.Compact(from, safePoint, plane.Reserve, func() bool { return cancel.Load() || ctx.Err() != nil })
		cc.Send(cc.Parent(), &messages.CompactionDone{Gen: gen, From: from, Run: run, Err: err})
	}, actor.WithReceiverMiddleware(actorlog.PanicGuard(log)))
	x := a.st.extra()
	x.compactCancel = cancel
	a.d.Plane.BeginJob() // the engine is not idle until it ends
	x.compactor = c.Spawn(props)
}

// compactionDone installs a compaction's run, or drops it when the region
// moved on (released, or another incarnation).
func (a *regionActor) compactionDone(c actor.Context, msg *messages.CompactionDone) {
	x := a.st.extra()
	if x.compactor != nil {
		c.Stop(x.compactor)
		x.compactor, x.compactCancel = nil, nil
		defer a.d.Plane.EndJob() // after the install and what follows it
	}
	switch {
	case msg.Err != nil:
		if !errors.Is(msg.Err, memstore.ErrCompactionCanceled) {
			a.d.Log.Info().Err(msg.Err).Uint64("region", a.st.m.Inc.Region.ID).Msg("compaction gave up; the region keeps its data")
		}
		a.d.Plane.DiscardCompaction(msg.From, nil)
	case a.st.handle != nil && msg.Gen == a.st.handle.Gen && x.released == nil:
		a.d.Plane.InstallCompaction(a.st.handle, msg.From, msg.Run)
	default:
		a.d.Plane.DiscardCompaction(msg.From, msg.Run)
	}
	if rel := x.released; rel != nil {
		x.released = nil
		x.compactAgain = false
		c.Send(c.Self(), rel)
		return
	}
	if x.compactAgain && msg.Err == nil {
		x.compactAgain = false
		if a.d.Plane.NeedsCompaction(a.st.handle) {
			a.startCompaction(c)
		}
	}
}

func (a *regionActor) startCopy(c actor.Context, in *effectInput) {
	m := a.st.m
	h := dataplane.NewHandle(m.Inc.Region, m.Inc.Gen)
	snap, err := a.d.Plane.BeginCapture(h)
	if err != nil {
		// The copy cannot start: the job ends at once, as a failed load.
		a.d.Log.Error().Err(err).Uint64("region", m.Inc.Region.ID).Msg("load cannot start")
		a.st.extra().tally = messages.NewJobTally(time.Time{})
		c.Send(a.d.Pool, &messages.LoaderDeclined{Worker: in.worker})
		c.Send(c.Self(), &messages.CopyDone{Gen: m.Inc.Gen, Result: lifecycle.CopyFailed, Err: err})
		return
	}
	a.st.handle = h
	var started time.Time
	if a.d.Timings != nil {
		started = time.Now()
	}
	a.st.extra().tally = messages.NewJobTally(started)
	job := &messages.Job{Inc: m.Inc, Region: c.Self(), Handle: h, Snapshot: snap, Ctx: a.d.Ctx, SafePoint: a.d.SafePoint()}
	a.st.job = job
	worker := in.worker
	in.launch = append(in.launch, func() { c.Send(worker, &messages.Copy{Job: job}) })
}

func (a *regionActor) takeSnapshot(c actor.Context, in *effectInput) {
	view, ok := a.d.Plane.TakeSnapshot(a.st.handle)
	if !ok {
		// The data plane stopped serving this region on its own (a write
		// over capacity; its eviction is on the way): the snapshot is
		// served from disk, and the count the machine took is given back
		// through the machine, like any release.
		a.st.m = lifecycle.Step(a.st.m, lifecycle.SnapshotRelease{Gen: a.st.m.Inc.Gen}).Next
		in.snapshot = &messages.SnapshotGranted{Reason: lifecycle.RejectNotActive}
		return
	}
	holders := messages.NewSnapshotHolders(c.Self(), a.st.m.Inc.Gen)
	x := a.st.extra()
	x.holds = append(x.holds, holders)
	in.snapshot = &messages.SnapshotGranted{OK: true, View: view, Holders: holders}
}

// startRelease releases memory in a child actor, so a paused or panicking
// evict/before-delete failpoint never blocks the region's mailbox. The
// child starts once the step is reported.
func (a *regionActor) startRelease(c actor.Context, in *effectInput) {
	h, gen, fp, plane, log, ctx := a.st.handle, a.st.m.Inc.Gen, a.d.Failpoints, a.d.Plane, a.d.Log, a.d.Ctx
	props := actor.PropsFromFunc(func(rc actor.Context) {
		if _, ok := rc.Message().(*actor.Started); !ok {
			return
		}
		if err := fp.Eval(ctx, failpoint.EvictBeforeDelete); err != nil && !errors.Is(err, context.Canceled) {
			// Releasing memory cannot fail; an injected error is logged and
			// the release goes on, so memory is never leaked.
			log.Warn().Err(err).Uint64("gen", gen).Msg("evict/before-delete failed; releasing anyway")
		}
		if h != nil {
			plane.Release(h)
		}
		// The parent stops this actor when the report arrives (or stops it
		// with itself when the engine closes).
		rc.Send(rc.Parent(), &messages.MemoryReleased{Gen: gen})
	}, actor.WithReceiverMiddleware(actorlog.PanicGuard(log)))
	in.launch = append(in.launch, func() { a.st.releaser = c.Spawn(props) })
}

// splitData hands each child of a split its data: the source keeps the
// first child's; the supervisor starts actors for the others with theirs.
func (a *regionActor) splitData(c actor.Context, in *effectInput) {
	m := a.st.m
	if a.st.handle == nil {
		return
	}
	handles := a.d.Plane.Split(a.st.handle, in.children, in.gens)
	a.st.handle = handles[0]
	in.split = &messages.SplitResult{Handles: handles, Children: in.children, Gens: in.gens, State: m.State, SafePoint: m.SafePoint}
	if x := a.st.x; x != nil {
		in.split.Holds = slices.Clone(x.holds)
	}
	switch m.State {
	case lifecycle.Loading:
		x := a.st.extra()
		if x.tally != nil {
			x.tally.Join(len(in.children) - 1)
			in.split.Tally = x.tally
		}
		for i := 1; i < len(in.children); i++ {
			x.family = append(x.family, familyMember{regionID: in.children[i].ID, gen: in.gens[i]})
		}
	}
}

// handOnToFamily gives every sibling split off during the load its own
// view of the copy (O(1) each), before this region installs its own.
func (a *regionActor) handOnToFamily(c actor.Context, cd *messages.CopyDone) {
	if cd.Run != nil && cd.Run.Len() > 0 && !cd.RunHeld {
		a.d.Plane.ChargeRunFromCopy(cd.Run, cd.Copy)
		cd.RunHeld = true
	}
	x := a.st.extra()
	fam := &messages.FamilyCopyDone{Result: cd.Result, Err: cd.Err, Tally: x.tally}
	for _, f := range x.family {
		// Each sibling installs the same run: no bytes are copied, and the
		// run is charged once, with a hold taken here for each sibling (a
		// sibling may compact and let go before another installs).
		sc := messages.SiblingCopy{RegionID: f.regionID, Gen: f.gen, Run: cd.Run}
		if cd.RunHeld {
			a.d.Plane.HoldRun(cd.Run)
			sc.RunHeld = true
		}
		if cd.Copy != nil {
			cd.Copy.Hold(false)
			sc.Copy = cd.Copy
		}
		fam.Siblings = append(fam.Siblings, sc)
	}
	x.family = nil
	c.Send(c.Parent(), fam)
}

// time measures an eviction from its request to absent, for Deps.Timings. The machine stays clock-free: the
// step's effects and counters say what happened.
func (a *regionActor) time(prev lifecycle.Machine, res lifecycle.Result, ev lifecycle.Event) {
	var now time.Time
	clock := func() time.Time {
		if now.IsZero() {
			now = time.Now()
		}
		return now
	}
	for _, name := range res.Counters {
		if name == counters.Evictions {
			if e, ok := ev.(lifecycle.Evict); ok {
				x := a.st.extra()
				x.evictStart, x.evictReason = clock(), e.Reason
			}
		}
	}
	if x := a.st.x; x != nil && res.Next.State == lifecycle.Absent && prev.State != lifecycle.Absent && !x.evictStart.IsZero() {
		a.d.Timings.EvictDone(x.evictReason, clock().Sub(x.evictStart))
		x.evictStart, x.evictReason = time.Time{}, ""
	}
}

// endJobPart reports this region's part of its load job's end; the last part
// of the family counts the job's end, once (and times it).
func (a *regionActor) endJobPart(part lifecycle.JobPart) {
	t := a.st.x.jobTally()
	if t == nil {
		return
	}
	a.st.x.tally = nil
	countJobPart(a.d, t, part)
}

// countJobPart reports one region's part to the job's tally and, if it was
// the last, counts (and times) the job's end.
func countJobPart(d *Deps, t *messages.JobTally, part lifecycle.JobPart) {
	end, last := t.Report(part)
	if !last {
		return
	}
	d.count(end, 1)
	if d.Timings != nil && !t.Started.IsZero() {
		d.Timings.LoadDone(strings.TrimPrefix(end.String(), "loads_"), time.Since(t.Started))
	}
}

// JobPartGone reports the part of a split sibling that can no longer be told
// its job ended (it is gone): canceled.
func JobPartGone(d *Deps, t *messages.JobTally) {
	if t != nil {
		countJobPart(d, t, lifecycle.JobCanceled)
	}
}

// letGoCopy lets go of a finished job's reservation once this region has
// installed its share of the copy (charged to its own data) or discarded
// it, before the step is reported: when the engine looks idle, no copy is
// still charged.
func letGoCopy(cd *messages.CopyDone) {
	if cd != nil && cd.Copy != nil {
		cd.Copy.LetGo(false, 0)
		cd.Copy = nil
	}
}

// dropCopy lets go of everything a CopyDone that is not installed holds.
func (a *regionActor) dropCopy(cd *messages.CopyDone) {
	if cd != nil && cd.RunHeld {
		a.d.Plane.DropRun(cd.Run)
		cd.RunHeld = false
	}
	letGoCopy(cd)
}

// count adds delta to a counter; a Name that is not one of the constants
// is logged, never silently dropped.
func (d *Deps) count(n counters.Name, delta int64) {
	if err := d.Counters.Add(n, delta); err != nil {
		d.Log.Error().Err(err).Msg("counting")
	}
}
