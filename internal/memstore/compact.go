package memstore

import (
	"errors"
	"unsafe"
)

// ErrCompactionCanceled reports a compaction stopped by its caller.
var ErrCompactionCanceled = errors.New("memstore: compaction canceled")

// compactCheckEvery is how many versions a compaction copies between looks
// at its cancel function.
const compactCheckEvery = 4096

// Compact builds a new base run from a view: every version it holds within
// its bounds, base run and write layer merged, hidden versions left out and
// GC at safePoint applied (safePoint 0: no GC). It reserves each chunk
// before allocating it; on an error (a reservation refused, canceled returns
// true) it gives back what it reserved. The view is only read, so the store
// it was taken from goes on serving reads and writes meanwhile.
func Compact(v *View, safePoint uint64, reserve ReserveFunc, canceled func() bool) (*Run, error) {
	b := NewRunBuilder(safePoint, reserve)
	c := v.cursor(v.lo, v.hi)
	defer c.close()
	n := 0
	for c.next() {
		if _, err := b.Add(c.key, c.ts, c.value, c.tomb); err != nil {
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

// WriteLimit is how many versions a write layer over a base run of baseLen
// versions holds before it is compacted into a new base run: half the base,
// at least 8,192 and at most 262,144. A compaction copies the base once for
// every half of its size written (three copies per written version, in the
// background), and the write layer's B-tree stays a small fraction of the
// region.
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
	return (s.base.NeedsGC(safePoint) && s.bhi > s.blo) || (s.wlen() > 0 && s.wMinTs <= safePoint)
}

// Install replaces the base run that from was taken over by run, the
// result of Compact(from, ...): the write layer's versions and hides that
// from held are now in run and leave the write layer, unless they changed
// since. It returns the run replaced (the caller drops the store's
// reference to it) and the change in the write layer's accounted bytes. ok
// is false when s's base is no longer from's (another install or a reset came
// first): then nothing changes and the caller drops run. A nil run (the
// compaction kept nothing) leaves the store without a base.
func (s *Store) Install(from *View, run *Run) (old *Run, delta int64, ok bool) {
	if s.base != from.base {
		return nil, 0, false
	}
	var doomed []wentry
	from.wscan(func(e wentry) bool {
		if s.w == nil {
			return false // nothing written here since: nothing folded to remove
		}
		if cur, ok := s.w.Get(e); ok && sameString(cur.key, e.key) && sameString(cur.value, e.value) && cur.tomb == e.tomb {
			doomed = append(doomed, cur)
		}
		return true
	})
	delta = s.removeW(doomed)
	if from.hides != nil && s.hides != nil {
		from.hides.Scan(func(h hide) bool {
			if cur, ok := s.hides.Get(h); ok && cur.ts == h.ts {
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
	s.wMinTs = 0
	first := true
	s.wscan(func(e wentry) bool {
		if first || e.ts < s.wMinTs {
			s.wMinTs, first = e.ts, false
		}
		return true
	})
	old = s.base
	s.base = run
	s.setBounds(s.lo, s.hi)
	return old, delta, true
}

// sameString says whether a and b are the same bytes in memory: the same
// copy, not only equal contents (a version written again is a new copy).
func sameString(a, b string) bool {
	return len(a) == len(b) && unsafe.StringData(a) == unsafe.StringData(b)
}
