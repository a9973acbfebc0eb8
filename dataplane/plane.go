// Package dataplane is the shared data path between the host's reads and
// writes and the cached regions: the disk engine, the published route table
// of cached regions, each region's data handle and the engine-wide memory
// account.
//
// The region actors own every lifecycle decision; this package only performs
// them (start capturing writes, activate, unpublish, release) and serves reads
// and writes without a message round trip. One commit lock orders every Pebble
// commit with the moments a region starts capturing writes, becomes readable
// or stops, which is what makes memory and disk agree: a write is either in
// the loader's snapshot or captured, never lost; a region never becomes
// readable between a write's commit and its application to memory.
package dataplane

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/tidwall/btree"

	"github.com/regioncache/regioncache/diskengine"
	"github.com/regioncache/regioncache/memstore"
	"github.com/regioncache/regioncache/mvcc"
)

// Plane is the data path of one engine.
type Plane struct {
	db *diskengine.DB

	// commitMu orders Pebble commits with capture start, activation,
	// unpublishing and memory snapshots. Holders never wait for an actor.
	commitMu sync.Mutex
	routes   *btree.BTreeG[*Handle] // guarded by commitMu
	// published is an immutable copy of routes that readers search.
	published atomic.Pointer[btree.BTreeG[*Handle]]

	memUsed atomic.Int64

	snapMu sync.Mutex
	snaps  map[*diskSnap]struct{} // open Pebble snapshots, closed at Close
	closed bool
}

// New returns the data plane over db.
func New(db *diskengine.DB) *Plane {
	p := &Plane{
		db:     db,
		routes: btree.NewBTreeGOptions(func(a, b *Handle) bool { return bytes.Compare(a.Region.Start, b.Region.Start) < 0 }, btree.Options{NoLocks: true}),
		snaps:  make(map[*diskSnap]struct{}),
	}
	p.published.Store(p.routes.Copy())
	return p
}

// DB is the disk engine.
func (p *Plane) DB() *diskengine.DB { return p.db }

// MemoryUsed is the accounted bytes of every cached version, including copies
// in progress and data kept for snapshots, until actually released.
func (p *Plane) MemoryUsed() int64 { return p.memUsed.Load() }

// Handle is the cached data of one region incarnation.
type Handle struct {
	Region mvcc.Region
	Gen    uint64

	mu        sync.RWMutex
	capturing bool // writes to the region are applied here
	readable  bool // reads above safePoint are served from tree
	tree      *memstore.Tree
	safePoint uint64
	accounted int64 // bytes of tree added to the plane's account

	lastRead atomic.Int64 // a logical clock of reads, for least-recently-read eviction
}

// NewHandle returns an empty handle for an incarnation.
func NewHandle(r mvcc.Region, gen uint64) *Handle {
	return &Handle{Region: r, Gen: gen, tree: memstore.New()}
}

// account brings the plane's account in line with the tree; h.mu held.
func (p *Plane) account(h *Handle) {
	if h.tree == nil {
		p.memUsed.Add(-h.accounted)
		h.accounted = 0
		return
	}
	b := h.tree.Bytes()
	p.memUsed.Add(b - h.accounted)
	h.accounted = b
}

// ErrRouteConflict reports a handle whose range overlaps a published one. The
// supervisor never lets that happen; it is checked so a bug cannot corrupt reads.
var ErrRouteConflict = errors.New("dataplane: route overlaps a published region")

func (p *Plane) findLocked(rt *btree.BTreeG[*Handle], key []byte) *Handle {
	var found *Handle
	rt.Descend(&Handle{Region: mvcc.Region{Start: key}}, func(h *Handle) bool {
		if h.Region.Contains(key) {
			found = h
		}
		return false
	})
	return found
}

func (p *Plane) publishLocked() { p.published.Store(p.routes.Copy()) }

// BeginCapture publishes h so that every write committed from now on is
// applied to it, and returns a disk snapshot holding everything committed
// before: together they are exactly the region's data.
func (p *Plane) BeginCapture(h *Handle) (DiskSnapshot, error) {
	p.commitMu.Lock()
	defer p.commitMu.Unlock()
	var conflict *Handle
	p.routes.Scan(func(o *Handle) bool {
		if o.Region.Overlaps(h.Region) {
			conflict = o
			return false
		}
		return true
	})
	if conflict != nil {
		return DiskSnapshot{}, fmt.Errorf("%w: %s overlaps %s", ErrRouteConflict, h.Region, conflict.Region)
	}
	snap, err := p.NewDiskSnapshot()
	if err != nil {
		return DiskSnapshot{}, err
	}
	h.mu.Lock()
	h.capturing = true
	h.mu.Unlock()
	p.routes.Set(h)
	p.publishLocked()
	return snap, nil
}

// Activate installs a completed copy: the writes captured during the load are
// laid over it and reads above safePoint are served from it from now on.
// copyAccounted is what the copy added to the account while it was built.
func (p *Plane) Activate(h *Handle, copied *memstore.Tree, copyAccounted int64, safePoint uint64) {
	p.commitMu.Lock()
	defer p.commitMu.Unlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	copied.MergeFrom(h.tree)
	p.memUsed.Add(-copyAccounted)
	h.tree = copied
	h.safePoint = safePoint
	h.readable = true
	p.account(h)
}

// Unpublish stops serving reads from h and applying writes to it. Its memory
// stays accounted until Release.
func (p *Plane) Unpublish(h *Handle) {
	p.commitMu.Lock()
	defer p.commitMu.Unlock()
	if cur, ok := p.routes.Get(h); ok && cur == h {
		p.routes.Delete(h)
		p.publishLocked()
	}
	h.mu.Lock()
	h.capturing, h.readable = false, false
	h.mu.Unlock()
}

// Release drops h's data from the account. h must be unpublished.
func (p *Plane) Release(h *Handle) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tree = nil
	p.account(h)
}

// ReleaseCopy drops the account of a copy that will not be installed.
func (p *Plane) ReleaseCopy(accounted int64) { p.memUsed.Add(-accounted) }

// AddCopyBytes accounts bytes a loader copied (negative to give them back).
func (p *Plane) AddCopyBytes(n int64) { p.memUsed.Add(n) }

// MemSnapshot is a read-only view of a region's cached data, with a disk
// snapshot of the same moment for reads at or below its safe point.
type MemSnapshot struct {
	Tree      *memstore.Tree
	Bytes     int64
	SafePoint uint64
	Disk      DiskSnapshot
}

// TakeSnapshot captures h's data and the disk as they are now, at one point
// of the commit order.
func (p *Plane) TakeSnapshot(h *Handle) (MemSnapshot, bool) {
	if h == nil {
		return MemSnapshot{}, false
	}
	p.commitMu.Lock()
	defer p.commitMu.Unlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.readable || h.tree == nil {
		return MemSnapshot{}, false
	}
	disk, err := p.NewDiskSnapshot()
	if err != nil {
		return MemSnapshot{}, false
	}
	return MemSnapshot{Tree: h.tree.Copy(), Bytes: h.tree.Bytes(), SafePoint: h.safePoint, Disk: disk}, true
}

// GC drops versions of an active region that no read above safePoint sees.
func (p *Plane) GC(h *Handle, safePoint uint64) (dropped int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.tree == nil || !h.readable {
		return 0
	}
	if safePoint > h.safePoint {
		h.safePoint = safePoint
	}
	dropped, _ = h.tree.GC(safePoint)
	p.account(h)
	return dropped
}

// Stats of a handle for the debug view.
func (h *Handle) Stats() (bytes int64, versions int, safePoint uint64) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.tree != nil {
		bytes, versions = h.tree.Bytes(), h.tree.Len()
	}
	return bytes, versions, h.safePoint
}

// Write commits the mutations to the disk engine as one batch, then applies
// them to every region capturing writes, before any other commit. It returns
// the regions whose capture grew (for memory checks).
func (p *Plane) Write(muts []mvcc.Mutation) error {
	p.commitMu.Lock()
	defer p.commitMu.Unlock()
	if err := p.db.Commit(muts); err != nil {
		return err
	}
	rt := p.published.Load()
	if rt.Len() == 0 {
		return nil
	}
	// Apply each region's share under one lock so no read sees half a batch.
	type share struct {
		h    *Handle
		muts []mvcc.Mutation
	}
	var shares []share
	for _, m := range muts {
		h := p.findLocked(rt, m.Key)
		if h == nil {
			continue
		}
		i := slices.IndexFunc(shares, func(s share) bool { return s.h == h })
		if i < 0 {
			shares = append(shares, share{h: h})
			i = len(shares) - 1
		}
		shares[i].muts = append(shares[i].muts, m)
	}
	for _, s := range shares {
		s.h.mu.Lock()
		if s.h.capturing && s.h.tree != nil {
			for _, m := range s.muts {
				s.h.tree.Set(m)
			}
			p.account(s.h)
		}
		s.h.mu.Unlock()
	}
	return nil
}
