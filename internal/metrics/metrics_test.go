package metrics_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/regioncache/regioncache/internal/counters"
	"github.com/regioncache/regioncache/internal/metrics"
	"github.com/regioncache/regioncache/internal/promtest"
)

func sample() metrics.Sample {
	c := map[string]int64{}
	for i, n := range counters.Names {
		c[n] = int64(i + 1)
	}
	return metrics.Sample{
		RegionsByState:    map[string]int64{"active": 2, "pending": 1},
		MemoryBytes:       4096,
		Capacity:          1 << 20,
		EvictThreshold:    900 << 10,
		StopLoadThreshold: 800 << 10,
		Counters:          c,
		ReadsBySource:     map[string]int64{"memory": 7, "disk": 3, "mixed": 1},
		DiskReadsByReason: map[string]int64{"not_cached": 2, "version_mismatch": 0, "too_old_read": 2},
		SnapshotsHeld:     map[string]int64{"memory": 1, "disk": 0},
		SafePoint:         42,
	}
}

func TestCollectsTheSample(t *testing.T) {
	m := metrics.New(sample)
	want := `
# HELP regioncache_regions Held regions by state.
# TYPE regioncache_regions gauge
regioncache_regions{state="active"} 2
regioncache_regions{state="pending"} 1
# HELP regioncache_memory_bytes Memory accounted to cached data, copies in progress and data kept for snapshots included.
# TYPE regioncache_memory_bytes gauge
regioncache_memory_bytes 4096
# HELP regioncache_memory_limit_bytes Memory limits: capacity (hard), evict_threshold (eviction starts), stop_load_threshold (loads fail).
# TYPE regioncache_memory_limit_bytes gauge
regioncache_memory_limit_bytes{limit="capacity"} 1.048576e+06
regioncache_memory_limit_bytes{limit="evict_threshold"} 921600
regioncache_memory_limit_bytes{limit="stop_load_threshold"} 819200
# HELP regioncache_load_requests_total Loads asked for, by the host or the engine (spec: loads_requested).
# TYPE regioncache_load_requests_total counter
regioncache_load_requests_total 1
# HELP regioncache_loads_total Load requests by outcome (the spec counters loads_<outcome>).
# TYPE regioncache_loads_total counter
regioncache_loads_total{outcome="canceled"} 6
regioncache_loads_total{outcome="completed"} 5
regioncache_loads_total{outcome="deduplicated"} 2
regioncache_loads_total{outcome="failed"} 7
regioncache_loads_total{outcome="rejected"} 3
regioncache_loads_total{outcome="started"} 4
# HELP regioncache_evictions_total Regions evicted, for any reason (spec: evictions).
# TYPE regioncache_evictions_total counter
regioncache_evictions_total 8
# HELP regioncache_keys_loaded_total Versions copied into memory by completed loads (spec: keys_loaded).
# TYPE regioncache_keys_loaded_total counter
regioncache_keys_loaded_total 11
# HELP regioncache_reads_total Reads (Get, Scan, snapshot reads) by where they were served: memory, disk, or mixed for a scan across both.
# TYPE regioncache_reads_total counter
regioncache_reads_total{source="disk"} 3
regioncache_reads_total{source="memory"} 7
regioncache_reads_total{source="mixed"} 1
# HELP regioncache_disk_reads_total Reads served from disk wholly or in part, by why.
# TYPE regioncache_disk_reads_total counter
regioncache_disk_reads_total{reason="not_cached"} 2
regioncache_disk_reads_total{reason="too_old_read"} 2
regioncache_disk_reads_total{reason="version_mismatch"} 0
# HELP regioncache_snapshots_held Snapshots taken and not yet released, by where they read from.
# TYPE regioncache_snapshots_held gauge
regioncache_snapshots_held{source="disk"} 0
regioncache_snapshots_held{source="memory"} 1
# HELP regioncache_safe_point The GC safe point: reads at or below it are served from disk.
# TYPE regioncache_safe_point gauge
regioncache_safe_point 42
`
	names := []string{
		"regioncache_regions", "regioncache_memory_bytes", "regioncache_memory_limit_bytes",
		"regioncache_load_requests_total", "regioncache_loads_total", "regioncache_evictions_total",
		"regioncache_keys_loaded_total", "regioncache_reads_total", "regioncache_disk_reads_total",
		"regioncache_snapshots_held", "regioncache_safe_point",
	}
	if err := testutil.CollectAndCompare(m, strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
}

func TestEveryNameIsRegioncacheAndLintClean(t *testing.T) {
	m := metrics.New(sample)
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(m); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	// 13 metrics, less the eviction histogram, which has no series before
	// the first eviction (its reasons are not known in advance).
	if len(families) != 12 {
		t.Errorf("gathered %d families, want 12", len(families))
	}
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "regioncache_") {
			t.Errorf("metric %s is not named regioncache_*", f.GetName())
		}
	}
	problems, err := testutil.CollectAndLint(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestDurations(t *testing.T) {
	m := metrics.New(sample)
	m.LoadDone("completed", 3*time.Millisecond)
	m.LoadDone("completed", time.Second)
	m.LoadDone("failed", time.Millisecond)
	m.EvictDone("manual", time.Millisecond)
	m.EvictDone("read_error", time.Millisecond) // the engine's own reason has its label
	m.EvictDone("no such reason from a host", time.Millisecond)

	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	counts := histogramCounts(t, reg)
	want := map[string]uint64{
		`regioncache_load_duration_seconds{outcome="completed"}`:     2,
		`regioncache_load_duration_seconds{outcome="failed"}`:        1,
		`regioncache_load_duration_seconds{outcome="canceled"}`:      0,
		`regioncache_eviction_duration_seconds{reason="manual"}`:     1,
		`regioncache_eviction_duration_seconds{reason="other"}`:      1,
		`regioncache_eviction_duration_seconds{reason="read_error"}`: 1,
		`regioncache_eviction_duration_seconds{reason="merge"}`:      0, // absent: no eviction yet
		`regioncache_eviction_duration_seconds{reason="missing"}`:    0,
	}
	for k, n := range want {
		if counts[k] != n {
			t.Errorf("%s: %d observations, want %d", k, counts[k], n)
		}
	}
	if n := testutil.CollectAndCount(m, "regioncache_eviction_duration_seconds"); n != 3 {
		t.Errorf("eviction histograms: %d series, want 3 (manual, read_error, other)", n)
	}
	if n := testutil.CollectAndCount(m, "regioncache_load_duration_seconds"); n != 3 {
		t.Errorf("load histograms: %d series, want 3", n)
	}
}

// histogramCounts returns the sample count of every histogram series, by
// name{label="value"}.
func histogramCounts(t *testing.T, g prometheus.Gatherer) map[string]uint64 {
	t.Helper()
	out, err := promtest.HistogramCounts(g)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Every spec counter is exported: as a load outcome, a metric of its own, or
// (reads_memory, reads_disk) through regioncache_reads_total.
func TestEverySpecCounterIsExported(t *testing.T) {
	m := metrics.New(sample)
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var text []string
	for _, f := range families {
		text = append(text, f.GetHelp())
	}
	for _, n := range counters.Names {
		if strings.HasPrefix(n, "reads_") {
			continue
		}
		found := slices.ContainsFunc(text, func(h string) bool {
			return strings.Contains(h, "spec: "+n+")") || (strings.HasPrefix(n, "loads_") && strings.Contains(h, "loads_<outcome>"))
		})
		if !found {
			t.Errorf("spec counter %s has no metric", n)
		}
	}
}
