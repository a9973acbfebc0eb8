package workload

import (
	"math"
	"time"
)

// histScale is the number of buckets per natural-log unit: about 2 % wide.
const histScale = 50

// Hist counts durations in logarithmic buckets (about 2 % wide) from 1 ns to
// 100 s; it is what percentiles over millions of reads cost in memory.
type Hist struct {
	counts [1267]int64
	n      int64
}

func (h *Hist) bucket(d time.Duration) int {
	ns := float64(d)
	if ns < 1 {
		ns = 1
	}
	i := int(math.Log(ns) * histScale)
	return min(max(i, 0), len(h.counts)-1)
}

// Add counts one duration.
func (h *Hist) Add(d time.Duration) { h.counts[h.bucket(d)]++; h.n++ }

// Merge adds o's counts.
func (h *Hist) Merge(o *Hist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
}

// N is how many durations were counted.
func (h *Hist) N() int64 { return h.n }

// Quantile returns the q-quantile (0 < q <= 1): the middle of the bucket
// holding the nearest-rank value; 0 when empty.
func (h *Hist) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(math.Exp((float64(i) + 0.5) / histScale))
		}
	}
	return 0
}
