package benchmarks

import (
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
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

// gcAccount is the garbage collector's own account of the process, read
// from runtime/metrics: what a stretch of work cost it is the difference of
// two readings.
type gcAccount struct {
	cycles       float64 // completed GC cycles
	markCPU      float64 // CPU seconds spent marking (assist, dedicated and idle workers)
	assistCPU    float64 // of which, CPU seconds goroutines spent assisting (time taken from the allocating work itself)
	allocObjects float64 // heap objects allocated
	allocBytes   float64 // heap bytes allocated
	liveObjects  float64 // heap objects live, as of the last GC
}

var gcMetricNames = []string{
	"/gc/cycles/total:gc-cycles",
	"/cpu/classes/gc/mark/assist:cpu-seconds",
	"/cpu/classes/gc/mark/dedicated:cpu-seconds",
	"/cpu/classes/gc/mark/idle:cpu-seconds",
	"/gc/heap/allocs:objects",
	"/gc/heap/allocs:bytes",
	"/gc/heap/objects:objects",
}

func readGCAccount() gcAccount {
	samples := make([]metrics.Sample, len(gcMetricNames))
	for i, n := range gcMetricNames {
		samples[i].Name = n
	}
	metrics.Read(samples)
	v := func(i int) float64 {
		switch samples[i].Value.Kind() {
		case metrics.KindUint64:
			return float64(samples[i].Value.Uint64())
		case metrics.KindFloat64:
			return samples[i].Value.Float64()
		default:
			return math.NaN() // not supported by this Go version
		}
	}
	return gcAccount{
		cycles:       v(0),
		assistCPU:    v(1),
		markCPU:      v(1) + v(2) + v(3),
		allocObjects: v(4),
		allocBytes:   v(5),
		liveObjects:  v(6),
	}
}

func (a gcAccount) sub(b gcAccount) gcAccount {
	return gcAccount{
		cycles: a.cycles - b.cycles, markCPU: a.markCPU - b.markCPU, assistCPU: a.assistCPU - b.assistCPU,
		allocObjects: a.allocObjects - b.allocObjects, allocBytes: a.allocBytes - b.allocBytes, liveObjects: a.liveObjects - b.liveObjects,
	}
}
