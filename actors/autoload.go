package actors

import (
	"bytes"
	"sort"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/tidwall/btree"

	"github.com/regioncache/regioncache/internal/heat"
	"github.com/regioncache/regioncache/internal/lifecycle"
	"github.com/regioncache/regioncache/internal/mvcc"
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
	// Heat is the engine's read tracker.
	Heat *heat.Tracker
}

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
	tree  *btree.BTreeG[mvcc.Region]
	dirty bool
}

func newKnownRegions() *knownRegions {
	return &knownRegions{tree: btree.NewBTreeGOptions(func(a, b mvcc.Region) bool {
		return bytes.Compare(a.Start, b.Start) < 0
	}, btree.Options{NoLocks: true})}
}

// note records the newest descriptor of a range: whatever it overlaps is
// outdated.
func (st *supervisorState) noteKnown(c actor.Context, r mvcc.Region) {
	if !st.d.Auto.Enabled {
		return
	}
	k := st.known
	var stale []mvcc.Region
	k.tree.Descend(mvcc.Region{Start: r.Start}, func(o mvcc.Region) bool {
		if o.Overlaps(r) {
			stale = append(stale, o)
		}
		return false
	})
	k.tree.Ascend(mvcc.Region{Start: r.Start}, func(o mvcc.Region) bool {
		if len(r.End) > 0 && bytes.Compare(o.Start, r.End) >= 0 {
			return false
		}
		stale = append(stale, o)
		return true
	})
	for _, o := range stale {
		if o.ID == r.ID && o.Version > r.Version {
			return // an older event about a region already superseded
		}
	}
	for _, o := range stale {
		k.tree.Delete(o)
	}
	k.tree.Set(r.Clone())
	if !k.dirty {
		k.dirty = true
		c.Send(c.Self(), &publishHeat{})
	}
}

func (st *supervisorState) publishHeat() {
	st.known.dirty = false
	st.d.Auto.Heat.SetRegions(st.known.tree.Items())
}

// autoLoadEvict is one round: regions read with high MVCC amplification are
// loaded, hottest first, while memory is below the stop-load threshold;
// active regions nobody read since the last round are evicted (auto_evict).
func (st *supervisorState) autoLoadEvict(c actor.Context) {
	if !st.d.Auto.Enabled {
		return
	}
	if st.known.dirty {
		st.publishHeat()
	}
	samples := st.d.Auto.Heat.Drain()
	var cold []*entry
	var hot []heat.Sample
	for _, s := range samples {
		e := st.byID[s.Region.ID]
		switch {
		case e != nil && e.state == lifecycle.Active && !e.leaving && s.Reads == 0:
			cold = append(cold, e)
		case e == nil && s.Reads > 0 && s.Amplification() >= st.d.Auto.AmplificationThreshold:
			hot = append(hot, s)
		}
	}
	st.evictEntries(c, cold, "auto_evict", nil)
	sort.Slice(hot, func(i, j int) bool { return hot[i].Reads > hot[j].Reads })
	lim := st.d.Plane.Limits()
	for i, s := range hot {
		if i >= st.d.Auto.MaxLoadsPerRound || (lim.StopLoad > 0 && st.d.Plane.MemoryUsed() >= lim.StopLoad) {
			break
		}
		st.d.Counters.Add("loads_requested", 1)
		st.load(c, &messages.LoadRegion{Region: s.Region, Reply: messages.NewReply[messages.Outcome]()})
	}
}
