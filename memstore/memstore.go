// Package memstore holds the cached versions of one region in memory: a
// copy-on-write B-tree of MVCC versions ordered like the disk engine (key
// ascending, ts descending), with the reads, writes, bulk building and GC the
// cache needs, and an exact account of the bytes it holds.
//
// A Tree is not safe for concurrent mutation; its owner serialises writers and
// takes Copy (O(1)) to hand out read-only views that later writes never touch.
package memstore

import (
	"bytes"

	"github.com/tidwall/btree"

	"github.com/regioncache/regioncache/mvcc"
)

// EntryOverhead is the bytes a cached version costs beyond its key and value:
// the 64-byte entry struct (two slice headers, ts, flag) stored inline in
// B-tree nodes that a sorted bulk load leaves about half full (measured in
// BenchmarkEntryOverhead: ~2x the item size), plus node headers. Memory
// accounting uses len(key)+len(value)+EntryOverhead per version.
const EntryOverhead = 128

type entry struct {
	key   []byte
	value []byte
	ts    uint64
	tomb  bool
}

func less(a, b entry) bool {
	if c := bytes.Compare(a.key, b.key); c != 0 {
		return c < 0
	}
	return a.ts > b.ts
}

func entrySize(e entry) int64 { return int64(len(e.key) + len(e.value) + EntryOverhead) }

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
	e := entry{key: bytes.Clone(v.Key), ts: v.Ts, tomb: v.Tombstone}
	if e.key == nil {
		e.key = []byte{}
	}
	if !v.Tombstone {
		e.value = bytes.Clone(v.Value)
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
	t.tr.Ascend(entry{key: key, ts: ts}, func(e entry) bool {
		if bytes.Equal(e.key, key) && !e.tomb {
			value, found = e.value, true
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
	var last []byte
	haveLast := false
	t.tr.Ascend(entry{key: start, ts: mvcc.MaxTS}, func(e entry) bool {
		if len(end) > 0 && bytes.Compare(e.key, end) >= 0 {
			return false
		}
		stepped++
		if haveLast && bytes.Equal(e.key, last) {
			return true // an older version of a key already decided
		}
		if e.ts > ts {
			return true // too new for this read; an older version may follow
		}
		last, haveLast = e.key, true
		if e.tomb {
			return true
		}
		return fn(e.key, e.value)
	})
	return stepped
}

// Versions calls fn for every version in [start, end) in order, delete
// markers included, until fn returns false (used by cross-checks).
func (t *Tree) Versions(start, end []byte, fn func(v mvcc.Version) bool) {
	t.tr.Ascend(entry{key: start, ts: mvcc.MaxTS}, func(e entry) bool {
		if len(end) > 0 && bytes.Compare(e.key, end) >= 0 {
			return false
		}
		return fn(mvcc.Version{Key: e.key, Ts: e.ts, Value: e.value, Tombstone: e.tomb})
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
	var cur []byte
	haveCur, keptBase := false, false
	t.tr.Ascend(entry{key: start, ts: mvcc.MaxTS}, func(e entry) bool {
		if len(end) > 0 && bytes.Compare(e.key, end) >= 0 {
			return false
		}
		if !haveCur || !bytes.Equal(e.key, cur) {
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
	for _, e := range doomed {
		if prev, ok := t.tr.Delete(e); ok {
			delta -= entrySize(prev)
		}
	}
	t.bytes += delta
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
	// Below start.
	t.tr.Scan(func(e entry) bool {
		if bytes.Compare(e.key, start) >= 0 {
			return false
		}
		return collect(e)
	})
	// At or above end.
	if len(end) > 0 && (max <= 0 || len(doomed) < max) {
		t.tr.Ascend(entry{key: end, ts: mvcc.MaxTS}, collect)
	}
	for _, e := range doomed {
		if prev, ok := t.tr.Delete(e); ok {
			delta -= entrySize(prev)
		}
	}
	t.bytes += delta
	return delta, max <= 0 || len(doomed) < max
}
