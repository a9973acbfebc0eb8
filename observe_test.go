package regioncache_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/promtest"
	harness "github.com/regioncache/regioncache/internal/testutil"
)

// obsFill writes a00..a19 at ts 10 and 20, and c at 10.
func obsFill(t *testing.T, e *regioncache.Engine) {
	t.Helper()
	b := new(regioncache.Batch)
	for i := 0; i < 20; i++ {
		k := []byte(fmt.Sprintf("a%02d", i))
		b.Put(k, 10, []byte("old")).Put(k, 20, []byte("new"))
	}
	b.Put([]byte("c"), 10, []byte("disk"))
	if err := e.Write(b); err != nil {
		t.Fatal(err)
	}
}

var obsRegion = regioncache.Region{ID: 1, Version: 1, Start: []byte("a"), End: []byte("b")}

func obsLoad(t *testing.T, e *regioncache.Engine) {
	t.Helper()
	if _, err := e.Load(obsRegion); err != nil {
		t.Fatal(err)
	}
	if err := harness.Hooks(e).WaitRegionState(harness.Context(t), 1, regioncache.Active); err != nil {
		t.Fatal(err)
	}
}

// TestMetrics drives every read source and disk reason, snapshots, a load
// and an eviction, and checks what the registry exports.
func TestMetrics(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	e := harness.Open(t, regioncache.Options{Registerer: reg, Capacity: 64 << 20})
	obsFill(t, e)
	obsLoad(t, e)

	mustGet := func(key string, ts uint64, src regioncache.Source) {
		t.Helper()
		g, err := e.Get([]byte(key), ts)
		if err != nil || g.Source != src {
			t.Fatalf("get %s@%d: %+v %v, want source %s", key, ts, g, err, src)
		}
	}
	mustGet("a05", 30, regioncache.FromMemory)
	mustGet("c", 30, regioncache.FromDisk) // not_cached
	if err := e.GC(15); err != nil {
		t.Fatal(err)
	}
	mustGet("a05", 12, regioncache.FromDisk) // too_old_read
	if s, err := e.Scan([]byte("a"), []byte("d"), 30, 0); err != nil || s.Source != regioncache.FromBoth {
		t.Fatalf("scan: %+v %v", s.ReadInfo, err)
	}
	memSnap, err := e.Snapshot(obsRegion, 30)
	if err != nil || memSnap.Info().Source != regioncache.FromMemory {
		t.Fatalf("snapshot: %v %v", memSnap, err)
	}
	newer := obsRegion
	newer.Version = 2
	diskSnap, err := e.Snapshot(newer, 30)
	if err != nil || diskSnap.Info().Reason != regioncache.VersionMismatch {
		t.Fatalf("snapshot of another version: %v %v", diskSnap, err)
	}
	if _, err := memSnap.Get([]byte("a01"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := diskSnap.Get([]byte("a01"), 0); err != nil {
		t.Fatal(err)
	}

	want := `
# HELP regioncache_reads_total Reads (Get, Scan, snapshot reads) by where they were served: memory, disk, or mixed for a scan across both.
# TYPE regioncache_reads_total counter
regioncache_reads_total{source="disk"} 3
regioncache_reads_total{source="memory"} 2
regioncache_reads_total{source="mixed"} 1
# HELP regioncache_disk_reads_total Reads served from disk wholly or in part, by why.
# TYPE regioncache_disk_reads_total counter
regioncache_disk_reads_total{reason="not_cached"} 2
regioncache_disk_reads_total{reason="too_old_read"} 1
regioncache_disk_reads_total{reason="version_mismatch"} 1
# HELP regioncache_snapshots_held Snapshots taken and not yet released, by where they read from.
# TYPE regioncache_snapshots_held gauge
regioncache_snapshots_held{source="disk"} 1
regioncache_snapshots_held{source="memory"} 1
# HELP regioncache_regions Held regions by state.
# TYPE regioncache_regions gauge
regioncache_regions{state="active"} 1
regioncache_regions{state="evicting"} 0
regioncache_regions{state="loading"} 0
regioncache_regions{state="loading_canceled"} 0
regioncache_regions{state="pending"} 0
regioncache_regions{state="pending_evict"} 0
# HELP regioncache_safe_point The GC safe point: reads at or below it are served from disk.
# TYPE regioncache_safe_point gauge
regioncache_safe_point 15
# HELP regioncache_memory_limit_bytes Memory limits: capacity (hard), evict_threshold (eviction starts), stop_load_threshold (loads fail).
# TYPE regioncache_memory_limit_bytes gauge
regioncache_memory_limit_bytes{limit="capacity"} 6.7108864e+07
regioncache_memory_limit_bytes{limit="evict_threshold"} 6.039792e+07
regioncache_memory_limit_bytes{limit="stop_load_threshold"} 5.368704e+07
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"regioncache_reads_total", "regioncache_disk_reads_total", "regioncache_snapshots_held",
		"regioncache_regions", "regioncache_safe_point", "regioncache_memory_limit_bytes"); err != nil {
		t.Fatal(err)
	}
	if v := gaugeValue(t, reg, "regioncache_memory_bytes"); v <= 0 || int64(v) != harness.Metrics(t, e).Memory.Used {
		t.Errorf("regioncache_memory_bytes %v, engine says %d", v, harness.Metrics(t, e).Memory.Used)
	}

	memSnap.Release()
	diskSnap.Release()
	if _, err := e.Evict(obsRegion, "manual"); err != nil {
		t.Fatal(err)
	}
	if err := harness.Hooks(e).WaitRegionState(harness.Context(t), 1, regioncache.Absent); err != nil {
		t.Fatal(err)
	}
	want = `
# HELP regioncache_loads_total Load requests by outcome (the spec counters loads_<outcome>).
# TYPE regioncache_loads_total counter
regioncache_loads_total{outcome="canceled"} 0
regioncache_loads_total{outcome="completed"} 1
regioncache_loads_total{outcome="deduplicated"} 0
regioncache_loads_total{outcome="failed"} 0
regioncache_loads_total{outcome="rejected"} 0
regioncache_loads_total{outcome="started"} 1
# HELP regioncache_evictions_total Regions evicted, for any reason (spec: evictions).
# TYPE regioncache_evictions_total counter
regioncache_evictions_total 1
# HELP regioncache_keys_loaded_total Versions copied into memory by completed loads (spec: keys_loaded).
# TYPE regioncache_keys_loaded_total counter
regioncache_keys_loaded_total 40
# HELP regioncache_snapshots_held Snapshots taken and not yet released, by where they read from.
# TYPE regioncache_snapshots_held gauge
regioncache_snapshots_held{source="disk"} 0
regioncache_snapshots_held{source="memory"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"regioncache_loads_total", "regioncache_evictions_total", "regioncache_keys_loaded_total", "regioncache_snapshots_held"); err != nil {
		t.Fatal(err)
	}
	// The region actor observes before it reports the state the waits
	// above saw, so the histograms are complete here.
	counts := histogramCounts(t, reg)
	for k, n := range map[string]uint64{
		`regioncache_load_duration_seconds{outcome="completed"}`: 1,
		`regioncache_load_duration_seconds{outcome="failed"}`:    0,
		`regioncache_eviction_duration_seconds{reason="manual"}`: 1,
	} {
		if counts[k] != n {
			t.Errorf("%s: %d observations, want %d (all: %v)", k, counts[k], n, counts)
		}
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestMetricsCanceledLoadAndEvictReasons(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := harness.Open(t, regioncache.Options{Registerer: reg})
	obsFill(t, e)
	if err := harness.Hooks(e).Failpoint("load/before-copy", "pause"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Load(obsRegion); err != nil {
		t.Fatal(err)
	}
	if err := harness.Hooks(e).WaitFailpointPaused(harness.Context(t), "load/before-copy", 1); err != nil {
		t.Fatal(err)
	}
	// A reason outside the vocabulary is refused and changes nothing.
	if _, err := e.Evict(obsRegion, "a reason of the host's own"); err == nil || !strings.Contains(err.Error(), "unknown evict reason") {
		t.Fatalf("Evict with an unknown reason = %v", err)
	}
	// (The state report of the paused copy may still be on its way: pending
	// or loading, but not on its way out.)
	if st := e.RegionState(1); st != regioncache.Loading && st != regioncache.Pending {
		t.Fatalf("after a refused Evict the region is %s, want it still loading", st)
	}
	if _, err := e.Evict(obsRegion, regioncache.EvictBecomeFollower); err != nil {
		t.Fatal(err)
	}
	if err := harness.Hooks(e).Failpoint("load/before-copy", "off"); err != nil {
		t.Fatal(err)
	}
	if err := harness.Hooks(e).WaitRegionState(harness.Context(t), 1, regioncache.Absent); err != nil {
		t.Fatal(err)
	}
	counts := histogramCounts(t, reg)
	for k, n := range map[string]uint64{
		`regioncache_load_duration_seconds{outcome="canceled"}`:           1,
		`regioncache_eviction_duration_seconds{reason="become_follower"}`: 1,
	} {
		if counts[k] != n {
			t.Errorf("%s: %d observations, want %d (all: %v)", k, counts[k], n, counts)
		}
	}
}

func TestMetricsRegistration(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := harness.Open(t, regioncache.Options{Registerer: reg})
	if _, err := regioncache.Open(regioncache.Options{Registerer: reg}); !errors.Is(err, regioncache.ErrInvalidOptions) {
		t.Fatalf("a second engine on the same registry: %v, want ErrInvalidOptions", err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if n, err := testutil.GatherAndCount(reg); err != nil || n != 0 {
		t.Fatalf("after Close: %d series (%v), want none: Close unregisters", n, err)
	}
	harness.Open(t, regioncache.Options{Registerer: reg}) // the next engine (the next replay) takes its place

	// With distinct labels, engines share a registry (a registry keeps the
	// label names of a metric for life: all labelled or none).
	reg = prometheus.NewRegistry()
	labelled := func(name string) regioncache.Options {
		return regioncache.Options{Registerer: prometheus.WrapRegistererWith(prometheus.Labels{"engine": name}, reg)}
	}
	harness.Open(t, labelled("a"))
	harness.Open(t, labelled("b"))
	if n, err := testutil.GatherAndCount(reg, "regioncache_memory_bytes"); err != nil || n != 2 {
		t.Fatalf("two engines: %d series of regioncache_memory_bytes (%v), want 2", n, err)
	}
}

func gaugeValue(t *testing.T, g prometheus.Gatherer, name string) float64 {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name && len(f.GetMetric()) == 1 {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no gauge %s", name)
	return 0
}

func histogramCounts(t *testing.T, g prometheus.Gatherer) map[string]uint64 {
	t.Helper()
	out, err := promtest.HistogramCounts(g)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestMetricsRegions(t *testing.T) {
	e := harness.Open(t, regioncache.Options{})
	obsFill(t, e)
	before := time.Now()
	obsLoad(t, e)
	if _, err := e.Get([]byte("a03"), 30); err != nil {
		t.Fatal(err)
	}
	snap, err := e.Snapshot(obsRegion, 30)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Release()
	ds := harness.Metrics(t, e).Regions
	if len(ds) != 1 {
		t.Fatalf("details: %+v", ds)
	}
	d := ds[0]
	switch {
	case d.Region.ID != 1 || d.State != regioncache.Active || d.Gen == 0:
		t.Errorf("region: %+v", d)
	case d.Versions != 40 || d.MemoryBytes <= 0:
		t.Errorf("data: %d versions, %d bytes; want 40 versions", d.Versions, d.MemoryBytes)
	case d.Snapshots != 1:
		t.Errorf("snapshots %d, want 1", d.Snapshots)
	case d.LoadedAt.Before(before) || d.Since.Before(before):
		t.Errorf("loaded at %v, since %v: before the load (%v)", d.LoadedAt, d.Since, before)
	case d.LastRead == 0:
		t.Errorf("last read 0 after a read from memory")
	}
	if m := harness.Metrics(t, e); m.Memory.Used != d.MemoryBytes {
		t.Errorf("memory used %d, the one region holds %d", m.Memory.Used, d.MemoryBytes)
	}
}
