package benchmarks

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

// TestRunTinyReportsEveryFigure runs the whole bench at a tiny scale and
// checks that every figure is measured (a finite value), and printed by both
// writers. It asserts no timing and no target: CI runs it on shared machines.
func TestRunTinyReportsEveryFigure(t *testing.T) {
	testSizes = &tinySizes
	defer func() { testSizes = nil }()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var progress bytes.Buffer
	rep, err := Run(ctx, Options{Quick: true, Progress: &progress})
	if err != nil {
		t.Fatalf("run: %v\nprogress:\n%s", err, progress.String())
	}
	if len(rep.Figures) != len(figureNames) {
		t.Fatalf("%d figures, want %d", len(rep.Figures), len(figureNames))
	}
	for i, name := range figureNames {
		f := rep.Figures[i]
		if f.Name != name {
			t.Errorf("figure %d is %q, want %q", i, f.Name, name)
		}
		if math.IsNaN(f.Value) || math.IsInf(f.Value, 0) {
			t.Errorf("%s: value %v is not finite (note: %s)", name, f.Value, f.Note)
		}
		if f.Target == "" || f.Unit == "" || f.Note == "" || len(f.Details) == 0 {
			t.Errorf("%s: missing target, unit, note or details: %+v", name, f)
		}
	}
	if f, _ := rep.figure(figDedupStorm); f.Details["copies"] != float64(tinySizes.DedupRegions) {
		t.Errorf("dedup_storm made %v copies of %d regions", f.Details["copies"], tinySizes.DedupRegions)
	}

	var table bytes.Buffer
	rep.WriteTable(&table)
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Date      string `json:"date"`
		GoVersion string `json:"go_version"`
		Machine   struct {
			CPUs int `json:"cpus"`
		} `json:"machine"`
		Figures map[string]struct {
			Value   *float64           `json:"value"`
			Target  string             `json:"target"`
			Met     bool               `json:"met"`
			Details map[string]float64 `json:"details"`
		} `json:"figures"`
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatalf("json: %v\n%s", err, js.String())
	}
	if doc.Date == "" || doc.GoVersion == "" || doc.Machine.CPUs == 0 {
		t.Errorf("json lacks date, go_version or machine: %s", js.String())
	}
	for _, name := range figureNames {
		if !strings.Contains(table.String(), name) {
			t.Errorf("table lacks %s", name)
		}
		f, ok := doc.Figures[name]
		if !ok || f.Value == nil || f.Target == "" {
			t.Errorf("json lacks %s or its value: %+v", name, f)
		}
	}
	t.Logf("\n%s", table.String())
}

func TestPercentileAndMedian(t *testing.T) {
	ds := []time.Duration{5, 1, 4, 2, 3, 6, 7, 8, 9, 10}
	sortDurations(ds)
	if got := percentile(ds, 50); got != 5 {
		t.Errorf("p50 = %v", got)
	}
	if got := percentile(ds, 99); got != 10 {
		t.Errorf("p99 = %v", got)
	}
	if got := median([]float64{3, 1, 2}); got != 2 {
		t.Errorf("median = %v", got)
	}
}

func TestStormPlanCoversEveryRegionEqually(t *testing.T) {
	plan := stormPlan(1000, 10, 3)
	seen := map[int]int{}
	total := 0
	for _, row := range plan {
		for _, r := range row {
			seen[r]++
			total++
		}
	}
	if total != 1000 || len(seen) != 10 {
		t.Fatalf("plan covers %d requests over %d regions", total, len(seen))
	}
	for r, n := range seen {
		if n != 100 {
			t.Errorf("region %d requested %d times", r, n)
		}
	}
}

func TestKeysAreFixedSizeAndInTheirRegion(t *testing.T) {
	ks := keyspace{"ld/", 1000}
	r := ks.region(1)
	for _, i := range []int{0, 1, 999} {
		k := ks.key(i)
		if len(k) != keyLen || !r.Contains(k) {
			t.Errorf("key %q: len %d, in %s: %v", k, len(k), r, r.Contains(k))
		}
	}
	if a, b := tinyRegion(5), tinyRegion(6); !bytes.Equal(a.End, b.Start) || a.Overlaps(b) {
		t.Errorf("tiny regions %s and %s not adjacent", a, b)
	}
	if a, b := dedupRegion(1), dedupRegion(2); a.Overlaps(b) || !a.Contains([]byte("dd/000001/003")) {
		t.Errorf("dedup regions %s and %s", a, b)
	}
}
