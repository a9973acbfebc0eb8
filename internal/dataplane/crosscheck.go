package dataplane

import (
	"bytes"
	"fmt"

	"github.com/regioncache/regioncache/internal/mvcc"
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
// engine, with writes held off so both sides are at the same point. For each
// key, a read above the region's safe point must see the same thing in
// memory as on disk:
//   - every cached version is on disk with the same value;
//   - every disk version above the safe point is cached;
//   - the newest cached version at or below the safe point is the disk's
//     newest there, or, when that is a delete marker (or there is none),
//     nothing at all or that marker.
//
// Older versions that GC has not dropped yet are allowed.
func (p *Plane) CrossCheck() ([]Difference, error) {
	p.commitMu.Lock()
	defer p.commitMu.Unlock()
	var diffs []Difference
	var firstErr error
	p.routes.Scan(func(h *Handle) bool {
		h.mu.RLock()
		defer h.mu.RUnlock()
		if !h.readable || h.store == nil {
			return true
		}
		var mem []mvcc.Version
		h.store.Versions(h.Region.Start, h.Region.End, func(v mvcc.Version) bool {
			mem = append(mem, v)
			return true
		})
		add := func(key []byte, ts uint64, memory, disk string) {
			diffs = append(diffs, Difference{Region: h.Region, Key: bytes.Clone(key), Ts: ts, Memory: memory, Disk: disk})
		}
		i := 0
		var disk []mvcc.Version
		flush := func() {
			if len(disk) == 0 {
				return
			}
			key := disk[0].Key
			// Memory keys before this one are not on disk at all.
			for i < len(mem) && bytes.Compare(mem[i].Key, key) < 0 {
				add(mem[i].Key, mem[i].Ts, describe(mem[i]), "absent")
				i++
			}
			j := i
			for j < len(mem) && bytes.Equal(mem[j].Key, key) {
				j++
			}
			compareKey(mem[i:j], disk, h.safePoint, add)
			i = j
			disk = disk[:0]
		}
		err := p.db.Reader().Versions(h.Region.Start, h.Region.End, func(key []byte, ts uint64, value []byte, tomb bool) error {
			if len(disk) > 0 && !bytes.Equal(disk[0].Key, key) {
				flush()
			}
			disk = append(disk, mvcc.Version{Key: bytes.Clone(key), Ts: ts, Value: bytes.Clone(value), Tombstone: tomb})
			return nil
		})
		if err != nil {
			firstErr = err
			return false
		}
		flush()
		for ; i < len(mem); i++ {
			add(mem[i].Key, mem[i].Ts, describe(mem[i]), "absent")
		}
		return true
	})
	return diffs, firstErr
}

// compareKey checks one key's cached versions against its disk versions,
// both newest first.
func compareKey(mem, disk []mvcc.Version, safePoint uint64, add func(key []byte, ts uint64, memory, disk string)) {
	onDisk := make(map[uint64]mvcc.Version, len(disk))
	for _, d := range disk {
		onDisk[d.Ts] = d
	}
	inMem := make(map[uint64]bool, len(mem))
	var memBase *mvcc.Version
	for k := range mem {
		m := mem[k]
		inMem[m.Ts] = true
		d, ok := onDisk[m.Ts]
		switch {
		case !ok:
			add(m.Key, m.Ts, describe(m), "absent")
		case d.Tombstone != m.Tombstone || !bytes.Equal(d.Value, m.Value):
			add(m.Key, m.Ts, describe(m), describe(d))
		}
		if m.Ts <= safePoint && memBase == nil {
			memBase = &mem[k]
		}
	}
	var diskBase *mvcc.Version
	for k := range disk {
		d := disk[k]
		if d.Ts > safePoint {
			if !inMem[d.Ts] {
				add(d.Key, d.Ts, "absent", describe(d))
			}
			continue
		}
		if diskBase == nil {
			diskBase = &disk[k]
		}
	}
	switch {
	case diskBase != nil && !diskBase.Tombstone:
		if memBase == nil || memBase.Ts != diskBase.Ts {
			got := "absent"
			if memBase != nil {
				got = fmt.Sprintf("%s at ts %d", describe(*memBase), memBase.Ts)
			}
			add(diskBase.Key, diskBase.Ts, got, describe(*diskBase))
		}
	case memBase != nil && (diskBase == nil || memBase.Ts != diskBase.Ts):
		// Memory shows a version the disk hides (or never had) at or
		// below the safe point.
		want := "absent"
		if diskBase != nil {
			want = fmt.Sprintf("%s at ts %d", describe(*diskBase), diskBase.Ts)
		}
		add(memBase.Key, memBase.Ts, describe(*memBase), want)
	}
}
