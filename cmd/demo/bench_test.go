package main

import (
	"math"
	"strings"
	"testing"

	"github.com/regioncache/regioncache/internal/benchmarks"
)

func TestBenchReportEndsWithAVerdict(t *testing.T) {
	rep := &benchmarks.Report{Quick: true, Figures: []benchmarks.Figure{
		{Name: "load_vs_scan", Value: 1.2, Unit: "ratio", Target: "<= 1.5", Met: true,
			Details: map[string]float64{"load_s": 0.25, "raw_scan_s": 0.21}, Note: "what each side measures"},
		{Name: "regions_1m", Value: 2100, Unit: "bytes/region", Target: "<= 1024",
			Details: map[string]float64{"regions_target": 100_000, "regions_registered": 61_234, "budget_s": 8}},
		{Name: "get_speedup", Value: math.NaN(), Unit: "x", Target: ">= 2", Note: "error: it broke"},
	}}
	var b strings.Builder
	writeBenchReport(&b, rep)
	out := b.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if last := lines[len(lines)-1]; last != "verdict: met 1 of 3 targets (missed: regions_100k, get_speedup)" {
		t.Errorf("last line %q", last)
	}
	for _, want := range []string{
		"FIGURE", "regions_100k  2,100", "NOT MEASURED", "MISSED (budget: 61,234 of 100,000 regions)",
		"measured: scaled down: 100,000 regions, not 1,000,000; stopped at the 8s budget with 61,234 of 100,000 registered",
		"  load s      0.25\n  raw scan s  0.21\n",
		"  | what each side measures",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the report does not say %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "load_s=") {
		t.Errorf("details as key=value:\n%s", out)
	}
}
