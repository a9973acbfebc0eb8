package workload

import (
	"context"
	"testing"
	"time"
)

// BenchmarkWorkload runs a small workload per iteration (both sides, real
// auto load/evict timer) and reports the workload's figures of the last run:
//
//	go test ./internal/workload -run - -bench Workload -benchtime 1x
//
// The full and quick runs are `demo workload` and `demo workload --quick`.
func BenchmarkWorkload(b *testing.B) {
	cfg := Config{Regions: 32, KeysPerRegion: 100, Ops: 60_000, Chunk: 500, Interval: 200 * time.Millisecond, SafePointLag: 300}
	var rep *Report
	for i := 0; i < b.N; i++ {
		cfg.Dir = b.TempDir()
		r, err := Run(context.Background(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		rep = r
	}
	for _, name := range []string{"hit_ratio", "p99_speedup", "p50_speedup", "throughput_ratio", "cpu_per_read_ratio", "recovery_intervals"} {
		if f, ok := rep.Figure(name); ok {
			b.ReportMetric(f.Value, name)
		}
	}
}
