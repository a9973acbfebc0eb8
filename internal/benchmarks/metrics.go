package benchmarks

import (
	"math"
	"runtime/metrics"
)

// runtimeSample is the Go runtime's view of a phase: GC work and how long
// runnable goroutines waited for a CPU. Deltas of two samples explain tail
// latencies that a CPU profile cannot show.
type runtimeSample struct {
	vals []metrics.Sample
}

var runtimeMetricNames = []string{
	"/gc/cycles/total:gc-cycles",
	"/cpu/classes/gc/mark/assist:cpu-seconds",
	"/cpu/classes/gc/mark/dedicated:cpu-seconds",
	"/cpu/classes/gc/mark/idle:cpu-seconds",
	"/cpu/classes/gc/pause:cpu-seconds",
	"/sched/latencies:seconds",
	"/sched/pauses/total/gc:seconds",
}

func sampleRuntime() runtimeSample {
	s := runtimeSample{vals: make([]metrics.Sample, len(runtimeMetricNames))}
	for i, n := range runtimeMetricNames {
		s.vals[i].Name = n
	}
	metrics.Read(s.vals)
	return s
}

// runtimeDelta is what happened between two samples.
type runtimeDelta struct {
	GCCycles        float64
	AssistCPU       float64 // seconds of mutator time spent in GC mark assists
	MarkCPU         float64 // seconds of dedicated and idle mark workers
	PauseCPU        float64
	SchedP99, Sched float64 // p99 and max of the time goroutines waited runnable, seconds
	SchedWaits      float64 // how many waits were recorded
	GCPauseMax      float64 // longest stop-the-world pause for GC, seconds
}

func (a runtimeSample) until(b runtimeSample) runtimeDelta {
	val := func(s runtimeSample, i int) metrics.Value { return s.vals[i].Value }
	num := func(s runtimeSample, i int) float64 {
		v := val(s, i)
		switch v.Kind() {
		case metrics.KindUint64:
			return float64(v.Uint64())
		case metrics.KindFloat64:
			return v.Float64()
		}
		return 0
	}
	d := runtimeDelta{
		GCCycles:  num(b, 0) - num(a, 0),
		AssistCPU: num(b, 1) - num(a, 1),
		MarkCPU:   num(b, 2) - num(a, 2) + num(b, 3) - num(a, 3),
		PauseCPU:  num(b, 4) - num(a, 4),
	}
	if val(a, 5).Kind() == metrics.KindFloat64Histogram && val(b, 5).Kind() == metrics.KindFloat64Histogram {
		d.SchedP99, d.Sched, d.SchedWaits = histDelta(val(a, 5).Float64Histogram(), val(b, 5).Float64Histogram(), 99)
	}
	if val(a, 6).Kind() == metrics.KindFloat64Histogram && val(b, 6).Kind() == metrics.KindFloat64Histogram {
		_, d.GCPauseMax, _ = histDelta(val(a, 6).Float64Histogram(), val(b, 6).Float64Histogram(), 99)
	}
	return d
}

// histDelta returns the p-th percentile and the maximum (bucket upper bounds)
// of the observations between two histograms, and their count.
func histDelta(a, b *metrics.Float64Histogram, p float64) (pct, maxV, count float64) {
	counts := make([]uint64, len(b.Counts))
	var total uint64
	for i := range b.Counts {
		c := b.Counts[i]
		if i < len(a.Counts) {
			c -= a.Counts[i]
		}
		counts[i] = c
		total += c
	}
	if total == 0 {
		return 0, 0, 0
	}
	upper := func(i int) float64 {
		u := b.Buckets[i+1]
		if math.IsInf(u, 1) {
			return b.Buckets[i]
		}
		return u
	}
	rank := uint64(math.Ceil(p / 100 * float64(total)))
	var seen uint64
	pct = -1
	for i, c := range counts {
		if c == 0 {
			continue
		}
		seen += c
		if pct < 0 && seen >= rank {
			pct = upper(i)
		}
		maxV = upper(i)
	}
	return pct, maxV, float64(total)
}
