// Package benchmarks measures the engine against its performance targets
// (BENCHMARKS.md states each figure, its target and why) and reports them side by side with the disk engine measured in the same run:
// absolute times on a shared 2-core machine are noise, ratios hold.
//
// Every figure drives the real engine through its public API (Write, Load,
// Evict, GC, Get, Scan, Counter, MemoryBytes, WaitIdle) over a real Pebble in
// a temporary directory, on the same data, in the same process for both sides
// of each ratio. Run is what `demo bench` prints; the Go benchmarks in
// benchmarks_bench_test.go measure the same operations under `go test -bench`.
//
// Quick mode scales the data down (see sizesFor) and says so in each figure's
// details; nothing is extrapolated.
package benchmarks

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Options configure a run.
type Options struct {
	// Quick scales the data down so that a run takes well under a minute.
	Quick bool
	// Keys, when positive, is the versions of each measured region: the
	// load region (load_vs_scan, memory, gets, read_during_load), the write
	// regions, and the MVCC region (Keys/10 keys of 10 versions).
	Keys int
	// Progress receives one line per step; nil: silent.
	Progress io.Writer
}

// Report is the result of a run: the machine and every figure.
type Report struct {
	Date, GoVersion, GOOS, GOARCH string
	CPUs                          int
	CPUModel                      string
	Quick                         bool
	// Keys is Options.Keys (0: the mode's default sizes).
	Keys    int
	Figures []Figure
}

// Figure is one measured figure of the targets' table.
type Figure struct {
	// Name is the figure's name in BENCHMARKS.md (e.g. "load_vs_scan").
	Name string
	// Value is the figure; Unit says what it counts.
	Value float64
	Unit  string
	// Target is the figure's target ("<= 1.5"); Met says whether Value meets it.
	Target string
	Met    bool
	// Details are the measurements the value is computed from (times,
	// counts, scale), by name.
	Details map[string]float64
	// Note says precisely what each side measures, and any limit or error.
	Note string
}

// Figure names, in BENCHMARKS.md's order. Every report has each exactly once.
const (
	figLoadVsScan          = "load_vs_scan"
	figMVCCScanSpeedup     = "mvcc_scan_speedup"
	figGetSpeedup          = "get_speedup"
	figMemoryAmplification = "memory_amplification"
	figDedupStorm          = "dedup_storm"
	figRegions1M           = "regions_1m"
	figWriteOverhead       = "write_overhead"
	figReadDuringLoad      = "read_during_load"
	figWorkloadP99Speedup  = "workload_p99_speedup"
	figWorkloadHitRatio    = "workload_hit_ratio"
)

// figureNames lists every figure name in report order.
var figureNames = []string{figLoadVsScan, figMVCCScanSpeedup, figGetSpeedup, figMemoryAmplification, figDedupStorm, figRegions1M, figWriteOverhead, figReadDuringLoad, figWorkloadP99Speedup, figWorkloadHitRatio}

// targets are the targets set for the memory store v2 (the arena base runs),
// which kept regions_1m, write_overhead and read_during_load from the first
// store's targets: the comparison and the bound.
var targets = map[string]struct {
	op    string
	bound float64
	unit  string
}{
	figLoadVsScan:          {"<=", 1.3, "ratio"},
	figMVCCScanSpeedup:     {">=", 20, "x"},
	figGetSpeedup:          {">=", 4, "x"},
	figMemoryAmplification: {"<=", 1.3, "bytes/logical byte"},
	figDedupStorm:          {"==", 1, "copies/region"},
	figRegions1M:           {"<=", 1024, "bytes/region"},
	figWriteOverhead:       {">=", 0.7, "ratio"},
	figReadDuringLoad:      {"<=", 2, "ratio"},
	figWorkloadP99Speedup:  {">=", 10, "x"},
	figWorkloadHitRatio:    {">=", 0.99, "ratio"},
}

func newFigure(name string) Figure {
	t := targets[name]
	return Figure{Name: name, Unit: t.unit, Target: fmt.Sprintf("%s %g", t.op, t.bound), Details: map[string]float64{}, Value: math.NaN()}
}

// judge sets Met from Value and the target; extra conditions (all must hold)
// come from the caller.
func (f *Figure) judge(extra ...bool) {
	t := targets[f.Name]
	ok := !math.IsNaN(f.Value) && !math.IsInf(f.Value, 0)
	if ok {
		switch t.op {
		case "<=":
			ok = f.Value <= t.bound
		case "==":
			ok = f.Value == t.bound
		default:
			ok = f.Value >= t.bound
		}
	}
	for _, e := range extra {
		ok = ok && e
	}
	f.Met = ok
}

// Run measures every figure. A figure that cannot be measured is still in the
// report, with its error in Note and Met false; Run then also returns the
// errors joined. It returns early, with ctx's error, when ctx ends.
func Run(ctx context.Context, opts Options) (*Report, error) {
	sz := sizesFor(opts.Quick)
	if opts.Keys > 0 {
		sz.LoadKeys, sz.WriteKeys, sz.MVCCKeys = opts.Keys, opts.Keys, max(opts.Keys/mvccVersion, 1)
	}
	rep := &Report{
		Date:      time.Now().UTC().Format(time.RFC3339),
		GoVersion: runtime.Version(),
		GOOS:      runtime.GOOS,
		GOARCH:    runtime.GOARCH,
		CPUs:      runtime.NumCPU(),
		CPUModel:  cpuModel(),
		Quick:     opts.Quick,
		Keys:      opts.Keys,
	}
	p := progress{w: opts.Progress, start: time.Now()}
	figs := map[string]*Figure{}
	for _, n := range figureNames {
		f := newFigure(n)
		figs[n] = &f
	}
	var errs []error
	fail := func(names []string, err error) {
		for _, n := range names {
			f := figs[n]
			if f.Note != "" {
				f.Note += "; "
			}
			f.Note += "error: " + err.Error()
			f.Met = false
		}
		errs = append(errs, fmt.Errorf("%s: %w", strings.Join(names, ", "), err))
	}

	// The figures over one shared data set (one Pebble directory).
	shared := []string{figLoadVsScan, figGetSpeedup, figMemoryAmplification, figReadDuringLoad, figMVCCScanSpeedup, figWriteOverhead}
	if err := runShared(ctx, sz, p, figs, fail); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		fail(shared, err)
	}
	// The figures that need an engine of their own.
	p.printf("dedup_storm: %d requests over %d regions from %d goroutines", sz.DedupRequests, sz.DedupRegions, sz.DedupGoroutines)
	if err := measureDedupFigure(ctx, sz, figs[figDedupStorm]); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		fail([]string{figDedupStorm}, err)
	}
	p.printf("regions_1m: registering %d regions (budget %s)", sz.Regions, sz.RegionsBudget)
	if err := measureRegionsFigure(ctx, sz, p, figs[figRegions1M]); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		fail([]string{figRegions1M}, err)
	}
	p.printf("workload: demo workload --quick, auto load/evict against Pebble alone")
	if err := measureWorkloadFigures(ctx, sz, figs[figWorkloadP99Speedup], figs[figWorkloadHitRatio]); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		fail([]string{figWorkloadP99Speedup, figWorkloadHitRatio}, err)
	}
	for _, n := range figureNames {
		rep.Figures = append(rep.Figures, *figs[n])
	}
	p.printf("done")
	return rep, errors.Join(errs...)
}

// figure returns the named figure and whether the report has it.
func (r *Report) figure(name string) (Figure, bool) {
	for _, f := range r.Figures {
		if f.Name == name {
			return f, true
		}
	}
	return Figure{}, false
}

// WriteTable prints the report as a table, one figure a row, with the
// details and notes below it.
func (r *Report) WriteTable(w io.Writer) {
	mode := "full"
	if r.Quick {
		mode = "quick"
	}
	if r.Keys > 0 {
		mode += fmt.Sprintf(", --keys %d", r.Keys)
	}
	fmt.Fprintf(w, "regioncache bench (%s) %s, %s %s/%s, %d CPUs, %s\n\n", mode, r.Date, r.GoVersion, r.GOOS, r.GOARCH, r.CPUs, r.CPUModel)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tvalue\tunit\ttarget\tmet\t")
	for _, f := range r.Figures {
		met := "MISSED"
		if f.Met {
			met = "met"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", f.Name, formatValue(f.Value), f.Unit, f.Target, met)
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, f := range r.Figures {
		fmt.Fprintf(w, "%s:\n", f.Name)
		keys := make([]string, 0, len(f.Details))
		for k := range f.Details {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s=%s", k, formatValue(f.Details[k])))
		}
		fmt.Fprintf(w, "  %s\n", strings.Join(parts, " "))
		if f.Note != "" {
			fmt.Fprintf(w, "  note: %s\n", f.Note)
		}
	}
}

func formatValue(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "n/a"
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.1f", v)
	case math.Abs(v) >= 1:
		return fmt.Sprintf("%.3f", v)
	default:
		return fmt.Sprintf("%.4g", v)
	}
}

// jsonNumber is a float that encodes NaN and infinities as null.
type jsonNumber float64

func (n jsonNumber) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(f)
}

type jsonFigure struct {
	Value   jsonNumber            `json:"value"`
	Unit    string                `json:"unit"`
	Target  string                `json:"target"`
	Met     bool                  `json:"met"`
	Details map[string]jsonNumber `json:"details"`
	Note    string                `json:"note,omitempty"`
}

type jsonMachine struct {
	GOOS     string `json:"goos"`
	GOARCH   string `json:"goarch"`
	CPUs     int    `json:"cpus"`
	CPUModel string `json:"cpu_model"`
}

// WriteJSON writes the report as one JSON object: date, go_version, quick,
// machine, and figures keyed by name (in report order).
func (r *Report) WriteJSON(w io.Writer) error {
	var b strings.Builder
	field := func(name string, v any) error {
		enc, err := marshal(v)
		if err != nil {
			return err
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%s", name, enc)
		return nil
	}
	b.WriteByte('{')
	for _, kv := range []struct {
		k string
		v any
	}{
		{"date", r.Date}, {"go_version", r.GoVersion}, {"quick", r.Quick}, {"keys", r.Keys},
		{"machine", jsonMachine{GOOS: r.GOOS, GOARCH: r.GOARCH, CPUs: r.CPUs, CPUModel: r.CPUModel}},
	} {
		if err := field(kv.k, kv.v); err != nil {
			return err
		}
	}
	b.WriteString(`,"figures":{`)
	for i, f := range r.Figures {
		jf := jsonFigure{Value: jsonNumber(f.Value), Unit: f.Unit, Target: f.Target, Met: f.Met, Note: f.Note, Details: map[string]jsonNumber{}}
		for k, v := range f.Details {
			jf.Details[k] = jsonNumber(v)
		}
		enc, err := marshal(jf)
		if err != nil {
			return err
		}
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%s", f.Name, enc)
	}
	b.WriteString("}}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// marshal is json.Marshal without HTML escaping, so targets read "<= 1.5".
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// cpuModel is the first "model name" of /proc/cpuinfo, or "unknown".
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

type progress struct {
	w     io.Writer
	start time.Time
}

func (p progress) printf(format string, args ...any) {
	if p.w == nil {
		return
	}
	fmt.Fprintf(p.w, "[%6.1fs] %s\n", time.Since(p.start).Seconds(), fmt.Sprintf(format, args...))
}
