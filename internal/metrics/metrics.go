// Package metrics is the engine's Prometheus collector. Almost everything is
// read at scrape time from state the engine keeps anyway (region states,
// memory, the spec's counters, read counts, held snapshots), so the engine's
// hot paths pay nothing for it beyond the atomic increments they already
// make; only the two duration histograms are fed as things happen, by the
// region actors, once per load job and once per eviction.
//
// The engine registers a Metrics on Options.Registerer at Open and
// unregisters it at Close. Every metric is named regioncache_*:
//
//	regioncache_regions{state}                       held regions by state
//	regioncache_memory_bytes                          memory accounted to cached data
//	regioncache_memory_limit_bytes{limit}             capacity, evict_threshold, stop_load_threshold
//	regioncache_load_requests_total                   loads asked for (spec: loads_requested)
//	regioncache_loads_total{outcome}                  deduplicated, rejected, started, completed, canceled, failed (spec: loads_*)
//	regioncache_evictions_total                       regions evicted (spec: evictions)
//	regioncache_keys_loaded_total                     versions copied by completed loads (spec: keys_loaded)
//	regioncache_reads_total{source}                   memory, disk, mixed (a scan across both)
//	regioncache_disk_reads_total{reason}              not_cached, version_mismatch, too_old_read
//	regioncache_snapshots_held{source}                snapshots taken and not released
//	regioncache_safe_point                            the GC safe point
//	regioncache_load_duration_seconds{outcome}        StartCopy to completed, failed or canceled
//	regioncache_eviction_duration_seconds{reason}     eviction request to absent
package metrics

import (
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/regioncache/regioncache/internal/counters"
	"github.com/regioncache/regioncache/internal/evictreason"
)

// Namespace prefixes every metric name.
const Namespace = "regioncache"

// Sample is the engine's state at one scrape. Map keys become label values.
type Sample struct {
	RegionsByState map[string]int64
	MemoryBytes    int64
	// The memory limits in bytes.
	Capacity, EvictThreshold, StopLoadThreshold int64
	// Counters are the spec's counters by name (package counters).
	Counters map[string]int64
	// ReadsBySource: memory, disk, mixed.
	ReadsBySource map[string]int64
	// DiskReadsByReason: not_cached, version_mismatch, too_old_read.
	DiskReadsByReason map[string]int64
	// SnapshotsHeld by source: memory, disk.
	SnapshotsHeld map[string]int64
	SafePoint     uint64
}

// loadOutcomes are the spec counters loads_<outcome> that become
// regioncache_loads_total{outcome}.
var loadOutcomes = []counters.Name{
	counters.LoadsDeduplicated, counters.LoadsRejected, counters.LoadsStarted,
	counters.LoadsCompleted, counters.LoadsCanceled, counters.LoadsFailed,
}

// counterMetrics maps the other spec counters to a metric of their own;
// reads_memory and reads_disk are regioncache_reads_total, finer grained.
var counterMetrics = map[counters.Name]string{
	counters.LoadsRequested: "load_requests_total",
	counters.Evictions:      "evictions_total",
	counters.KeysLoaded:     "keys_loaded_total",
}

// DurationBuckets are the histograms' buckets in seconds: 0.5ms to about
// two minutes, each four times the last.
var DurationBuckets = prometheus.ExponentialBuckets(0.0005, 4, 10)

// Metrics collects one engine's metrics; it is a prometheus.Collector.
type Metrics struct {
	sample       func() Sample
	evictReasons map[string]bool

	regions, memory, memoryLimit, loads, reads, diskReads, snapshots, safePoint *prometheus.Desc
	counters                                                                    map[counters.Name]*prometheus.Desc

	loadDuration  *prometheus.HistogramVec
	evictDuration *prometheus.HistogramVec
}

// New returns the metrics of an engine: sample is called once per scrape.
// The eviction histogram is labelled by every reason in evictreason.All;
// anything else would be "other", so a label's cardinality stays bounded.
func New(sample func() Sample) *Metrics {
	name := func(n string) string { return prometheus.BuildFQName(Namespace, "", n) }
	m := &Metrics{
		sample:       sample,
		evictReasons: make(map[string]bool, len(evictreason.All)),
		regions:      prometheus.NewDesc(name("regions"), "Held regions by state.", []string{"state"}, nil),
		memory:       prometheus.NewDesc(name("memory_bytes"), "Memory accounted to cached data, copies in progress and data kept for snapshots included.", nil, nil),
		memoryLimit: prometheus.NewDesc(name("memory_limit_bytes"),
			"Memory limits: capacity (hard), evict_threshold (eviction starts), stop_load_threshold (loads fail).", []string{"limit"}, nil),
		loads:     prometheus.NewDesc(name("loads_total"), "Load requests by outcome (the spec counters loads_<outcome>).", []string{"outcome"}, nil),
		reads:     prometheus.NewDesc(name("reads_total"), "Reads (Get, Scan, snapshot reads) by where they were served: memory, disk, or mixed for a scan across both.", []string{"source"}, nil),
		diskReads: prometheus.NewDesc(name("disk_reads_total"), "Reads served from disk wholly or in part, by why.", []string{"reason"}, nil),
		snapshots: prometheus.NewDesc(name("snapshots_held"), "Snapshots taken and not yet released, by where they read from.", []string{"source"}, nil),
		safePoint: prometheus.NewDesc(name("safe_point"), "The GC safe point: reads at or below it are served from disk.", nil, nil),
		counters:  make(map[counters.Name]*prometheus.Desc, len(counterMetrics)),
		loadDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "load_duration_seconds",
			Help:    "Load jobs from the start of the copy to the region active (completed), absent after a failure (failed) or after an eviction during the load (canceled).",
			Buckets: DurationBuckets,
		}, []string{"outcome"}),
		evictDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "eviction_duration_seconds",
			Help:    "Evictions from the request to the region absent (its memory released), by reason; held snapshots delay it.",
			Buckets: DurationBuckets,
		}, []string{"reason"}),
	}
	for _, r := range evictreason.All {
		m.evictReasons[string(r)] = true
	}
	helps := map[counters.Name]string{
		counters.LoadsRequested: "Loads asked for, by the host or the engine (spec: loads_requested).",
		counters.Evictions:      "Regions evicted, for any reason (spec: evictions).",
		counters.KeysLoaded:     "Versions copied into memory by completed loads (spec: keys_loaded).",
	}
	for counter, metric := range counterMetrics {
		m.counters[counter] = prometheus.NewDesc(name(metric), helps[counter], nil, nil)
	}
	for _, o := range []string{"completed", "failed", "canceled"} {
		m.loadDuration.WithLabelValues(o) // present from the start, at zero
	}
	return m
}

// LoadDone observes a load job's duration (regionactor.Timings).
func (m *Metrics) LoadDone(outcome string, d time.Duration) {
	m.loadDuration.WithLabelValues(outcome).Observe(d.Seconds())
}

// EvictDone observes an eviction's duration (regionactor.Timings).
func (m *Metrics) EvictDone(reason string, d time.Duration) {
	if !m.evictReasons[reason] {
		reason = "other"
	}
	m.evictDuration.WithLabelValues(reason).Observe(d.Seconds())
}

// Describe sends every metric's description.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{m.regions, m.memory, m.memoryLimit, m.loads, m.reads, m.diskReads, m.snapshots, m.safePoint} {
		ch <- d
	}
	for _, d := range m.counters {
		ch <- d
	}
	m.loadDuration.Describe(ch)
	m.evictDuration.Describe(ch)
}

// Collect reads the engine once and sends every metric.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	s := m.sample()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	each(s.RegionsByState, func(k string, v int64) { gauge(m.regions, float64(v), k) })
	gauge(m.memory, float64(s.MemoryBytes))
	gauge(m.memoryLimit, float64(s.Capacity), "capacity")
	gauge(m.memoryLimit, float64(s.EvictThreshold), "evict_threshold")
	gauge(m.memoryLimit, float64(s.StopLoadThreshold), "stop_load_threshold")
	for _, o := range loadOutcomes {
		counter(m.loads, float64(s.Counters[o.String()]), strings.TrimPrefix(o.String(), "loads_"))
	}
	for name, d := range m.counters {
		counter(d, float64(s.Counters[name.String()]))
	}
	each(s.ReadsBySource, func(k string, v int64) { counter(m.reads, float64(v), k) })
	each(s.DiskReadsByReason, func(k string, v int64) { counter(m.diskReads, float64(v), k) })
	each(s.SnapshotsHeld, func(k string, v int64) { gauge(m.snapshots, float64(v), k) })
	gauge(m.safePoint, float64(s.SafePoint))
	m.loadDuration.Collect(ch)
	m.evictDuration.Collect(ch)
}

// each calls fn for every entry of vals in key order.
func each(vals map[string]int64, fn func(string, int64)) {
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fn(k, vals[k])
	}
}
