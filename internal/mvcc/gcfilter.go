package mvcc

import "bytes"

// GCFilter decides, for versions arriving in order (key ascending, ts
// descending), which ones a GC at SafePoint keeps: every version above the
// safe point, and the newest one at or below it unless it is a delete
// marker. A loader runs it while it copies, so that a region whose host GC
// lags (many old versions on disk) costs memory only for what reads above
// the safe point can see, and never reserves the rest. SafePoint 0 keeps
// everything.
type GCFilter struct {
	SafePoint uint64
	cur       []byte
	started   bool
	decided   bool // the key's newest version at or below the safe point was seen
}

// Keep reports whether the version stays after GC. key is copied when it
// starts a new key, so the caller may reuse its buffer.
func (f *GCFilter) Keep(key []byte, ts uint64, tomb bool) bool {
	if f.SafePoint == 0 {
		return true
	}
	if !f.started || !bytes.Equal(key, f.cur) {
		f.cur = append(f.cur[:0], key...)
		f.started, f.decided = true, false
	}
	if ts > f.SafePoint {
		return true
	}
	if f.decided {
		return false
	}
	f.decided = true
	return !tomb
}
