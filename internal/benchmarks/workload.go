package benchmarks

import (
	"context"

	"github.com/regioncache/regioncache/internal/workload"
)

// measureWorkloadFigures runs demo workload's quick run (package workload):
// one seeded zipfian MVCC stream against Pebble alone and the engine with
// automatic load/evict, interleaved in chunks. workload_p99_speedup is p99
// read latency of Pebble alone / the engine's, workload_hit_ratio the
// engine's reads served from memory, both after warm-up.
func measureWorkloadFigures(ctx context.Context, sz sizes, p99, hit *Figure) error {
	rep, err := workload.Run(ctx, sz.Workload)
	if err != nil {
		return err
	}
	peb, eng := rep.Sides[0], rep.Sides[1]
	for _, f := range []*Figure{p99, hit} {
		f.Details["regions"] = float64(rep.Config.Regions)
		f.Details["ops"] = float64(rep.Config.Ops)
		f.Details["capacity_bytes"] = float64(rep.Capacity)
		f.Details["data_bytes"] = float64(rep.DataBytes)
		f.Details["pebble_p99_us"] = peb.P99Micros
		f.Details["engine_p99_us"] = eng.P99Micros
		f.Details["pebble_p50_us"] = peb.P50Micros
		f.Details["engine_p50_us"] = eng.P50Micros
		f.Details["engine_hit_ratio"] = eng.HitRatio
		f.Details["answers_differing"] = float64(rep.AnswersDiffered)
	}
	if fig, ok := rep.Figure("p99_speedup"); ok {
		p99.Value = fig.Value
	}
	p99.Note = "demo workload --quick: p99 read latency after warm-up, Pebble alone / engine with auto load/evict (same ops, interleaved chunks)"
	p99.judge()
	hit.Value = eng.HitRatio
	hit.Note = "demo workload --quick: engine reads served from memory after warm-up; its loads and evictions are its own"
	hit.judge(rep.AnswersDiffered == 0)
	return nil
}
