// Package heat keeps per-region read statistics for automatic loading and
// eviction: how many reads each known region served and its MVCC read
// amplification (versions stepped over per key returned). Recording a read
// costs one atomic load when tracking is off, and a lookup plus three atomic
// adds when it is on.
package heat

import (
	"bytes"
	"sort"
	"sync/atomic"

	"github.com/regioncache/regioncache/internal/mvcc"
)

// Stat is the reads of one region since the last Drain.
type Stat struct {
	Region   mvcc.Region
	reads    atomic.Int64
	stepped  atomic.Int64
	returned atomic.Int64
}

// Sample is a drained Stat.
type Sample struct {
	Region                   mvcc.Region
	Reads, Stepped, Returned int64
}

// Amplification is versions stepped over per key returned.
func (s Sample) Amplification() float64 {
	if s.Returned == 0 {
		return float64(s.Stepped)
	}
	return float64(s.Stepped) / float64(s.Returned)
}

// Tracker attributes reads to the regions the engine knows of.
type Tracker struct {
	enabled atomic.Bool
	table   atomic.Pointer[[]*Stat] // sorted by start; ranges do not overlap
}

// Enable turns recording on.
func (t *Tracker) Enable() { t.enabled.Store(true) }

// Record attributes one read that started at key to its region.
func (t *Tracker) Record(key []byte, stepped, returned int) {
	if !t.enabled.Load() {
		return
	}
	tab := t.table.Load()
	if tab == nil {
		return
	}
	rows := *tab
	i := sort.Search(len(rows), func(i int) bool { return bytes.Compare(rows[i].Region.Start, key) > 0 }) - 1
	if i < 0 || !rows[i].Region.Contains(key) {
		return
	}
	s := rows[i]
	s.reads.Add(1)
	s.stepped.Add(int64(stepped))
	s.returned.Add(int64(returned))
}

// SetRegions replaces the known regions (which must not overlap), keeping
// the counts of those that stay the same.
func (t *Tracker) SetRegions(regions []mvcc.Region) {
	old := map[[2]uint64]*Stat{}
	if tab := t.table.Load(); tab != nil {
		for _, s := range *tab {
			old[[2]uint64{s.Region.ID, s.Region.Version}] = s
		}
	}
	rows := make([]*Stat, 0, len(regions))
	for _, r := range regions {
		if s, ok := old[[2]uint64{r.ID, r.Version}]; ok {
			rows = append(rows, s)
		} else {
			rows = append(rows, &Stat{Region: r})
		}
	}
	sort.Slice(rows, func(i, j int) bool { return bytes.Compare(rows[i].Region.Start, rows[j].Region.Start) < 0 })
	t.table.Store(&rows)
}

// Drain returns every region's reads since the last Drain and resets them.
func (t *Tracker) Drain() []Sample {
	tab := t.table.Load()
	if tab == nil {
		return nil
	}
	out := make([]Sample, 0, len(*tab))
	for _, s := range *tab {
		out = append(out, Sample{Region: s.Region, Reads: s.reads.Swap(0), Stepped: s.stepped.Swap(0), Returned: s.returned.Swap(0)})
	}
	return out
}
