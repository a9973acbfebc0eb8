package benchmarks

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/regioncache/regioncache"
)

// GrowthOptions configure RunGrowth: how the engine's costs grow with the
// versions of one region and with the number of regions.
type GrowthOptions struct {
	// Keys are the region sizes measured, in versions (one per key).
	Keys []int
	// Regions are the region counts measured for per-region costs, each
	// region of RegionKeys versions.
	Regions    []int
	RegionKeys int
	// Progress receives one line per step; nil: silent.
	Progress io.Writer
	// ops are the reads and writes measured at each point; zero: the
	// defaults (tests measure fewer, so that a run under the race detector
	// on a loaded machine stays in minutes).
	ops growthOps
}

// growthOps are how many operations each point measures.
type growthOps struct {
	gets, scans, writes, regionGets int
}

var defaultGrowthOps = growthOps{gets: 100_000, scans: 10_000, writes: 20_000, regionGets: 100_000}

// GrowthPoint is what one region of Versions versions costs.
type GrowthPoint struct {
	Versions int `json:"versions"`
	// LoadS is Engine.Load until WaitIdle, with the region active.
	LoadS float64 `json:"load_s"`
	// LoadNsPerVersion is LoadS per version.
	LoadNsPerVersion float64 `json:"load_ns_per_version"`
	// AccountedBytesPerVersion and HeapBytesPerVersion: Engine.MemoryBytes
	// and live heap (after a full GC) growth of the load, per version.
	AccountedBytesPerVersion float64 `json:"accounted_bytes_per_version"`
	HeapBytesPerVersion      float64 `json:"heap_bytes_per_version"`
	// LiveObjectsPerVersion: heap objects the loaded region keeps.
	LiveObjectsPerVersion float64 `json:"live_objects_per_version"`
	// GetNs and DiskGetNs: a point Get of a random key, from memory and
	// (the region evicted) from Pebble.
	GetNs     float64 `json:"get_ns"`
	DiskGetNs float64 `json:"disk_get_ns"`
	// Scan100Us: a 100-key Scan from a random key, from memory.
	Scan100Us float64 `json:"scan100_us"`
	// WriteNsPerVersion and DiskWriteNsPerVersion: 100-version batches into
	// the region active (commit + write layer, compactions included) and
	// evicted (Pebble alone).
	WriteNsPerVersion     float64 `json:"write_ns_per_version"`
	DiskWriteNsPerVersion float64 `json:"disk_write_ns_per_version"`
}

// RegionsPoint is what Regions regions of RegionKeys versions cost.
type RegionsPoint struct {
	Regions    int `json:"regions"`
	RegionKeys int `json:"region_keys"`
	// LoadSPerRegion: loading them all (Load each, then WaitIdle), per region.
	LoadSPerRegion float64 `json:"load_s_per_region"`
	// AccountedBytesPerRegion and HeapBytesPerRegion: memory growth of the
	// loads, per region (data included).
	AccountedBytesPerRegion float64 `json:"accounted_bytes_per_region"`
	HeapBytesPerRegion      float64 `json:"heap_bytes_per_region"`
	// GetNs: a Get of a random key of a random region, from memory.
	GetNs float64 `json:"get_ns"`
}

// GrowthReport is the result of RunGrowth.
type GrowthReport struct {
	Date      string         `json:"date"`
	GoVersion string         `json:"go_version"`
	CPUs      int            `json:"cpus"`
	CPUModel  string         `json:"cpu_model"`
	Sizes     []GrowthPoint  `json:"sizes"`
	Regions   []RegionsPoint `json:"regions"`
}

const (
	growthBatch   = 100
	growthWriteTs = 1 << 30
)

// RunGrowth measures how load time, memory, read latency and write cost grow
// with the size of a region, and the per-region costs with the number of
// regions. Each point has an engine and a Pebble directory of its own.
func RunGrowth(ctx context.Context, opts GrowthOptions) (*GrowthReport, error) {
	rep := &GrowthReport{Date: time.Now().UTC().Format(time.RFC3339), GoVersion: runtime.Version(), CPUs: runtime.NumCPU(), CPUModel: cpuModel()}
	p := progress{w: opts.Progress, start: time.Now()}
	ops := opts.ops
	if ops == (growthOps{}) {
		ops = defaultGrowthOps
	}
	for _, n := range opts.Keys {
		pt, err := growthSize(ctx, n, ops, p)
		if err != nil {
			return rep, fmt.Errorf("%d versions: %w", n, err)
		}
		rep.Sizes = append(rep.Sizes, pt)
	}
	for _, r := range opts.Regions {
		pt, err := growthRegions(ctx, r, max(opts.RegionKeys, 1), ops, p)
		if err != nil {
			return rep, fmt.Errorf("%d regions: %w", r, err)
		}
		rep.Regions = append(rep.Regions, pt)
	}
	return rep, nil
}

// growthEngine writes the keyspaces through an engine, settles the Pebble
// directory (flush, full compaction) and opens the engine on it again.
func growthEngine(ctx context.Context, kss []keyspace, p progress) (*regioncache.Engine, func(), error) {
	root, err := os.MkdirTemp("", "regioncache-growth-")
	if err != nil {
		return nil, nil, err
	}
	dir := filepath.Join(root, "engine")
	cleanup := func() { os.RemoveAll(root) }
	e, err := regioncache.Open(regioncache.Options{Dir: dir, Durability: benchDurability})
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	for i, ks := range kss {
		if len(kss) == 1 || i%1000 == 0 {
			p.printf("growth: writing %q (%d of %d keyspaces, %d keys each)", ks.tag, i+1, len(kss), ks.n)
		}
		if err := writeKeyspace(ctx, e, ks, 1, uint64(i+1)); err != nil {
			e.Close()
			cleanup()
			return nil, nil, err
		}
	}
	if err := e.Close(); err != nil {
		cleanup()
		return nil, nil, err
	}
	db, err := pebble.Open(dir, pebbleOptions())
	if err == nil {
		err = db.Flush()
		if err == nil {
			err = db.Compact(ctx, []byte{0}, []byte{0xff, 0xff}, true)
		}
		if cerr := db.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil {
		e, err = regioncache.Open(regioncache.Options{Dir: dir, Durability: benchDurability})
	}
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	return e, func() { e.Close(); cleanup() }, nil
}

func growthSize(ctx context.Context, n int, ops growthOps, p progress) (GrowthPoint, error) {
	pt := GrowthPoint{Versions: n}
	ks := keyspace{"gr/", n}
	e, done, err := growthEngine(ctx, []keyspace{ks}, p)
	if err != nil {
		return pt, err
	}
	defer done()
	reg := ks.region(1)
	p.printf("growth: loading %d versions", n)
	heap0, mem0 := heapAfterGC(), memoryUsed(e)
	gc0 := readGCAccount()
	start := time.Now()
	if _, err := e.Load(reg); err != nil {
		return pt, err
	}
	if err := e.WaitIdle(ctx); err != nil {
		return pt, err
	}
	pt.LoadS = time.Since(start).Seconds()
	if st := e.RegionState(reg.ID); st != regioncache.Active {
		return pt, fmt.Errorf("region is %s after its load", st)
	}
	heap1, mem1 := heapAfterGC(), memoryUsed(e)
	pt.LoadNsPerVersion = pt.LoadS * 1e9 / float64(n)
	pt.AccountedBytesPerVersion = float64(mem1-mem0) / float64(n)
	pt.HeapBytesPerVersion = (float64(heap1) - float64(heap0)) / float64(n)
	pt.LiveObjectsPerVersion = (readGCAccount().liveObjects - gc0.liveObjects) / float64(n)

	gets := func(want regioncache.Source) (float64, error) {
		idx := indices(uint64(n), ops.gets, n)
		keys := make([][]byte, len(idx))
		for i, x := range idx {
			keys[i] = ks.key(x)
		}
		start := time.Now()
		for i, k := range keys {
			g, err := e.Get(k, tsBase+1)
			if err != nil {
				return 0, err
			}
			if i == 0 && (!g.Found || g.Source != want) {
				return 0, fmt.Errorf("get: found %v from %s, want %s", g.Found, g.Source, want)
			}
		}
		return float64(time.Since(start).Nanoseconds()) / float64(len(keys)), nil
	}
	p.printf("growth: %d gets, %d scans over %d versions", ops.gets, ops.scans, n)
	if pt.GetNs, err = gets(regioncache.FromMemory); err != nil {
		return pt, err
	}
	starts := indices(uint64(n)+1, ops.scans, max(n-100, 1))
	start = time.Now()
	for _, x := range starts {
		s, err := e.Scan(ks.key(x), reg.End, tsBase+1, 100)
		if err != nil {
			return pt, err
		}
		if s.Source != regioncache.FromMemory {
			return pt, fmt.Errorf("scan from %s", s.Source)
		}
	}
	pt.Scan100Us = float64(time.Since(start).Microseconds()) / float64(len(starts))

	writes := func(ts uint64) (float64, error) {
		idx := indices(ts, ops.writes, n)
		vbuf := make([]byte, valueLen)
		start := time.Now()
		for i := 0; i < len(idx); i += growthBatch {
			b := new(regioncache.Batch)
			for j := i; j < min(i+growthBatch, len(idx)); j++ {
				b.Put(ks.key(idx[j]), ts, fillValue(vbuf, ts, idx[j], 0))
			}
			if err := e.Write(b); err != nil {
				return 0, err
			}
		}
		return float64(time.Since(start).Nanoseconds()) / float64(len(idx)), nil
	}
	p.printf("growth: %d writes into the active region, then into it evicted", ops.writes)
	if pt.WriteNsPerVersion, err = writes(growthWriteTs); err != nil {
		return pt, err
	}
	if _, err := e.Evict(reg, "manual"); err != nil {
		return pt, err
	}
	if err := e.WaitIdle(ctx); err != nil {
		return pt, err
	}
	if pt.DiskWriteNsPerVersion, err = writes(growthWriteTs + 1); err != nil {
		return pt, err
	}
	if pt.DiskGetNs, err = gets(regioncache.FromDisk); err != nil {
		return pt, err
	}
	return pt, nil
}

func growthRegions(ctx context.Context, count, keys int, ops growthOps, p progress) (RegionsPoint, error) {
	pt := RegionsPoint{Regions: count, RegionKeys: keys}
	if count < 1 || count > 64*64*64 {
		return pt, fmt.Errorf("region count %d outside [1, %d]", count, 64*64*64)
	}
	kss := make([]keyspace, count)
	for i := range kss {
		kss[i] = keyspace{tag: regionTag(i), n: keys}
	}
	e, done, err := growthEngine(ctx, kss, p)
	if err != nil {
		return pt, err
	}
	defer done()
	p.printf("growth: loading %d regions of %d versions", count, keys)
	heap0, mem0 := heapAfterGC(), memoryUsed(e)
	start := time.Now()
	for i, ks := range kss {
		if _, err := e.Load(ks.region(uint64(i + 1))); err != nil {
			return pt, err
		}
	}
	if err := e.WaitIdle(ctx); err != nil {
		return pt, err
	}
	pt.LoadSPerRegion = time.Since(start).Seconds() / float64(count)
	heap1, mem1 := heapAfterGC(), memoryUsed(e)
	pt.AccountedBytesPerRegion = float64(mem1-mem0) / float64(count)
	pt.HeapBytesPerRegion = (float64(heap1) - float64(heap0)) / float64(count)
	ri, ki := indices(uint64(count), ops.regionGets, count), indices(uint64(count)+1, ops.regionGets, keys)
	start = time.Now()
	for i := range ri {
		g, err := e.Get(kss[ri[i]].key(ki[i]), tsBase+1)
		if err != nil {
			return pt, err
		}
		if !g.Found || g.Source != regioncache.FromMemory {
			return pt, fmt.Errorf("get from region %d: found %v from %s", ri[i]+1, g.Found, g.Source)
		}
	}
	pt.GetNs = float64(time.Since(start).Nanoseconds()) / float64(len(ri))
	return pt, nil
}

// regionTag names region i with 3 bytes in sorting order (the data set's
// key layout: a 3-byte tag, 21 digits); the region of a tag is [tag, tag
// with its last byte raised), holding exactly the tag's keys.
func regionTag(i int) string {
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ^_abcdefghijklmnopqrstuvwxyz"
	const n = len(digits)
	return string([]byte{digits[i/(n*n)%n], digits[i/n%n], digits[i%n]})
}

// WriteTable prints the growth report as two tables.
func (r *GrowthReport) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "regioncache growth %s, %s, %d CPUs, %s\n\n", r.Date, r.GoVersion, r.CPUs, r.CPUModel)
	if len(r.Sizes) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "versions\tload s\tload ns/ver\taccounted B/ver\theap B/ver\tobjects/ver\tget ns\tdisk get ns\tscan100 us\twrite ns/ver\tdisk write ns/ver\t")
		for _, p := range r.Sizes {
			fmt.Fprintf(tw, "%d\t%.3f\t%.0f\t%.1f\t%.1f\t%.4f\t%.0f\t%.0f\t%.1f\t%.0f\t%.0f\t\n", p.Versions, p.LoadS, p.LoadNsPerVersion,
				p.AccountedBytesPerVersion, p.HeapBytesPerVersion, p.LiveObjectsPerVersion, p.GetNs, p.DiskGetNs, p.Scan100Us,
				p.WriteNsPerVersion, p.DiskWriteNsPerVersion)
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
	if len(r.Regions) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "regions\tversions each\tload s/region\taccounted B/region\theap B/region\tget ns\t")
		for _, p := range r.Regions {
			fmt.Fprintf(tw, "%d\t%d\t%.6f\t%.0f\t%.0f\t%.0f\t\n", p.Regions, p.RegionKeys, p.LoadSPerRegion, p.AccountedBytesPerRegion, p.HeapBytesPerRegion, p.GetNs)
		}
		tw.Flush()
	}
}

// WriteJSON prints the growth report as JSON.
func (r *GrowthReport) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteSVG draws how each cost grows with the region's size, log-log: one
// line per cost, each divided by its value at the smallest size, with the
// lines of linear and flat growth for reference.
func (r *GrowthReport) WriteSVG(w io.Writer) error {
	if len(r.Sizes) < 2 {
		return fmt.Errorf("benchmarks: a growth plot needs at least 2 sizes, have %d", len(r.Sizes))
	}
	type series struct {
		name, color string
		v           func(p GrowthPoint) float64
	}
	all := []series{
		{"load time", "#d62728", func(p GrowthPoint) float64 { return p.LoadS }},
		{"memory (accounted)", "#1f77b4", func(p GrowthPoint) float64 { return p.AccountedBytesPerVersion * float64(p.Versions) }},
		{"get latency", "#2ca02c", func(p GrowthPoint) float64 { return p.GetNs }},
		{"scan-100 latency", "#9467bd", func(p GrowthPoint) float64 { return p.Scan100Us }},
		{"write cost per version", "#ff7f0e", func(p GrowthPoint) float64 { return p.WriteNsPerVersion }},
	}
	const (
		width, height          = 720, 480
		left, right, top, bot  = 70, 200, 30, 50
		plotW, plotH           = width - left - right, height - top - bot
		yLogMin, yLogMax       = -1.0, 2.0 // 0.1x .. 100x
		tickFont, legendFontSz = 12, 12
	)
	x0, x1 := math.Log10(float64(r.Sizes[0].Versions)), math.Log10(float64(r.Sizes[len(r.Sizes)-1].Versions))
	if x1 <= x0 {
		return fmt.Errorf("benchmarks: growth sizes must increase")
	}
	px := func(v float64) float64 { return left + (math.Log10(v)-x0)/(x1-x0)*plotW }
	py := func(ratio float64) float64 {
		l := math.Max(yLogMin, math.Min(yLogMax, math.Log10(ratio)))
		return top + (yLogMax-l)/(yLogMax-yLogMin)*plotH
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="%d">`+"\n", width, height, tickFont)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="%d" y="18" font-size="14">regioncache: cost growth with versions per region (log-log, relative to %d versions)</text>`+"\n", left-60, r.Sizes[0].Versions)
	for e := yLogMin; e <= yLogMax; e++ {
		y := py(math.Pow(10, e))
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">%gx</text>`+"\n",
			left, y, left+plotW, y, left-6, y+4, math.Pow(10, e))
	}
	for _, p := range r.Sizes {
		x := px(float64(p.Versions))
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/><text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n",
			x, top, x, top+plotH, x, top+plotH+18, humanCount(p.Versions))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">versions per region</text>`+"\n", left+plotW/2, height-10)
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="black"/>`+"\n", left, top, plotW, plotH)
	// Reference lines: linear (slope 1) and flat.
	first, last := float64(r.Sizes[0].Versions), float64(r.Sizes[len(r.Sizes)-1].Versions)
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#888" stroke-dasharray="6,4"/>`+"\n", px(first), py(1), px(last), py(last/first))
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#888" stroke-dasharray="2,4"/>`+"\n", px(first), py(1), px(last), py(1))
	legendY := top + 10
	for _, s := range all {
		base := s.v(r.Sizes[0])
		if !(base > 0) {
			continue
		}
		var pts []string
		for _, p := range r.Sizes {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(float64(p.Versions)), py(s.v(p)/base)))
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(pts, " "), s.color)
		for _, pt := range pts {
			xy := strings.Split(pt, ",")
			fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="3" fill="%s"/>`+"\n", xy[0], xy[1], s.color)
		}
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/><text x="%d" y="%d" font-size="%d">%s</text>`+"\n",
			left+plotW+10, legendY, left+plotW+30, legendY, s.color, left+plotW+36, legendY+4, legendFontSz, s.name)
		legendY += 20
	}
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#888" stroke-dasharray="6,4"/><text x="%d" y="%d">linear</text>`+"\n",
		left+plotW+10, legendY, left+plotW+30, legendY, left+plotW+36, legendY+4)
	legendY += 20
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#888" stroke-dasharray="2,4"/><text x="%d" y="%d">flat</text>`+"\n",
		left+plotW+10, legendY, left+plotW+30, legendY, left+plotW+36, legendY+4)
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func humanCount(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1_000 && n%1_000 == 0:
		return fmt.Sprintf("%dk", n/1_000)
	default:
		return fmt.Sprint(n)
	}
}
