// Package model holds the reference model, the random program generator, the
// renderer that writes programs as event logs (docs/event-log.md) and
// the shrinker, which the randomized tests in package tests use.
//
//   - Store is the reference: a plain multi-version map with no cache, no
//     regions and no concurrency; View is the store as of an earlier moment,
//     which is what a snapshot must keep answering.
//   - Generate(seed) builds a Program: the host's region table at the start
//     and ops in which that table evolves by splits and merges (children and
//     merged regions get higher versions; one child keeps the source's id),
//     with loads and evictions of current and stale descriptors, writes
//     (single, batched, delete markers, some below a key's newest version),
//     reads at every interesting ts, snapshots and their release, GC that
//     never passes a write in flight, failpoints (pause, resume, error,
//     panic, delay, off; a pause is always let go within a few ops), waits,
//     checks and "settle" ops after which the generator knows which region
//     is active. The seed alone decides the program (math/rand/v2 PCG).
//   - Render writes a Program as an event log in which every get and scan
//     carries the reference model's answer, and sources are asserted only
//     where they are certain (see Render).
//   - Shrink reduces a failing Program by delta debugging over its ops,
//     re-rendering each candidate so that expectations are recomputed.
package model

import (
	"bytes"
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
