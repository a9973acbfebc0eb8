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

	"github.com/regioncache/regioncache/internal/diskengine"
	"github.com/regioncache/regioncache/internal/memstore"
	"github.com/regioncache/regioncache/internal/mvcc"
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

	acct   *Account
	limits Limits
	// pressureSignaled debounces OnPressure until the engine has handled it.
	pressureSignaled atomic.Bool

	snapMu sync.Mutex
	snaps  map[*diskSnap]struct{} // open Pebble snapshots, closed at Close
	closed bool
}

// Limits bound the memory of cached data. Zero values disable a limit.
type Limits struct {
	// Capacity is a hard limit: a copy that would pass it fails, and a write
	// that would pass it evicts the written region instead of growing it.
	Capacity int64
	// StopLoad: a load that starts while memory is at or above it fails
	// without copying.
	StopLoad int64
	// EvictThreshold: when memory reaches it, OnPressure is called and the
	// engine evicts least recently read regions until below StopLoad.
	EvictThreshold int64
	// OnDrop is told about each region the data plane stopped serving
	// from memory on its own when it activated (see Drop; a write returns
	// its drops instead). The engine evicts it. It must not block.
	OnDrop func(region mvcc.Region, gen uint64, reason string)
	// OnPressure is called when memory reaches EvictThreshold. It must not block.
	OnPressure func()
}

// ErrStopLoad reports a load refused because memory is above the stop-load threshold.
var ErrStopLoad = errors.New("memory above the stop-load threshold")

// CheckStopLoad returns ErrStopLoad when a new load must not start.
func (p *Plane) CheckStopLoad() error {
	if p.limits.StopLoad > 0 && p.acct.Used() >= p.limits.StopLoad {
		return ErrStopLoad
	}
	return nil
}

// checkPressure tells the engine when memory has reached the evict threshold.
func (p *Plane) checkPressure() {
	if p.limits.EvictThreshold > 0 && p.limits.OnPressure != nil && p.acct.Used() >= p.limits.EvictThreshold &&
		p.pressureSignaled.CompareAndSwap(false, true) {
		p.limits.OnPressure()
	}
}

// PressureHandled re-arms OnPressure after the engine has acted on it.
func (p *Plane) PressureHandled() { p.pressureSignaled.Store(false) }

// Limits returns the memory limits.
func (p *Plane) Limits() Limits { return p.limits }

// ErrCapacity reports a copy that would pass the memory capacity.
var ErrCapacity = errors.New("memory capacity reached")

// New returns the data plane over db.
func New(db *diskengine.DB, limits Limits) *Plane {
	p := &Plane{
		limits: limits,
		acct:   NewAccount(limits.Capacity),
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
func (p *Plane) MemoryUsed() int64 { return p.acct.Used() }

// Account is the memory account every cached byte is reserved from.
func (p *Plane) Account() *Account { return p.acct }

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
	// untrimmed: the tree is a split parent's, still holding keys outside
	// Region; the account follows deltas until Trim finishes, then is exact.
	untrimmed bool

	lastRead atomic.Int64 // a logical clock of reads, for least-recently-read eviction
}

// NewHandle returns an empty handle for an incarnation.
func NewHandle(r mvcc.Region, gen uint64) *Handle {
	return &Handle{Region: r, Gen: gen, tree: memstore.New()}
}

// settle brings the plane's account in line with h's tree after a change
// for which reserved bytes were reserved (0 for a change that only
// shrinks); h.mu held. An untrimmed split child takes delta, the change the
// caller made, since its shared tree still holds keys outside its range.
func (p *Plane) settle(h *Handle, reserved, delta int64) {
	var change int64
	switch {
	case h.tree == nil:
		change = -h.accounted
	case h.untrimmed:
		change = delta
	default:
		change = h.tree.Bytes() - h.accounted
	}
	h.accounted += change
	p.acct.settle(reserved, change)
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
	// Routes never overlap, so only the one starting at or before h and
	// those starting inside h can.
	pivot := &Handle{Region: mvcc.Region{Start: h.Region.Start}}
	p.routes.Descend(pivot, func(o *Handle) bool {
		if o.Region.Overlaps(h.Region) {
			conflict = o
		}
		return false
	})
	p.routes.Ascend(pivot, func(o *Handle) bool {
		if len(h.Region.End) > 0 && bytes.Compare(o.Region.Start, h.Region.End) >= 0 {
			return false
		}
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
	// The copy was GC'd at safePoint; writes captured during the load at
	// or below it may sit under a version GC dropped: rebase those keys,
	// reserving what their disk versions will add first.
	var rebase [][]byte
	if safePoint > 0 {
		rebase = h.tree.KeysAtOrBelow(safePoint)
	}
	bases, need, err := p.basesLocked(rebase, safePoint)
	dropReason := ""
	switch {
	case err != nil:
		dropReason = "read_error"
	case p.acct.Reserve(need) != nil:
		dropReason = "memory_limit_reached"
	}
	copied.MergeFrom(h.tree)
	// The copy's bytes, reserved by its loader, now belong to the handle.
	h.accounted += copyAccounted
	h.tree = copied
	h.safePoint = safePoint
	h.untrimmed = false
	if dropReason == "" {
		for i, k := range rebase {
			copied.Rebase(k, safePoint, bases[i])
		}
		p.settle(h, need, 0)
	} else {
		p.settle(h, 0, 0)
	}
	// Not readable if a key could not be rebased (the engine evicts it),
	// nor if the data plane stopped capturing its writes while it loaded (a
	// write over capacity dropped it: its eviction is on its way, and the
	// copy lacks that write and every later one).
	h.readable = dropReason == "" && h.capturing
	if dropReason != "" && p.limits.OnDrop != nil {
		p.limits.OnDrop(h.Region, h.Gen, dropReason)
	}
	h.touch() // a fresh region is not the least recently read
	p.checkPressure()
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
	p.settle(h, 0, 0)
}

// ReleaseCopy drops the account of a copy that will not be installed.
func (p *Plane) ReleaseCopy(accounted int64) { p.acct.Release(accounted) }

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
	dropped, delta := h.tree.GCRange(h.Region.Start, h.Region.End, safePoint)
	p.settle(h, 0, delta)
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

// Drop is a region the data plane stopped serving from memory on its own,
// and why: "memory_limit_reached" (a write would have passed Capacity) or
// "read_error" (the disk could not say what a write at or below the safe
// point leaves). The engine must evict it.
type Drop struct {
	Region mvcc.Region
	Gen    uint64
	Reason string
}

// Write commits the mutations to the disk engine as one batch, then applies
// them to every region capturing writes, before any other commit. With
// sync it returns only once the batch is on stable storage; the wait is
// outside the commit lock, so concurrent synced writes share one sync.
//
// It returns the regions it stopped serving from memory (Drop); the caller
// evicts them, and waits for that if its own caller must see their state.
func (p *Plane) Write(muts []mvcc.Mutation, sync bool) ([]Drop, error) {
	durable, drops, err := p.commit(muts, sync)
	if err != nil {
		return nil, err
	}
	if err := durable(); err != nil {
		return drops, fmt.Errorf("syncing the write-ahead log: %w", err)
	}
	return drops, nil
}

func (p *Plane) commit(muts []mvcc.Mutation, sync bool) (durable func() error, drops []Drop, err error) {
	p.commitMu.Lock()
	defer p.commitMu.Unlock()
	durable, err = p.db.Commit(muts, sync)
	if err != nil {
		return nil, nil, err
	}
	rt := p.published.Load()
	if rt.Len() == 0 {
		return durable, nil, nil
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
	var dropped []*Handle
	for _, s := range shares {
		s.h.mu.Lock()
		if s.h.capturing && s.h.tree != nil {
			if reason := p.applyLocked(s.h, s.muts); reason != "" {
				// The region stops serving from memory now, atomically with
				// this commit, and is evicted; reads go to disk and stay exact.
				s.h.capturing, s.h.readable = false, false
				dropped = append(dropped, s.h)
				drops = append(drops, Drop{Region: s.h.Region, Gen: s.h.Gen, Reason: reason})
			}
		}
		s.h.mu.Unlock()
	}
	p.checkPressure()
	if len(dropped) > 0 {
		for _, h := range dropped {
			if cur, ok := p.routes.Get(h); ok && cur == h {
				p.routes.Delete(h)
			}
		}
		p.publishLocked()
	}
	return durable, drops, nil
}

// applyLocked applies a region's share of a batch to its handle (commit
// lock and h.mu held), reserving first what it can add: each new version's
// full size (as if none replaced one), and for a write at or below the safe
// point the disk version its key is rebased to. It returns "" when applied,
// else why the region must stop serving from memory, with nothing applied
// or reserved: "memory_limit_reached" (the reservation would pass
// Capacity) or "read_error".
func (p *Plane) applyLocked(h *Handle, muts []mvcc.Mutation) (dropReason string) {
	var need int64
	var bases []*mvcc.Version // for writes at or below the safe point, in order
	for _, m := range muts {
		if h.readable && m.Ts <= h.safePoint {
			b, err := p.baseLocked(m.Key, h.safePoint)
			if err != nil {
				return "read_error"
			}
			if b != nil {
				need += memstore.VersionBytes(b.Key, b.Value, b.Tombstone)
			}
			bases = append(bases, b)
			continue
		}
		need += memstore.VersionBytes(m.Key, m.Value, m.Tombstone)
	}
	if p.acct.Reserve(need) != nil {
		return "memory_limit_reached"
	}
	var delta int64
	for _, m := range muts {
		if h.readable && m.Ts <= h.safePoint {
			delta += h.tree.Rebase(m.Key, h.safePoint, bases[0])
			bases = bases[1:]
			continue
		}
		delta += h.tree.Set(m)
	}
	p.settle(h, need, delta)
	return ""
}

// baseLocked is the version a key at or below safePoint is rebased to:
// the disk's newest at or below it (nil: none). The commit lock is held, so
// the disk is current.
func (p *Plane) baseLocked(key []byte, safePoint uint64) (*mvcc.Version, error) {
	base, ok, err := p.db.Reader().GetVersion(key, safePoint)
	if err != nil || !ok {
		return nil, err
	}
	return &base, nil
}

// basesLocked is baseLocked for each key, and the bytes the bases add.
func (p *Plane) basesLocked(keys [][]byte, safePoint uint64) (bases []*mvcc.Version, need int64, err error) {
	for _, k := range keys {
		b, err := p.baseLocked(k, safePoint)
		if err != nil {
			return nil, 0, err
		}
		if b != nil {
			need += memstore.VersionBytes(b.Key, b.Value, b.Tombstone)
		}
		bases = append(bases, b)
	}
	return bases, need, nil
}

// Split replaces h by handles for the children, in the same state: an
// active parent's children are readable at once and share its tree
// copy-on-write (each trims what lies outside its range later, in steps); a
// loading parent's children capture writes, each keeping its share of what
// was captured so far. h's account moves to the first child; h is retired.
func (p *Plane) Split(h *Handle, children []mvcc.Region, gens []uint64) []*Handle {
	p.commitMu.Lock()
	defer p.commitMu.Unlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*Handle, len(children))
	for i, r := range children {
		c := &Handle{Region: r, Gen: gens[i], capturing: h.capturing, readable: h.readable, safePoint: h.safePoint}
		if h.tree != nil {
			c.tree = h.tree.Copy()
			if h.readable {
				c.untrimmed = true
			} else {
				// Captured writes only: small, trimmed now.
				c.tree.Trim(r.Start, r.End, 0)
			}
		}
		out[i] = c
	}
	if h.tree != nil {
		if out[0].untrimmed {
			out[0].accounted = h.accounted
			h.accounted = 0
		} else {
			// The children's trimmed shares are no more than the parent
			// held: release only the difference, so nothing is re-reserved.
			var kept int64
			for _, c := range out {
				if c.tree != nil {
					c.accounted = c.tree.Bytes()
					kept += c.accounted
				}
			}
			p.acct.settle(0, kept-h.accounted)
			h.accounted = 0
		}
	}
	h.tree, h.capturing, h.readable = nil, false, false
	if cur, ok := p.routes.Get(h); ok && cur == h {
		p.routes.Delete(h)
		for _, c := range out {
			if c.capturing || c.readable {
				p.routes.Set(c)
			}
		}
		p.publishLocked()
	}
	return out
}

// TrimStep drops up to max versions outside a split child's range and
// reports whether it is done; then the child's account is exact.
func (p *Plane) TrimStep(h *Handle, max int) (done bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.tree == nil || !h.untrimmed {
		return true
	}
	delta, done := h.tree.Trim(h.Region.Start, h.Region.End, max)
	p.settle(h, 0, delta)
	if done {
		h.untrimmed = false
		p.settle(h, 0, 0)
	}
	return done
}
