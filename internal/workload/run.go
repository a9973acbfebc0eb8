package workload

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/regioncache/regioncache"
)

// side is one engine of the comparison and what was measured on it.
type side struct {
	name string
	e    *regioncache.Engine
	// Totals after warm-up.
	reads, hits, writes int64
	wall, cpu           time.Duration
	lat                 Hist
	// Per phase (phase 0 after warm-up): reads and hits.
	phaseReads, phaseHits [2]int64
	// Whole run.
	totalReads, totalHits int64
}

// chunkResult is one side's run of one chunk.
type chunkResult struct {
	reads, hits, writes int64
	wall, cpu           time.Duration
	lat                 Hist
	samples             []uint64 // answer digests by op index (0: not sampled)
	err                 error
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runChunk runs ops on one engine: Readers goroutines share the reads, one
// writer runs the writes in order at ts firstWrite, firstWrite+1, ...; reads
// are at readTs, below every write of the chunk, so the answers do not
// depend on the interleaving. newSafePoint > 0 is first given to GC (the
// host advancing the cache's safe point; part of this side's time).
func runChunk(e *regioncache.Engine, cfg Config, ops []Op, readTs, firstWrite, newSafePoint uint64, sampleBase int) chunkResult {
	var res chunkResult
	res.samples = make([]uint64, len(ops))
	var readIdx, writeIdx []int
	for i, o := range ops {
		if o.Kind == Write {
			writeIdx = append(writeIdx, i)
		} else {
			readIdx = append(readIdx, i)
		}
	}
	var next atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	var firstErr error
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	cpu0, t0 := cpuTime(), time.Now()
	if newSafePoint > 0 {
		if err := e.GC(newSafePoint); err != nil {
			res.err = err
			return res
		}
	}
	for w := 0; w < cfg.Readers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat Hist
			var hits int64
			for {
				j := int(next.Add(1)) - 1
				if j >= len(readIdx) {
					break
				}
				i := readIdx[j]
				o := ops[i]
				key := Key(o.Region, o.Key)
				start := time.Now()
				var src regioncache.Source
				var digest uint64
				sampled := (sampleBase+i)%cfg.SampleEvery == 0
				if o.Kind == Scan {
					r, err := e.Scan(key, RegionStart(o.Region+1), readTs, cfg.ScanLength)
					if err != nil {
						fail(err)
						return
					}
					src = r.Source
					if sampled {
						digest = answerHash(Scan, false, nil, r.Pairs)
					}
				} else {
					r, err := e.Get(key, readTs)
					if err != nil {
						fail(err)
						return
					}
					src = r.Source
					if sampled {
						digest = answerHash(Get, r.Found, r.Value, nil)
					}
				}
				lat.Add(time.Since(start))
				if src == regioncache.FromMemory {
					hits++
				}
				res.samples[i] = digest
			}
			mu.Lock()
			res.lat.Merge(&lat)
			res.hits += hits
			mu.Unlock()
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n, i := range writeIdx {
			o := ops[i]
			ts := firstWrite + uint64(n)
			b := new(regioncache.Batch)
			if o.Delete {
				b.Delete(Key(o.Region, o.Key), ts)
			} else {
				b.Put(Key(o.Region, o.Key), ts, value(cfg.ValueSize, o.Region, o.Key, ts))
			}
			if err := e.Write(b); err != nil {
				fail(err)
				return
			}
		}
	}()
	wg.Wait()
	res.wall, res.cpu = time.Since(t0), cpuTime()-cpu0
	res.reads, res.writes = int64(len(readIdx)), int64(len(writeIdx))
	res.err = firstErr
	return res
}

// Run runs the workload and reports it. The report is returned with what
// was measured even when the run ends early (ctx, an engine error); the
// error says why.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg = cfg.resolved()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	progress := func(format string, a ...any) {
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, format+"\n", a...)
		}
	}
	rep := newReport(cfg)
	dir := cfg.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "regioncache-workload-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	pebDir, engDir := filepath.Join(dir, "pebble-alone"), filepath.Join(dir, "engine")
	for _, d := range []string{pebDir, engDir} {
		if err := os.RemoveAll(d); err != nil {
			return nil, err
		}
	}

	// The data, the same on both sides; the engine side's is measured: the
	// bytes each region takes in memory at the first safe point.
	start := time.Now()
	progress("building %d regions x %d keys x %d versions on both sides", cfg.Regions, cfg.KeysPerRegion, cfg.Versions)
	// The cache's first safe point is the newest initial version: what it
	// holds is one version per key (none where that is a delete marker),
	// while Pebble keeps all of them. Reads start just above it.
	t0 := uint64(cfg.Versions) * Stride
	safePoint := t0
	sizes, err := prepare(ctx, cfg, pebDir, engDir, safePoint)
	if err != nil {
		return nil, err
	}
	rep.BuildSeconds = time.Since(start).Seconds()
	rep.DataBytes = dirBytes(pebDir)
	rep.LogicalBytes = int64(cfg.Regions*cfg.KeysPerRegion*cfg.Versions) * int64(len(Key(0, 0))+8+cfg.ValueSize)
	stream := NewStream(cfg)
	rep.sizeCache(stream, sizes)
	progress("capacity %s: %d regions serve %.1f%% of reads; cached data of all regions %s, on disk %s",
		fmtBytes(rep.Capacity), rep.CoverageRegions, 100*cfg.Coverage, fmtBytes(rep.CachedBytesAll), fmtBytes(rep.DataBytes))

	cap := rep.Capacity
	// Writes are applied writes of the host (its raft log is its own
	// durability), so neither side syncs them: DurabilityNoSync on both.
	pebble, err := regioncache.Open(regioncache.Options{Dir: pebDir, Durability: regioncache.DurabilityNoSync})
	if err != nil {
		return nil, err
	}
	defer pebble.Close()
	interval := cfg.Interval
	if cfg.ManualRounds {
		interval = 24 * time.Hour
	}
	engine, err := regioncache.Open(regioncache.Options{Dir: engDir, Capacity: cap, Durability: regioncache.DurabilityNoSync,
		EvictThreshold: cap / 100 * int64(cfg.EvictPercent), StopLoadThreshold: cap / 100 * int64(cfg.StopLoadPercent),
		AutoLoadEvict: regioncache.AutoLoadEvict{Enabled: true, Interval: interval, MaxLoadsPerRound: cfg.MaxLoadsPerRound}})
	if err != nil {
		return nil, err
	}
	defer engine.Close()
	sides := [2]*side{{name: "pebble alone", e: pebble}, {name: "engine", e: engine}}
	for _, s := range sides {
		if err := s.e.DeclareRegions(table(cfg.Regions)); err != nil {
			return nil, err
		}
		if err := s.e.GC(safePoint); err != nil {
			return nil, err
		}
	}

	// Memory, sampled all along (the data plane refuses to pass capacity;
	// this is the check that it did not).
	stopSampler := make(chan struct{})
	var sampler sync.WaitGroup
	var maxMem atomic.Int64
	sampler.Add(1)
	go func() {
		defer sampler.Done()
		// Metrics builds a snapshot of every region: every 10 ms, not to
		// tax the sides it measures.
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			if m := memoryUsed(engine); m > maxMem.Load() {
				maxMem.Store(m)
			}
			select {
			case <-stopSampler:
				return
			case <-tick.C:
			}
		}
	}()
	defer func() { close(stopSampler); sampler.Wait() }()

	progress("running %d ops in %d chunks of %d, %d readers and a writer per side; the hot set moves at op %d",
		cfg.Ops, stream.Chunks(), cfg.Chunk, cfg.Readers, stream.MoveAt())
	rep.LoadBefore = loadAverage()
	runStart := time.Now()
	readTs := t0 + 1
	nextWrite := t0 + 2
	warmupEnd := int(cfg.Warmup * float64(stream.MoveAt()))
	var moveWall time.Time
	recovered := false
	win := newWindows(stream.Chunks())
	lastReport := time.Now()
	for c := 0; c < stream.Chunks(); c++ {
		if err := ctx.Err(); err != nil {
			return rep.finish(sides, maxMem.Load()), err
		}
		ops := stream.Chunk(c)
		pos := c * cfg.Chunk
		phase := stream.PhaseOf(pos)
		counted := pos >= warmupEnd
		var newSP uint64
		if readTs > cfg.SafePointLag && readTs-cfg.SafePointLag > safePoint+cfg.SafePointLag/2 {
			newSP = readTs - cfg.SafePointLag
			safePoint = newSP
		}
		if phase == 1 && moveWall.IsZero() {
			moveWall = time.Now()
		}
		var results [2]chunkResult
		order := [2]int{0, 1}
		if c%2 == 1 {
			order = [2]int{1, 0}
		}
		for _, i := range order {
			results[i] = runChunk(sides[i].e, cfg, ops, readTs, nextWrite, newSP, pos)
			if results[i].err != nil {
				return rep.finish(sides, maxMem.Load()), fmt.Errorf("%s: %w", sides[i].name, results[i].err)
			}
		}
		for i, s := range sides {
			r := &results[i]
			s.totalReads += r.reads
			s.totalHits += r.hits
			if counted {
				s.reads += r.reads
				s.hits += r.hits
				s.writes += r.writes
				s.wall += r.wall
				s.cpu += r.cpu
				s.lat.Merge(&r.lat)
				s.phaseReads[phase] += r.reads
				s.phaseHits[phase] += r.hits
			}
		}
		for i := range ops {
			a, b := results[0].samples[i], results[1].samples[i]
			if a == 0 && b == 0 {
				continue
			}
			rep.AnswersCompared++
			if a != b {
				rep.AnswersDiffered++
				if len(rep.Differences) < 5 {
					o := ops[i]
					rep.Differences = append(rep.Differences, fmt.Sprintf("op %d: %s of %q at ts %d", pos+i, o.Kind, Key(o.Region, o.Key), readTs))
				}
			}
		}
		mem := memoryUsed(engine)
		if mem > maxMem.Load() {
			maxMem.Store(mem)
		}
		elapsed := time.Since(runStart).Seconds()
		win.add(c, pos+len(ops), elapsed, results, mem)
		engHit := float64(results[1].hits) / float64(max(results[1].reads, 1))
		if phase == 1 && !recovered && engHit >= 0.99 {
			recovered = true
			rep.RecoverySeconds = time.Since(moveWall).Seconds()
		}
		if phase == 0 && rep.WarmSeconds == 0 && engHit >= 0.99 {
			rep.WarmSeconds = elapsed
		}
		readTs = nextWrite + uint64(results[1].writes) - 1
		nextWrite = readTs + 1
		if cfg.ManualRounds {
			if err := engine.RunAutoLoadEvict(ctx); err != nil {
				return rep.finish(sides, maxMem.Load()), err
			}
			if err := engine.WaitIdle(ctx); err != nil {
				return rep.finish(sides, maxMem.Load()), err
			}
		}
		if cfg.Progress != nil && time.Since(lastReport) > 5*time.Second {
			lastReport = time.Now()
			progress("  op %d/%d: engine hit ratio %.4f, memory %s", pos+len(ops), cfg.Ops, engHit, fmtBytes(mem))
		}
	}
	if !recovered {
		rep.RecoverySeconds = -1
	}
	rep.RunSeconds = time.Since(runStart).Seconds()
	rep.LoadAfter = loadAverage()
	rep.Timeline = win.points
	rep.MoveAt = stream.MoveAt()
	if m, err := engine.Metrics(); err == nil {
		rep.Counters = m.Counters()
	}
	return rep.finish(sides, maxMem.Load()), nil
}

// prepare builds the data on both sides and returns the bytes each region
// takes in the engine's memory at safePoint, measured by loading every
// region once on the engine side (then closed, so the run starts cold).
func prepare(ctx context.Context, cfg Config, pebDir, engDir string, safePoint uint64) ([]int64, error) {
	var wg sync.WaitGroup
	errs := make([]error, 2)
	var sizes []int64
	for i, dir := range []string{pebDir, engDir} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e, err := regioncache.Open(regioncache.Options{Dir: dir, Capacity: 1 << 40, Durability: regioncache.DurabilityNoSync})
			if err != nil {
				errs[i] = err
				return
			}
			defer func() { errs[i] = errors.Join(errs[i], e.Close()) }()
			if errs[i] = build(ctx, e, cfg); errs[i] != nil || i == 0 {
				return
			}
			sizes, errs[i] = measure(ctx, e, cfg, safePoint)
		}()
	}
	wg.Wait()
	runtime.GC()
	return sizes, errors.Join(errs...)
}

func measure(ctx context.Context, e *regioncache.Engine, cfg Config, safePoint uint64) ([]int64, error) {
	if err := e.GC(safePoint); err != nil {
		return nil, err
	}
	tab := table(cfg.Regions)
	for _, r := range tab {
		if _, err := e.Load(r); err != nil {
			return nil, err
		}
	}
	if err := e.WaitIdle(ctx); err != nil {
		return nil, err
	}
	m, err := e.Metrics()
	if err != nil {
		return nil, err
	}
	sizes := make([]int64, cfg.Regions)
	for _, rs := range m.Regions {
		if rs.State != regioncache.Active {
			return nil, fmt.Errorf("regioncache: measuring region sizes: region %s is %s", rs.Region, rs.State)
		}
		sizes[rs.Region.ID-1] = rs.MemoryBytes
	}
	return sizes, nil
}

// memoryUsed is the engine's accounted memory (0 once closed).
func memoryUsed(e *regioncache.Engine) int64 {
	m, err := e.Metrics()
	if err != nil {
		return 0
	}
	return m.Memory.Used
}

// loadAverage is the machine's 1-minute load average ("" where unknown).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	var one, five, fifteen string
	fmt.Sscan(string(b), &one, &five, &fifteen)
	return one + " " + five + " " + fifteen
}
