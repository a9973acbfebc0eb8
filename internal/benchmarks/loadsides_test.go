package benchmarks

import (
	"context"
	"flag"
	"slices"
	"testing"
	"time"
)

var loadRounds = flag.Int("loadrounds", 0, "TestLoadSidesInterleaved: rounds to time (0: skip the test)")

// TestLoadSidesInterleaved times the sides of load_vs_scan in rounds, each
// round every side once, the order rotating, and prints per side the median
// time, the minimum and the median of its per-round ratios to the raw scan:
// on a shared machine, pairing each side with the raw scan of the same
// round cancels much of the drift that two medians of far-apart reps keep.
// It only measures; nothing is asserted.
//
//	go test ./internal/benchmarks -run TestLoadSidesInterleaved -v -args -loadrounds 20
func TestLoadSidesInterleaved(t *testing.T) {
	if *loadRounds <= 0 {
		t.Skip("-loadrounds not set")
	}
	b := sharedBenchTest(t)
	reg := b.fx.data.load.region(idLoad)
	ctx := context.Background()
	sides := []struct {
		name string
		run  func() (time.Duration, error)
	}{
		{"raw", func() (time.Duration, error) { _, _, d, err := b.rawScan(reg, false); return d, err }},
		{"builder (one goroutine)", func() (time.Duration, error) { d, _, err := b.builderOnly(reg); return d, err }},
		{"pipeline (loadpipe)", func() (time.Duration, error) { d, _, err := b.pipelineOnly(reg); return d, err }},
		{"load (Engine.Load)", func() (time.Duration, error) {
			start := time.Now()
			if err := b.loadAndWait(ctx, reg); err != nil {
				return 0, err
			}
			d := time.Since(start)
			return d, b.evictAndWait(ctx, reg)
		}},
	}
	ms := make([][]float64, len(sides))
	for r := 0; r < *loadRounds; r++ {
		for i := range sides {
			j := (i + r) % len(sides)
			heapAfterGC()
			d, err := sides[j].run()
			if err != nil {
				t.Fatal(err)
			}
			ms[j] = append(ms[j], d.Seconds()*1000)
		}
	}
	for i, s := range sides {
		ratios := make([]float64, len(ms[i]))
		for r := range ms[i] {
			ratios[r] = ms[i][r] / ms[0][r]
		}
		t.Logf("%-24s median %7.2f ms  min %7.2f ms  median round ratio to raw %.2f",
			s.name, median(slices.Clone(ms[i])), slices.Min(ms[i]), median(ratios))
	}
}

// sharedBenchTest is sharedBench for a test: the one data set and engine
// of this package's benchmarks, closed by TestMain.
func sharedBenchTest(t *testing.T) *bench {
	t.Helper()
	fixtureOnce.Do(func() {
		fixtureB, fixtureErr = openBench(context.Background(), sizesFor(*benchSize != "full"), progress{})
	})
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	return fixtureB
}
