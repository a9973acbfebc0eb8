package memstore

import "fmt"

// SetShareMinVersions sets the smallest base run a compaction shares the
// arena of (tests use 1 so that their small runs take the shared path) and
// returns a function that restores it.
func SetShareMinVersions(n int) (restore func()) {
	old := shareMinVersions
	shareMinVersions = n
	return func() { shareMinVersions = old }
}

// ArenaShared says whether run b reads its arena chunks from a's memory
// (the first chunk of each is the same bytes).
func ArenaShared(a, b *Run) bool {
	return len(a.arena) > 0 && len(b.arena) > 0 && &a.arena[0][0] == &b.arena[0][0]
}

// CommonPrefix is the key prefix the run's record prefixes are taken after.
func CommonPrefix(r *Run) []byte { return r.cp }

// CheckWriteLayer checks the write layer's invariants: each segment sorted
// with no version twice, its bounds and bytes what its entries say, the
// store's count and account what its segments and hides hold.
func CheckWriteLayer(s *Store) error {
	n := 0
	var bytes int64
	for gi, g := range s.segs {
		want := newSeg(g.e)
		if want.minSeq != g.minSeq || want.maxSeq != g.maxSeq || want.minTs != g.minTs || want.maxTs != g.maxTs || want.bytes != g.bytes {
			return fmt.Errorf("segment %d of %d: bounds %+v, its entries say %+v", gi, len(s.segs), *g, *want)
		}
		for i := range g.e {
			e := &g.e[i]
			if e.prefix != wprefix([]byte(e.key), s.wcp) {
				return fmt.Errorf("segment %d: %q has prefix %x, want %x", gi, e.key, e.prefix, wprefix([]byte(e.key), s.wcp))
			}
			if i > 0 && wcmp(&g.e[i-1], e) >= 0 {
				return fmt.Errorf("segment %d: %s@%d after %s@%d", gi, e.key, e.ts, g.e[i-1].key, g.e[i-1].ts)
			}
		}
		n += len(g.e)
		bytes += g.bytes
	}
	if s.hides != nil {
		s.hides.Scan(func(h hide) bool { bytes += HideBytes([]byte(h.key)); return true })
	}
	if n != s.wn || bytes != s.wBytes {
		return fmt.Errorf("the layer holds %d versions and %d bytes; the store says %d and %d", n, bytes, s.wn, s.wBytes)
	}
	return nil
}

// SeekBothWays is the index of the first version at or after (key, ts) in
// [lo, hi), found through the run's fence and by a plain binary search.
func SeekBothWays(r *Run, key []byte, ts uint64, lo, hi int) (fenced, plain int) {
	fenced = r.seek(key, ts, lo, hi)
	f := r.fence
	r.fence = nil
	plain = r.seek(key, ts, lo, hi)
	r.fence = f
	return fenced, plain
}

// FenceLen is the number of entries in the run's fence.
func FenceLen(r *Run) int { return len(r.fence) }
