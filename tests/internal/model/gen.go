package model

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/regioncache/regioncache/internal/evictreason"
	"github.com/regioncache/regioncache/internal/mvcc"
)

// FarFuture is a read timestamp above every write: it sees the newest version.
const FarFuture = uint64(1) << 62

// Options tune Generate. The zero value gives the defaults.
type Options struct {
	// Steps is how many abstract ops to generate (default 200).
	Steps int
	// Pressure forces (1) or forbids (-1) a small memory capacity; 0 lets
	// the seed decide (one program in three).
	Pressure int
	// InOrder makes every key's writes come in ts order; otherwise the seed
	// decides (one program in two may write below a key's newest version).
	InOrder bool
}

// gen is the generator's state: the host's region table as it evolves, the
// clock, the safe point, held snapshots and armed failpoints.
type gen struct {
	rng      *rand.Rand
	p        *Program
	keys     [][]byte // keys reads and writes use, sorted
	bounds   [][]byte // keys regions may start at, sorted
	table    []mvcc.Region
	history  []mvcc.Region // every descriptor ever current
	nextID   uint64
	nextVer  uint64
	now      uint64 // highest ts written
	sp       uint64 // safe point
	snaps    []heldGen
	nextSnap int
	paused   map[string]int  // armed failpoint -> ops left before it is resumed or turned off
	pausing  map[string]bool // armed failpoints that pause
	valueLen int
	step     int
	// inOrder: every key's writes come in ts order (as in a host whose
	// transactions conflict on a key); otherwise a write may go below
	// the newest version of its key (never at or below the safe point).
	inOrder bool
	written [][]byte // keys written so far, which reads favour
	wrote   map[string]bool
}

type heldGen struct {
	name   string
	region mvcc.Region
}

// Generate returns the program of a seed: the same seed always gives the
// same program. The generator uses math/rand/v2's PCG seeded with seed.
func Generate(seed uint64, o Options) *Program {
	if o.Steps <= 0 {
		o.Steps = 200
	}
	g := &gen{
		rng:     rand.New(rand.NewPCG(seed, seed^0x9E3779B97F4A7C15)),
		p:       &Program{Seed: seed},
		paused:  map[string]int{},
		pausing: map[string]bool{},
		wrote:   map[string]bool{},
	}
	g.setup(o)
	for g.step = 0; g.step < o.Steps; g.step++ {
		g.resumeDue()
		g.one()
	}
	return g.p
}

func (g *gen) chance(pct int) bool { return g.rng.IntN(100) < pct }

func (g *gen) setup(o Options) {
	nkeys := 8 + g.rng.IntN(40)
	for i := 0; i < nkeys; i++ {
		k := []byte(fmt.Sprintf("k%03d", i))
		g.keys = append(g.keys, k)
		if i > 0 {
			g.bounds = append(g.bounds, k)
		}
		// A few binary neighbours, which sort between k%03d keys and render as hex.
		if g.chance(15) {
			g.keys = append(g.keys, append(bytes.Clone(k), 0x00))
		}
		if g.chance(10) {
			g.keys = append(g.keys, append(bytes.Clone(k), 0xff, 0x01))
		}
	}
	if g.chance(30) {
		g.keys = append(g.keys, []byte{}) // the empty key is a key too
	}
	if g.chance(20) {
		g.keys = append(g.keys, []byte("0x-not-hex")) // must be written hex-encoded
	}
	sort.Slice(g.keys, func(i, j int) bool { return bytes.Compare(g.keys[i], g.keys[j]) < 0 })

	g.inOrder = g.chance(50) || o.InOrder
	pressure := o.Pressure > 0 || (o.Pressure == 0 && g.chance(33))
	g.valueLen = 1 + g.rng.IntN(24)
	if pressure {
		g.valueLen = 64 + g.rng.IntN(400)
		capacity := uint64(16<<10 + g.rng.IntN(240<<10))
		g.p.Config.Capacity = capacity
		if g.chance(70) {
			evict := capacity * uint64(50+g.rng.IntN(50)) / 100
			g.p.Config.EvictThreshold = evict
			g.p.Config.StopLoadThreshold = evict * uint64(40+g.rng.IntN(60)) / 100
		}
	}
	if g.chance(60) {
		g.p.Config.Loaders = 1 + g.rng.IntN(3)
	}

	// The host's initial table: 1 to 4 regions partitioning the key space.
	n := 1 + g.rng.IntN(4)
	cuts := g.pickBounds(nil, nil, n-1)
	g.nextVer = 1
	g.table = append(g.table, Partition(cuts, g.nextID+1, g.nextVer)...)
	g.history = append(g.history, g.table...)
	g.nextID += uint64(len(g.table))
	g.nextVer++
	g.p.Initial = slices.Clone(g.table)
}

// Partition is the key space cut at cuts (sorted, distinct, none empty):
// len(cuts)+1 regions with ids from firstID up, all at version, the first
// from the empty key, the last unbounded.
func Partition(cuts [][]byte, firstID, version uint64) []mvcc.Region {
	out := make([]mvcc.Region, 0, len(cuts)+1)
	start := []byte{}
	for i := 0; i <= len(cuts); i++ {
		var end []byte
		if i < len(cuts) {
			end = cuts[i]
		}
		out = append(out, mvcc.Region{ID: firstID + uint64(i), Version: version, Start: start, End: end})
		start = end
	}
	return out
}

// pickBounds picks up to n distinct split points strictly inside [start, end).
func (g *gen) pickBounds(start, end []byte, n int) [][]byte {
	var inside [][]byte
	for _, b := range g.bounds {
		if bytes.Compare(b, start) > 0 && (len(end) == 0 || bytes.Compare(b, end) < 0) {
			inside = append(inside, b)
		}
	}
	g.rng.Shuffle(len(inside), func(i, j int) { inside[i], inside[j] = inside[j], inside[i] })
	if n > len(inside) {
		n = len(inside)
	}
	out := slices.Clone(inside[:n])
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i], out[j]) < 0 })
	return out
}

func (g *gen) emit(op Op) { g.p.Ops = append(g.p.Ops, op) }

// resumeDue lets paused failpoints go within a few ops of their pause, and
// turns most other failpoints off after a while, so that loads get through
// between storms.
func (g *gen) resumeDue() {
	for _, name := range FailpointNames {
		left, ok := g.paused[name]
		if !ok {
			continue
		}
		if left > 0 {
			g.paused[name] = left - 1
			continue
		}
		action := "off"
		if g.pausing[name] && g.chance(60) {
			action = "resume"
		}
		g.emit(Op{Kind: OpFailpoint, Name: name, Action: action})
		delete(g.paused, name)
		delete(g.pausing, name)
	}
}

// FailpointNames are the engine's failpoints.
var FailpointNames = []string{"load/before-copy", "load/after-copy", "evict/before-delete"}

var evictReasons = evictreason.Strings(evictreason.Spec)

func (g *gen) one() {
	type choice struct {
		w  int
		fn func()
	}
	choices := []choice{
		{22, g.write},
		{14, g.get},
		{7, g.scan},
		{10, g.load},
		{6, g.evict},
		{5, g.split},
		{4, g.merge},
		{4, g.snapshot},
		{7, g.snapRead},
		{3, g.release},
		{3, g.gc},
		{4, g.failpoint},
		{3, g.waitIdle},
		{2, g.check},
		{3, g.settle},
		{1, g.sleep},
		{1, g.loadAll},
	}
	if g.p.Config.Pressure() {
		choices = append(choices, choice{2, func() { g.emit(Op{Kind: OpExpectMemory}) }})
	}
	total := 0
	for _, c := range choices {
		total += c.w
	}
	n := g.rng.IntN(total)
	for _, c := range choices {
		if n < c.w {
			c.fn()
			return
		}
		n -= c.w
	}
}

func (g *gen) key() []byte { return g.keys[g.rng.IntN(len(g.keys))] }

// readKey is mostly a key written before, so that reads find versions.
func (g *gen) readKey() []byte {
	if len(g.written) > 0 && g.chance(75) {
		return g.written[g.rng.IntN(len(g.written))]
	}
	return g.key()
}

func (g *gen) keyIn(r mvcc.Region) ([]byte, bool) {
	var in [][]byte
	pool := g.keys
	if len(g.written) > 0 && g.chance(75) {
		pool = g.written
	}
	for _, k := range pool {
		if r.Contains(k) {
			in = append(in, k)
		}
	}
	if len(in) == 0 && len(pool) != len(g.keys) {
		for _, k := range g.keys {
			if r.Contains(k) {
				in = append(in, k)
			}
		}
	}
	if len(in) == 0 {
		return nil, false
	}
	return in[g.rng.IntN(len(in))], true
}

func (g *gen) value() []byte {
	v := fmt.Appendf(nil, "v%d.", g.step)
	for len(v) < g.valueLen {
		v = append(v, byte('a'+g.rng.IntN(26)))
	}
	return v
}

// writeTs is mostly the next tick of the clock, sometimes an older ts above
// the safe point (an older version arriving late, or the same ts again).
func (g *gen) writeTs() uint64 {
	if !g.inOrder && g.now > g.sp && g.chance(20) {
		return g.sp + 1 + g.rng.Uint64N(g.now-g.sp)
	}
	g.now++
	return g.now
}

// readTs covers the interesting read timestamps: the newest, any past one,
// at or below the safe point, and far in the future.
func (g *gen) readTs() uint64 {
	switch n := g.rng.IntN(100); {
	case n < 45:
		return g.now + g.rng.Uint64N(3) + 1
	case n < 65 && g.now > 0:
		return 1 + g.rng.Uint64N(g.now)
	case n < 80 && g.sp > 0:
		return 1 + g.rng.Uint64N(g.sp)
	case n < 88 && g.sp > 0:
		return g.sp + g.rng.Uint64N(2)
	default:
		return FarFuture
	}
}

func (g *gen) mut() Mut {
	m := Mut{Key: g.key(), Ts: g.writeTs()}
	if !g.wrote[string(m.Key)] {
		g.wrote[string(m.Key)] = true
		g.written = append(g.written, m.Key)
	}
	if g.chance(20) {
		m.Tomb = true
	} else {
		m.Value = g.value()
	}
	return m
}

func (g *gen) write() {
	if g.chance(65) {
		g.emit(Op{Kind: OpWrite, Muts: []Mut{g.mut()}})
		return
	}
	n := 2 + g.rng.IntN(6)
	var muts []Mut
	seen := map[string]bool{}
	for i := 0; i < n; i++ {
		m := g.mut()
		id := fmt.Sprintf("%x@%d", m.Key, m.Ts)
		if seen[id] {
			continue
		}
		seen[id] = true
		muts = append(muts, m)
	}
	g.emit(Op{Kind: OpWrite, Muts: muts})
}

func (g *gen) get() {
	g.emit(Op{Kind: OpGet, Key: g.readKey(), Ts: g.readTs()})
}

func (g *gen) scanRange() (start, end []byte) {
	a, b := g.key(), g.key()
	if bytes.Compare(a, b) > 0 {
		a, b = b, a
	}
	if g.chance(15) || bytes.Equal(a, b) {
		b = nil
	}
	if g.chance(10) {
		a = []byte{}
	}
	return a, b
}

func (g *gen) scan() {
	start, end := g.scanRange()
	op := Op{Kind: OpScan, Start: start, End: end, Ts: g.readTs()}
	if g.chance(30) {
		op.Limit = 1 + g.rng.IntN(5)
	}
	g.emit(op)
}

func (g *gen) current() mvcc.Region { return g.table[g.rng.IntN(len(g.table))] }

// stale is a descriptor that is no longer current, if there is one.
func (g *gen) stale() (mvcc.Region, bool) {
	var old []mvcc.Region
	for _, h := range g.history {
		if !slices.ContainsFunc(g.table, func(r mvcc.Region) bool { return r.ID == h.ID && r.Version == h.Version }) {
			old = append(old, h)
		}
	}
	if len(old) == 0 {
		return mvcc.Region{}, false
	}
	return old[g.rng.IntN(len(old))], true
}

func (g *gen) someRegion(stalePct int) mvcc.Region {
	if g.chance(stalePct) {
		if r, ok := g.stale(); ok {
			return r
		}
	}
	return g.current()
}

func (g *gen) load() { g.emit(Op{Kind: OpLoad, Region: g.someRegion(20)}) }

func (g *gen) loadAll() {
	for _, r := range g.table {
		g.emit(Op{Kind: OpLoad, Region: r})
	}
}

func (g *gen) evict() {
	r := g.someRegion(30)
	if g.chance(10) {
		// A range the host never named: whatever overlaps it goes.
		start, end := g.scanRange()
		if len(end) == 0 || bytes.Compare(start, end) < 0 {
			r = mvcc.Region{ID: 500000 + uint64(g.rng.IntN(10)), Version: 1, Start: start, End: end}
		}
	}
	reason := "manual"
	if g.chance(50) {
		reason = evictReasons[g.rng.IntN(len(evictReasons))]
	}
	g.emit(Op{Kind: OpEvict, Region: r, Reason: reason})
}

func (g *gen) split() {
	idx := g.rng.IntN(len(g.table))
	src := g.table[idx]
	cuts := g.pickBounds(src.Start, src.End, 1+g.rng.IntN(2))
	if len(cuts) == 0 {
		return
	}
	ver := g.nextVer
	g.nextVer++
	keep := g.rng.IntN(len(cuts) + 1)
	var into []mvcc.Region
	start := src.Start
	for i := 0; i <= len(cuts); i++ {
		end := src.End
		if i < len(cuts) {
			end = cuts[i]
		}
		id := src.ID
		if i != keep {
			g.nextID++
			id = g.nextID
		}
		into = append(into, mvcc.Region{ID: id, Version: ver, Start: start, End: end})
		start = end
	}
	g.table = slices.Replace(g.table, idx, idx+1, into...)
	g.history = append(g.history, into...)
	listed := slices.Clone(into)
	g.rng.Shuffle(len(listed), func(i, j int) { listed[i], listed[j] = listed[j], listed[i] })
	g.emit(Op{Kind: OpSplit, Region: src, Into: listed})
}

func (g *gen) merge() {
	if len(g.table) < 2 {
		return
	}
	n := 2
	if len(g.table) >= 3 && g.chance(25) {
		n = 3
	}
	i := g.rng.IntN(len(g.table) - n + 1)
	srcs := slices.Clone(g.table[i : i+n])
	into := mvcc.Region{ID: srcs[g.rng.IntN(n)].ID, Version: g.nextVer, Start: srcs[0].Start, End: srcs[n-1].End}
	g.nextVer++
	g.table = slices.Replace(g.table, i, i+n, into)
	g.history = append(g.history, into)
	g.rng.Shuffle(len(srcs), func(a, b int) { srcs[a], srcs[b] = srcs[b], srcs[a] })
	g.emit(Op{Kind: OpMerge, Regions: srcs, Into: []mvcc.Region{into}})
}

func (g *gen) snapshot() {
	if len(g.snaps) >= 4 {
		g.release()
		return
	}
	g.nextSnap++
	name := fmt.Sprintf("s%d", g.nextSnap)
	r := g.someRegion(20)
	g.snaps = append(g.snaps, heldGen{name: name, region: r})
	g.emit(Op{Kind: OpSnapshot, Snap: name, Region: r, Ts: g.readTs()})
}

func (g *gen) snapRead() {
	if len(g.snaps) == 0 {
		g.snapshot()
		return
	}
	s := g.snaps[g.rng.IntN(len(g.snaps))]
	var ts uint64
	if g.chance(40) {
		ts = g.readTs()
	}
	if k, ok := g.keyIn(s.region); ok && g.chance(60) {
		g.emit(Op{Kind: OpGet, Key: k, Ts: ts, Snap: s.name})
		return
	}
	start, end := g.scanRange()
	op := Op{Kind: OpScan, Start: start, End: end, Ts: ts, Snap: s.name}
	if op.Ts == 0 {
		op.Ts = g.readTs() // a scan always names its ts
	}
	if g.chance(25) {
		op.Limit = 1 + g.rng.IntN(4)
	}
	g.emit(op)
}

func (g *gen) release() {
	if len(g.snaps) == 0 {
		return
	}
	i := g.rng.IntN(len(g.snaps))
	g.emit(Op{Kind: OpRelease, Snap: g.snaps[i].name})
	g.snaps = slices.Delete(g.snaps, i, i+1)
}

func (g *gen) gc() {
	if g.now <= g.sp {
		return
	}
	g.sp += 1 + g.rng.Uint64N(g.now-g.sp)
	g.emit(Op{Kind: OpGC, Ts: g.sp})
}

func (g *gen) failpoint() {
	name := FailpointNames[g.rng.IntN(len(FailpointNames))]
	var action string
	switch n := g.rng.IntN(100); {
	case n < 20:
		action = "pause"
	case n < 38:
		action = "error"
	case n < 53:
		action = "panic"
	case n < 73:
		action = fmt.Sprintf("delay:%dms", 1+g.rng.IntN(5))
	default:
		action = "off"
	}
	delete(g.paused, name)
	delete(g.pausing, name)
	switch {
	case action == "pause":
		g.paused[name] = 1 + g.rng.IntN(5)
		g.pausing[name] = true
	case action != "off" && g.chance(70):
		g.paused[name] = 1 + g.rng.IntN(12)
	}
	g.emit(Op{Kind: OpFailpoint, Name: name, Action: action})
}

func (g *gen) waitIdle() {
	if len(g.pausing) == 0 {
		g.emit(Op{Kind: OpWaitIdle})
	}
}

func (g *gen) check() { g.emit(Op{Kind: OpCheck}) }

func (g *gen) sleep() {
	g.emit(Op{Kind: OpSleep, For: time.Duration(1+g.rng.IntN(4)) * time.Millisecond})
}

// settle makes a current region the only active one (Render turns off the
// failpoints, releases snapshots and evicts everything first), then reads
// it, where the generator knows reads are served from memory.
func (g *gen) settle() {
	r := g.current()
	g.emit(Op{Kind: OpSettle, Region: r})
	clear(g.paused)
	clear(g.pausing)
	g.snaps = nil
	for n := 2 + g.rng.IntN(6); n > 0; n-- {
		switch g.rng.IntN(5) {
		case 0, 1:
			if k, ok := g.keyIn(r); ok {
				g.emit(Op{Kind: OpGet, Key: k, Ts: g.readTs()})
			}
		case 2:
			g.write()
		case 3:
			start, end := r.Start, r.End
			if g.chance(50) {
				start, end = g.scanRange()
			}
			g.emit(Op{Kind: OpScan, Start: start, End: end, Ts: g.readTs()})
		case 4:
			g.snapshot()
			if len(g.snaps) > 0 {
				g.snaps[len(g.snaps)-1].region = r
				g.p.Ops[len(g.p.Ops)-1].Region = r
			}
		}
	}
}
