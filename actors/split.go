package actors

import (
	"fmt"
	"sort"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/regioncache/regioncache/internal/counters"
	"github.com/regioncache/regioncache/internal/evictreason"
	"github.com/regioncache/regioncache/internal/lifecycle"
	"github.com/regioncache/regioncache/internal/mvcc"
	"github.com/regioncache/regioncache/messages"
	"github.com/regioncache/regioncache/regionactor"
)

// split applies a split in the host. A pending source is replaced by
// pending children; a loading or active one splits its own data and the
// supervisor starts the new siblings in the same state; an evicted one
// leaves the children absent.
func (st *supervisorState) split(c actor.Context, req *messages.SplitRegion) {
	src := req.Source
	if err := st.mismatch(src); err != nil {
		req.Reply <- err
		return
	}
	if seen := st.seen[src.ID]; src.Version < seen {
		st.d.Log.Info().Uint64("region", src.ID).Uint64("version", src.Version).Uint64("seen", seen).Msg("stale split ignored")
		req.Reply <- nil
		return
	}
	children := append([]mvcc.Region(nil), req.Into...)
	// The child keeping the source's id goes first: it continues the source.
	sort.SliceStable(children, func(i, j int) bool { return children[i].ID == src.ID && children[j].ID != src.ID })
	for _, ch := range children {
		st.see(ch)
		st.noteKnown(c, ch)
	}
	e := st.byID[src.ID]
	// Regions of other ids cached over the source's range mean the engine
	// missed events: they cannot be trusted.
	var strays []*entry
	for _, o := range st.overlapping(src) {
		if o != e {
			strays = append(strays, o)
		}
	}
	if e != nil && e.region.Version < src.Version {
		strays = append(strays, e)
	}
	if len(strays) > 0 || e == nil || e.region.Version != src.Version {
		// Answer once the evictions are taken, so the caller sees them.
		st.evictEntries(c, strays, string(evictreason.MissedChange), func([]lifecycle.State) { req.Reply <- nil })
		return
	}
	switch {
	case e.pending:
		e.pending = false
		st.unindex(e)
		c.Send(e.pid, &messages.Step{Event: lifecycle.Supersede{Gen: e.gen}})
		// The pending source's request passes to the child keeping its id;
		// every other child is a load the engine asks for on the host's
		// behalf (so loads_started never passes loads_requested).
		st.d.count(counters.LoadsRequested, int64(len(children)-1))
		remaining := len(children)
		for _, ch := range children {
			st.startPending(c, ch, func(messages.Outcome) {
				remaining--
				if remaining == 0 {
					req.Reply <- nil
				}
			})
		}
	default:
		gens := make([]uint64, len(children))
		gens[0] = e.gen
		for i := 1; i < len(children); i++ {
			st.nextGen++
			gens[i] = st.nextGen
		}
		c.Send(e.pid, &messages.Step{Event: lifecycle.Split{Children: children, Gens: gens}, Done: func(o messages.Outcome) {
			if o.Split != nil {
				st.adoptSplit(c, e, src, o.Split)
			}
			req.Reply <- nil
		}})
	}
}

// startPending registers a new pending region (no overlap possible: the
// caller made room) and sends it its first load.
func (st *supervisorState) startPending(c actor.Context, r mvcc.Region, done func(messages.Outcome)) {
	st.nextGen++
	e := &entry{region: r, gen: st.nextGen, pending: true}
	e.pid = c.SpawnPrefix(st.regionProps, fmt.Sprintf("region-%d-", r.ID))
	st.index(e)
	c.Send(e.pid, &messages.Step{Event: lifecycle.Load{Region: r, Gen: e.gen}, Done: done})
}

// adoptSplit records the split source's new range and starts an actor for
// every other child, in the source's state, with its share of the data.
func (st *supervisorState) adoptSplit(c actor.Context, e *entry, src mvcc.Region, res *messages.SplitResult) {
	if cur := st.byID[e.region.ID]; cur == e {
		st.unindex(e)
		e.region = res.Children[0]
		e.handle = res.Handles[0]
		st.index(e)
		// Same state, new version and range: observers still need to know.
		st.emit(Transition{Region: e.region, Gen: e.gen, From: e.state, To: e.state, Cause: fmt.Sprintf("split of %s", src)})
		st.board.set(RegionStatus{Region: e.region, Gen: e.gen, State: e.state, Snapshots: e.snaps, Handle: e.handle, pid: e.pid})
	}
	loadedAt := st.board.Get(e.region.ID).LoadedAt // the children share the source's data
	for i := 1; i < len(res.Children); i++ {
		ch := res.Children[i]
		if old := st.byID[ch.ID]; old != nil {
			// An id the host reuses while the engine still holds it: the
			// old one cannot be trusted.
			st.evictUnanswered(c, []*entry{old}, string(evictreason.MissedChange))
			st.unindex(old)
		}
		ne := &entry{region: ch, gen: res.Gens[i], state: res.State, handle: res.Handles[i]}
		// Snapshots taken on the source read this child's range too: the
		// child holds each one not released yet (historical snapshots).
		messages.AdoptSnapshots(res.Holds, func(held []*messages.SnapshotHolders) (*actor.PID, uint64) {
			parent := lifecycle.Machine{State: res.State, SafePoint: res.SafePoint}
			m := lifecycle.SplitChild(parent, ch, ne.gen, len(held))
			ne.snaps = len(held)
			ne.pid = c.SpawnPrefix(regionactor.Props(st.region, &regionactor.Init{Machine: m, Handle: res.Handles[i], Holds: held, Tally: res.Tally}),
				fmt.Sprintf("region-%d-", ch.ID))
			return ne.pid, ne.gen
		})
		st.index(ne)
		st.emit(Transition{Region: ch, Gen: ne.gen, From: lifecycle.Absent, To: res.State, Cause: fmt.Sprintf("split of %s", src)})
		st.board.set(RegionStatus{Region: ch, Gen: ne.gen, State: res.State, Snapshots: ne.snaps, Handle: ne.handle, LoadedAt: loadedAt, pid: ne.pid})
	}
}

// familyCopyDone forwards a finished job to the siblings split off its
// region while it ran.
func (st *supervisorState) familyCopyDone(c actor.Context, f *messages.FamilyCopyDone) {
	for _, s := range f.Siblings {
		e := st.liveEntry(s.RegionID, s.Gen)
		if e == nil {
			// Gone already (it can leave loading only through this message,
			// so it never started): its part of the job is canceled and its
			// view of the copy is garbage.
			if s.Copy != nil {
				s.Copy.LetGo(false, 0)
			}
			if s.RunHeld {
				st.d.Plane.DropRun(s.Run)
			}
			regionactor.JobPartGone(st.region, f.Tally)
			continue
		}
		c.Send(e.pid, &messages.CopyDone{Gen: s.Gen, Result: f.Result, Err: f.Err, Run: s.Run, RunHeld: s.RunHeld, Copy: s.Copy})
	}
}

// merge applies a merge in the host: every cached region over the merged
// range is evicted (reason merge); if any was active, the merged region is
// loaded again once their memory is released, unless it changes first.
func (st *supervisorState) merge(c actor.Context, req *messages.MergeRegions) {
	into := req.Into
	for _, s := range append([]mvcc.Region{into}, req.Sources...) {
		if err := st.mismatch(s); err != nil {
			req.Reply <- err
			return
		}
	}
	if seen := st.seen[into.ID]; into.Version < seen {
		st.d.Log.Info().Uint64("region", into.ID).Uint64("version", into.Version).Msg("stale merge ignored")
		req.Reply <- nil
		return
	}
	for _, s := range req.Sources {
		st.see(s)
	}
	st.see(into)
	st.noteKnown(c, into)
	targets := st.overlapping(into)
	for _, s := range req.Sources {
		if e := st.byID[s.ID]; e != nil && !contains(targets, e) {
			targets = append(targets, e)
		}
	}
	// Register the reload before evicting, so a source that reaches absent
	// before every eviction is taken is still crossed off.
	pm := &pendingMerge{into: into, waiting: make(map[uint64]bool, len(targets))}
	for _, t := range targets {
		pm.waiting[t.region.ID] = true
	}
	st.merges = append(st.merges, pm)
	st.evictEntries(c, targets, string(evictreason.Merge), func(prev []lifecycle.State) {
		wasActive := false
		for _, p := range prev {
			wasActive = wasActive || p == lifecycle.Active
		}
		if wasActive {
			pm.decided = true
		} else {
			st.dropMerge(pm)
		}
		st.resolveMerges(c)
		req.Reply <- nil
	})
}

func (st *supervisorState) dropMerge(pm *pendingMerge) {
	var kept []*pendingMerge
	for _, m := range st.merges {
		if m != pm {
			kept = append(kept, m)
		}
	}
	st.merges = kept
}

func contains(es []*entry, e *entry) bool {
	for _, x := range es {
		if x == e {
			return true
		}
	}
	return false
}

// sourceGone notes a region reaching absent and loads merged regions whose
// sources are all gone.
func (st *supervisorState) sourceGone(c actor.Context, id uint64) {
	for _, pm := range st.merges {
		delete(pm.waiting, id)
	}
	st.resolveMerges(c)
}

func (st *supervisorState) resolveMerges(c actor.Context) {
	var ready, waiting []*pendingMerge
	for _, pm := range st.merges {
		if len(pm.waiting) > 0 || !pm.decided {
			waiting = append(waiting, pm)
		} else {
			ready = append(ready, pm)
		}
	}
	st.merges = waiting
	for _, pm := range ready {
		// In flight until answered: by then the board shows it pending (or
		// it was refused), so WaitIdle cannot slip in between the sources
		// going absent and the reload appearing.
		st.board.Begin(1)
		req := &messages.LoadRegion{Region: pm.into, Reply: messages.NewReply[messages.Outcome](), Done: func() { st.board.Done(1) }}
		st.d.count(counters.LoadsRequested, 1)
		st.d.Log.Info().Uint64("region", pm.into.ID).Msg("loading merged region again")
		st.load(c, req)
	}
}

// invalidateMerges forgets a pending reload whose merged region has changed
// since (split, merged again, evicted).
func (st *supervisorState) invalidateMerges(r mvcc.Region) {
	var kept []*pendingMerge
	for _, pm := range st.merges {
		changed := r.Overlaps(pm.into) && !(r.ID == pm.into.ID && r.Version == pm.into.Version && string(r.Start) == string(pm.into.Start) && string(r.End) == string(pm.into.End))
		if changed {
			st.d.Log.Info().Uint64("region", pm.into.ID).Msg("merged region changed; not loading it again")
			continue
		}
		kept = append(kept, pm)
	}
	st.merges = kept
}

// relieve evicts the least recently read active regions until memory would
// be below the stop-load threshold; done (if set) runs once they took it.
func (st *supervisorState) relieve(c actor.Context, done func()) {
	defer st.d.Plane.PressureHandled()
	finish := func([]lifecycle.State) {
		if done != nil {
			done()
		}
	}
	lim := st.d.Plane.Limits()
	used := st.d.Plane.MemoryUsed()
	if lim.EvictThreshold <= 0 || used < lim.EvictThreshold {
		finish(nil)
		return
	}
	var active []*entry
	for _, e := range st.byID {
		switch {
		case e.leaving && e.handle != nil:
			// Already on its way out: its memory will be released.
			b, _, _ := e.handle.Stats()
			used -= b
		case e.state == lifecycle.Active && e.handle != nil:
			active = append(active, e)
		}
	}
	sort.Slice(active, func(i, j int) bool { return active[i].handle.LastRead() < active[j].handle.LastRead() })
	var victims []*entry
	for _, e := range active {
		if used < lim.StopLoad {
			break
		}
		b, _, _ := e.handle.Stats()
		used -= b
		victims = append(victims, e)
	}
	st.evictEntries(c, victims, string(evictreason.MemoryLimitReached), finish)
}
