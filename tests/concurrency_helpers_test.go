package tests

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/tests/internal/model"
)

// hostTable is the host's region table in a concurrent test: a partition of
// the key space that a splitter/merger goroutine evolves. It tells the engine
// of each split and merge while holding its lock, so the engine hears of them
// in the host's order; the other goroutines read descriptors from it (current
// and stale) and use them after letting go of the lock, racing the changes as
// a real host's requests do.
type hostTable struct {
	mu      sync.Mutex
	table   []regioncache.Region
	history []regioncache.Region
	bounds  [][]byte
	nextID  uint64
	nextVer uint64
}

func newHostTable(bounds [][]byte, initial int, rng *rand.Rand) *hostTable {
	h := &hostTable{bounds: bounds, nextVer: 1}
	cuts := pickCuts(rng, bounds, nil, nil, initial-1)
	for _, r := range model.Partition(cuts, h.nextID+1, h.nextVer) {
		h.table = append(h.table, regioncache.Region(r))
	}
	h.history = append(h.history, h.table...)
	h.nextID += uint64(len(h.table))
	h.nextVer++
	return h
}

func pickCuts(rng *rand.Rand, bounds [][]byte, start, end []byte, n int) [][]byte {
	var inside [][]byte
	for _, b := range bounds {
		if bytes.Compare(b, start) > 0 && (len(end) == 0 || bytes.Compare(b, end) < 0) {
			inside = append(inside, b)
		}
	}
	rng.Shuffle(len(inside), func(i, j int) { inside[i], inside[j] = inside[j], inside[i] })
	out := slices.Clone(inside[:min(n, len(inside))])
	slices.SortFunc(out, bytes.Compare)
	return out
}

// pick returns a descriptor: current, or with probability stalePct% an old one.
func (h *hostTable) pick(rng *rand.Rand, stalePct int) regioncache.Region {
	h.mu.Lock()
	defer h.mu.Unlock()
	if rng.IntN(100) < stalePct && len(h.history) > len(h.table) {
		for {
			r := h.history[rng.IntN(len(h.history))]
			if !slices.ContainsFunc(h.table, func(c regioncache.Region) bool { return c.ID == r.ID && c.Version == r.Version }) {
				return r
			}
		}
	}
	return h.table[rng.IntN(len(h.table))]
}

func (h *hostTable) current() []regioncache.Region {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.table)
}

// change splits or merges a random region and tells the engine, under the lock.
func (h *hostTable) change(e *regioncache.Engine, rng *rand.Rand) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.table) >= 2 && (len(h.table) > 8 || rng.IntN(2) == 0) {
		i := rng.IntN(len(h.table) - 1)
		srcs := slices.Clone(h.table[i : i+2])
		into := regioncache.Region{ID: srcs[rng.IntN(2)].ID, Version: h.nextVer, Start: srcs[0].Start, End: srcs[1].End}
		h.nextVer++
		if err := e.Merge(srcs, into); err != nil {
			return fmt.Errorf("merge %v into %v: %w", srcs, into, err)
		}
		h.table = slices.Replace(h.table, i, i+2, into)
		h.history = append(h.history, into)
		return nil
	}
	i := rng.IntN(len(h.table))
	src := h.table[i]
	cuts := pickCuts(rng, h.bounds, src.Start, src.End, 1+rng.IntN(2))
	if len(cuts) == 0 {
		return nil
	}
	keep := rng.IntN(len(cuts) + 1)
	var into []regioncache.Region
	start := src.Start
	for j := 0; j <= len(cuts); j++ {
		end := src.End
		if j < len(cuts) {
			end = cuts[j]
		}
		id := src.ID
		if j != keep {
			h.nextID++
			id = h.nextID
		}
		into = append(into, regioncache.Region{ID: id, Version: h.nextVer, Start: start, End: end})
		start = end
	}
	h.nextVer++
	if err := e.Split(src, into); err != nil {
		return fmt.Errorf("split %v into %v: %w", src, into, err)
	}
	h.table = slices.Replace(h.table, i, i+1, into...)
	h.history = append(h.history, into...)
	return nil
}

// tsOracle hands out commit timestamps and the GC safe point so that no
// write is ever at or below the safe point, as in a real host: the safe
// point stays below every write still in flight.
type tsOracle struct {
	mu       sync.Mutex
	clock    uint64
	inflight map[uint64]int
	sp       uint64
}

func newTsOracle() *tsOracle { return &tsOracle{inflight: map[uint64]int{}} }

func (o *tsOracle) begin() uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.clock++
	o.inflight[o.clock]++
	return o.clock
}

func (o *tsOracle) end(ts uint64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.inflight[ts]--; o.inflight[ts] == 0 {
		delete(o.inflight, ts)
	}
}

// safePoint advances the safe point as far as it may go now, keeping lag
// ticks of history readable in memory.
func (o *tsOracle) safePoint(lag uint64) uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	low := o.clock + 1
	for ts := range o.inflight {
		low = min(low, ts)
	}
	if low > lag+1 && low-1-lag > o.sp {
		o.sp = low - 1 - lag
	}
	return o.sp
}
