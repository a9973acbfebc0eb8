package memstore

import (
	"bytes"
	"math"
	"slices"

	"github.com/tidwall/btree"

	"github.com/regioncache/regioncache/internal/mvcc"
)

// hide says that the versions of key in the base run at or below ts are not
// part of the store any more (a write at or below the safe point rebased the
// key from the disk; the base may hold a version GC dropped on disk's side).
type hide struct {
	key string
	ts  uint64
	// seq is the sequence number of the Rebase that set it: an install
	// drops a hide only when the compaction's view held that very one (a
	// hide set again since also hides versions the compaction folded from
	// the write layer).
	seq uint64
}

func hless(a, b hide) bool { return a.key < b.key }

var btreeOpts = btree.Options{NoLocks: true}

// writeArena hands out copies of written bytes from chunks that grow from
// 256 bytes to 16 KiB: a few writes cost little, many cost few allocations.
// A chunk is never written below its length, so views that share it read
// stable bytes while the owner appends.
type writeArena struct{ cur []byte }

func (a *writeArena) copy(p []byte) string {
	if len(p) == 0 {
		return ""
	}
	if len(p) > 2<<10 {
		return string(p)
	}
	if cap(a.cur)-len(a.cur) < len(p) {
		size := min(max(2*cap(a.cur), 256), 16<<10)
		a.cur = make([]byte, 0, max(size, len(p)))
	}
	n := len(a.cur)
	a.cur = append(a.cur, p...)
	return str(a.cur[n:len(a.cur):len(a.cur)])
}

// View is a read-only picture of a region's versions: a base run (bounded to
// the region's range when the run is shared) under a write layer. Views from
// Snapshot are safe to read from any goroutine and never change.
type View struct {
	base     *Run
	lo, hi   []byte // the base run's versions outside [lo, hi) are not in the view
	blo, bhi int    // the index range of [lo, hi) in base
	// segs is the write layer (see writelayer.go), oldest segment first;
	// the slice is never changed in place, so a view shares it. A region
	// nobody writes to (most of a million idle regions) holds none.
	segs []*seg
	wn   int    // versions in segs (a version written again counts until merged)
	wcp  []byte // the prefix the layer's entry prefixes are taken after
	// seq is the sequence number of the last batch written (see wentry).
	seq   uint64
	hides *btree.BTreeG[hide] // nil: none
}

// Store is the versions of one region incarnation as its owner changes
// them. It is not safe for concurrent mutation; its owner serialises writers
// and readers (a read-write lock), and hands out Snapshot views that later
// changes never touch.
type Store struct {
	View
	wBytes int64
	arena  writeArena
}

// NewStore returns an empty store (no base run yet; writes captured while a
// region loads go to its write layer).
func NewStore() *Store { return &Store{} }

// wlen is the number of versions in the write layer.
func (v *View) wlen() int { return v.wn }

// Base is the base run (nil: none).
func (v *View) Base() *Run { return v.base }

// WriteLen is the number of versions in the write layer.
func (v *View) WriteLen() int { return v.wlen() }

// Len is the number of versions in the view (base run within its bounds,
// plus the write layer; a version in both counts twice, as it is held twice).
func (v *View) Len() int { return v.bhi - v.blo + v.wlen() }

// WriteBytes is the accounted memory of the write layer. The base run is
// accounted on its own (it may be shared): Base().Bytes().
func (s *Store) WriteBytes() int64 { return s.wBytes }

// SetBase installs run as the base, bounded to [lo, hi) (hi empty:
// unbounded; neither slice may change afterwards), taking over the caller's
// reference to it. The store must have no base yet.
func (s *Store) SetBase(run *Run, lo, hi []byte) {
	s.base = run
	s.setBounds(lo, hi)
}

// setBounds bounds the base run to [lo, hi); the slices must not change
// afterwards (region bounds never do).
func (v *View) setBounds(lo, hi []byte) {
	v.lo, v.hi = lo, hi
	v.blo, v.bhi = v.base.bounds(lo, hi)
}

func (v *View) hidden(key []byte, ts uint64) bool {
	if v.hides == nil {
		return false
	}
	h, ok := v.hides.Get(hide{key: str(key)})
	return ok && ts <= h.ts
}

// Get returns the newest version of key at or below ts. found is false when
// there is none or it is a delete marker. The value must not be modified.
func (v *View) Get(key []byte, ts uint64) (value []byte, found bool) {
	we := v.layerGet(key, ts)
	if v.bhi > v.blo {
		r := v.base
		p, side := r.probe(key)
		i := r.seek(key, ts, v.blo, v.bhi)
		if side == 0 && i < v.bhi {
			x := r.rec(i)
			if (we == nil || x.ts > we.ts) && x.prefix == p && r.cmpKey(i, key, p) == 0 && !v.hidden(key, x.ts) {
				if x.key&tombBit != 0 {
					return nil, false
				}
				return r.bytesAt(x.val), true
			}
		}
	}
	if we != nil && !we.tomb() {
		return bs(we.value), true
	}
	return nil, false
}

// Scan calls fn for each key in [start, end) (end empty: unbounded) with its
// newest version at or below ts that is not a delete marker, in key order,
// until fn returns false. The slices passed to fn must not be modified. It
// returns how many versions it stepped over.
func (v *View) Scan(start, end []byte, ts uint64, fn func(key, value []byte) bool) (stepped int) {
	if !v.writesIn(start, end) {
		return v.scanBase(start, end, ts, fn)
	}
	c := v.cursor(start, end)
	var last []byte
	haveLast := false
	for c.next() {
		stepped++
		if haveLast && bytes.Equal(c.key, last) {
			continue // an older version of a key already decided
		}
		if c.ts > ts {
			continue // too new for this read; an older version may follow
		}
		last, haveLast = c.key, true
		if c.tomb {
			continue
		}
		if !fn(c.key, c.value) {
			break
		}
	}
	return stepped
}

// writesIn says whether the write layer or the hides hold anything for a
// key in [start, end) (end empty: unbounded). When they do not, a scan of
// the range reads the base run alone, however much was written elsewhere.
func (v *View) writesIn(start, end []byte) bool {
	in := v.layerHolds(start, end)
	if !in && v.hides != nil {
		v.hides.Ascend(hide{key: str(start)}, func(h hide) bool {
			in = len(end) == 0 || h.key < str(end)
			return false
		})
	}
	return in
}

// baseRange is the index range of the base run's versions in [start, end)
// within the view's bounds.
func (v *View) baseRange(start, end []byte) (lo, hi int) {
	if v.bhi <= v.blo {
		return 0, 0
	}
	lo, hi = v.blo, v.bhi
	if len(start) > 0 && bytes.Compare(start, v.lo) > 0 {
		lo = v.base.seek(start, mvcc.MaxTS, lo, hi)
	}
	if len(end) > 0 && (len(v.hi) == 0 || bytes.Compare(end, v.hi) < 0) {
		hi = v.base.seek(end, mvcc.MaxTS, lo, hi)
	}
	return lo, hi
}

// scanBase is Scan when the write layer holds nothing in the range: a walk
// of the index that recognises the versions of one key by their shared key
// address.
func (v *View) scanBase(start, end []byte, ts uint64, fn func(key, value []byte) bool) (stepped int) {
	r := v.base
	lo, hi := v.baseRange(start, end)
	decided := uint64(1<<64 - 1)
	for i := lo; i < hi; i++ {
		x := r.rec(i)
		stepped++
		kaddr := x.key &^ tombBit
		if kaddr == decided || x.ts > ts {
			continue
		}
		decided = kaddr
		if x.key&tombBit != 0 {
			continue
		}
		if !fn(r.bytesAt(kaddr), r.bytesAt(x.val)) {
			break
		}
	}
	return stepped
}

// AppendScan appends to dst what Scan passes to fn (each key of [start,
// end) with its newest version at or below ts that is not a delete marker,
// in key order) until dst holds limit pairs (limit <= 0: no limit), and
// returns dst and how many versions it stepped over.
//
// The keys and values it appends are copies in memory it allocates for
// them, which belongs to the caller from then on: nothing the store holds
// is returned, so the pairs stay as they are whatever the store does next,
// and the caller may modify them. Each key and value is capped at its
// length, so that appending to one cannot overwrite another.
func (v *View) AppendScan(dst []mvcc.KV, start, end []byte, ts uint64, limit int) (out []mvcc.KV, stepped int) {
	room := math.MaxInt
	if limit > 0 {
		if room = limit - len(dst); room <= 0 {
			return dst, 0
		}
	}
	if !v.writesIn(start, end) {
		return v.appendBase(dst, start, end, ts, room)
	}
	from, size := len(dst), 0
	stepped = v.Scan(start, end, ts, func(k, val []byte) bool {
		dst = append(dst, mvcc.KV{Key: k, Value: val})
		size += len(k) + len(val)
		return len(dst)-from < room
	})
	copyOut(dst[from:], size)
	return dst, stepped
}

// copyOut replaces the slices of kvs by copies in one block of size bytes
// (their total), each capped so that appending to one never reaches the
// next.
func copyOut(kvs []mvcc.KV, size int) {
	if len(kvs) == 0 {
		return
	}
	block := make([]byte, 0, size)
	for i := range kvs {
		kv := &kvs[i]
		n := len(block)
		block = append(block, kv.Key...)
		kv.Key = block[n:len(block):len(block)]
		n = len(block)
		block = append(block, kv.Value...)
		kv.Value = block[n:len(block):len(block)]
	}
}

// copyRound is how many pairs appendBase copies into one block: their
// records wait in an array on the stack while it sums their sizes.
const copyRound = 128

// appendBase is AppendScan when the write layer holds nothing in the range,
// for at most room pairs. It walks the index as scanBase does, taking each
// visible version's record and summing its key's and value's lengths from
// their addresses (no arena read); then it allocates one block of that
// size and copies the pairs into it. A scan of many pairs does this in
// rounds of copyRound.
func (v *View) appendBase(dst []mvcc.KV, start, end []byte, ts uint64, room int) ([]mvcc.KV, int) {
	r := v.base
	lo, hi := v.baseRange(start, end)
	stepped := 0
	decided := uint64(1<<64 - 1)
	var sel [copyRound]*rec
	for i := lo; i < hi && room > 0; {
		n, size := 0, 0
		for ; i < hi && n < len(sel) && n < room; i++ {
			x := r.rec(i)
			stepped++
			kaddr := x.key &^ tombBit
			if kaddr == decided || x.ts > ts {
				continue
			}
			decided = kaddr
			if x.key&tombBit != 0 {
				continue
			}
			sel[n] = x
			n++
			size += r.itemLen(kaddr) + r.itemLen(x.val)
		}
		if n == 0 {
			break
		}
		room -= n
		block, off := make([]byte, size), 0
		at := len(dst)
		dst = slices.Grow(dst, n)[:at+n]
		for j, x := range sel[:n] {
			// Field by field: a pair's two slices are two pointer
			// writes, where copying a whole KV in is a bulk copy with
			// a write barrier over it while the GC marks.
			kv := &dst[at+j]
			k := r.bytesAt(x.key &^ tombBit)
			kv.Key = block[off : off+len(k) : off+len(k)]
			off += copy(kv.Key, k)
			val := r.bytesAt(x.val)
			kv.Value = block[off : off+len(val) : off+len(val)]
			off += copy(kv.Value, val)
		}
	}
	return dst, stepped
}

// Versions calls fn for every version in [start, end) in order, delete
// markers included, until fn returns false (cross-checks, compaction).
func (v *View) Versions(start, end []byte, fn func(v mvcc.Version) bool) {
	c := v.cursor(start, end)
	for c.next() {
		if !fn(mvcc.Version{Key: c.key, Ts: c.ts, Value: c.value, Tombstone: c.tomb}) {
			return
		}
	}
}

// cursor walks the versions of a view in [start, end) in order, merging
// the base run and the write layer; on the same key and ts the write layer's
// version wins, and hidden base versions are skipped.
type cursor struct {
	v        *View
	bi, bend int
	w        wmerge

	key, value []byte
	ts         uint64
	tomb       bool
	// base is the index of the version in the base run, or -1 when it
	// comes from the write layer.
	base int
}

func (v *View) cursor(start, end []byte) *cursor {
	c := &cursor{v: v}
	if v.bhi > v.blo {
		c.bi, c.bend = v.blo, v.bhi
		if len(start) > 0 && bytes.Compare(start, v.lo) > 0 {
			c.bi = v.base.seek(start, mvcc.MaxTS, c.bi, c.bend)
		}
		if len(end) > 0 && (len(v.hi) == 0 || bytes.Compare(end, v.hi) < 0) {
			c.bend = v.base.seek(end, mvcc.MaxTS, c.bi, c.bend)
		}
	}
	c.w.start(v.segs, v.wcp, start, end)
	return c
}

func (c *cursor) next() bool {
	for {
		haveB, w := c.bi < c.bend, c.w.cur
		if !haveB && w == nil {
			return false
		}
		takeB := haveB
		if haveB && w != nil {
			bk := c.v.base.key(c.bi)
			bts := c.v.base.rec(c.bi).ts
			switch cmp := bytes.Compare(bk, bs(w.key)); {
			case cmp < 0:
				takeB = true
			case cmp > 0:
				takeB = false
			case bts > w.ts:
				takeB = true
			case bts < w.ts:
				takeB = false
			default: // the same version in both: the write layer's wins
				c.bi++
				takeB = false
			}
		}
		if takeB {
			i := c.bi
			c.bi++
			key, ts, val, tomb := c.v.base.version(i)
			if c.v.hidden(key, ts) {
				continue
			}
			c.key, c.ts, c.value, c.tomb, c.base = key, ts, val, tomb, i
			return true
		}
		c.key, c.ts, c.value, c.tomb, c.base = bs(w.key), w.ts, bs(w.value), w.tomb(), -1
		c.w.next()
		return true
	}
}

// Rebase makes the versions of each key at or below safePoint exactly what
// GC leaves of the disk's: none but bases[i], the disk's newest version of
// keys[i] at or below safePoint (nothing when it is nil or a delete marker).
// A write at or below a region's safe point calls it, since GC may already
// have dropped a newer version that hid the one written. The base run cannot
// change, so its versions of the keys at or below safePoint are hidden. It
// returns the change in accounted bytes.
func (s *Store) Rebase(keys [][]byte, safePoint uint64, bases []*mvcc.Version) (delta int64) {
	if len(keys) == 0 {
		return 0
	}
	delta = s.dropAtOrBelow(keys, safePoint)
	s.seq++
	for _, key := range keys {
		// The hide is set even when the base run holds nothing of the key:
		// a compaction under way may install a run that does.
		if bytes.Compare(key, s.lo) < 0 || (len(s.hi) > 0 && bytes.Compare(key, s.hi) >= 0) {
			continue
		}
		if s.hides == nil {
			s.hides = btree.NewBTreeGOptions(hless, btreeOpts)
		}
		prev, ok := s.hides.Get(hide{key: str(key)})
		if !ok {
			prev.key = s.arena.copy(key)
			d := HideBytes(key)
			s.wBytes += d
			delta += d
		}
		s.hides.Set(hide{key: prev.key, ts: max(prev.ts, safePoint), seq: s.seq})
	}
	var set []mvcc.Mutation
	for _, b := range bases {
		if b != nil && !b.Tombstone && b.Ts <= safePoint {
			set = append(set, *b)
		}
	}
	return delta + s.Write(set)
}

// WrittenKeysAtOrBelow returns the distinct keys of the write layer that
// have a version at or below ts.
func (s *Store) WrittenKeysAtOrBelow(ts uint64) [][]byte {
	var out [][]byte
	last, have := "", false
	var m wmerge
	for m.start(s.segs, s.wcp, nil, nil); m.cur != nil; m.next() {
		if e := m.cur; e.ts <= ts && (!have || e.key != last) {
			out = append(out, []byte(e.key))
			last, have = e.key, true
		}
	}
	return out
}

// GCWrites drops the write layer's versions that no read above safePoint
// can see whatever the base run holds: for each key, those older than its
// newest written version at or below safePoint. (Dropping that one too when
// it is a delete marker needs the base run: compaction does it.) It returns
// the versions dropped and the change in accounted bytes.
func (s *Store) GCWrites(safePoint uint64) (dropped int, delta int64) {
	if s.wn == 0 || s.wMinTs() > safePoint {
		return 0, 0
	}
	var cur string
	haveCur, kept := false, false
	return s.rebuild(func(e *wentry, over bool) bool {
		if !haveCur || e.key != cur {
			cur, haveCur, kept = e.key, true, false
		}
		if e.ts > safePoint {
			return true
		}
		if !kept {
			kept = true
			return true
		}
		// A version written again over an older copy, in the base run or
		// in the write layer (which a compaction's view, soon the base,
		// may hold): dropping it would show the older copy's value again.
		// Compaction drops both.
		return over || e.rewritten() || s.baseHolds(bs(e.key), e.ts)
	})
}

// baseHolds says whether the view's base run shows a version of key at
// exactly ts (within the view's bounds and not hidden).
func (v *View) baseHolds(key []byte, ts uint64) bool {
	if v.bhi <= v.blo || v.hidden(key, ts) {
		return false
	}
	r := v.base
	p, side := r.probe(key)
	if side != 0 {
		return false
	}
	i := r.seek(key, ts, v.blo, v.bhi)
	return i < v.bhi && r.rec(i).ts == ts && r.cmpKey(i, key, p) == 0
}

// Snapshot returns a view of the store as it is now, in O(1): the base run
// gains a holder (release it with Release); the write layer's segments are
// shared, as they never change. It must be serialised with s's writers; the
// view may be read from any goroutine afterwards.
func (s *Store) Snapshot() *View {
	v := &View{base: s.base.Ref(), lo: s.lo, hi: s.hi, blo: s.blo, bhi: s.bhi,
		segs: s.segs, wn: s.wn, wcp: s.wcp, seq: s.seq}
	if s.hides != nil {
		v.hides = s.hides.Copy()
	}
	return v
}

// Release drops the view's hold on its base run and returns the run when
// that was its last holder (the caller gives back its Bytes). The view must
// not be read afterwards.
func (v *View) Release() (freed *Run) {
	b := v.base
	v.base, v.blo, v.bhi = nil, 0, 0
	if b.Unref() {
		return b
	}
	return nil
}

// Split returns a store for [lo, hi) that shares s's base run (a new holder,
// no copy) and holds the part of s's write layer in that range (sharing its
// segments' entries). s is not changed.
func (s *Store) Split(lo, hi []byte) *Store {
	c := &Store{View: View{base: s.base.Ref(), wcp: s.wcp, seq: s.seq}}
	c.setBounds(maxStart(lo, s.lo), mvcc.MinEnd(hi, s.hi))
	c.setSegs(splitSegs(s.segs, s.wcp, lo, hi))
	for _, g := range c.segs {
		c.wBytes += g.bytes
	}
	in := func(k string) bool {
		return k >= str(lo) && (len(hi) == 0 || k < str(hi))
	}
	if s.hides != nil {
		s.hides.Ascend(hide{key: str(lo)}, func(h hide) bool {
			if !in(h.key) {
				return false
			}
			if c.hides == nil {
				c.hides = btree.NewBTreeGOptions(hless, btreeOpts)
			}
			c.hides.Load(h)
			c.wBytes += int64(len(h.key)) + WriteEntryOverhead
			return true
		})
	}
	return c
}

func maxStart(a, b []byte) []byte {
	if bytes.Compare(a, b) >= 0 {
		return a
	}
	return b
}

// VersionBytes is what one version costs in a write layer's account: what
// a writer reserves before it sets the version (a delete marker holds no
// value).
func VersionBytes(key, value []byte, tomb bool) int64 {
	if tomb {
		value = nil
	}
	return int64(len(key)+len(value)) + WriteEntryOverhead
}

// HideBytes is what Rebase's mark hiding a key's base versions costs at most.
func HideBytes(key []byte) int64 { return int64(len(key)) + WriteEntryOverhead }
