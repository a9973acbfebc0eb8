package memstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync/atomic"

	"github.com/regioncache/regioncache/internal/mvcc"
)

// A Run is a sorted, immutable sequence of versions (key ascending, ts
// descending): what a load copies and what a compaction writes. Its key and
// value bytes live in a few large byte arenas and its index is an array of
// fixed-size records that hold no Go pointers, so the garbage collector
// neither scans the index nor sees one object per version. The versions of
// one key are adjacent and share one copy of the key's bytes.
//
// A Run is read by many goroutines at once and never changes after Finish.
// It is shared by reference (the regions split from one region, snapshots,
// a region whose compaction has not yet replaced it); Ref and Unref count
// the holders so that its bytes are accounted once and given back when its
// last holder lets go.
type Run struct {
	arena  [][]byte // chunks, read through arena addresses (arenaAddr)
	recs   [][]rec  // records in chunks of recChunk (the last may be shorter)
	n      int
	bytes  int64 // exact: the capacities of every chunk, arena and index
	refs   atomic.Int64
	gcFrom uint64 // the lowest safe point at which GC drops a version
	// garbage is the bytes of the arena no record reads any more: versions
	// dropped from a run whose chunks this one shares (ShareArena). A
	// compaction copies the run in full, which leaves none, once it passes
	// a quarter of the run.
	garbage int64
	// cp is the prefix every key of the run shares (that of its first and
	// last keys); record prefixes are taken after it, where keys differ.
	cp []byte
	// fence is the prefix of every fenceStep-th record: a seek searches it
	// first (a small array that stays in cache), then only the records
	// between two of its entries, so that few of its probes miss the cache.
	fence []uint64
	// account is the run's charge on the engine's memory account, set by
	// its first holder (the data plane), opaque here.
	account any
}

// Account is what SetAccount recorded (nil: nothing yet).
func (r *Run) Account() any {
	if r == nil {
		return nil
	}
	return r.account
}

// SetAccount records the run's charge on a memory account. The first
// holder sets it before the run is shared.
func (r *Run) SetAccount(a any) { r.account = a }

// rec is one version in a Run: 32 bytes, no pointers.
type rec struct {
	// prefix is the 8 bytes of the key after the run's common prefix,
	// big-endian and zero-padded: most comparisons of a binary search end
	// here without touching the arena.
	prefix uint64
	ts     uint64
	// key is the arena address of the key (arenaAddr); its top bit marks
	// a delete marker.
	key uint64
	val uint64 // arena address of the value; unused for a delete marker
}

// An arena address says where a key or value is in a run's arena and how
// long it is. The arena holds each item as a uvarint length, then the bytes;
// keeping the length in the address too (in bits the address had spare)
// lets a read step to the bytes without decoding the uvarint:
//
//	bits  0-19  offset of the item's uvarint in its chunk
//	bits 20-50  chunk index
//	bits 51-62  the item's length, or lenEscape for an item of lenEscape
//	            bytes or more (its uvarint then says how long it is)
//	bit  63     tombBit, in a record's key address only
const (
	offBits   = 20
	offMask   = 1<<offBits - 1
	chunkBits = 31
	chunkMask = 1<<chunkBits - 1
	lenShift  = offBits + chunkBits
	lenEscape = 1<<(63-lenShift) - 1
	tombBit   = 1 << 63
	recShift  = 14
	recChunk  = 1 << recShift // records per index chunk (512 KiB)
	recSize   = 32
	// Chunks start small, so that a small region reserves little more than
	// it holds while it loads, and double up to the largest size.
	arenaFirst = 256 // the first arena chunk; chunks double up to arenaMax
	arenaMax   = 1 << 20
	recFirst   = 8
	// RunOverhead is the bytes a run costs beyond its arena chunks and
	// index (its header and chunk tables), charged once per run.
	RunOverhead = 128
	// fenceStep is the records per fence entry: 8 bytes per 64 records of
	// 32, an eighth of a byte per version.
	fenceStep = 64
)

// Every offset in a chunk fits offBits: a chunk that holds several items is
// at most arenaMax bytes, and an item too large for those is alone in a
// chunk of its own, at offset 0. (A compile error here if not.)
const _ = uint(1<<offBits - arenaMax)

// arenaAddr is the address of an item of n bytes whose uvarint length
// starts at off in chunk.
func arenaAddr(chunk, off, n int) uint64 {
	return uint64(min(n, lenEscape))<<lenShift | uint64(chunk)<<offBits | uint64(off)
}

// errArenaFull: a run cannot address more chunks than chunkBits allow (far
// more than any memory holds: each chunk is at least one item).
var errArenaFull = errors.New("regioncache: memstore: run has too many arena chunks")

func keyPrefix(k []byte) uint64 {
	if len(k) >= 8 {
		return binary.BigEndian.Uint64(k)
	}
	var b [8]byte
	copy(b[:], k)
	return binary.BigEndian.Uint64(b[:])
}

// bytesAt returns the item at addr (an arena address; tombBit clear).
func (r *Run) bytesAt(addr uint64) []byte {
	c := r.arena[addr>>offBits&chunkMask]
	off := int(addr & offMask)
	n := int(addr >> lenShift)
	if n == lenEscape {
		u, w := binary.Uvarint(c[off:])
		off, n = off+w, int(u)
	} else if off++; n >= 0x80 {
		off++ // a two-byte uvarint: every n below lenEscape takes one or two
	}
	return c[off : off+n : off+n]
}

// itemLen is the length of the item at addr (an arena address; tombBit
// clear), mostly without reading the arena.
func (r *Run) itemLen(addr uint64) int {
	if n := int(addr >> lenShift); n != lenEscape {
		return n
	}
	return len(r.bytesAt(addr))
}

func (r *Run) rec(i int) *rec { return &r.recs[i>>recShift][i&(recChunk-1)] }

// Len is the number of versions in the run.
func (r *Run) Len() int {
	if r == nil {
		return 0
	}
	return r.n
}

// Bytes is the memory the run holds, exactly: every arena and index chunk at
// its capacity, plus RunOverhead.
func (r *Run) Bytes() int64 {
	if r == nil {
		return 0
	}
	return r.bytes
}

// Ref adds a holder and returns r.
func (r *Run) Ref() *Run {
	if r != nil {
		r.refs.Add(1)
	}
	return r
}

// Unref drops a holder; it returns true when that was the last one, and the
// caller then gives back the run's Bytes. A run is never used after that.
func (r *Run) Unref() bool {
	if r == nil {
		return false
	}
	n := r.refs.Add(-1)
	if n < 0 {
		panic("memstore: run released more often than referenced") // a bug in the holders, never input
	}
	return n == 0
}

// Release drops a holder and returns r when that was the last one (the
// caller then gives back its Bytes), else nil.
func (r *Run) Release() *Run {
	if r.Unref() {
		return r
	}
	return nil
}

// Garbage is the bytes of the run's arena that no record reads.
func (r *Run) Garbage() int64 {
	if r == nil {
		return 0
	}
	return r.garbage
}

// Refs is the number of holders (for tests and the debug view).
func (r *Run) Refs() int64 { return r.refs.Load() }

// NeedsGC says whether GC at safePoint would drop a version of the run.
func (r *Run) NeedsGC(safePoint uint64) bool { return r != nil && safePoint >= r.gcFrom }

func (r *Run) key(i int) []byte { return r.bytesAt(r.rec(i).key &^ tombBit) }
func (r *Run) version(i int) (key []byte, ts uint64, value []byte, tomb bool) {
	x := r.rec(i)
	key = r.bytesAt(x.key &^ tombBit)
	if x.key&tombBit != 0 {
		return key, x.ts, nil, true
	}
	return key, x.ts, r.bytesAt(x.val), false
}

// probe returns the record prefix of key in this run, or side -1 (1) when
// key sorts before (after) every key of the run.
func (r *Run) probe(key []byte) (p uint64, side int) {
	cpl := len(r.cp)
	if len(key) >= cpl && bytes.Equal(key[:cpl], r.cp) {
		return keyPrefix(key[cpl:]), 0
	}
	if bytes.Compare(key, r.cp) < 0 {
		return 0, -1
	}
	return 0, 1
}

// cmpKey compares record i's key with k (whose prefix is p).
func (r *Run) cmpKey(i int, k []byte, p uint64) int {
	x := r.rec(i)
	if x.prefix != p {
		if x.prefix < p {
			return -1
		}
		return 1
	}
	return bytes.Compare(r.bytesAt(x.key&^tombBit), k)
}

// seek returns the index of the first version at or after (key, ts) in run
// order, in [lo, hi).
func (r *Run) seek(key []byte, ts uint64, lo, hi int) int {
	p, side := r.probe(key)
	switch side {
	case -1:
		return lo
	case 1:
		return hi
	}
	if f := r.fence; hi-lo > fenceStep {
		// A record whose prefix is below p sorts before key, one whose
		// prefix is above p after it: so do the records before (after)
		// it. The fence's entries narrow [lo, hi) to the records between
		// the last entry below p and the first above.
		a := lowerBound(f, p)
		if a > 0 {
			if lo = max(lo, (a-1)*fenceStep+1); lo >= hi {
				return hi
			}
		}
		if p < math.MaxUint64 {
			if b := a + lowerBound(f[a:], p+1); b < len(f) {
				if hi = min(hi, b*fenceStep); hi <= lo {
					return lo
				}
			}
		}
	}
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		c := r.cmpKey(mid, key, p)
		if c < 0 || (c == 0 && r.rec(mid).ts > ts) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// lowerBound is the index of the first entry of f at or above p (len(f)
// when none is).
func lowerBound(f []uint64, p uint64) int {
	lo, hi := 0, len(f)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if f[mid] < p {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// bounds returns the index range of the versions whose keys lie in
// [start, end) (end empty: unbounded).
func (r *Run) bounds(start, end []byte) (int, int) {
	if r == nil {
		return 0, 0
	}
	lo := 0
	if len(start) > 0 {
		lo = r.seek(start, mvcc.MaxTS, 0, r.n)
	}
	hi := r.n
	if len(end) > 0 {
		hi = r.seek(end, mvcc.MaxTS, lo, r.n)
	}
	return lo, hi
}

// ErrOutOfOrder reports versions given to a RunBuilder out of run order.
var ErrOutOfOrder = errors.New("regioncache: memstore: version out of order")

// ReserveFunc accounts n bytes before a builder allocates them; an error
// stops the build. n is negative when the builder gives bytes back.
type ReserveFunc func(n int64) error

// RunBuilder builds a Run from versions arriving in run order, as a disk
// iterator yields them. It allocates in chunks of at most 1 MiB and reserves
// each chunk's bytes before allocating it, so memory is accounted before it
// is used and a build that does not fit stops at once. With a safe point it
// drops, as it goes, the versions GC at that point would drop.
type RunBuilder struct {
	r        *Run
	reserve  ReserveFunc
	reserved int64
	cur      int // arena chunk being filled; -1 before the first
	// own is the bytes of the items that got a chunk of their own while
	// no chunk was being filled: the first shared chunk is sized to them.
	own    int
	curOff int // bytes of it filled
	curBuf []byte
	safe   uint64
	gc     bool
	// The key being added: its address in the arena and bytes, and what GC
	// decided about its versions so far.
	lastKey     []byte
	lastAddr    uint64
	lastTs      uint64
	started     bool
	keptBase    bool
	oldest      [2]uint64 // the two oldest kept ts of the key
	keptVersion int
	err         error
	// shared is the run whose arena chunks this one starts with
	// (ShareArena), nil when it copies everything.
	shared *Run
	// cp, when cpKnown, is a prefix every key added has (Within), so that
	// records get their key prefix as they are added; cpHolds turns false
	// at the first key without it, and Finish then computes the prefixes
	// in a pass of its own.
	cp               []byte
	cpKnown, cpHolds bool
	curPrefix        uint64 // the record prefix of the key being added
}

// Within tells the builder that every key will lie in [start, end) (end
// empty: unbounded), as a region's keys do, or between start and end
// inclusive, as a loader that read the first and last keys of its range
// knows: the keys then share the common prefix of start and end, and each
// record's key prefix is taken as its key is added instead of in a second
// pass over the run (which Finish makes only when the keys added turn out
// to share more than that). It must come before the first Add; a key
// outside the bounds is not an error, only slower.
func (b *RunBuilder) Within(start, end []byte) {
	if len(end) == 0 || b.started {
		return
	}
	n := commonPrefixLen(start, end)
	b.cp, b.cpKnown, b.cpHolds = bytes.Clone(start[:n]), true, true
}

// NewRunBuilder starts an empty run. safePoint > 0 drops what GC at that
// safe point would; reserve (nil: nothing to account) is called before
// every allocation.
func NewRunBuilder(safePoint uint64, reserve ReserveFunc) *RunBuilder {
	if reserve == nil {
		reserve = func(int64) error { return nil }
	}
	r := &Run{gcFrom: math.MaxUint64}
	return &RunBuilder{r: r, reserve: reserve, cur: -1, safe: safePoint, gc: safePoint > 0}
}

// Reserved is what the builder has reserved so far (after Finish: exactly
// the run's Bytes).
func (b *RunBuilder) Reserved() int64 { return b.reserved }

func (b *RunBuilder) grant(n int64) error {
	if err := b.reserve(n); err != nil {
		return err
	}
	b.reserved += n
	b.r.bytes += n
	return nil
}

// put copies p into the arena with its length and returns its address.
// Chunks are allocated at their full length and filled through an offset
// the builder keeps, so filling them writes no slice header (no GC write
// barrier per version while a collection runs).
func (b *RunBuilder) put(p []byte) (uint64, error) {
	lw := uvarintLen(uint64(len(p)))
	need := lw + len(p)
	r := b.r
	next := arenaFirst
	if b.cur >= 0 {
		next = min(2*len(r.arena[b.cur]), arenaMax)
	} else {
		// Items too large for the first chunk do not keep the builder
		// from ever starting one (each would be a heap object of its own):
		// it starts at the size of what they took, as doubling would have.
		for next < arenaMax && next < b.own {
			next *= 2
		}
	}
	if need > next/4 {
		// A large item (for the chunks of this size) gets a chunk of its
		// own, of its exact size, and the chunk being filled stays the one
		// to fill: no chunk is left with a large unused tail.
		if err := b.grant(int64(need)); err != nil {
			return 0, err
		}
		if len(r.arena) > chunkMask {
			return 0, errArenaFull
		}
		c := make([]byte, need)
		copy(c[binary.PutUvarint(c, uint64(len(p))):], p)
		if b.cur < 0 {
			b.own += need
		}
		r.arena = append(r.arena, c)
		return arenaAddr(len(r.arena)-1, 0, len(p)), nil
	}
	if b.cur < 0 || len(r.arena[b.cur])-b.curOff < need {
		if len(r.arena) > chunkMask {
			return 0, errArenaFull
		}
		if err := b.grant(int64(next)); err != nil {
			return 0, err
		}
		r.arena = append(r.arena, make([]byte, next))
		b.cur, b.curOff = len(r.arena)-1, 0
		b.curBuf = r.arena[b.cur]
	}
	off := b.curOff
	copy(b.curBuf[off+binary.PutUvarint(b.curBuf[off:], uint64(len(p))):], p)
	b.curOff += need
	return arenaAddr(b.cur, off, len(p)), nil
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// pushRec appends a record, growing the index by chunks it reserves first.
// Like the arena, index chunks are allocated at full length and filled by
// index: a record holds no pointer, so writing one costs no barrier.
func (b *RunBuilder) pushRec(x rec) error {
	r := b.r
	ci, i := r.n>>recShift, r.n&(recChunk-1)
	if ci == len(r.recs) {
		if err := b.grant(recFirst * recSize); err != nil {
			return err
		}
		r.recs = append(r.recs, make([]rec, recFirst))
	}
	c := r.recs[ci]
	if i == len(c) {
		nc := min(2*len(c), recChunk)
		if err := b.grant(int64(nc-len(c)) * recSize); err != nil {
			return err
		}
		grown := make([]rec, nc)
		copy(grown, c)
		r.recs[ci] = grown
		c = grown
	}
	c[i] = x
	r.n++
	return nil
}

// Add appends a version; versions must come in run order (key ascending, ts
// descending). It returns whether the version was kept (GC may drop it).
func (b *RunBuilder) Add(key []byte, ts uint64, value []byte, tomb bool) (kept bool, err error) {
	return b.add(key, ts, value, tomb, noAddr, noAddr)
}

// noAddr: the bytes are not in the arena yet (Add copies them).
const noAddr = math.MaxUint64

// ShareArena makes the run being built start with from's arena chunks,
// which never change, so that from's versions can be added by address
// (addShared) instead of copied: a compaction that keeps most of its base
// run copies its index records, not its keys and values. The shared chunks
// are part of the new run (its Bytes, reserved here) and stay alive while
// either run does; from's garbage carries over. It must come before the
// first Add.
func (b *RunBuilder) ShareArena(from *Run) error {
	if b.err != nil {
		return b.err
	}
	if b.r.n > 0 || len(b.r.arena) > 0 {
		return errors.New("regioncache: memstore: ShareArena after the first version")
	}
	var n int64
	for _, c := range from.arena {
		n += int64(cap(c))
	}
	if err := b.grant(n); err != nil {
		b.err = err
		return err
	}
	b.r.arena = append(make([][]byte, 0, len(from.arena)+16), from.arena...)
	b.r.garbage = from.garbage
	b.shared = from
	return nil
}

// addShared is Add for version i of the run whose arena the builder shares
// (ShareArena), whose key and value the caller has read already: the record
// points at the bytes where they are.
func (b *RunBuilder) addShared(i int, key, value []byte) (kept bool, err error) {
	x := b.shared.rec(i)
	tomb := x.key&tombBit != 0
	kept, err = b.add(key, x.ts, value, tomb, x.key&^tombBit, x.val)
	if err == nil && !kept && !tomb {
		b.r.garbage += int64(uvarintLen(uint64(len(value))) + len(value))
	}
	return kept, err
}

// add is Add; keyAddr and valAddr, unless noAddr, are where the key and
// value already are in the run's arena.
func (b *RunBuilder) add(key []byte, ts uint64, value []byte, tomb bool, keyAddr, valAddr uint64) (kept bool, err error) {
	if b.err != nil {
		return false, b.err
	}
	newKey := !b.started
	if b.started && keyAddr != noAddr && keyAddr == b.lastAddr {
		// Another version of the key being added, at the same address: only
		// the ts order needs checking.
		if ts >= b.lastTs {
			return false, fmt.Errorf("%w: key %s ts %d after ts %d", ErrOutOfOrder, mvcc.FormatKey(key), ts, b.lastTs)
		}
	} else if b.started {
		c := bytes.Compare(key, b.lastKey)
		if c < 0 || (c == 0 && ts >= b.lastTs) {
			return false, fmt.Errorf("%w: key %s ts %d after key %s ts %d", ErrOutOfOrder, mvcc.FormatKey(key), ts, mvcc.FormatKey(b.lastKey), b.lastTs)
		}
		newKey = c > 0
	}
	if newKey {
		b.endKey()
		b.started, b.keptBase, b.keptVersion, b.lastAddr = true, false, 0, noAddr
		b.lastKey = append(b.lastKey[:0], key...)
		if b.cpHolds {
			if bytes.HasPrefix(key, b.cp) {
				b.curPrefix = keyPrefix(key[len(b.cp):])
			} else {
				b.cpHolds = false
			}
		}
	}
	b.lastTs = ts
	if b.gc && ts <= b.safe {
		if b.keptBase {
			return false, nil // older than the newest version at or below the safe point
		}
		b.keptBase = true
		if tomb {
			return false, nil // nothing at or below the safe point is visible
		}
	}
	if b.lastAddr == noAddr {
		// Every version of a key points at one copy of its bytes (scans
		// tell the versions of a key by that address): the first kept
		// version's, shared or copied.
		if keyAddr != noAddr {
			b.lastAddr = keyAddr
		} else {
			addr, err := b.put(key)
			if err != nil {
				b.err = err
				return false, err
			}
			b.lastAddr = addr
		}
	}
	x := rec{prefix: b.curPrefix, ts: ts, key: b.lastAddr}
	if tomb {
		x.key |= tombBit
		b.r.gcFrom = min(b.r.gcFrom, ts)
	} else if valAddr != noAddr {
		x.val = valAddr
	} else {
		addr, err := b.put(value)
		if err != nil {
			b.err = err
			return false, err
		}
		x.val = addr
	}
	if err := b.pushRec(x); err != nil {
		b.err = err
		return false, err
	}
	b.oldest[0], b.oldest[1] = b.oldest[1], ts
	b.keptVersion++
	return true, nil
}

// endKey records, for the key just finished, from which safe point GC would
// drop one of its versions: its second oldest version's ts.
func (b *RunBuilder) endKey() {
	if b.keptVersion >= 2 {
		b.r.gcFrom = min(b.r.gcFrom, b.oldest[0])
	}
	b.oldest = [2]uint64{}
}

// Finish returns the run, holding one reference for the caller. The last
// chunks are cut to their length, and what that frees is given back through
// the reserve function, so the run's Bytes (and what stays reserved) is
// exactly what it holds.
func (b *RunBuilder) Finish() (*Run, error) {
	if b.err != nil {
		return nil, b.err
	}
	b.endKey()
	r := b.r
	if err := b.grant(RunOverhead); err != nil {
		b.Abort()
		return nil, err
	}
	if b.cur >= 0 {
		c := r.arena[b.cur]
		if b.curOff < len(c) {
			r.arena[b.cur] = append([]byte(nil), c[:b.curOff]...)
			r.bytes -= int64(len(c) - cap(r.arena[b.cur]))
		}
		b.curBuf = nil
	}
	if len(r.recs) > 0 {
		last := len(r.recs) - 1
		c := r.recs[last]
		if used := r.n - last<<recShift; used < len(c) {
			cut := make([]rec, used)
			copy(cut, c)
			r.recs[last] = cut
			r.bytes -= int64(len(c)-used) * recSize
		}
	}
	if give := r.bytes - b.reserved; give != 0 {
		_ = b.reserve(give) // a negative reservation (giving back) cannot fail
		b.reserved = r.bytes
	}
	if b.cpKnown && b.cpHolds && r.n > 0 && commonPrefixLen(r.key(0), r.key(r.n-1)) == len(b.cp) {
		// Every record has its prefix after cp already, and cp is all the
		// keys share: the prefixes tell keys apart as well as they can.
		r.cp = b.cp
	} else {
		// Bounds wider than the keys (a region whose keys share more than
		// its bounds do) would leave every record the same prefix, and each
		// probe of a binary search would read the arena: take the prefixes
		// after what the keys really share.
		r.setPrefixes()
	}
	// The fence: every fenceStep-th record's prefix, taken last (the
	// prefixes are final now), reserved like the rest.
	if n := (r.n + fenceStep - 1) / fenceStep; n > 1 {
		if err := b.grant(int64(n) * 8); err != nil {
			b.Abort()
			return nil, err
		}
		r.fence = make([]uint64, n)
		for j := range r.fence {
			r.fence[j] = r.rec(j * fenceStep).prefix
		}
	}
	r.refs.Store(1)
	b.r, b.shared = nil, nil
	b.err = errors.New("regioncache: memstore: run builder used after Finish")
	return r, nil
}

// setPrefixes finds the run's common key prefix and fills in each record's
// prefix after it: one sequential pass, once per run.
func (r *Run) setPrefixes() {
	if r.n == 0 {
		return
	}
	first, last := r.key(0), r.key(r.n-1)
	n := commonPrefixLen(first, last)
	r.cp = bytes.Clone(first[:n])
	prevAddr, prev := uint64(math.MaxUint64), uint64(0)
	for i := 0; i < r.n; i++ {
		x := r.rec(i)
		if a := x.key &^ tombBit; a != prevAddr {
			prevAddr, prev = a, keyPrefix(r.bytesAt(a)[n:])
		}
		x.prefix = prev
	}
}

func commonPrefixLen(a, b []byte) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// Abort gives back everything the builder reserved; the builder is unusable.
func (b *RunBuilder) Abort() {
	if b.reserved != 0 {
		_ = b.reserve(-b.reserved)
		b.reserved = 0
	}
	b.r = nil
	b.err = errors.New("regioncache: memstore: run builder used after Abort")
}
