package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/regioncache/regioncache/internal/workload"
)

const workloadUsage = `Usage: demo workload [--quick] [--json] [--plot run.svg|run.html] [--fail-on-miss] [flags]

Runs one seeded stream of operations against two engines in this process,
interleaved in chunks: Pebble alone (caching off) and the engine with
automatic load/evict on and a capacity well below the data. The host only
declares its region table, writes, reads and advances the safe point; the
engine finds the hot regions itself. Midway the hot set moves. Prints hit
ratio, read latency, throughput and CPU per read of both sides, each figure
with its target. BENCHMARKS.md records a full run.

A numeric flag left out takes its default; a count, percentage or interval
of zero or less is a usage error, and so is one beyond what a run can hold
(more than 134,217,728 versions on disk, 1,024 readers, ...). --deletes 0,
--skew 0 and --seed 0 mean no delete markers, a uniform choice and seed 0.

Exit status: 0 when the run was measured (met or not; with --fail-on-miss,
only when every target was met), 1 when it could not finish or, with
--fail-on-miss, a target was missed, 2 on a usage error.

Flags:
`

func init() {
	registerCommand(command{name: "workload", order: 40, run: runWorkload,
		synopsis: "workload [--quick] [flags]\ta skewed MVCC workload, found and cached by itself"})
}

func runWorkload(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("demo workload")
	quick := fs.Bool("quick", false, "a scaled-down run (under a minute on a quiet 2-CPU machine)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	failOnMiss := fs.Bool("fail-on-miss", false, "exit 1 when any target is missed (for scripts)")
	plot := fs.String("plot", "", "write a picture of the run: FILE.svg, or FILE.html with the table")
	d := workload.Default()
	regions := fs.Int("regions", 0, fmt.Sprintf("regions (default %d; quick %d)", d.Regions, workload.Quick().Regions))
	keys := fs.Int("keys", 0, fmt.Sprintf("keys per region (default %d; quick %d)", d.KeysPerRegion, workload.Quick().KeysPerRegion))
	versions := fs.Int("versions", 0, fmt.Sprintf("MVCC versions per key on disk (default %d)", d.Versions))
	deletes := fs.Float64("deletes", 0, fmt.Sprintf("share of versions that are delete markers, 0 (none) up to 1 (default %g)", d.DeleteShare))
	skew := fs.Float64("skew", 0, fmt.Sprintf("zipfian skew of the choice of region and key, 0 (uniform) to %g (default %g)", workload.MaxSkew, d.Skew))
	mix := fs.String("mix", d.Mix.String(), "scan/get/write percentages")
	ops := fs.Int("ops", 0, fmt.Sprintf("operations in the stream (default %d; quick %d)", d.Ops, workload.Quick().Ops))
	chunk := fs.Int("chunk", 0, fmt.Sprintf("operations per chunk; the sides alternate chunk by chunk (default %d; quick %d)", d.Chunk, workload.Quick().Chunk))
	readers := fs.Int("readers", 0, fmt.Sprintf("reader goroutines per side (default %d)", d.Readers))
	seed := fs.Uint64("seed", 0, "seed of the stream (default 1)")
	interval := fs.Duration("interval", 0, fmt.Sprintf("auto load/evict interval (default %s; quick %s)", d.Interval, workload.Quick().Interval))
	evictPct := fs.Int("evict-percent", 0, fmt.Sprintf("the engine's evict threshold, %% of capacity (default %d)", d.EvictPercent))
	stopPct := fs.Int("stop-load-percent", 0, fmt.Sprintf("the engine's stop-load threshold, %% of capacity (default %d)", d.StopLoadPercent))
	dir := fs.String("dir", "", "directory for the two Pebble databases (default: a temporary one, removed)")
	rest, code, done := parseFlags(fs, workloadUsage, args, stdout, stderr, nil)
	if done {
		return code
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "demo workload: unexpected argument %q (demo workload takes only flags)\n", rest[0])
		return exitUsage
	}
	m, err := workload.ParseMix(*mix)
	if err != nil {
		fmt.Fprintf(stderr, "demo workload: %s\n", plain(err))
		return exitUsage
	}
	if ext := strings.ToLower(filepath.Ext(*plot)); *plot != "" && ext != ".svg" && ext != ".html" {
		fmt.Fprintf(stderr, "demo workload: --plot %q: want a .svg or .html file\n", *plot)
		return exitUsage
	}
	// A flag left out takes its default; one given is used as given. A
	// count, percentage or interval given as zero or less is refused (it has
	// no meaning, and it used to fall back to the default in silence);
	// --deletes 0, --skew 0 and --seed 0 mean what they say.
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, c := range []struct {
		name string
		v    int64
		what string
	}{
		{"regions", int64(*regions), "count of regions"}, {"keys", int64(*keys), "count of keys"},
		{"versions", int64(*versions), "count of versions"}, {"ops", int64(*ops), "count of operations"},
		{"chunk", int64(*chunk), "count of operations"}, {"readers", int64(*readers), "count of readers"},
		{"evict-percent", int64(*evictPct), "percentage"}, {"stop-load-percent", int64(*stopPct), "percentage"},
		{"interval", int64(*interval), "duration"},
	} {
		if set[c.name] && c.v <= 0 {
			fmt.Fprintf(stderr, "demo workload: --%s %s: want a positive %s (leave --%s out for its default)\n",
				c.name, fs.Lookup(c.name).Value, c.what, c.name)
			return exitUsage
		}
	}
	cfg := workload.Config{Quick: *quick, Regions: *regions, KeysPerRegion: *keys, Versions: *versions,
		Mix: m, Ops: *ops, Chunk: *chunk, Readers: *readers, Interval: *interval, Dir: *dir,
		EvictPercent: *evictPct, StopLoadPercent: *stopPct}.WithDefaults()
	if set["deletes"] {
		cfg.DeleteShare = *deletes
	}
	if set["skew"] {
		cfg.Skew = *skew
	}
	if set["seed"] {
		cfg.Seed = *seed
	}
	cfg.Exact = true
	if !*asJSON {
		cfg.Progress = stderr
	}
	rep, err := workload.Run(ctx, cfg)
	if rep == nil {
		fmt.Fprintf(stderr, "demo workload: %s\n", plain(err))
		if errors.Is(err, workload.ErrConfig) {
			return exitUsage
		}
		return exitFailed
	}
	if *asJSON {
		if werr := rep.WriteJSON(stdout); werr != nil {
			fmt.Fprintf(stderr, "demo workload: %s\n", plain(werr))
			return exitFailed
		}
	} else {
		rep.WriteTable(stdout)
	}
	if *plot != "" {
		if perr := writePlot(*plot, rep); perr != nil {
			fmt.Fprintf(stderr, "demo workload: %s\n", plain(perr))
			return exitFailed
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "demo workload: %s\n", plain(err))
		return exitFailed
	}
	if *failOnMiss && !rep.Met() {
		return exitFailed
	}
	return exitOK
}

func writePlot(path string, rep *workload.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if strings.EqualFold(filepath.Ext(path), ".html") {
		err = rep.WriteHTML(f)
	} else {
		err = rep.WriteSVG(f)
	}
	return errors.Join(err, f.Close())
}
