// Package rangeindex is an ordered index of key ranges [start, end) (an
// empty end is unbounded) that answers which ranges overlap a query range or
// contain a key. The supervisor's region table, the data plane's route table
// and the auto-loader's table of known regions all keep one, so the overlap
// search is written, and tested, once.
//
// Entries are keyed by their start: setting an entry whose start is already
// present replaces it. A value knows its own range (the index is given a
// function that reads it), so an entry holds the value and a copy of its
// start only: a host may hold a million regions in each of these tables. The search assumes what all three tables keep true:
// entries do not overlap one another, so at most one entry that starts
// before a query range can reach into it, the last one that starts at or
// before the query's start. The index is not safe for concurrent writers; a
// Copy is O(1) (copy-on-write) and can be read while the original changes.
package rangeindex

import (
	"bytes"

	"github.com/tidwall/btree"

	"github.com/regioncache/regioncache/internal/mvcc"
)

// Index holds values of type V by key range.
type Index[V any] struct {
	tree   *btree.BTreeG[entry[V]]
	bounds func(V) (start, end []byte)
}

// entry keeps the start beside the value so that a search compares keys
// without loading the value; the end is read from the value when needed.
type entry[V any] struct {
	start []byte
	value V
}

func byStart[V any](a, b entry[V]) bool { return bytes.Compare(a.start, b.start) < 0 }

// New returns an empty index of values whose range bounds reads. The range
// of a value must not change while the value is in the index.
func New[V any](bounds func(V) (start, end []byte)) *Index[V] {
	return &Index[V]{tree: btree.NewBTreeGOptions(byStart[V], btree.Options{NoLocks: true}), bounds: bounds}
}

// end is the end of the entry's range.
func (x *Index[V]) end(e entry[V]) []byte {
	_, end := x.bounds(e.value)
	return end
}

// Set adds v under its range, replacing the entry that starts where v
// starts, if any. The index keeps v's start slice: the caller must not
// modify it.
func (x *Index[V]) Set(v V) {
	start, _ := x.bounds(v)
	x.tree.Set(entry[V]{start: start, value: v})
}

// Get returns the value of the entry that starts at start.
func (x *Index[V]) Get(start []byte) (V, bool) {
	e, ok := x.tree.Get(entry[V]{start: start})
	return e.value, ok
}

// Delete removes the entry that starts at start, if any.
func (x *Index[V]) Delete(start []byte) {
	x.tree.Delete(entry[V]{start: start})
}

// Len is the number of entries.
func (x *Index[V]) Len() int { return x.tree.Len() }

// Copy returns a copy of the index in O(1): later changes to either do not
// show in the other.
func (x *Index[V]) Copy() *Index[V] { return &Index[V]{tree: x.tree.Copy(), bounds: x.bounds} }

// Scan calls fn for every entry in start order until fn returns false.
func (x *Index[V]) Scan(fn func(v V) bool) {
	x.tree.Scan(func(e entry[V]) bool { return fn(e.value) })
}

// Values returns every value in start order.
func (x *Index[V]) Values() []V {
	out := make([]V, 0, x.tree.Len())
	x.Scan(func(v V) bool { out = append(out, v); return true })
	return out
}

// Containing returns the value of the entry whose range contains key.
func (x *Index[V]) Containing(key []byte) (V, bool) {
	var found entry[V]
	ok := false
	x.tree.Descend(entry[V]{start: key}, func(e entry[V]) bool {
		if (mvcc.Region{Start: e.start, End: x.end(e)}).Contains(key) {
			found, ok = e, true
		}
		return false
	})
	return found.value, ok
}

// After returns the value of the first entry that starts after key.
func (x *Index[V]) After(key []byte) (V, bool) {
	var found entry[V]
	ok := false
	x.tree.Ascend(entry[V]{start: key}, func(e entry[V]) bool {
		if bytes.Compare(e.start, key) > 0 {
			found, ok = e, true
			return false
		}
		return true
	})
	return found.value, ok
}

// Overlapping calls fn, in start order, for each entry whose range shares a
// key with [start, end) (an empty end is unbounded), until fn returns
// false. It looks at the one entry that starts before start (the only one
// that can reach into the range), then walks forward from start until the
// entries start at or after end.
func (x *Index[V]) Overlapping(start, end []byte, fn func(v V) bool) {
	pivot := entry[V]{start: start}
	more := true
	x.tree.Descend(pivot, func(e entry[V]) bool {
		if bytes.Compare(e.start, start) < 0 && mvcc.RangesOverlap(e.start, x.end(e), start, end) {
			more = fn(e.value)
		}
		return false
	})
	if !more {
		return
	}
	x.tree.Ascend(pivot, func(e entry[V]) bool {
		if len(end) > 0 && bytes.Compare(e.start, end) >= 0 {
			return false
		}
		if mvcc.RangesOverlap(e.start, x.end(e), start, end) {
			return fn(e.value)
		}
		return true
	})
}
