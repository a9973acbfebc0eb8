package memstore

import (
	"bytes"
	"cmp"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/regioncache/regioncache/internal/mvcc"
)

// The write layer holds the versions written to a region since its base run
// was built, as a short stack of sorted, immutable segments: a batch becomes
// one segment (its versions copied into the layer's arena and sorted, one
// allocation for its entries), and segments of similar size are merged as
// they come, as a binary counter carries, so that a layer of n versions has
// at most log2(n / batch) segments and each version is copied that many
// times in sequential merges. A write never searches the layer. Readers
// search each segment (Get) or merge them (Scan, compaction); snapshots share
// the segments, which never change once built.

// WriteEntryOverhead is what a version in a write layer costs beyond its key
// and value: its 56-byte entry in a segment and its share of the segment's
// and the arena's slack.
const WriteEntryOverhead = 64

// wentry is one version in a write layer, 56 bytes; key and value are
// strings over the layer's arena.
type wentry struct {
	key   string
	value string
	ts    uint64
	// prefix summarises key for ordering (see wprefix): entries whose
	// prefixes differ compare without reading the key's bytes.
	prefix uint64
	// meta is the batch's sequence number << metaSeqShift | the flags
	// below. Sequence numbers grow with every batch a store takes, so
	// that an install can tell the versions a compaction folded (those at
	// or below the sequence number of its view) from those written since.
	meta uint64
}

const (
	metaTomb = 1 // a delete marker
	// metaRewritten: the version was written again at its ts over an older
	// copy in the layer. The older copy may still be in a compaction's view
	// (and so in the run it installs), so GCWrites keeps this one for a
	// compaction to drop together with it (see GCWrites).
	metaRewritten = 2
	// metaWhole: the key is the layer's common prefix and at most 8 bytes
	// more, so that its prefix and length say all of it (see wcmp).
	metaWhole    = 4
	metaSeqShift = 3
)

func (e *wentry) tomb() bool      { return e.meta&metaTomb != 0 }
func (e *wentry) rewritten() bool { return e.meta&metaRewritten != 0 }
func (e *wentry) seq() uint64     { return e.meta >> metaSeqShift }
func (e *wentry) size() int64     { return int64(len(e.key)+len(e.value)) + WriteEntryOverhead }

// wcmp orders entries as a run does: key ascending, then ts descending.
// Equal prefixes of two keys that both lie wholly in their prefixes (the
// same key, most often, written at another ts) are decided by the keys'
// lengths, without reading their bytes: a key's prefix is its bytes after
// the layer's common prefix, zero-padded, so the shorter is a prefix of
// the longer.
func wcmp(a, b *wentry) int {
	if a.prefix != b.prefix {
		if a.prefix < b.prefix {
			return -1
		}
		return 1
	}
	if a.meta&b.meta&metaWhole != 0 {
		if c := cmp.Compare(len(a.key), len(b.key)); c != 0 {
			return c
		}
	} else if c := strings.Compare(a.key, b.key); c != 0 {
		return c
	}
	return cmp.Compare(b.ts, a.ts)
}

// sameKey says whether a and b have the same key (see wcmp).
func sameKey(a, b *wentry) bool {
	if a.prefix != b.prefix || len(a.key) != len(b.key) {
		return false
	}
	return a.meta&b.meta&metaWhole != 0 || a.key == b.key
}

// probe is the entry a search for key at ts compares with.
func probe(key []byte, ts uint64, cp []byte) wentry {
	e := wentry{key: str(key), ts: ts, prefix: wprefix(key, cp)}
	if wholeInPrefix(key, cp) {
		e.meta = metaWhole
	}
	return e
}

// wholeInPrefix says whether key is cp and at most 8 bytes more.
func wholeInPrefix(key, cp []byte) bool {
	return len(key) <= len(cp)+8 && bytes.HasPrefix(key, cp)
}

// wprefix is key's prefix in a layer whose keys mostly share cp: the 8 bytes
// after cp (big-endian, zero-padded) when key has it, else 0 for a key below
// every key with cp and MaxUint64 for one above them. It is a weak summary:
// wprefix(a, cp) < wprefix(b, cp) implies a < b, equal prefixes decide
// nothing. cp only makes it more or less useful, never wrong.
func wprefix(key, cp []byte) uint64 {
	if bytes.HasPrefix(key, cp) {
		return keyPrefix(key[len(cp):])
	}
	if bytes.Compare(key, cp) < 0 {
		return 0
	}
	return math.MaxUint64
}

// seg is one sorted segment of a write layer: no two entries with the same
// key and ts. Its entries are never changed once it is built (views and
// split children share them, sliced).
type seg struct {
	e              []wentry
	minSeq, maxSeq uint64
	minTs, maxTs   uint64
	bytes          int64 // the accounted bytes of its entries
}

// newSeg wraps sorted entries, computing the segment's bounds.
func newSeg(e []wentry) *seg {
	g := &seg{e: e, minSeq: math.MaxUint64, minTs: math.MaxUint64}
	for i := range e {
		x := &e[i]
		g.minSeq, g.maxSeq = min(g.minSeq, x.seq()), max(g.maxSeq, x.seq())
		g.minTs, g.maxTs = min(g.minTs, x.ts), max(g.maxTs, x.ts)
		g.bytes += x.size()
	}
	return g
}

// seek returns the index of the first entry at or after k.
func (g *seg) seek(k *wentry) int {
	lo, hi := 0, len(g.e)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if wcmp(&g.e[mid], k) < 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// mergeSegs merges two segments, b written after a: of a version in both
// (written again at its ts), b's copy wins. delta is the accounted bytes
// the dropped copies held (negative).
func mergeSegs(a, b *seg) (m *seg, delta int64) {
	ae, be := a.e, b.e
	out := make([]wentry, len(ae)+len(be))
	i, j, k := 0, 0, 0
	for i < len(ae) && j < len(be) {
		x, y := &ae[i], &be[j]
		c := -1
		if x.prefix > y.prefix {
			c = 1
		} else if x.prefix == y.prefix {
			c = wcmp(x, y)
		}
		switch {
		case c < 0:
			out[k] = *x
			i++
		case c > 0:
			out[k] = *y
			j++
		default:
			delta -= x.size()
			out[k] = *y
			out[k].meta |= metaRewritten
			i++
			j++
		}
		k++
	}
	k += copy(out[k:], ae[i:])
	k += copy(out[k:], be[j:])
	out = out[:k]
	if delta != 0 {
		// The bounds of what is left; the dropped copies may have set them.
		return newSeg(out), delta
	}
	return &seg{
		e:      out,
		minSeq: min(a.minSeq, b.minSeq), maxSeq: max(a.maxSeq, b.maxSeq),
		minTs: min(a.minTs, b.minTs), maxTs: max(a.maxTs, b.maxTs),
		bytes: a.bytes + b.bytes,
	}, 0
}

// pushSeg returns segs with g on top, merging while the segment below is
// less than twice the size of the one above it. The slice given is not
// changed (views share it).
func pushSeg(segs []*seg, g *seg) (out []*seg, delta int64) {
	out = make([]*seg, 0, len(segs)+1)
	out = append(append(out, segs...), g)
	for n := len(out); n >= 2 && len(out[n-2].e) < 2*len(out[n-1].e); n = len(out) {
		m, d := mergeSegs(out[n-2], out[n-1])
		delta += d
		out = append(out[:n-2], m)
	}
	return out, delta
}

// wmerge walks the versions of a write layer's segments in order, each
// version once (of one written again at its ts, the newest copy): a heap of
// the segments by their next version, so a step costs O(log segments)
// compares.
type wmerge struct {
	heads [][]wentry // what is left of each segment, oldest segment first
	buf   [8][]wentry
	h     []int // the segments with versions left, a heap by their heads
	hbuf  [8]int
	cur   *wentry // the smallest head; nil when the walk is done
	// curOver: cur was written again over an older copy that the walk
	// steps over.
	curOver bool
}

// start starts the walk at start, before end (empty: unbounded).
func (m *wmerge) start(segs []*seg, cp []byte, start, end []byte) {
	m.bound(segs, cp, start, end)
	m.h = m.hbuf[:0]
	for i, h := range m.heads {
		if len(h) > 0 {
			m.h = append(m.h, i)
		}
	}
	for i := len(m.h)/2 - 1; i >= 0; i-- {
		m.down(i)
	}
	m.show()
}

// bound sets each head to its segment's versions in [start, end).
func (m *wmerge) bound(segs []*seg, cp []byte, start, end []byte) {
	m.heads = m.buf[:0]
	var sk, ek wentry
	if len(start) > 0 {
		sk = probe(start, mvcc.MaxTS, cp)
	}
	if len(end) > 0 {
		ek = probe(end, mvcc.MaxTS, cp)
	}
	for _, g := range segs {
		lo, hi := 0, len(g.e)
		if len(start) > 0 {
			lo = g.seek(&sk)
		}
		if len(end) > 0 {
			hi = g.seek(&ek)
		}
		if lo < hi {
			m.heads = append(m.heads, g.e[lo:hi])
		} else {
			m.heads = append(m.heads, nil)
		}
	}
}

// less orders segments by their heads; of equal heads (a version written
// again at its ts) the later segment's first.
func (m *wmerge) less(a, b int) bool {
	if c := wcmp(&m.heads[a][0], &m.heads[b][0]); c != 0 {
		return c < 0
	}
	return a > b
}

func (m *wmerge) down(i int) {
	n := len(m.h)
	for {
		c := 2*i + 1
		if c >= n {
			return
		}
		if r := c + 1; r < n && m.less(m.h[r], m.h[c]) {
			c = r
		}
		if !m.less(m.h[c], m.h[i]) {
			return
		}
		m.h[i], m.h[c] = m.h[c], m.h[i]
		i = c
	}
}

// show makes the heap's top the current version. An older copy of it is
// the second smallest head, a child of the top.
func (m *wmerge) show() {
	m.cur, m.curOver = nil, false
	if len(m.h) == 0 {
		return
	}
	m.cur = &m.heads[m.h[0]][0]
	for c := 1; c <= 2 && c < len(m.h); c++ {
		if wcmp(&m.heads[m.h[c]][0], m.cur) == 0 {
			m.curOver = true
		}
	}
}

// advance steps the top segment past its head.
func (m *wmerge) advance() {
	top := m.h[0]
	if m.heads[top] = m.heads[top][1:]; len(m.heads[top]) == 0 {
		last := len(m.h) - 1
		m.h[0] = m.h[last]
		m.h = m.h[:last]
	}
	if len(m.h) > 0 {
		m.down(0)
	}
}

// next steps past cur and the older copies of it.
func (m *wmerge) next() {
	done := m.cur
	m.advance()
	for len(m.h) > 0 && wcmp(&m.heads[m.h[0]][0], done) == 0 {
		m.advance()
	}
	m.show()
}

// layerGet returns the newest version of key at or below ts in the write
// layer (nil: none).
func (v *View) layerGet(key []byte, ts uint64) *wentry {
	if len(v.segs) == 0 {
		return nil
	}
	k := probe(key, ts, v.wcp)
	var best *wentry
	for i := len(v.segs) - 1; i >= 0; i-- {
		g := v.segs[i]
		if g.minTs > ts || (best != nil && g.maxTs <= best.ts) {
			continue // nothing in g could be newer than best and at or below ts
		}
		j := g.seek(&k)
		if j < len(g.e) {
			e := &g.e[j]
			if sameKey(e, &k) && (best == nil || e.ts > best.ts) {
				best = e
			}
		}
	}
	return best
}

// layerHolds says whether the write layer holds a version of a key in
// [start, end) (end empty: unbounded).
func (v *View) layerHolds(start, end []byte) bool {
	k := probe(start, mvcc.MaxTS, v.wcp)
	for _, g := range v.segs {
		if i := g.seek(&k); i < len(g.e) && (len(end) == 0 || g.e[i].key < str(end)) {
			return true
		}
	}
	return false
}

// Write adds a batch of versions to the write layer as one segment
// (replacing versions of the same key and ts there; of several in the batch,
// the last) and returns the change in accounted bytes. Keys and values are
// copied.
func (s *Store) Write(muts []mvcc.Mutation) (delta int64) {
	if len(muts) == 0 {
		return 0
	}
	if s.wn == 0 {
		s.wcp = s.layerCommonPrefix(muts)
	}
	s.seq++
	// Run order; of one key and ts, the batch's last first (and kept).
	// The sort moves 16-byte keys, not entries.
	op := orderPool.Get().(*[]batchOrder)
	defer orderPool.Put(op)
	ord := (*op)[:0]
	for i := range muts {
		ord = append(ord, batchOrder{prefix: wprefix(muts[i].Key, s.wcp), i: i})
	}
	slices.SortFunc(ord, func(a, b batchOrder) int {
		if a.prefix != b.prefix {
			return cmp.Compare(a.prefix, b.prefix)
		}
		x, y := &muts[a.i], &muts[b.i]
		if c := bytes.Compare(x.Key, y.Key); c != 0 {
			return c
		}
		if c := cmp.Compare(y.Ts, x.Ts); c != 0 {
			return c
		}
		return cmp.Compare(b.i, a.i)
	})
	*op = ord[:0]
	e := make([]wentry, len(muts))
	n := 0
	var last *mvcc.Mutation
	for _, o := range ord {
		m := &muts[o.i]
		if last != nil && m.Ts == last.Ts && bytes.Equal(m.Key, last.Key) {
			continue // an earlier write of the batch at the same key and ts
		}
		last = m
		x := &e[n]
		*x = wentry{key: s.arena.copy(m.Key), ts: m.Ts, prefix: o.prefix, meta: s.seq << metaSeqShift}
		if wholeInPrefix(m.Key, s.wcp) {
			x.meta |= metaWhole
		}
		if m.Tombstone {
			x.meta |= metaTomb
		} else {
			x.value = s.arena.copy(m.Value)
		}
		n++
	}
	g := newSeg(e[:n:n])
	segs, d := pushSeg(s.segs, g)
	s.setSegs(segs)
	delta = g.bytes + d
	s.wBytes += delta
	return delta
}

// batchOrder is a version of a batch being sorted: its key's prefix and its
// index in the batch.
type batchOrder struct {
	prefix uint64
	i      int
}

// orderPool holds Write's sort arrays between batches (of any store: an
// array per store would stay with every store ever written).
var orderPool = sync.Pool{New: func() any { return new([]batchOrder) }}

// layerCommonPrefix is the prefix the keys of a new write layer are
// summarised after: what the base run's keys share, else what the region's
// bounds share, else what the first batch's keys share.
func (s *Store) layerCommonPrefix(muts []mvcc.Mutation) []byte {
	if s.base != nil && s.bhi > s.blo {
		return s.base.cp
	}
	if len(s.hi) > 0 {
		return s.lo[:commonPrefixLen(s.lo, s.hi)]
	}
	lo, hi := muts[0].Key, muts[0].Key
	for i := range muts {
		if bytes.Compare(muts[i].Key, lo) < 0 {
			lo = muts[i].Key
		}
		if bytes.Compare(muts[i].Key, hi) > 0 {
			hi = muts[i].Key
		}
	}
	return bytes.Clone(lo[:commonPrefixLen(lo, hi)])
}

// setSegs makes segs the write layer.
func (s *Store) setSegs(segs []*seg) {
	s.segs = segs
	s.wn = 0
	for _, g := range segs {
		s.wn += len(g.e)
	}
	if s.wn == 0 {
		s.segs, s.wcp = nil, nil
	}
}

// wMinTs is the lowest ts in the write layer (0 when it is empty).
func (v *View) wMinTs() uint64 {
	if v.wn == 0 {
		return 0
	}
	m := uint64(math.MaxUint64)
	for _, g := range v.segs {
		m = min(m, g.minTs)
	}
	return m
}

// rebuild replaces the write layer by one segment of the versions keep
// accepts, in order (each version once; over says the version was written
// again over an older copy), and returns the versions dropped and the
// change in accounted bytes; the layer is left as it is when keep accepts
// all and it has a single segment.
func (s *Store) rebuild(keep func(e *wentry, over bool) bool) (dropped int, delta int64) {
	var old int64
	for _, g := range s.segs {
		old += g.bytes
	}
	var m wmerge
	m.start(s.segs, s.wcp, nil, nil)
	out := make([]wentry, 0, s.wn)
	for ; m.cur != nil; m.next() {
		if keep(m.cur, m.curOver) {
			out = append(out, *m.cur)
			if m.curOver {
				out[len(out)-1].meta |= metaRewritten
			}
		} else {
			dropped++
		}
	}
	if len(out) == s.wn && len(s.segs) <= 1 {
		return 0, 0
	}
	dropped = s.wn - len(out)
	var segs []*seg
	if len(out) > 0 {
		segs = []*seg{newSeg(out[:len(out):len(out)])}
		delta = segs[0].bytes - old
	} else {
		delta = -old
	}
	s.setSegs(segs)
	s.wBytes += delta
	return dropped, delta
}

// dropAtOrBelow removes the write layer's versions of keys at or below ts
// and returns the change in accounted bytes. Only the segments holding such
// a version are copied.
func (s *Store) dropAtOrBelow(keys [][]byte, ts uint64) (delta int64) {
	if s.wn == 0 {
		return 0
	}
	changed := false
	segs := make([]*seg, 0, len(s.segs))
	for _, g := range s.segs {
		if g.minTs > ts {
			segs = append(segs, g)
			continue
		}
		var cut [][2]int // index ranges to drop
		for _, key := range keys {
			k := probe(key, ts, s.wcp)
			i := g.seek(&k)
			j := i
			for j < len(g.e) && sameKey(&g.e[j], &k) {
				j++
			}
			if j > i {
				cut = append(cut, [2]int{i, j})
			}
		}
		if len(cut) == 0 {
			segs = append(segs, g)
			continue
		}
		changed = true
		slices.SortFunc(cut, func(a, b [2]int) int { return a[0] - b[0] })
		out := make([]wentry, 0, len(g.e))
		at := 0
		for _, c := range cut {
			if c[0] > at {
				out = append(out, g.e[at:c[0]]...)
			}
			at = max(at, c[1])
		}
		out = append(out, g.e[at:]...)
		if len(out) > 0 {
			ng := newSeg(out[:len(out):len(out)])
			delta += ng.bytes - g.bytes
			segs = append(segs, ng)
		} else {
			delta -= g.bytes
		}
	}
	if changed {
		s.setSegs(segs)
		s.wBytes += delta
	}
	return delta
}

// keepAfter removes from the write layer the versions of batches at or
// below seq (those a compaction of a view taken at seq folded into its run)
// and returns the change in accounted bytes. Segments wholly older are
// dropped and wholly newer ones kept as they are; only a segment a merge
// mixed is copied.
func (s *Store) keepAfter(seq uint64) (delta int64) {
	if s.wn == 0 {
		return 0
	}
	var segs []*seg
	for _, g := range s.segs {
		switch {
		case g.maxSeq <= seq:
			delta -= g.bytes
		case g.minSeq > seq:
			segs = append(segs, g)
		default:
			out := make([]wentry, 0, len(g.e))
			for i := range g.e {
				if g.e[i].seq() > seq {
					out = append(out, g.e[i])
				}
			}
			ng := newSeg(out[:len(out):len(out)])
			delta += ng.bytes - g.bytes
			segs = append(segs, ng)
		}
	}
	s.setSegs(segs)
	s.wBytes += delta
	return delta
}

// splitSegs returns the parts of segs within [lo, hi) (hi empty:
// unbounded), sharing their entries.
func splitSegs(segs []*seg, cp, lo, hi []byte) []*seg {
	var out []*seg
	var m wmerge
	m.bound(segs, cp, lo, hi)
	for _, h := range m.heads {
		if len(h) > 0 {
			out = append(out, newSeg(h[:len(h):len(h)]))
		}
	}
	return out
}
