package memstore

import (
	"bytes"
	"errors"
)

// ErrCompactionCanceled reports a compaction stopped by its caller.
var ErrCompactionCanceled = errors.New("regioncache: memstore: compaction canceled")

// compactCheckEvery is how many versions a compaction copies between looks
// at its cancel function.
const compactCheckEvery = 4096

// Compact builds a new base run from a view: every version it holds within
// its bounds, base run and write layer merged, hidden versions left out and
// GC at safePoint applied (safePoint 0: no GC). It reserves each chunk
// before allocating it; on an error (a reservation refused, canceled returns
// true) it gives back what it reserved. The view is only read, so the store
// it was taken from goes on serving reads and writes meanwhile.
//
// When the new run keeps nearly all of the base run (see sharesArena), it
// shares the base run's arena chunks and copies only their index records
// and the write layer's bytes: a compaction that folds writes into a large
// run costs its index (32 of the 158 bytes of a typical version), not the
// whole run again.
func Compact(v *View, safePoint uint64, reserve ReserveFunc, canceled func() bool) (*Run, error) {
	b := NewRunBuilder(safePoint, reserve)
	b.Within(v.lo, v.hi)
	share := v.sharesArena(safePoint)
	if share {
		if err := b.ShareArena(v.base); err != nil {
			b.Abort()
			return nil, err
		}
	}
	c := v.cursor(v.lo, v.hi)
	n := 0
	for c.next() {
		var err error
		switch {
		case share && c.base >= 0:
			_, err = b.addShared(c.base, c.key, c.value)
		case share && c.bi < c.bend && bytes.Equal(v.base.key(c.bi), c.key):
			// A written version of a key the base run holds: its record
			// points at the base's copy of the key, so the key's versions
			// keep one address and the base's copy stays in use.
			_, err = b.add(c.key, c.ts, c.value, c.tomb, v.base.rec(c.bi).key&^tombBit, noAddr)
		default:
			_, err = b.Add(c.key, c.ts, c.value, c.tomb)
		}
		if err != nil {
			b.Abort()
			return nil, err
		}
		if n++; n%compactCheckEvery == 0 && canceled != nil && canceled() {
			b.Abort()
			return nil, ErrCompactionCanceled
		}
	}
	return b.Finish()
}

// shareMinVersions is the smallest base run a compaction shares the arena
// of: a small run is cheap to copy, and copying it leaves no garbage. (A
// variable for the tests, which share the arenas of their small runs.)
var shareMinVersions = 4096

// sharesArena says whether a compaction of v at safePoint builds its run
// over v's base run's arena rather than copying it: when the view reads the
// whole run (not a split child's part of a shared one), hides none of its
// versions, GC at safePoint drops none of them, and the run's garbage
// (bytes left unread by earlier shared compactions) is under a quarter of
// it. Otherwise the copy is what frees memory.
func (v *View) sharesArena(safePoint uint64) bool {
	r := v.base
	if r == nil || r.n < shareMinVersions || v.blo != 0 || v.bhi != r.n || v.hides != nil {
		return false
	}
	if safePoint > 0 && r.NeedsGC(safePoint) {
		return false
	}
	return r.garbage*4 < r.bytes
}

// WriteLimit is how many versions a write layer over a base run of baseLen
// versions holds before it is compacted into a new base run: half the base,
// at least 8,192 and at most 262,144. A compaction copies the base once for
// every half of its size written (three copies per written version, in the
// background), and the write layer stays a small fraction of the region
// (at most log2(262,144 / batch) segments for a reader to search).
func WriteLimit(baseLen int) int { return min(max(baseLen/2, 8192), 1<<18) }

// NeedsCompaction says whether the store should be compacted: its write
// layer is past WriteLimit, or GC at safePoint would drop versions of its
// base run, or versions written at or below safePoint may make older ones
// (or themselves, delete markers) collectable.
func (s *Store) NeedsCompaction(safePoint uint64) bool {
	if s.wlen() > WriteLimit(s.base.Len()) {
		return true
	}
	if safePoint == 0 {
		return false
	}
	return (s.base.NeedsGC(safePoint) && s.bhi > s.blo) || (s.wlen() > 0 && s.wMinTs() <= safePoint)
}

// Install replaces the base run that from was taken over by run, the
// result of Compact(from, ...): the write layer's versions and hides that
// from held are now in run and leave the write layer, unless they changed
// since (a version written again since belongs to a later batch, and
// stays). It returns the run replaced (the caller drops the store's
// reference to it) and the change in the write layer's accounted bytes. ok
// is false when s's base is no longer from's (another install or a reset
// came first): then nothing changes and the caller drops run. A nil run
// (the compaction kept nothing) leaves the store without a base.
func (s *Store) Install(from *View, run *Run) (old *Run, delta int64, ok bool) {
	if s.base != from.base {
		return nil, 0, false
	}
	delta = s.keepAfter(from.seq)
	if from.hides != nil && s.hides != nil {
		from.hides.Scan(func(h hide) bool {
			if cur, ok := s.hides.Get(h); ok && cur.seq == h.seq {
				s.hides.Delete(cur)
				d := int64(len(cur.key)) + WriteEntryOverhead
				s.wBytes -= d
				delta -= d
			}
			return true
		})
		if s.hides.Len() == 0 {
			s.hides = nil
		}
	}
	old = s.base
	s.base = run
	s.setBounds(s.lo, s.hi)
	return old, delta, true
}
