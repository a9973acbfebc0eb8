package workload

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"runtime"
	"text/tabwriter"
	"time"
)

// Report is what a run measured.
type Report struct {
	Config       ReportConfig
	Date         string
	GoVersion    string
	CPUs         int
	LoadBefore   string `json:",omitempty"` // 1, 5, 15-minute load averages
	LoadAfter    string `json:",omitempty"`
	BuildSeconds float64
	RunSeconds   float64
	// DataBytes is the disk engine's files (one side); LogicalBytes the
	// keys and values of every version.
	DataBytes, LogicalBytes int64
	// CachedBytesAll is what every region takes in memory at the first
	// safe point; Capacity is CapacityFactor times the bytes of the
	// CoverageRegions the best static choice needs for Coverage.
	CachedBytesAll  int64
	Capacity        int64
	CoverageRegions int
	// Static: per phase, the hit ratio of the best static choice that
	// fits the capacity, and how many regions it holds.
	Static        [2]float64
	StaticRegions [2]int
	Sides         [2]SideReport
	// HitRatio per phase of the engine (phase 0 after warm-up).
	PhaseHitRatio [2]float64
	// WarmSeconds: when a chunk of the engine first served 99 % of its
	// reads from memory; RecoverySeconds: how long after the move it did
	// again (-1: never).
	WarmSeconds, RecoverySeconds float64
	MaxMemory                    int64
	AnswersCompared              int64
	AnswersDiffered              int64
	Differences                  []string `json:",omitempty"`
	MoveAt                       int
	Counters                     map[string]int64
	Figures                      []Figure
	Timeline                     []Point
}

// ReportConfig is the run's settings as reported.
type ReportConfig struct {
	Regions, KeysPerRegion, Versions int
	DeleteShare                      float64
	ValueSize                        int
	Skew                             float64
	Mix                              string
	ScanLength, Ops, Chunk, Readers  int
	Seed                             uint64
	Coverage, CapacityFactor         float64
	EvictPercent, StopLoadPercent    int
	IntervalSeconds                  float64
	MaxLoadsPerRound                 int
	SafePointLag                     uint64
	Warmup                           float64
	SampleEvery                      int
	Quick                            bool
}

// SideReport is one side, after warm-up.
type SideReport struct {
	Name                  string
	Reads, Writes, Hits   int64
	HitRatio              float64
	Seconds, CPUSeconds   float64
	OpsPerSecond          float64
	CPUPerReadMicros      float64
	P50Micros, P99Micros  float64
	TotalReads, TotalHits int64
}

// Figure is one of the workload's figures with its target.
type Figure struct {
	Name   string
	Value  float64
	Target string
	Met    bool
	Note   string `json:",omitempty"`
}

// Point is one window of the timeline (both sides ran the same ops).
type Point struct {
	Ops     int     // stream position at the window's end
	Seconds float64 // since the run started
	// EngineHitRatio of the window; EngineMemory at its end.
	EngineHitRatio float64
	EngineMemory   int64
	// Read latency percentiles of each side in the window, in µs.
	PebbleP50, PebbleP99, EngineP50, EngineP99 float64
}

func newReport(cfg Config) *Report {
	return &Report{
		Config: ReportConfig{
			Regions: cfg.Regions, KeysPerRegion: cfg.KeysPerRegion, Versions: cfg.Versions, DeleteShare: cfg.DeleteShare,
			ValueSize: cfg.ValueSize, Skew: cfg.Skew, Mix: cfg.Mix.String(), ScanLength: cfg.ScanLength, Ops: cfg.Ops,
			Chunk: cfg.Chunk, Readers: cfg.Readers, Seed: cfg.Seed, Coverage: cfg.Coverage, CapacityFactor: cfg.CapacityFactor,
			EvictPercent: cfg.EvictPercent, StopLoadPercent: cfg.StopLoadPercent, IntervalSeconds: cfg.Interval.Seconds(),
			MaxLoadsPerRound: cfg.MaxLoadsPerRound, SafePointLag: cfg.SafePointLag, Warmup: cfg.Warmup,
			SampleEvery: cfg.SampleEvery, Quick: cfg.Quick,
		},
		Date: time.Now().UTC().Format(time.RFC3339), GoVersion: runtime.Version(), CPUs: runtime.NumCPU(),
	}
}

// sizeCache sets the capacity and the static choices from the region sizes.
func (r *Report) sizeCache(s *Stream, sizes []int64) {
	for _, b := range sizes {
		r.CachedBytesAll += b
	}
	cov, n := CoverageBytes(s.RegionProbabilities(0), sizes, s.cfg.Coverage)
	r.CoverageRegions = n
	r.Capacity = int64(math.Ceil(float64(cov) * s.cfg.CapacityFactor))
	for phase := 0; phase < 2; phase++ {
		r.Static[phase], r.StaticRegions[phase] = StaticHitRatio(s.RegionProbabilities(phase), sizes, r.Capacity)
	}
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}

// finish computes the sides' figures and judges the targets.
func (r *Report) finish(sides [2]*side, maxMem int64) *Report {
	r.MaxMemory = maxMem
	for i, s := range sides {
		sr := SideReport{Name: s.name, Reads: s.reads, Writes: s.writes, Hits: s.hits,
			HitRatio: ratio(float64(s.hits), float64(s.reads)), Seconds: s.wall.Seconds(), CPUSeconds: s.cpu.Seconds(),
			OpsPerSecond:     ratio(float64(s.reads+s.writes), s.wall.Seconds()),
			CPUPerReadMicros: ratio(float64(s.cpu.Microseconds()), float64(s.reads)),
			P50Micros:        float64(s.lat.Quantile(0.50)) / 1e3, P99Micros: float64(s.lat.Quantile(0.99)) / 1e3,
			TotalReads: s.totalReads, TotalHits: s.totalHits}
		r.Sides[i] = sr
	}
	eng := sides[1]
	for p := 0; p < 2; p++ {
		r.PhaseHitRatio[p] = ratio(float64(eng.phaseHits[p]), float64(eng.phaseReads[p]))
	}
	peb, en := r.Sides[0], r.Sides[1]
	interval := r.Config.IntervalSeconds
	recoveryIntervals := math.NaN()
	if r.RecoverySeconds >= 0 && interval > 0 {
		recoveryIntervals = r.RecoverySeconds / interval
	} else if r.RecoverySeconds < 0 {
		recoveryIntervals = math.Inf(1)
	}
	fig := func(name string, v float64, op string, bound float64, note string) Figure {
		met := !math.IsNaN(v)
		if met {
			if op == ">=" {
				met = v >= bound
			} else {
				met = v <= bound
			}
		}
		return Figure{Name: name, Value: v, Target: fmt.Sprintf("%s %g", op, bound), Met: met, Note: note}
	}
	r.Figures = []Figure{
		fig("hit_ratio", en.HitRatio, ">=", 0.99, "engine reads served from memory after warm-up"),
		fig("p99_speedup", ratio(peb.P99Micros, en.P99Micros), ">=", 10, "p99 read latency, Pebble alone / engine"),
		fig("p50_speedup", ratio(peb.P50Micros, en.P50Micros), ">=", 10, "p50 read latency, Pebble alone / engine"),
		fig("throughput_ratio", ratio(en.OpsPerSecond, peb.OpsPerSecond), ">=", 3, "ops/s in each side's own chunks, engine / Pebble alone"),
		fig("cpu_per_read_ratio", ratio(en.CPUPerReadMicros, peb.CPUPerReadMicros), "<=", 0.5, "process CPU time per read over each side's own chunks, engine / Pebble alone"),
		fig("static_ratio_before_move", ratio(r.PhaseHitRatio[0], r.Static[0]), ">=", 0.99, "hit ratio / best static choice's, before the move (after warm-up)"),
		fig("static_ratio_after_move", ratio(r.PhaseHitRatio[1], r.Static[1]), ">=", 0.99, "hit ratio / best static choice's, after the move (all of it)"),
		fig("recovery_intervals", recoveryIntervals, "<=", 3, "time to reach 0.99 again after the move, in auto intervals"),
		fig("memory_over_capacity", ratio(float64(r.MaxMemory), float64(r.Capacity)), "<=", 1, "highest accounted memory seen / capacity"),
		fig("answers_differing", float64(r.AnswersDiffered), "<=", 0, fmt.Sprintf("of %d answers compared", r.AnswersCompared)),
	}
	return r
}

// Figure returns the figure with that name.
func (r *Report) Figure(name string) (Figure, bool) {
	for _, f := range r.Figures {
		if f.Name == name {
			return f, true
		}
	}
	return Figure{}, false
}

// Met reports whether every figure met its target.
func (r *Report) Met() bool {
	for _, f := range r.Figures {
		if !f.Met {
			return false
		}
	}
	return len(r.Figures) > 0
}

// WriteJSON writes the report as indented JSON (NaN and infinities as null).
func (r *Report) WriteJSON(w io.Writer) error {
	c := *r
	c.Figures = append([]Figure(nil), r.Figures...)
	type jsonFigure struct {
		Name   string
		Value  *float64
		Target string
		Met    bool
		Note   string `json:",omitempty"`
	}
	figs := make([]jsonFigure, len(c.Figures))
	for i, f := range c.Figures {
		figs[i] = jsonFigure{Name: f.Name, Target: f.Target, Met: f.Met, Note: f.Note}
		if !math.IsNaN(f.Value) && !math.IsInf(f.Value, 0) {
			v := f.Value
			figs[i].Value = &v
		}
	}
	c.Figures = nil
	sides := c.Sides
	for i := range sides {
		for _, p := range []*float64{&sides[i].HitRatio, &sides[i].OpsPerSecond, &sides[i].CPUPerReadMicros} {
			if math.IsNaN(*p) || math.IsInf(*p, 0) {
				*p = 0
			}
		}
	}
	c.Sides = sides
	for i := range c.PhaseHitRatio {
		if math.IsNaN(c.PhaseHitRatio[i]) {
			c.PhaseHitRatio[i] = 0
		}
	}
	out := struct {
		*Report
		Figures []jsonFigure
	}{&c, figs}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// WriteTable writes the report for a person.
func (r *Report) WriteTable(w io.Writer) {
	c := r.Config
	scale := "full"
	if c.Quick {
		scale = "quick"
	}
	fmt.Fprintf(w, "demo workload (%s): %d regions x %d keys x %d versions (%.0f%% delete markers), skew %g, mix scan/get/write %s, %d ops, %d readers + 1 writer per side\n",
		scale, c.Regions, c.KeysPerRegion, c.Versions, 100*c.DeleteShare, c.Skew, c.Mix, c.Ops, c.Readers)
	fmt.Fprintf(w, "data on disk %s (%s of keys and values); cached data of every region %s; capacity %s = %.2fx the %d regions that serve %.1f%% of reads\n",
		fmtBytes(r.DataBytes), fmtBytes(r.LogicalBytes), fmtBytes(r.CachedBytesAll), fmtBytes(r.Capacity), c.CapacityFactor, r.CoverageRegions, 100*c.Coverage)
	fmt.Fprintf(w, "auto interval %s; %s; load average before %s, after %s\n\n",
		time.Duration(c.IntervalSeconds*float64(time.Second)), fmt.Sprintf("%d CPUs, %s", r.CPUs, r.GoVersion), r.LoadBefore, r.LoadAfter)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "AFTER WARM-UP\tREADS\tHIT RATIO\tP50 µs\tP99 µs\tOPS/S\tCPU µs/READ")
	for _, s := range r.Sides {
		fmt.Fprintf(tw, "%s\t%d\t%.4f\t%.1f\t%.1f\t%.0f\t%.2f\n", s.Name, s.Reads, s.HitRatio, s.P50Micros, s.P99Micros, s.OpsPerSecond, s.CPUPerReadMicros)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nbest static choice: %.4f before the move (%d regions), %.4f after; engine: %.4f, %.4f\n",
		r.Static[0], r.StaticRegions[0], r.Static[1], r.PhaseHitRatio[0], r.PhaseHitRatio[1])
	fmt.Fprintf(w, "highest memory %s of %s; warm after %.1fs; back to 0.99 %.2fs after the move; %d of %d answers differed\n\n",
		fmtBytes(r.MaxMemory), fmtBytes(r.Capacity), r.WarmSeconds, r.RecoverySeconds, r.AnswersDiffered, r.AnswersCompared)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FIGURE\tVALUE\tTARGET\t\tWHAT")
	for _, f := range r.Figures {
		ok := "met"
		if !f.Met {
			ok = "MISSED"
		}
		fmt.Fprintf(tw, "%s\t%.4g\t%s\t%s\t%s\n", f.Name, f.Value, f.Target, ok, f.Note)
	}
	tw.Flush()
	for _, d := range r.Differences {
		fmt.Fprintf(w, "difference: %s\n", d)
	}
}

func fmtBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%d B", n)
	}
}

// windows groups chunks into about 200 points of the timeline.
type windows struct {
	per    int
	cur    [2]Hist
	reads  int64
	hits   int64
	points []Point
}

func newWindows(chunks int) *windows { return &windows{per: max(1, chunks/200)} }

func (w *windows) add(c, ops int, seconds float64, res [2]chunkResult, mem int64) {
	for i := range res {
		w.cur[i].Merge(&res[i].lat)
	}
	w.reads += res[1].reads
	w.hits += res[1].hits
	if (c+1)%w.per != 0 {
		return
	}
	w.points = append(w.points, Point{Ops: ops, Seconds: seconds,
		EngineHitRatio: ratio(float64(w.hits), float64(max(w.reads, 1))), EngineMemory: mem,
		PebbleP50: float64(w.cur[0].Quantile(0.5)) / 1e3, PebbleP99: float64(w.cur[0].Quantile(0.99)) / 1e3,
		EngineP50: float64(w.cur[1].Quantile(0.5)) / 1e3, EngineP99: float64(w.cur[1].Quantile(0.99)) / 1e3})
	w.cur = [2]Hist{}
	w.reads, w.hits = 0, 0
}
