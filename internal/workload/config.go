package workload

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// Config is one run. Zero fields take the defaults of Default (or Quick),
// unless Exact is set.
type Config struct {
	// Exact: every field is used as given, zeros included (DeleteShare 0:
	// no delete markers; Skew 0: uniform; Seed 0). Start such a Config from
	// Default, Quick or WithDefaults.
	Exact bool
	// Regions, KeysPerRegion, Versions: the data. Every key has Versions
	// versions on disk (the host's GC lags); DeleteShare of them, and of
	// the writes, are delete markers. Values are ValueSize bytes.
	Regions, KeysPerRegion, Versions int
	DeleteShare                      float64
	ValueSize                        int
	// Skew of the zipfian choice of region and of key within it.
	Skew float64
	// Mix of scans, gets and writes; ScanLength keys a scan returns at most.
	Mix        Mix
	ScanLength int
	// Ops in the stream, run in chunks of Chunk, the two sides alternating.
	Ops, Chunk int
	// Readers run a chunk's reads; one writer runs its writes.
	Readers int
	Seed    uint64
	// Coverage and CapacityFactor size the cache: CapacityFactor times the
	// bytes of the regions the best static choice needs to serve Coverage
	// of the reads.
	Coverage, CapacityFactor float64
	// EvictPercent and StopLoadPercent of the capacity are the engine's
	// thresholds.
	EvictPercent, StopLoadPercent int
	// Interval of automatic load/evict rounds; MaxLoadsPerRound bounds a
	// round's loads (0: the engine's default).
	Interval         time.Duration
	MaxLoadsPerRound int
	// SafePointLag: the cache's safe point follows the read timestamp at
	// this distance (in writes), advanced when it falls 1.5 times as far
	// behind.
	SafePointLag uint64
	// Warmup is the share of the first phase not counted in the hit ratio
	// after warm-up (and in the first phase's ratio to the static choice).
	Warmup float64
	// SampleEvery: every SampleEvery-th read's answers are compared.
	SampleEvery int
	// Dir holds the two Pebble directories ("" : a temporary directory,
	// removed at the end).
	Dir string
	// ManualRounds: no timer; the driver runs a round after every chunk
	// pair and waits for its loads (tests: deterministic, no timing).
	ManualRounds bool
	// Progress receives a line per step; nil: silent.
	Progress io.Writer
	// Quick marks a scaled-down run.
	Quick bool
}

// Default is the full run.
func Default() Config {
	return Config{
		Regions: 256, KeysPerRegion: 400, Versions: 50, DeleteShare: 0.1, ValueSize: 64,
		Skew: 0.99, Mix: Mix{Scan: 70, Get: 25, Write: 5}, ScanLength: 10,
		Ops: 1_000_000, Chunk: 1000, Readers: 4, Seed: 1,
		Coverage: 0.995, CapacityFactor: 1.1, EvictPercent: 97, StopLoadPercent: 95,
		Interval: time.Second, SafePointLag: 2000, Warmup: 0.2, SampleEvery: 8,
	}
}

// Quick is a run of well under a minute.
func Quick() Config {
	c := Default()
	c.Regions, c.KeysPerRegion = 64, 200
	c.Ops, c.Chunk = 150_000, 500
	c.Interval = 200 * time.Millisecond
	c.SafePointLag = 500
	c.Quick = true
	return c
}

// WithDefaults fills zero fields from Default (Quick when c.Quick); a
// Chunk left zero is at most a hundredth of Ops.
func (c Config) WithDefaults() Config {
	d := Default()
	if c.Quick {
		d = Quick()
	}
	set := func(v *int, dv int) {
		if *v == 0 {
			*v = dv
		}
	}
	setf := func(v *float64, dv float64) {
		if *v == 0 {
			*v = dv
		}
	}
	set(&c.Regions, d.Regions)
	set(&c.KeysPerRegion, d.KeysPerRegion)
	set(&c.Versions, d.Versions)
	set(&c.ValueSize, d.ValueSize)
	set(&c.ScanLength, d.ScanLength)
	set(&c.Ops, d.Ops)
	// A short stream still has enough chunks to interleave.
	set(&c.Chunk, min(d.Chunk, max(1, c.Ops/100)))
	set(&c.Readers, d.Readers)
	set(&c.SampleEvery, d.SampleEvery)
	set(&c.EvictPercent, d.EvictPercent)
	set(&c.StopLoadPercent, d.StopLoadPercent)
	setf(&c.DeleteShare, d.DeleteShare)
	setf(&c.Skew, d.Skew)
	setf(&c.Coverage, d.Coverage)
	setf(&c.CapacityFactor, d.CapacityFactor)
	setf(&c.Warmup, d.Warmup)
	if c.Mix == (Mix{}) {
		c.Mix = d.Mix
	}
	if c.Seed == 0 {
		c.Seed = d.Seed
	}
	if c.Interval == 0 {
		c.Interval = d.Interval
	}
	if c.SafePointLag == 0 {
		c.SafePointLag = d.SafePointLag
	}
	return c
}

// resolved is the configuration a run uses: c itself when Exact, else
// WithDefaults.
func (c Config) resolved() Config {
	if c.Exact {
		return c
	}
	return c.WithDefaults()
}

// ErrConfig reports settings a run cannot use.
var ErrConfig = errors.New("regioncache: invalid workload settings")

func (c Config) validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, a...)...)
	}
	// Comparisons are written so that NaN fails them.
	switch {
	case c.Regions < 2 || c.Regions > 1<<16:
		return bad("regions %d: want 2..65536", c.Regions)
	case c.KeysPerRegion < 1 || c.KeysPerRegion > 1<<24:
		return bad("keys per region %d: want 1..16777216", c.KeysPerRegion)
	case c.Versions < 1 || c.Versions > MaxVersionsOnDisk:
		return bad("versions %d: want 1..%d", c.Versions, MaxVersionsOnDisk)
	case int64(c.Regions)*int64(c.KeysPerRegion)*int64(c.Versions) > MaxVersionsOnDisk:
		return bad("%d regions x %d keys x %d versions is %d versions on disk: want at most %d",
			c.Regions, c.KeysPerRegion, c.Versions, int64(c.Regions)*int64(c.KeysPerRegion)*int64(c.Versions), MaxVersionsOnDisk)
	case !(c.DeleteShare >= 0 && c.DeleteShare < 1):
		return bad("delete share %g: want [0, 1)", c.DeleteShare)
	case !(c.Skew >= 0 && c.Skew <= MaxSkew):
		return bad("skew %g: want 0 (uniform) to %g", c.Skew, MaxSkew)
	case c.Chunk < 1 || c.Chunk > MaxChunk:
		return bad("chunk %d: want 1..%d ops", c.Chunk, MaxChunk)
	case c.Ops < 2*c.Chunk || c.Ops > MaxOps:
		return bad("%d ops: want at least two chunks of %d, at most %d", c.Ops, c.Chunk, MaxOps)
	case c.Readers < 1 || c.Readers > MaxReaders:
		return bad("readers %d: want 1..%d", c.Readers, MaxReaders)
	case !(c.Coverage > 0 && c.Coverage <= 1):
		return bad("coverage %g", c.Coverage)
	case !(c.CapacityFactor > 0):
		return bad("capacity factor %g", c.CapacityFactor)
	case c.EvictPercent < 1 || c.EvictPercent > 100 || c.StopLoadPercent < 1 || c.StopLoadPercent > c.EvictPercent:
		return bad("thresholds %d%%/%d%%: want 1 <= stop-load <= evict <= 100", c.EvictPercent, c.StopLoadPercent)
	case !(c.Warmup >= 0 && c.Warmup < 1):
		return bad("warm-up %g", c.Warmup)
	case c.Interval < time.Millisecond:
		return bad("interval %s: want at least 1ms", c.Interval)
	}
	return nil
}

// Bounds of a run's settings: beyond them a run cannot fit a machine or
// finish (validate refuses them).
const (
	// MaxVersionsOnDisk bounds Regions x KeysPerRegion x Versions (each
	// side holds them all on disk: about 13 GB at the default value size).
	MaxVersionsOnDisk = 1 << 27
	MaxOps            = 1 << 32
	MaxChunk          = 1 << 20 // a chunk's ops are generated at once
	MaxReaders        = 1024
	MaxSkew           = 10.0 // beyond it nearly every op goes to the first rank anyway
)

// Key is key k of region r; region r holds the keys with its prefix.
func Key(r, k uint32) []byte { return fmt.Appendf(nil, "r%05d/k%07d", r, k) }

// RegionStart is where region r starts; it ends where r+1 starts.
func RegionStart(r uint32) []byte { return fmt.Appendf(nil, "r%05d/", r) }

// Initial versions are at ts Stride, 2*Stride, ..., Versions*Stride; reads
// start at Versions*Stride+1 and writes follow above.
const Stride = 10
