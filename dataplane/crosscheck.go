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
// engine, with writes held off so both sides are at the same point. Every
// cached version must be on disk with the same value; every disk version
// above the region's safe point must be cached, and so must the newest one at
// or below it unless that is a delete marker (what GC keeps). Older versions
// that GC has not dropped yet are allowed.
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
		var mem []mvcc.Version
		h.tree.Versions(h.Region.Start, h.Region.End, func(v mvcc.Version) bool {
			mem = append(mem, v)
			return true
		})
		add := func(key []byte, ts uint64, memory, disk string) {
			diffs = append(diffs, Difference{Region: h.Region, Key: bytes.Clone(key), Ts: ts, Memory: memory, Disk: disk})
		}
		i := 0
		var cur []byte
		haveCur, passedBase := false, false
		err := p.db.Reader().Versions(h.Region.Start, h.Region.End, func(key []byte, ts uint64, value []byte, tomb bool) error {
			d := mvcc.Version{Key: key, Ts: ts, Value: value, Tombstone: tomb}
			for i < len(mem) && versionLess(mem[i], d) {
				add(mem[i].Key, mem[i].Ts, describe(mem[i]), "absent")
				i++
			}
			if !haveCur || !bytes.Equal(key, cur) {
				cur, haveCur, passedBase = append(cur[:0], key...), true, false
			}
			required := ts > h.safePoint
			if !required && !passedBase {
				passedBase = true
				required = !tomb
			}
			if i < len(mem) && mem[i].Ts == ts && bytes.Equal(mem[i].Key, key) {
				if mem[i].Tombstone != tomb || !bytes.Equal(mem[i].Value, value) {
					add(key, ts, describe(mem[i]), describe(d))
				}
				i++
			} else if required {
				add(key, ts, "absent", describe(d))
			}
			return nil
		})
		if err != nil {
			firstErr = err
			return false
		}
		for ; i < len(mem); i++ {
			add(mem[i].Key, mem[i].Ts, describe(mem[i]), "absent")
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
