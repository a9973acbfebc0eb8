// Package reference is the reference store every test of reads compares
// the engine with: a plain multi-version map with no cache, no regions and
// no concurrency. The rule tests reach it through internal/testutil's Rig
// (Rig.Model); the randomized tests render their programs' expectations
// from it (tests/internal/model). View is the store as of an earlier moment, which
// is what a snapshot must keep answering.
package reference

import (
	"bytes"
	"slices"
	"sort"
)

// Version is one version of a key in the model.
type Version struct {
	Ts    uint64
	Seq   uint64 // order of the write that made it; a later write of the same ts wins
	Value []byte
	Tomb  bool
}

// KV is a visible key and its value.
type KV struct {
	Key, Value []byte
}

// Store is a multi-version map: every write adds a version, nothing is ever
// dropped (GC in the engine only drops what no read above the safe point can
// see, and reads at or below it go to disk, which keeps everything).
type Store struct {
	keys   map[string][]Version // versions in write order
	sorted []string             // every key ever written, sorted
	seq    uint64
}

// NewStore returns an empty store.
func NewStore() *Store { return &Store{keys: map[string][]Version{}} }

// Apply writes one version of key at ts: a value, or a delete marker.
func (s *Store) Apply(key []byte, ts uint64, value []byte, tomb bool) {
	s.seq++
	k := string(key)
	if _, ok := s.keys[k]; !ok {
		i := sort.SearchStrings(s.sorted, k)
		s.sorted = append(s.sorted, "")
		copy(s.sorted[i+1:], s.sorted[i:])
		s.sorted[i] = k
	}
	v := Version{Ts: ts, Seq: s.seq, Tomb: tomb}
	if !tomb {
		v.Value = bytes.Clone(value)
		if v.Value == nil {
			v.Value = []byte{}
		}
	}
	s.keys[k] = append(s.keys[k], v)
}

// Seq is the number of writes applied so far; a View at Seq sees them all.
func (s *Store) Seq() uint64 { return s.seq }

// Now is a view of everything written so far.
func (s *Store) Now() View { return View{s: s, seq: s.seq} }

// View is the store as it was after a given number of writes: what a
// snapshot taken then must answer, whatever is written later.
type View struct {
	s   *Store
	seq uint64
}

// Get returns the newest version of key at or below ts; a delete marker
// hides older versions.
func (v View) Get(key []byte, ts uint64) ([]byte, bool) {
	best, ok := v.newest(string(key), ts)
	if !ok || best.Tomb {
		return nil, false
	}
	return best.Value, true
}

func (v View) newest(k string, ts uint64) (Version, bool) {
	var best Version
	found := false
	for _, ver := range v.s.keys[k] {
		if ver.Seq > v.seq || ver.Ts > ts {
			continue
		}
		if !found || ver.Ts > best.Ts || (ver.Ts == best.Ts && ver.Seq > best.Seq) {
			best, found = ver, true
		}
	}
	return best, found
}

// Scan returns up to limit (0: no limit) visible keys of [start, end) at ts,
// in key order; an empty end is unbounded.
func (v View) Scan(start, end []byte, ts uint64, limit int) []KV {
	var out []KV
	i := sort.SearchStrings(v.s.sorted, string(start))
	for ; i < len(v.s.sorted); i++ {
		k := v.s.sorted[i]
		if len(end) > 0 && k >= string(end) {
			break
		}
		if val, ok := v.Get([]byte(k), ts); ok {
			out = append(out, KV{Key: []byte(k), Value: val})
			if limit > 0 && len(out) >= limit {
				break
			}
		}
	}
	return out
}

// Get reads the store as it is now.
func (s *Store) Get(key []byte, ts uint64) ([]byte, bool) { return s.Now().Get(key, ts) }

// Scan reads the store as it is now.
func (s *Store) Scan(start, end []byte, ts uint64, limit int) []KV {
	return s.Now().Scan(start, end, ts, limit)
}

// Keys returns every key written so far, in order.
func (s *Store) Keys() []string { return slices.Clone(s.sorted) }

// DistinctVersions is how many versions of keys in [start, end) (an empty
// end is unbounded) the disk keeps: one per key and ts, since writing a key
// at a ts it already has replaces that version. Delete markers count.
func (s *Store) DistinctVersions(start, end []byte) int64 {
	var n int64
	i := sort.SearchStrings(s.sorted, string(start))
	for ; i < len(s.sorted); i++ {
		k := s.sorted[i]
		if len(end) > 0 && k >= string(end) {
			break
		}
		seen := map[uint64]bool{}
		for _, v := range s.keys[k] {
			seen[v.Ts] = true
		}
		n += int64(len(seen))
	}
	return n
}

// Timestamps returns every ts written so far, in order, each once.
func (s *Store) Timestamps() []uint64 {
	var out []uint64
	for _, vs := range s.keys {
		for _, v := range vs {
			out = append(out, v.Ts)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Clone returns a copy of the store that shares nothing with it: unlike a
// View, it can be read while the original is written by another goroutine.
func (s *Store) Clone() *Store {
	c := &Store{keys: make(map[string][]Version, len(s.keys)), sorted: slices.Clone(s.sorted), seq: s.seq}
	for k, vs := range s.keys {
		c.keys[k] = slices.Clone(vs) // a Version's Value is never modified
	}
	return c
}
