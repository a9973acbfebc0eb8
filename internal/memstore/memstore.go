// Package memstore holds the cached versions of one region in memory: a
// copy-on-write B-tree of MVCC versions ordered like the disk engine (key
// ascending, ts descending), with the reads, writes, bulk building and GC the
// cache needs, and an exact account of the bytes it holds.
//
// A Tree is not safe for concurrent mutation; its owner serialises writers and
// takes Copy (O(1)) to hand out read-only views that later writes never touch.
package memstore

import (
	"unsafe"

	"github.com/tidwall/btree"

	"github.com/regioncache/regioncache/internal/mvcc"
)

// EntryOverhead is the bytes a cached version costs beyond its key and value:
// its 48-byte entry stored inline in B-tree nodes that a sorted bulk load
// leaves about half full, plus node headers. BenchmarkEntryOverhead measures
// 94.6 bytes after a bulk load and 76 after random writes (go test
// ./memstore -bench EntryOverhead); accounting charges
// len(key)+len(value)+EntryOverhead per version.
const EntryOverhead = 96

// entry is one version, 48 bytes stored inline in the tree's nodes. Key and
// value are strings over bytes the tree owns and never changes (a slab, or
// one allocation per written version): 16 bytes less per entry than two
// slice headers, and Go compares strings bytewise, as the order requires.
type entry struct {
	key   string
	value string
	ts    uint64
	tomb  bool
}

func less(a, b entry) bool {
	if a.key != b.key {
		return a.key < b.key
	}
	return a.ts > b.ts
}

// str views b as a string without copying; b must not change while the
// string is in use (only for search keys that live for one call).
func str(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// bs views s as bytes without copying; callers must not modify them.
func bs(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

func entrySize(e entry) int64 { return int64(len(e.key) + len(e.value) + EntryOverhead) }

// VersionBytes is what one version costs in the account: what a builder or
// a writer reserves before it allocates the version (a delete marker holds
// no value).
func VersionBytes(key, value []byte, tomb bool) int64 {
	if tomb {
		value = nil
	}
	return int64(len(key) + len(value) + EntryOverhead)
}

// Tree is the versions of one region (or of writes captured while it loads).
type Tree struct {
	tr    *btree.BTreeG[entry]
	bytes int64
}

// New returns an empty tree.
func New() *Tree {
	return &Tree{tr: btree.NewBTreeGOptions(less, btree.Options{NoLocks: true})}
}

// Len is the number of versions held.
func (t *Tree) Len() int { return t.tr.Len() }

// Bytes is the accounted memory of the versions held.
func (t *Tree) Bytes() int64 { return t.bytes }

// Copy returns a read-only view of the tree as it is now, in O(1). It is a
// write on t (the tree becomes copy-on-write), so it must be serialised with
// t's writers; the view may be read from any goroutine afterwards.
func (t *Tree) Copy() *Tree { return &Tree{tr: t.tr.Copy(), bytes: t.bytes} }

// Set stores a version (replacing the same key and ts) and returns the change
// in accounted bytes. The key and value are copied.
func (t *Tree) Set(v mvcc.Version) int64 {
	// One allocation holds both key and value.
	n := len(v.Key)
	if !v.Tombstone {
		n += len(v.Value)
	}
	buf := make([]byte, n)
	copy(buf, v.Key)
	e := entry{key: str(buf[:len(v.Key)]), ts: v.Ts, tomb: v.Tombstone}
	if !v.Tombstone {
		copy(buf[len(v.Key):], v.Value)
		e.value = str(buf[len(v.Key):])
	}
	delta := entrySize(e)
	if prev, replaced := t.tr.Set(e); replaced {
		delta -= entrySize(prev)
	}
	t.bytes += delta
	return delta
}

// MergeFrom sets every version of src into t (src wins on equal key and ts)
// and returns the change in accounted bytes.
func (t *Tree) MergeFrom(src *Tree) int64 {
	var delta int64
	src.tr.Scan(func(e entry) bool {
		d := entrySize(e)
		if prev, replaced := t.tr.Set(e); replaced {
			d -= entrySize(prev)
		}
		delta += d
		return true
	})
	t.bytes += delta
	return delta
}

// Get returns the newest version of key at or below ts. found is false when
// there is none or it is a delete marker.
func (t *Tree) Get(key []byte, ts uint64) (value []byte, found bool) {
	k := str(key)
	t.tr.Ascend(entry{key: k, ts: ts}, func(e entry) bool {
		if e.key == k && !e.tomb {
			value, found = bs(e.value), true
		}
		return false
	})
	return value, found
}

// Scan calls fn for each key in [start, end) (end empty: unbounded) with its
// newest version at or below ts that is not a delete marker, in key order,
// until fn returns false. The slices passed to fn must not be modified. It
// returns how many versions it stepped over.
func (t *Tree) Scan(start, end []byte, ts uint64, fn func(key, value []byte) bool) (stepped int) {
	var last string
	haveLast := false
	endKey := str(end)
	t.tr.Ascend(entry{key: str(start), ts: mvcc.MaxTS}, func(e entry) bool {
		if len(end) > 0 && e.key >= endKey {
			return false
		}
		stepped++
		if haveLast && e.key == last {
			return true // an older version of a key already decided
		}
		if e.ts > ts {
			return true // too new for this read; an older version may follow
		}
		last, haveLast = e.key, true
		if e.tomb {
			return true
		}
		return fn(bs(e.key), bs(e.value))
	})
	return stepped
}

// BytesIn is the accounted bytes of the versions in [start, end) (end
// empty: unbounded): what a region over that range holds of a tree it
// shares with split siblings.
func (t *Tree) BytesIn(start, end []byte) int64 {
	var n int64
	endKey := str(end)
	t.tr.Ascend(entry{key: str(start), ts: mvcc.MaxTS}, func(e entry) bool {
		if len(end) > 0 && e.key >= endKey {
			return false
		}
		n += entrySize(e)
		return true
	})
	return n
}

// Versions calls fn for every version in [start, end) in order, delete
// markers included, until fn returns false (used by cross-checks).
func (t *Tree) Versions(start, end []byte, fn func(v mvcc.Version) bool) {
	endKey := str(end)
	t.tr.Ascend(entry{key: str(start), ts: mvcc.MaxTS}, func(e entry) bool {
		if len(end) > 0 && e.key >= endKey {
			return false
		}
		return fn(mvcc.Version{Key: bs(e.key), Ts: e.ts, Value: bs(e.value), Tombstone: e.tomb})
	})
}

// GC drops the versions no read above safePoint can see: for each key every
// version older than the newest one at or below safePoint, and that one too
// when it is a delete marker. It returns the versions dropped and the change
// in accounted bytes (negative).
func (t *Tree) GC(safePoint uint64) (dropped int, delta int64) {
	return t.GCRange(nil, nil, safePoint)
}

// GCRange is GC over the keys in [start, end) (end empty: unbounded).
func (t *Tree) GCRange(start, end []byte, safePoint uint64) (dropped int, delta int64) {
	var doomed []entry
	var cur string
	haveCur, keptBase := false, false
	endKey := str(end)
	t.tr.Ascend(entry{key: str(start), ts: mvcc.MaxTS}, func(e entry) bool {
		if len(end) > 0 && e.key >= endKey {
			return false
		}
		if !haveCur || e.key != cur {
			cur, haveCur, keptBase = e.key, true, false
		}
		if e.ts > safePoint {
			return true
		}
		if !keptBase {
			keptBase = true
			if e.tomb {
				doomed = append(doomed, e)
			}
			return true
		}
		doomed = append(doomed, e)
		return true
	})
	delta = t.remove(doomed)
	return len(doomed), delta
}

// Trim deletes up to max versions (max <= 0: all) whose key lies outside
// [start, end) and returns the change in accounted bytes and whether nothing
// outside is left. A split child shares its parent's tree and trims it in
// steps, so no caller waits for the whole region.
func (t *Tree) Trim(start, end []byte, max int) (delta int64, done bool) {
	var doomed []entry
	collect := func(e entry) bool {
		if max > 0 && len(doomed) >= max {
			return false
		}
		doomed = append(doomed, e)
		return true
	}
	startKey := str(start)
	// Below start.
	t.tr.Scan(func(e entry) bool {
		if e.key >= startKey {
			return false
		}
		return collect(e)
	})
	// At or above end.
	if len(end) > 0 && (max <= 0 || len(doomed) < max) {
		t.tr.Ascend(entry{key: str(end), ts: mvcc.MaxTS}, collect)
	}
	delta = t.remove(doomed)
	return delta, max <= 0 || len(doomed) < max
}

// Rebase makes the versions of key at or below safePoint exactly what GC
// leaves of the disk's: none but base, the disk's newest version at or below
// safePoint (nothing when base is nil or a delete marker). A write at or
// below a region's safe point calls it, since GC may already have dropped
// a newer version that hid the one written. It returns the change in
// accounted bytes.
func (t *Tree) Rebase(key []byte, safePoint uint64, base *mvcc.Version) (delta int64) {
	k := str(key)
	var doomed []entry
	t.tr.Ascend(entry{key: k, ts: safePoint}, func(e entry) bool {
		if e.key != k {
			return false
		}
		doomed = append(doomed, e)
		return true
	})
	delta = t.remove(doomed)
	if base != nil && !base.Tombstone && base.Ts <= safePoint {
		delta += t.Set(*base)
	}
	return delta
}

// KeysAtOrBelow returns the distinct keys that have a version at or below ts.
func (t *Tree) KeysAtOrBelow(ts uint64) [][]byte {
	var out [][]byte
	last, have := "", false
	t.tr.Scan(func(e entry) bool {
		if e.ts <= ts && (!have || e.key != last) {
			out = append(out, []byte(e.key))
			last, have = e.key, true
		}
		return true
	})
	return out
}

// remove deletes the entries and returns the change in accounted bytes.
func (t *Tree) remove(doomed []entry) (delta int64) {
	for _, e := range doomed {
		if prev, ok := t.tr.Delete(e); ok {
			delta -= entrySize(prev)
		}
	}
	t.bytes += delta
	return delta
}
