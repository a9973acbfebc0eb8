package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/regioncache/regioncache/internal/counters"
	"github.com/regioncache/regioncache/internal/evictreason"
	"github.com/regioncache/regioncache/internal/heat"
	"github.com/regioncache/regioncache/internal/lifecycle"
	"github.com/regioncache/regioncache/internal/mvcc"
	"github.com/regioncache/regioncache/internal/rangeindex"
	"github.com/regioncache/regioncache/messages"
)

// AutoLoadEvict configures automatic loading of hot regions and eviction of
// cold ones.
type AutoLoadEvict struct {
	Enabled bool
	// Interval between rounds.
	Interval time.Duration
	// AmplificationThreshold: a region is hot when its reads stepped over at
	// least this many versions per key returned.
	AmplificationThreshold float64
	// MaxLoadsPerRound bounds the loads one round starts.
	MaxLoadsPerRound int
	// HeatDecay is the weight of past rounds in a region's heat (default
	// DefaultHeatDecay).
	HeatDecay float64
	// SwapMargin is how many times hotter than a cached region a candidate
	// must be to displace it (default DefaultSwapMargin).
	SwapMargin float64
	// Heat is the engine's read tracker.
	Heat *heat.Tracker
}

// Defaults of the settings the public options do not carry; BENCHMARKS.md
// (demo workload) says why these values.
const (
	// DefaultHeatDecay halves a region's past reads every round: a hot set
	// that moves is seen within a round, one round's noise is smoothed.
	DefaultHeatDecay = 0.5
	// DefaultSwapMargin: a region must be twice as hot as the one it
	// displaces, so regions of equal heat do not trade places every round.
	DefaultSwapMargin = 2
)

// autoTick starts a round; Done, if set, is closed when it has been decided.
type autoTick struct{ done chan struct{} }

// publishHeat publishes the known regions to the read tracker.
type publishHeat struct{}

// RunAutoLoadEvict runs one round now and returns once it is decided (its
// loads and evictions sent, not finished).
func (s *Supervisor) RunAutoLoadEvict(root *actor.RootContext) <-chan struct{} {
	done := make(chan struct{})
	root.Send(s.PID, &autoTick{done: done})
	return done
}

type knownRegions struct {
	tree  *rangeindex.Index[mvcc.Region]
	dirty bool
}

func newKnownRegions() *knownRegions {
	return &knownRegions{tree: rangeindex.New(func(r mvcc.Region) ([]byte, []byte) { return r.Start, r.End })}
}

// note records the newest descriptor of a range: whatever it overlaps is
// outdated.
func (st *supervisorState) noteKnown(c actor.Context, r mvcc.Region) {
	if !st.d.Auto.Enabled {
		return
	}
	k := st.known
	var stale []mvcc.Region
	k.tree.Overlapping(r.Start, r.End, func(o mvcc.Region) bool {
		stale = append(stale, o)
		return true
	})
	for _, o := range stale {
		if o.ID == r.ID && o.Version > r.Version {
			return // an older event about a region already superseded
		}
	}
	for _, o := range stale {
		k.tree.Delete(o.Start)
	}
	r = r.Clone()
	k.tree.Set(r)
	if !k.dirty {
		k.dirty = true
		c.Send(c.Self(), &publishHeat{})
	}
}

// declare records the host's region table. A declared region newer than
// what the engine holds for its id or range means the engine missed a
// change: what it holds there is evicted (missed_change), as a load would.
// Stale descriptors (older than a version already seen) are skipped.
func (st *supervisorState) declare(c actor.Context, req *messages.DeclareRegions) {
	var outdated []*entry
	for _, r := range req.Regions {
		if r.Version < st.seen[r.ID] {
			continue
		}
		st.see(r)
		st.noteKnown(c, r)
		for _, e := range st.overlapping(r) {
			if !e.leaving && (e.region.ID != r.ID || e.region.Version < r.Version) && !contains(outdated, e) {
				outdated = append(outdated, e)
			}
		}
		if e := st.byID[r.ID]; e != nil && !e.leaving && e.region.Version < r.Version && !contains(outdated, e) {
			outdated = append(outdated, e)
		}
	}
	// The read tracker learns the table before the host hears back: reads
	// it makes once DeclareRegions returns count toward the next round. (A
	// publish left to the queued publishHeat message lost them whenever the
	// host read first; TestAutoLoadEvictFollowsTheHotSet then waited for
	// loads no round would plan.)
	if st.known.dirty {
		st.publishHeat()
	}
	st.evictEntries(c, outdated, string(evictreason.MissedChange), func([]lifecycle.State) { req.Reply <- nil })
}

func (st *supervisorState) publishHeat() {
	st.known.dirty = false
	st.d.Auto.Heat.SetRegions(st.known.tree.Values())
}

// autoState is the supervisor's part of automatic load and evict: heat
// across rounds, and the loads a round decided that wait for memory.
type autoState struct {
	scores heat.Scores
	// queue: planned loads not started yet, hottest first; replaced by the
	// next round's plan.
	queue []mvcc.Region
	// inflight: auto loads started and not yet active or gone.
	inflight map[uint64]mvcc.Region
	// retried: regions whose auto load failed and was queued again in this
	// round (once a round).
	retried map[uint64]bool
}

func (st *supervisorState) autoPolicy() heat.Policy {
	a := st.d.Auto
	lim := st.d.Plane.Limits()
	budget := lim.StopLoad
	if budget <= 0 {
		budget = lim.Capacity
	}
	return heat.Policy{AmplificationThreshold: a.AmplificationThreshold, SwapMargin: a.SwapMargin, MaxLoads: a.MaxLoadsPerRound, Budget: budget}
}

// autoLoadEvict is one round. Heat is each known region's reads, decayed per
// round; regions read from disk with high MVCC amplification are loaded,
// hottest first, within the stop-load threshold, displacing cached regions
// much colder than them; cached regions nobody reads any more are evicted
// (auto_evict). Loads start once the memory they need is free (evictions
// release it in the background).
func (st *supervisorState) autoLoadEvict(c actor.Context) {
	if !st.d.Auto.Enabled {
		return
	}
	if st.known.dirty {
		st.publishHeat()
	}
	a := &st.auto
	if a.scores.Decay == 0 {
		a.scores.Decay = st.d.Auto.HeatDecay
	}
	heats := a.scores.Update(st.d.Auto.Heat.Drain())
	used := st.d.Plane.MemoryUsed()
	for _, e := range st.byID {
		if e.leaving && e.handle != nil {
			b, _, _ := e.handle.Stats()
			used -= b // on its way out
		}
	}
	for id := range a.inflight {
		used += a.scores.SizeOf(id)
	}
	var cached []heat.Cached
	var cands []heat.Candidate
	for _, h := range heats {
		e := st.byID[h.Region.ID]
		switch {
		case e != nil && e.state == lifecycle.Active && !e.leaving && e.handle != nil:
			b, _, _ := e.handle.Stats()
			a.scores.NoteSize(h.Region.ID, b)
			cached = append(cached, heat.Cached{ID: h.Region.ID, Heat: h.Heat, Reads: h.Reads, Bytes: b})
		case e == nil:
			cands = append(cands, heat.Candidate{Heat: h, Bytes: a.scores.SizeOf(h.Region.ID)})
		}
	}
	plan := st.autoPolicy().Decide(used, cached, cands)
	victims := make([]*entry, 0, len(plan.Cold)+len(plan.Displaced))
	for _, id := range append(plan.Cold, plan.Displaced...) {
		if e := st.byID[id]; e != nil {
			victims = append(victims, e)
		}
	}
	st.evictUnanswered(c, victims, string(evictreason.AutoEvict))
	a.queue = plan.Load
	a.retried = nil
	st.pumpAutoLoads(c)
}

// pumpAutoLoads starts queued loads while the memory they are expected to
// take is free: below the budget once every load in flight is counted. A
// load of unknown size starts only while fewer such loads than loaders are
// in flight, so the first loads measure what a region costs.
func (st *supervisorState) pumpAutoLoads(c actor.Context) {
	a := &st.auto
	if len(a.queue) == 0 {
		return
	}
	if a.inflight == nil {
		a.inflight = make(map[uint64]mvcc.Region)
	}
	budget := st.autoPolicy().Budget
	for len(a.queue) > 0 {
		r := a.queue[0]
		if st.byID[r.ID] != nil || st.seen[r.ID] > r.Version {
			a.queue = a.queue[1:] // held already, or outdated
			continue
		}
		need := a.scores.SizeOf(r.ID)
		var pending int64
		unknown := 0
		for id := range a.inflight {
			// Sizes learnt since the load started count (conservatively:
			// what a copy in progress reserved is counted twice).
			n := a.scores.SizeOf(id)
			pending += n
			if n == 0 {
				unknown++
			}
		}
		used := st.d.Plane.MemoryUsed() + pending
		switch {
		case budget > 0 && need > 0 && used+need > budget:
			return
		case budget > 0 && need == 0 && used >= budget:
			return
		case need == 0 && unknown >= max(1, st.d.Loaders):
			return
		}
		a.queue = a.queue[1:]
		a.inflight[r.ID] = r
		st.d.count(counters.LoadsRequested, 1)
		st.board.Begin(1) // in flight until answered, like a merged region's reload
		st.load(c, &messages.LoadRegion{Region: r, Reply: messages.NewReply[messages.Outcome](), Done: func() { st.board.Done(1) }})
	}
}

// autoLoadSettled is told when a region becomes active or absent: an auto
// load in flight for it is over, and queued loads may fit now.
func (st *supervisorState) autoLoadSettled(c actor.Context, id uint64, to lifecycle.State) {
	a := &st.auto
	if !st.d.Auto.Enabled {
		return
	}
	r, wasAuto := a.inflight[id]
	delete(a.inflight, id)
	if wasAuto && to == lifecycle.Absent && !a.retried[id] && st.byID[id] == nil {
		// The load failed (memory above the stop-load threshold when its
		// copy started, or capacity reached while copying: the estimate
		// was short). Try once more as soon as memory allows rather than
		// a round later.
		if a.retried == nil {
			a.retried = make(map[uint64]bool)
		}
		a.retried[id] = true
		a.queue = append([]mvcc.Region{r}, a.queue...)
	}
	if to == lifecycle.Active {
		if e := st.byID[id]; e != nil && e.handle != nil {
			b, _, _ := e.handle.Stats()
			a.scores.NoteSize(id, b)
		}
	}
	st.pumpAutoLoads(c)
}
