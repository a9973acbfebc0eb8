package heat

import (
	"math"
	"sort"

	"github.com/regioncache/regioncache/internal/mvcc"
)

// Scores keeps each known region's heat across rounds: its reads, with the
// past weighted down as reads go on (recency), and the bytes it last took in
// memory (to size future loads).
//
// Recency is counted in reads, not in rounds: a round with as many reads as
// usual weighs the past down by Decay, a quieter one by less, and a round
// with no read at all by nothing. An engine at rest, or a host busy
// elsewhere for a while, keeps what it learnt; a round that saw a tenth of
// the usual reads is not taken for a change of the hot set.
type Scores struct {
	// Decay is the weight of the past after a round of usual activity, in
	// [0, 1): heat = heat*Decay^(reads/usual) + reads of the round.
	Decay float64
	// usual is the running average of a round's reads (rounds with reads).
	usual float64
	byID  map[uint64]*score
	// sizeSum and sizeN average the sizes ever seen, for regions never
	// cached yet.
	sizeSum, sizeN int64
}

type score struct {
	version uint64
	heat    float64
	size    int64
}

// Heat is one region's view after a round.
type Heat struct {
	Sample
	// Heat is the decayed read count.
	Heat float64
}

// Update folds one round's samples in and returns every sampled region's
// heat. Regions not sampled (no longer known) are forgotten; a region seen
// at a new version starts again from its round's reads.
func (s *Scores) Update(samples []Sample) []Heat {
	if s.byID == nil {
		s.byID = make(map[uint64]*score)
	}
	var total int64
	for _, smp := range samples {
		total += smp.Reads
	}
	decay := 1.0
	if total > 0 {
		if s.usual == 0 {
			s.usual = float64(total)
		}
		decay = math.Pow(s.Decay, math.Min(1, float64(total)/s.usual))
		s.usual = 0.5*s.usual + 0.5*float64(total)
	}
	seen := make(map[uint64]bool, len(samples))
	out := make([]Heat, 0, len(samples))
	for _, smp := range samples {
		id := smp.Region.ID
		seen[id] = true
		sc := s.byID[id]
		if sc == nil {
			sc = &score{version: smp.Region.Version}
			s.byID[id] = sc
		}
		if sc.version != smp.Region.Version {
			sc.version, sc.heat = smp.Region.Version, 0
		}
		sc.heat = sc.heat*decay + float64(smp.Reads)
		out = append(out, Heat{Sample: smp, Heat: sc.heat})
	}
	for id := range s.byID {
		if !seen[id] {
			delete(s.byID, id)
		}
	}
	return out
}

// NoteSize records the bytes a region takes in memory now.
func (s *Scores) NoteSize(id uint64, bytes int64) {
	if sc := s.byID[id]; sc != nil && bytes > 0 {
		if sc.size == 0 {
			s.sizeN++
		} else {
			s.sizeSum -= sc.size
		}
		s.sizeSum += bytes
		sc.size = bytes
	}
}

// SizeOf estimates a region's bytes in memory: what it took when last
// cached, else the average of the regions measured, else 0 (unknown).
func (s *Scores) SizeOf(id uint64) int64 {
	if sc := s.byID[id]; sc != nil && sc.size > 0 {
		return sc.size
	}
	if s.sizeN == 0 {
		return 0
	}
	return s.sizeSum / s.sizeN
}

// Cached is an active region as the planner sees it.
type Cached struct {
	ID    uint64
	Heat  float64
	Reads int64 // in the last round
	Bytes int64
}

// Candidate is a known region that is not held.
type Candidate struct {
	Heat
	// Bytes is its estimated size in memory (0: unknown).
	Bytes int64
}

// Policy is how a round decides.
type Policy struct {
	// AmplificationThreshold: a region is loaded only if its disk reads in
	// the round stepped over at least this many versions per key returned
	// (the cache would save that work).
	AmplificationThreshold float64
	// SwapMargin: a candidate displaces a cached region only when its heat
	// is more than SwapMargin times the cached region's, so that regions of
	// about equal heat do not trade places every round.
	SwapMargin float64
	// MaxLoads bounds the loads one round plans.
	MaxLoads int
	// Budget is the memory loads may fill (the stop-load threshold); 0:
	// unbounded.
	Budget int64
}

// Plan is what a round does.
type Plan struct {
	// Cold are cached regions nobody read for a while (reason auto_evict).
	Cold []uint64
	// Displaced are cached regions evicted to make room for hotter ones.
	Displaced []uint64
	// Load are the regions to load, hottest first.
	Load []mvcc.Region
}

// Decide plans one round. used is the memory in use that stays (memory of
// regions already on their way out excluded, loads in flight included).
//
// Cached regions that served no read in the round and whose heat fell below
// one read are evicted. Then candidates, hottest first, are planned while
// they fit in the budget; when one does not fit, the coldest cached regions
// are displaced for it if it is more than SwapMargin times hotter than each.
// A candidate of unknown size is planned while memory is below the budget.
func (p Policy) Decide(used int64, cached []Cached, candidates []Candidate) Plan {
	var plan Plan
	var keep []Cached
	for _, c := range cached {
		if c.Reads == 0 && c.Heat < 1 {
			plan.Cold = append(plan.Cold, c.ID)
			used -= c.Bytes
			continue
		}
		keep = append(keep, c)
	}
	// Coldest first: the order in which they would be displaced.
	sort.SliceStable(keep, func(i, j int) bool { return keep[i].Heat < keep[j].Heat })
	var hot []Candidate
	for _, c := range candidates {
		if c.Reads > 0 && c.Amplification() >= p.AmplificationThreshold {
			hot = append(hot, c)
		}
	}
	sort.SliceStable(hot, func(i, j int) bool { return hot[i].Heat.Heat > hot[j].Heat.Heat })
	margin := p.SwapMargin
	if margin < 1 {
		margin = 1
	}
	for _, c := range hot {
		if p.MaxLoads > 0 && len(plan.Load) >= p.MaxLoads {
			break
		}
		fits := func() bool {
			if p.Budget <= 0 {
				return true
			}
			if c.Bytes == 0 {
				return used < p.Budget
			}
			return used+c.Bytes <= p.Budget
		}
		for !fits() && len(keep) > 0 && keep[0].Heat*margin < c.Heat.Heat {
			plan.Displaced = append(plan.Displaced, keep[0].ID)
			used -= keep[0].Bytes
			keep = keep[1:]
		}
		if !fits() {
			// Nothing colder enough to displace: colder candidates would
			// not displace anything either.
			break
		}
		plan.Load = append(plan.Load, c.Region)
		used += c.Bytes
	}
	return plan
}
