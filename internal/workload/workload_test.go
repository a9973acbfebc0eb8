package workload

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseMix(t *testing.T) {
	cases := []struct {
		in   string
		want Mix
		ok   bool
	}{
		{"70/25/5", Mix{70, 25, 5}, true},
		{" 0 / 100 / 0 ", Mix{0, 100, 0}, true},
		{"70/25", Mix{}, false},
		{"70/25/6", Mix{}, false},
		{"0/0/100", Mix{}, false},
		{"a/b/c", Mix{}, false},
		{"-5/100/5", Mix{}, false},
	}
	for _, c := range cases {
		got, err := ParseMix(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseMix(%q) = %v, %v; want %v ok=%v", c.in, got, err, c.want, c.ok)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "regioncache: ") {
			t.Errorf("error %q lacks the regioncache: prefix", err)
		}
	}
}

func TestZipf(t *testing.T) {
	p := ZipfProbabilities(100, 0.99)
	sum := 0.0
	for i, x := range p {
		sum += x
		if i > 0 && x >= p[i-1] {
			t.Fatalf("rank %d is not less likely than rank %d", i, i-1)
		}
	}
	if math.Abs(sum-1) > 1e-9 {
		t.Fatalf("probabilities add up to %v", sum)
	}
	if u := ZipfProbabilities(4, 0); u[0] != 0.25 || u[3] != 0.25 {
		t.Fatalf("skew 0 is not uniform: %v", u)
	}
}

func smallConfig() Config {
	c := Config{Regions: 8, KeysPerRegion: 20, Versions: 10, Ops: 4000, Chunk: 200, Readers: 2,
		SafePointLag: 20, SampleEvery: 1, ManualRounds: true, Interval: time.Hour}
	return c.WithDefaults()
}

func TestStreamIsTheSameForASeed(t *testing.T) {
	cfg := smallConfig()
	a, b := NewStream(cfg), NewStream(cfg)
	for c := 0; c < a.Chunks(); c++ {
		if !reflect.DeepEqual(a.Chunk(c), b.Chunk(c)) {
			t.Fatalf("chunk %d differs between two streams of one seed", c)
		}
	}
	cfg.Seed++
	if reflect.DeepEqual(a.Chunk(0), NewStream(cfg).Chunk(0)) {
		t.Fatal("another seed gives the same chunk")
	}
}

func TestStreamMixAndSkew(t *testing.T) {
	cfg := smallConfig()
	cfg.Ops, cfg.Chunk = 40000, 20000
	s := NewStream(cfg)
	var kinds [3]int
	perRegion := make([]int, cfg.Regions)
	for _, o := range s.Chunk(0) {
		kinds[o.Kind]++
		perRegion[o.Region]++
		if o.Key >= uint32(cfg.KeysPerRegion) || o.Region >= uint32(cfg.Regions) {
			t.Fatalf("op out of range: %+v", o)
		}
	}
	// 20000 draws: each share within 2 points of the mix.
	for k, want := range []int{cfg.Mix.Scan, cfg.Mix.Get, cfg.Mix.Write} {
		if got := float64(kinds[k]) / 200; math.Abs(got-float64(want)) > 2 {
			t.Errorf("%s: %.1f%% of ops, want %d%%", Kind(k), got, want)
		}
	}
	hottest := s.RegionOf(0, 0)
	p := s.RegionProbabilities(0)
	if got := float64(perRegion[hottest]) / 20000; math.Abs(got-p[hottest]) > 0.02 {
		t.Errorf("hottest region has %.3f of ops, want %.3f", got, p[hottest])
	}
}

func TestTheHotSetMovesToTheColdestRegions(t *testing.T) {
	s := NewStream(smallConfig())
	n := s.cfg.Regions
	if s.RegionOf(1, 0) != s.RegionOf(0, n-1) || s.RegionOf(1, n-1) != s.RegionOf(0, 0) {
		t.Fatal("after the move the hottest rank is not the coldest region of before")
	}
	if s.PhaseOf(s.MoveAt()-1) != 0 || s.PhaseOf(s.MoveAt()) != 1 || s.MoveAt()%s.cfg.Chunk != 0 {
		t.Fatalf("move at %d is not a chunk boundary between the phases", s.MoveAt())
	}
	before, after := s.Chunk(0), s.Chunk(s.MoveAt()/s.cfg.Chunk)
	count := func(ops []Op, r uint32) (n int) {
		for _, o := range ops {
			if o.Region == r {
				n++
			}
		}
		return n
	}
	r := s.RegionOf(1, 0)
	if count(after, r) <= count(before, r) {
		t.Fatalf("region %d got %d ops before and %d after the move", r, count(before, r), count(after, r))
	}
}

func TestStaticChoice(t *testing.T) {
	p := []float64{0.5, 0.3, 0.15, 0.05}
	size := []int64{100, 100, 100, 100}
	cases := []struct {
		coverage      float64
		bytes         int64
		regions       int
		capacity      int64
		ratio         float64
		staticRegions int
	}{
		{0.5, 100, 1, 100, 0.5, 1},
		{0.8, 200, 2, 250, 0.8, 2},
		{0.9, 300, 3, 300, 0.95, 3},
		{1, 400, 4, 1000, 1, 4},
	}
	for _, c := range cases {
		b, n := CoverageBytes(p, size, c.coverage)
		if b != c.bytes || n != c.regions {
			t.Errorf("coverage %v: %d bytes in %d regions, want %d in %d", c.coverage, b, n, c.bytes, c.regions)
		}
		r, m := StaticHitRatio(p, size, c.capacity)
		if math.Abs(r-c.ratio) > 1e-9 || m != c.staticRegions {
			t.Errorf("capacity %d: static %.3f with %d regions, want %.3f with %d", c.capacity, r, m, c.ratio, c.staticRegions)
		}
	}
	// By reads per byte: a small warm region beats a big hot one.
	r, _ := StaticHitRatio([]float64{0.6, 0.4}, []int64{300, 100}, 200)
	if r != 0.4 {
		t.Errorf("static ratio %v, want 0.4", r)
	}
}

func TestHist(t *testing.T) {
	var h Hist
	for i := 1; i <= 1000; i++ {
		h.Add(time.Duration(i) * time.Microsecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Microsecond}, {0.99, 990 * time.Microsecond}, {1, time.Millisecond}} {
		got := h.Quantile(c.q)
		if math.Abs(float64(got-c.want))/float64(c.want) > 0.02 {
			t.Errorf("q%.2f = %s, want %s within 2%%", c.q, got, c.want)
		}
	}
	var empty Hist
	if empty.Quantile(0.5) != 0 {
		t.Error("quantile of nothing is not 0")
	}
}

// TestExactKeepsZeros: an Exact configuration's zeros are values (no delete
// markers, uniform choice, seed 0); otherwise they are the defaults.
func TestExactKeepsZeros(t *testing.T) {
	c := smallConfig()
	c.DeleteShare, c.Skew, c.Seed = 0, 0, 0
	if r := c.resolved(); r.DeleteShare != Default().DeleteShare || r.Skew != Default().Skew || r.Seed != Default().Seed {
		t.Errorf("zeros without Exact: delete share %g, skew %g, seed %d; want the defaults", r.DeleteShare, r.Skew, r.Seed)
	}
	c.Exact = true
	if r := c.resolved(); r.DeleteShare != 0 || r.Skew != 0 || r.Seed != 0 || r.validate() != nil {
		t.Errorf("zeros with Exact: delete share %g, skew %g, seed %d, %v; want them kept and valid", r.DeleteShare, r.Skew, r.Seed, r.validate())
	}
	s := NewStream(c.resolved())
	for ch := 0; ch < s.Chunks(); ch++ {
		for _, o := range s.Chunk(ch) {
			if o.Delete {
				t.Fatalf("chunk %d has a delete marker with a delete share of 0", ch)
			}
		}
	}
}

func TestValidate(t *testing.T) {
	bad := []func(*Config){
		func(c *Config) { c.Regions = 1 },
		func(c *Config) { c.Ops = c.Chunk },
		func(c *Config) { c.DeleteShare = 1 },
		func(c *Config) { c.StopLoadPercent, c.EvictPercent = 99, 98 },
		func(c *Config) { c.Coverage = 1.5 },
		func(c *Config) { c.DeleteShare = math.NaN() },
		func(c *Config) { c.Skew = math.Inf(1) },
		func(c *Config) { c.Versions = MaxVersionsOnDisk },               // times regions and keys: too many
		func(c *Config) { c.Exact, c.Readers = true, 0 },                 // Exact takes no default
		func(c *Config) { c.StopLoadPercent, c.EvictPercent = -10, -5 },  // below 1
		func(c *Config) { c.Exact, c.Interval = true, time.Microsecond }, // a busy loop
		func(c *Config) { c.Readers = MaxReaders + 1 },
	}
	for i, f := range bad {
		c := smallConfig()
		f(&c)
		if _, err := Run(context.Background(), c); err == nil || !strings.Contains(err.Error(), "invalid workload settings") {
			t.Errorf("setting %d: err = %v", i, err)
		}
	}
}

// A small run with the rounds driven by the driver (no timer): every answer
// compared is the same on both sides, memory stays within capacity, and the
// engine serves reads from memory it loaded by itself.
func TestRunSmall(t *testing.T) {
	cfg := smallConfig()
	cfg.Dir = t.TempDir()
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.AnswersCompared == 0 || rep.AnswersDiffered != 0 {
		t.Fatalf("%d of %d answers differed: %v", rep.AnswersDiffered, rep.AnswersCompared, rep.Differences)
	}
	if rep.MaxMemory > rep.Capacity || rep.Capacity <= 0 {
		t.Fatalf("memory %d, capacity %d", rep.MaxMemory, rep.Capacity)
	}
	if rep.Capacity >= rep.DataBytes {
		t.Fatalf("capacity %d is not below the data (%d on disk)", rep.Capacity, rep.DataBytes)
	}
	eng, peb := rep.Sides[1], rep.Sides[0]
	if eng.TotalHits == 0 || peb.TotalHits != 0 {
		t.Fatalf("hits: engine %d, Pebble alone %d", eng.TotalHits, peb.TotalHits)
	}
	if eng.TotalReads != peb.TotalReads || eng.Writes != peb.Writes {
		t.Fatalf("the sides ran different ops: %+v %+v", eng, peb)
	}
	if rep.Counters["loads_requested"] == 0 || rep.Counters["loads_completed"] == 0 {
		t.Fatalf("the engine loaded nothing by itself: %v", rep.Counters)
	}
	if len(rep.Timeline) == 0 || len(rep.Figures) != 10 {
		t.Fatalf("%d timeline points, %d figures", len(rep.Timeline), len(rep.Figures))
	}

	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatalf("JSON does not parse: %v", err)
	}
	if _, ok := back["Figures"]; !ok {
		t.Fatal("JSON lacks Figures")
	}
	var tab, svg, page bytes.Buffer
	rep.WriteTable(&tab)
	if err := rep.WriteSVG(&svg); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"hit_ratio", "p99_speedup", "pebble alone", "engine"} {
		if !strings.Contains(tab.String(), want) {
			t.Errorf("table lacks %q", want)
		}
	}
	if !strings.HasPrefix(svg.String(), "<svg") || !strings.Contains(svg.String(), "hot set moves") {
		t.Error("picture lacks the svg element or the move")
	}
	if !strings.Contains(page.String(), "<svg") || !strings.Contains(page.String(), "<pre>") {
		t.Error("page lacks the picture or the table")
	}
}
