package benchmarks

import (
	"math/rand/v2"
	"runtime"
	"slices"
	"time"
)

// median of xs (xs is reordered).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// percentile returns the p-th percentile (0 < p <= 100) of ds by the
// nearest-rank method; ds must be sorted.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(ds))+0.999999) - 1
	rank = max(0, min(rank, len(ds)-1))
	return ds[rank]
}

func sortDurations(ds []time.Duration) { slices.Sort(ds) }

// micros is d in microseconds.
func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// heapAfterGC runs a full collection (twice, so finalizers queued by the
// first have run) and returns the bytes of live heap objects.
func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// indices returns n pseudo-random ints in [0, bound), the same for a seed.
func indices(seed uint64, n, bound int) []int {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	out := make([]int, n)
	for i := range out {
		out[i] = r.IntN(bound)
	}
	return out
}
