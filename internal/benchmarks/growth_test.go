package benchmarks

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"strings"
	"testing"
	"time"
)

// TestGrowthTinyMeasuresEveryPoint runs the growth measurement at a tiny
// scale and checks that every point is measured and that the table, the
// JSON and the SVG plot come out. No timing is asserted.
func TestGrowthTinyMeasuresEveryPoint(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// Every point measured, with a few operations each: the default counts
	// (100,000 gets, 20,000 writes per point) took over 5 minutes under the
	// race detector on a loaded machine.
	rep, err := RunGrowth(ctx, GrowthOptions{Keys: []int{1_000, 4_000}, Regions: []int{1, 3}, RegionKeys: 20,
		ops: growthOps{gets: 1_000, scans: 200, writes: 1_000, regionGets: 1_000}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Sizes) != 2 || len(rep.Regions) != 2 {
		t.Fatalf("%d sizes and %d region counts measured, want 2 and 2", len(rep.Sizes), len(rep.Regions))
	}
	for _, p := range rep.Sizes {
		if p.LoadS <= 0 || p.GetNs <= 0 || p.DiskGetNs <= 0 || p.Scan100Us < 0 || p.WriteNsPerVersion <= 0 ||
			p.AccountedBytesPerVersion < keyLen+valueLen {
			t.Errorf("size %d: a figure is missing or impossible: %+v", p.Versions, p)
		}
	}
	for _, p := range rep.Regions {
		if p.LoadSPerRegion <= 0 || p.GetNs <= 0 || p.AccountedBytesPerRegion < float64(p.RegionKeys*(keyLen+valueLen)) {
			t.Errorf("%d regions: a figure is missing or impossible: %+v", p.Regions, p)
		}
	}
	var table, js, svg bytes.Buffer
	rep.WriteTable(&table)
	if !strings.Contains(table.String(), "4000") {
		t.Errorf("table lacks the 4000-version row:\n%s", table.String())
	}
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back GrowthReport
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Sizes) != 2 {
		t.Fatalf("JSON does not read back: %v\n%s", err, js.String())
	}
	if err := rep.WriteSVG(&svg); err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(svg.Bytes(), new(struct{ XMLName xml.Name })); err != nil || strings.Count(svg.String(), "<polyline") != 5 {
		t.Fatalf("SVG is not well formed or lacks a line per cost (%v):\n%s", err, svg.String())
	}
}
