package dataplane

import (
	"bytes"
	"fmt"

	"github.com/regioncache/regioncache/mvcc"
)

// Difference is one way an active region's cached data disagrees with disk.
type Difference struct {
	Region mvcc.Region
	Key    []byte
	Ts     uint64
	// Memory and Disk describe the version on each side ("absent" when missing).
	Memory, Disk string
}

func (d Difference) String() string {
	return fmt.Sprintf("%s: key %s ts %d: memory %s, disk %s", d.Region, mvcc.FormatKey(d.Key), d.Ts, d.Memory, d.Disk)
}

func describe(v mvcc.Version) string {
	if v.Tombstone {
		return "delete marker"
	}
	return fmt.Sprintf("%q", v.Value)
}

// CrossCheck compares every active region's cached versions with the disk
// engine, with writes held off so both sides are at the same point. Memory
// must hold exactly what GC at the region's safe point leaves of the disk
// versions: every version above it, and the newest at or below it unless
// that is a delete marker.
func (p *Plane) CrossCheck() ([]Difference, error) {
	p.commitMu.Lock()
	defer p.commitMu.Unlock()
	var diffs []Difference
	var firstErr error
	p.routes.Scan(func(h *Handle) bool {
		h.mu.RLock()
		defer h.mu.RUnlock()
		if !h.readable || h.tree == nil {
			return true
		}
		var want []mvcc.Version
		var cur []byte
		haveCur, keptBase := false, false
		err := p.db.Reader().Versions(h.Region.Start, h.Region.End, func(key []byte, ts uint64, value []byte, tomb bool) error {
			if !haveCur || !bytes.Equal(key, cur) {
				cur, haveCur, keptBase = append(cur[:0], key...), true, false
			}
			if ts <= h.safePoint {
				if keptBase {
					return nil
				}
				keptBase = true
				if tomb {
					return nil
				}
			}
			want = append(want, mvcc.Version{Key: bytes.Clone(key), Ts: ts, Value: bytes.Clone(value), Tombstone: tomb})
			return nil
		})
		if err != nil {
			firstErr = err
			return false
		}
		i := 0
		h.tree.Versions(h.Region.Start, h.Region.End, func(v mvcc.Version) bool {
			for i < len(want) && versionLess(want[i], v) {
				diffs = append(diffs, Difference{Region: h.Region, Key: want[i].Key, Ts: want[i].Ts, Memory: "absent", Disk: describe(want[i])})
				i++
			}
			if i < len(want) && want[i].Ts == v.Ts && bytes.Equal(want[i].Key, v.Key) {
				if want[i].Tombstone != v.Tombstone || !bytes.Equal(want[i].Value, v.Value) {
					diffs = append(diffs, Difference{Region: h.Region, Key: bytes.Clone(v.Key), Ts: v.Ts, Memory: describe(v), Disk: describe(want[i])})
				}
				i++
				return true
			}
			diffs = append(diffs, Difference{Region: h.Region, Key: bytes.Clone(v.Key), Ts: v.Ts, Memory: describe(v), Disk: "absent"})
			return true
		})
		for ; i < len(want); i++ {
			diffs = append(diffs, Difference{Region: h.Region, Key: want[i].Key, Ts: want[i].Ts, Memory: "absent", Disk: describe(want[i])})
		}
		return true
	})
	return diffs, firstErr
}

func versionLess(a, b mvcc.Version) bool {
	if c := bytes.Compare(a.Key, b.Key); c != 0 {
		return c < 0
	}
	return a.Ts > b.Ts
}
