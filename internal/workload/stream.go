// Package workload is the driver of `demo workload`: one seeded stream of
// operations (zipfian choice of region and key; short scans, point gets and
// writes) run against two engines in one process, side by side and
// interleaved in chunks so that machine noise hits both: Pebble alone (the
// engine with caching off) and the engine with automatic load/evict on and a
// capacity well below the data. The host declares its region table, then
// only writes, reads and advances the cache's safe point; every load and
// eviction is the engine's own. Midway the hot set moves.
//
// It reports hit ratio, read latency, throughput, CPU per read, memory and
// the answers of both sides (a sample must be identical), against the best
// static choice of regions that fits the capacity, as a table, JSON and a
// picture (SVG or HTML).
package workload

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
)

// Kind is what an operation does.
type Kind uint8

// Operation kinds.
const (
	Scan Kind = iota
	Get
	Write
)

func (k Kind) String() string {
	switch k {
	case Scan:
		return "scan"
	case Get:
		return "get"
	default:
		return "write"
	}
}

// Mix is the share of each kind, in percent (they add up to 100).
type Mix struct{ Scan, Get, Write int }

// ParseMix reads "scan/get/write" percentages, e.g. "70/25/5".
func ParseMix(s string) (Mix, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 3 {
		return Mix{}, fmt.Errorf("regioncache: mix %q: want scan/get/write percentages, e.g. 70/25/5", s)
	}
	var v [3]int
	for i, p := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 0 {
			return Mix{}, fmt.Errorf("regioncache: mix %q: %q is not a percentage", s, p)
		}
		v[i] = n
	}
	m := Mix{Scan: v[0], Get: v[1], Write: v[2]}
	if m.Scan+m.Get+m.Write != 100 {
		return Mix{}, fmt.Errorf("regioncache: mix %q adds up to %d, not 100", s, m.Scan+m.Get+m.Write)
	}
	if m.Scan+m.Get == 0 {
		return Mix{}, fmt.Errorf("regioncache: mix %q has no reads", s)
	}
	return m, nil
}

func (m Mix) String() string { return fmt.Sprintf("%d/%d/%d", m.Scan, m.Get, m.Write) }

// Zipf draws ranks 0..n-1 with probability proportional to 1/(rank+1)^skew
// (any skew >= 0; math/rand's Zipf needs skew > 1).
type Zipf struct{ cdf []float64 }

// NewZipf returns the distribution over n ranks.
func NewZipf(n int, skew float64) Zipf {
	p := ZipfProbabilities(n, skew)
	cdf := make([]float64, n)
	sum := 0.0
	for i, x := range p {
		sum += x
		cdf[i] = sum
	}
	cdf[n-1] = 1
	return Zipf{cdf: cdf}
}

// ZipfProbabilities are the probabilities of ranks 0..n-1.
func ZipfProbabilities(n int, skew float64) []float64 {
	p := make([]float64, n)
	sum := 0.0
	for i := range p {
		p[i] = 1 / math.Pow(float64(i+1), skew)
		sum += p[i]
	}
	for i := range p {
		p[i] /= sum
	}
	return p
}

// Rank draws one rank.
func (z Zipf) Rank(r *rand.Rand) int {
	u := r.Float64()
	return sort.SearchFloat64s(z.cdf, u)
}

// Op is one operation of the stream.
type Op struct {
	Kind   Kind
	Region uint32
	Key    uint32
	// Delete: a write that is a delete marker.
	Delete bool
}

// Stream generates the operations, chunk by chunk, the same for a seed.
type Stream struct {
	cfg       Config
	regionZ   Zipf
	keyZ      Zipf
	perm      []uint32 // phase 1: region rank -> region
	keyStride uint32
}

// NewStream prepares the stream of cfg.
func NewStream(cfg Config) *Stream {
	s := &Stream{cfg: cfg, regionZ: NewZipf(cfg.Regions, cfg.Skew), keyZ: NewZipf(cfg.KeysPerRegion, cfg.Skew)}
	r := rand.New(rand.NewPCG(cfg.Seed, 1))
	s.perm = make([]uint32, cfg.Regions)
	for i, v := range r.Perm(cfg.Regions) {
		s.perm[i] = uint32(v)
	}
	// Hot keys are spread over the region: rank k is key k*stride mod n,
	// with a stride coprime with n.
	s.keyStride = 1
	for _, p := range []uint32{7919, 104729, 1299709} {
		if gcd(p, uint32(cfg.KeysPerRegion)) == 1 {
			s.keyStride = p
			break
		}
	}
	return s
}

func gcd(a, b uint32) uint32 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// RegionOf is the region that region rank takes in a phase (0 before the
// move, 1 after). The move gives the hottest ranks to the regions that were
// coldest: the hot set moves to regions the cache does not hold.
func (s *Stream) RegionOf(phase, rank int) uint32 {
	if phase == 0 {
		return s.perm[rank]
	}
	return s.perm[len(s.perm)-1-rank]
}

// RegionProbabilities is each region's share of operations in a phase.
func (s *Stream) RegionProbabilities(phase int) []float64 {
	p := ZipfProbabilities(s.cfg.Regions, s.cfg.Skew)
	out := make([]float64, s.cfg.Regions)
	for rank, x := range p {
		out[s.RegionOf(phase, rank)] = x
	}
	return out
}

// Chunk returns the operations of chunk c: ops [c*Chunk, (c+1)*Chunk) of the
// stream, in the phase the chunk is in.
func (s *Stream) Chunk(c int) []Op {
	cfg := s.cfg
	r := rand.New(rand.NewPCG(cfg.Seed, uint64(c)+2))
	n := min(cfg.Chunk, cfg.Ops-c*cfg.Chunk)
	phase := s.PhaseOf(c * cfg.Chunk)
	ops := make([]Op, n)
	for i := range ops {
		o := &ops[i]
		x := r.IntN(100)
		switch {
		case x < cfg.Mix.Scan:
			o.Kind = Scan
		case x < cfg.Mix.Scan+cfg.Mix.Get:
			o.Kind = Get
		default:
			o.Kind = Write
			o.Delete = r.Float64() < cfg.DeleteShare
		}
		o.Region = s.RegionOf(phase, s.regionZ.Rank(r))
		o.Key = uint32((uint64(s.keyZ.Rank(r)) * uint64(s.keyStride)) % uint64(cfg.KeysPerRegion))
	}
	return ops
}

// PhaseOf is the phase of the op at stream position i: the hot set moves at
// the chunk boundary nearest the middle.
func (s *Stream) PhaseOf(i int) int {
	if i >= s.MoveAt() {
		return 1
	}
	return 0
}

// MoveAt is the stream position where the hot set moves.
func (s *Stream) MoveAt() int {
	chunks := (s.cfg.Ops + s.cfg.Chunk - 1) / s.cfg.Chunk
	return chunks / 2 * s.cfg.Chunk
}

// Chunks is how many chunks the stream has.
func (s *Stream) Chunks() int { return (s.cfg.Ops + s.cfg.Chunk - 1) / s.cfg.Chunk }
