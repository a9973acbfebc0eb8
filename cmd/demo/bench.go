package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/regioncache/regioncache/internal/benchmarks"
)

const benchUsage = `Usage: demo bench [--quick] [--keys N] [--json] [--fail-on-miss]
       demo bench --growth [--keys N,N,...] [--regions N,N,...] [--region-keys N] [--json] [--svg FILE]

Measures the engine against the disk engine (Pebble) alone, on the same data
in the same process, and prints each figure with its target, the details
each figure is computed from, and a last line with the verdict: how many
targets were met. Absolute times on a shared machine are noise; the ratios
are what to read. BENCHMARKS.md explains each figure. --keys N sets the
versions of each measured region (the load, write and MVCC regions).

--growth measures instead how the costs grow: load time, memory, get and
scan latency and write cost of one region at each size of --keys (versions
per region; default 100000,1000000,4000000), and the per-region costs of
each count of --regions regions of --region-keys versions; --svg draws the
first as a log-log plot (BENCHMARKS.md says how it was made).

--quick scales the data down: figures measured at a smaller scale than their
target names (regions_1m registers 100,000 regions, not a million) are named
and reported for what was measured.

Exit status: 0 when the figures were measured (met or not; with
--fail-on-miss, only when every target was met), 1 when a figure could not
be measured or, with --fail-on-miss, a target was missed, 2 on a usage error.

Flags:
`

func init() {
	registerCommand(command{name: "bench", order: 30, run: runBench,
		synopsis: "bench [flags]\tmeasure the engine against Pebble alone (--quick, --json, --fail-on-miss, --growth)"})
}

func runBench(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("demo bench")
	quick := fs.Bool("quick", false, "scale the data down (about a minute on a quiet 2-CPU machine)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	failOnMiss := fs.Bool("fail-on-miss", false, "exit 1 when any target is missed (for scripts)")
	keysFlag := fs.String("keys", "", "versions per measured region (with --growth: a comma-separated list)")
	growth := fs.Bool("growth", false, "measure how costs grow with region size and region count")
	regionsFlag := fs.String("regions", "1,100,10000", "with --growth: region counts for the per-region costs")
	regionKeys := fs.Int("region-keys", 100, "with --growth: versions in each of --regions regions")
	svg := fs.String("svg", "", "with --growth: write the log-log plot of growth to this file")
	rest, code, done := parseFlags(fs, benchUsage, args, stdout, stderr, nil)
	if done {
		return code
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "demo bench: unexpected argument %q (demo bench takes only flags)\n", rest[0])
		return exitUsage
	}
	// A flag that does not apply to the mode is refused, not ignored.
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *growth {
		if set["quick"] || set["fail-on-miss"] {
			fmt.Fprintln(stderr, "demo bench: --quick and --fail-on-miss do not apply to --growth (it has no targets; --keys and --regions set its sizes)")
			return exitUsage
		}
		return runGrowth(ctx, *keysFlag, *regionsFlag, *regionKeys, *asJSON, *svg, stdout, stderr)
	}
	for _, name := range []string{"svg", "regions", "region-keys"} {
		if set[name] {
			fmt.Fprintf(stderr, "demo bench: --%s needs --growth\n", name)
			return exitUsage
		}
	}
	keys := 0
	if *keysFlag != "" {
		ks, err := parseCounts(*keysFlag, maxBenchVersions)
		if err != nil || len(ks) != 1 {
			fmt.Fprintf(stderr, "demo bench: --keys %q: want one positive count of versions, at most %d\n", *keysFlag, maxBenchVersions)
			return exitUsage
		}
		keys = ks[0]
	}
	if !*asJSON {
		if *quick {
			fmt.Fprintln(stderr, "demo bench: measuring at the --quick scale")
		} else {
			fmt.Fprintln(stderr, "demo bench: measuring; this takes a while (--quick for a short run)")
		}
	}
	rep, err := benchmarks.Run(ctx, benchmarks.Options{Quick: *quick, Keys: keys})
	if rep == nil {
		fmt.Fprintf(stderr, "demo bench: %s\n", plain(err))
		return exitFailed
	}
	if *asJSON {
		if werr := rep.WriteJSON(stdout); werr != nil {
			fmt.Fprintf(stderr, "demo bench: %s\n", plain(werr))
			return exitFailed
		}
	} else {
		writeBenchReport(stdout, rep)
	}
	if err != nil {
		// Some figures could not be measured; the report says which.
		fmt.Fprintf(stderr, "demo bench: %s\n", plain(err))
		return exitFailed
	}
	if *failOnMiss && metCount(rep) < len(rep.Figures) {
		return exitFailed
	}
	return exitOK
}

func metCount(rep *benchmarks.Report) int {
	n := 0
	for _, f := range rep.Figures {
		if f.Met {
			n++
		}
	}
	return n
}

// figureName is the name a figure is shown under: its own, unless it was
// measured at another scale than the name says (regions_1m at --quick).
func figureName(f benchmarks.Figure) string {
	if f.Name == "regions_1m" {
		if n, ok := f.Details["regions_target"]; ok && n != 1e6 {
			return "regions_" + shortCount(n)
		}
	}
	return f.Name
}

// shortCount writes 100000 as "100k" and 1000000 as "1m".
func shortCount(n float64) string {
	switch {
	case n >= 1e6 && math.Mod(n, 1e6) == 0:
		return fmt.Sprintf("%.0fm", n/1e6)
	case n >= 1e3 && math.Mod(n, 1e3) == 0:
		return fmt.Sprintf("%.0fk", n/1e3)
	}
	return fmt.Sprintf("%.0f", n)
}

// measuredAs says what a figure measured when that is not what its name
// promises, or "".
func measuredAs(f benchmarks.Figure) string {
	if f.Name != "regions_1m" {
		return ""
	}
	target, reg := f.Details["regions_target"], f.Details["regions_registered"]
	budget := f.Details["budget_s"]
	s := ""
	if target != 1e6 && target > 0 {
		s = fmt.Sprintf("scaled down: %s regions, not 1,000,000", groupDigits(target))
	}
	if reg > 0 && reg < target {
		if s != "" {
			s += "; "
		}
		s += fmt.Sprintf("stopped at the %gs budget with %s of %s registered; the value is per registered region", budget, groupDigits(reg), groupDigits(target))
	}
	return s
}

func groupDigits(n float64) string {
	s := fmt.Sprintf("%.0f", math.Abs(n))
	var b strings.Builder
	if n < 0 {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// writeBenchReport prints the figures as a table, then each figure's
// details as a table of its own with its note, then the verdict line.
func writeBenchReport(w io.Writer, rep *benchmarks.Report) {
	mode := "full scale"
	if rep.Quick {
		mode = "--quick scale"
	}
	fmt.Fprintf(w, "regioncache bench, %s: %s, %s %s/%s, %d CPUs, %s\n\n", mode, rep.Date, rep.GoVersion, rep.GOOS, rep.GOARCH, rep.CPUs, rep.CPUModel)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FIGURE\tVALUE\tUNIT\tTARGET\tRESULT")
	for _, f := range rep.Figures {
		result := metWord(f)
		if got, want := f.Details["regions_registered"], f.Details["regions_target"]; want > 0 && got < want {
			// Stopped at its time budget: the table says at what scale.
			result += fmt.Sprintf(" (budget: %s of %s regions)", benchValue(got), benchValue(want))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", figureName(f), benchValue(f.Value), f.Unit, f.Target, result)
	}
	tw.Flush()

	for _, f := range rep.Figures {
		fmt.Fprintf(w, "\n%s: %s %s (target %s), %s\n", figureName(f), benchValue(f.Value), f.Unit, f.Target, metWord(f))
		if m := measuredAs(f); m != "" {
			fmt.Fprintf(w, "  measured: %s\n", m)
		}
		keys := make([]string, 0, len(f.Details))
		for k := range f.Details {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		// Names left, values right-aligned on their last digit.
		nameW, valueW := 0, 0
		for _, k := range keys {
			nameW, valueW = max(nameW, len(k)), max(valueW, len(benchValue(f.Details[k])))
		}
		for _, k := range keys {
			fmt.Fprintf(w, "  %-*s  %*s\n", nameW, strings.ReplaceAll(k, "_", " "), valueW, benchValue(f.Details[k]))
		}
		if f.Note != "" {
			for _, l := range wrap(f.Note, 76) {
				fmt.Fprintf(w, "  | %s\n", l)
			}
		}
	}
	fmt.Fprintf(w, "\n%s\n", verdictLine(rep))
}

// verdictLine is the report's last line: met N of M, and which missed.
func verdictLine(rep *benchmarks.Report) string {
	var missed []string
	for _, f := range rep.Figures {
		if !f.Met {
			missed = append(missed, figureName(f))
		}
	}
	v := fmt.Sprintf("verdict: met %d of %d targets", len(rep.Figures)-len(missed), len(rep.Figures))
	if len(missed) > 0 {
		v += " (missed: " + strings.Join(missed, ", ") + ")"
	}
	return v
}

func metWord(f benchmarks.Figure) string {
	switch {
	case f.Met:
		return "met"
	case math.IsNaN(f.Value):
		return "NOT MEASURED"
	}
	return "MISSED"
}

func benchValue(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "n/a"
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return groupDigits(v)
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.1f", v)
	case math.Abs(v) >= 1:
		return fmt.Sprintf("%.3f", v)
	}
	return fmt.Sprintf("%.4g", v)
}

// wrap breaks text into lines of at most width characters at spaces.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

// Bounds of demo bench's counts: beyond them a run cannot fit a machine
// (run H measured about 160 bytes of memory per cached version, and a
// million regions at about 2 KiB each).
const (
	maxBenchVersions = 1 << 27 // versions in one region, or in all of --regions
	maxBenchRegions  = 1 << 21
)

// parseCounts parses a comma-separated list of positive counts of at most max.
func parseCounts(s string, max int) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive count", f)
		}
		if n > max {
			return nil, fmt.Errorf("%d is more than %d", n, max)
		}
		out = append(out, n)
	}
	return out, nil
}

func runGrowth(ctx context.Context, keysFlag, regionsFlag string, regionKeys int, asJSON bool, svg string, stdout, stderr io.Writer) int {
	if keysFlag == "" {
		keysFlag = "100000,1000000,4000000"
	}
	keys, err := parseCounts(keysFlag, maxBenchVersions)
	if err == nil && !slices.IsSorted(keys) {
		err = errors.New("sizes must increase")
	}
	if err != nil {
		fmt.Fprintf(stderr, "demo bench: --keys %q: %s\n", keysFlag, plain(err))
		return exitUsage
	}
	var regions []int
	if regionsFlag != "" {
		if regions, err = parseCounts(regionsFlag, maxBenchRegions); err != nil {
			fmt.Fprintf(stderr, "demo bench: --regions %q: %s\n", regionsFlag, plain(err))
			return exitUsage
		}
	}
	if regionKeys <= 0 {
		fmt.Fprintf(stderr, "demo bench: --region-keys %d: want a positive count\n", regionKeys)
		return exitUsage
	}
	for _, n := range regions {
		if int64(n)*int64(regionKeys) > maxBenchVersions {
			fmt.Fprintf(stderr, "demo bench: --regions %d x --region-keys %d is more than %d versions\n", n, regionKeys, maxBenchVersions)
			return exitUsage
		}
	}
	if !asJSON {
		fmt.Fprintln(stderr, "demo bench: measuring growth; this takes a while")
	}
	var progress io.Writer // one line a step on stderr, unless stdout is JSON
	if !asJSON {
		progress = stderr
	}
	rep, err := benchmarks.RunGrowth(ctx, benchmarks.GrowthOptions{Keys: keys, Regions: regions, RegionKeys: regionKeys, Progress: progress})
	if rep == nil {
		fmt.Fprintf(stderr, "demo bench: %s\n", plain(err))
		return exitFailed
	}
	if asJSON {
		if werr := rep.WriteJSON(stdout); werr != nil {
			fmt.Fprintf(stderr, "demo bench: %s\n", plain(werr))
			return exitFailed
		}
	} else {
		rep.WriteTable(stdout)
	}
	if svg != "" && len(rep.Sizes) >= 2 {
		f, ferr := os.Create(svg)
		if ferr == nil {
			ferr = rep.WriteSVG(f)
			if cerr := f.Close(); ferr == nil {
				ferr = cerr
			}
		}
		if ferr != nil {
			fmt.Fprintf(stderr, "demo bench: %s\n", plain(ferr))
			return exitFailed
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "demo bench: %s\n", plain(err))
		return exitFailed
	}
	return exitOK
}
