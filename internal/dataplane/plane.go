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
	"github.com/regioncache/regioncache/internal/evictreason"
	"github.com/regioncache/regioncache/internal/memstore"
	"github.com/regioncache/regioncache/internal/mvcc"
)

// Plane is the data path of one engine.
type Plane struct {
	db *diskengine.DB

	// readClock ticks once per read served from memory (see ReadClock).
	readClock atomic.Int64

	// commitMu orders Pebble commits with capture start, activation,
	// unpublishing and memory snapshots. Holders never wait for an actor.
	commitMu sync.Mutex
	routes   *btree.BTreeG[*Handle] // guarded by commitMu
	// writeSeq is odd while a write is between its Pebble commit and the
	// end of its application to memory (both under commitMu). A read that
	// ends while it is odd may have seen part of that batch, so it waits
	// for the write before it returns (see awaitWrite).
	writeSeq atomic.Uint64
	// published is an immutable copy of routes that readers search.
	published atomic.Pointer[btree.BTreeG[*Handle]]

	acct   *Account
	limits Limits
	// charges and handles are the live charges and data handles, for
	// AuditAccount; they change once per load, split, snapshot or release.
	chargesMu     sync.Mutex
	charges       map[*Charge]struct{}
	handles       map[*Handle]struct{}
	accountErrors atomic.Int64
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
	// OnAccountError, if set, is told about each impossible request to the
	// memory account (see Plane.AccountErrors). It must not block.
	OnAccountError func(what string)
}

// ErrStopLoad reports a load refused because memory is above the stop-load threshold.
var ErrStopLoad = errors.New("regioncache: memory above the stop-load threshold")

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
var ErrCapacity = errors.New("regioncache: memory capacity reached")

// New returns the data plane over db.
func New(db *diskengine.DB, limits Limits) *Plane {
	p := &Plane{
		limits: limits,
		acct:   NewAccount(limits.Capacity),
		db:     db,
		routes: btree.NewBTreeGOptions(func(a, b *Handle) bool { return bytes.Compare(a.Region.Start, b.Region.Start) < 0 }, btree.Options{NoLocks: true}),
		snaps:  make(map[*diskSnap]struct{}),

		charges: make(map[*Charge]struct{}),
		handles: make(map[*Handle]struct{}),
	}
	p.published.Store(p.routes.Copy())
	return p
}

// DB is the disk engine.
func (p *Plane) DB() *diskengine.DB { return p.db }

// MemoryUsed is the accounted bytes of every cached version, including copies
// in progress and data kept for snapshots, until actually released. It is
// never negative.
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
	// charge is the allocation the tree's data is charged to, shared with
	// split siblings and snapshots; nil before capture and after release.
	charge *Charge
	// untrimmed: the tree is a split parent's, still holding keys outside
	// Region (charged through the siblings whose range they are in).
	untrimmed bool

	lastRead atomic.Int64 // a logical clock of reads, for least-recently-read eviction
}

// NewHandle returns an empty handle for an incarnation.
func NewHandle(r mvcc.Region, gen uint64) *Handle {
	return &Handle{Region: r, Gen: gen, tree: memstore.New()}
}

// settle charges a change of delta bytes to h's data, for which reserved
// bytes were reserved first (0 for a change that only shrinks); h.mu held.
// delta is the change in h's range: an untrimmed split child's tree also
// holds its siblings' keys, charged through them.
func (p *Plane) settle(h *Handle, reserved, delta int64) {
	if h.charge == nil {
		p.acct.Release(reserved)
		return
	}
	h.charge.Settle(reserved, delta)
}

// share is the bytes of h's data only h can read: the versions in its
// range (an untrimmed split child still holds its siblings'); h.mu held.
func (h *Handle) share() int64 {
	if h.tree == nil {
		return 0
	}
	if h.untrimmed {
		return h.tree.BytesIn(h.Region.Start, h.Region.End)
	}
	return h.tree.Bytes()
}

func (p *Plane) register(hs ...*Handle) {
	p.chargesMu.Lock()
	for _, h := range hs {
		p.handles[h] = struct{}{}
	}
	p.chargesMu.Unlock()
}

func (p *Plane) unregister(h *Handle) {
	p.chargesMu.Lock()
	delete(p.handles, h)
	p.chargesMu.Unlock()
}

// ErrRouteConflict reports a handle whose range overlaps a published one. The
// supervisor never lets that happen; it is checked so a bug cannot corrupt reads.
var ErrRouteConflict = errors.New("regioncache: route overlaps a published region")

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
	if h.charge == nil {
		h.charge = p.newCharge(false)
		h.charge.Settle(0, h.tree.Bytes())
	}
	h.mu.Unlock()
	p.register(h)
	p.routes.Set(h)
	p.publishLocked()
	return snap, nil
}

// Activate installs a completed copy: the writes captured during the load are
// laid over it and reads above safePoint are served from it from now on.
// The bytes of copied, reserved by its loader, move from the copy's charge
// (ChargeCopy; nil when the copy is empty) to h's; the caller lets go of the
// copy's charge afterwards, so the account never dips below what is held.
func (p *Plane) Activate(h *Handle, copied *memstore.Tree, copy *Charge, safePoint uint64) {
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
		dropReason = string(evictreason.ReadError)
	case p.acct.Reserve(need) != nil:
		dropReason = string(evictreason.MemoryLimitReached)
	}
	if h.charge == nil {
		h.charge = p.newCharge(false)
		p.register(h)
	}
	// The copy's bytes, reserved by its loader, now belong to the handle;
	// the captured writes laid over it were charged as they came.
	captured := h.tree.Bytes()
	h.charge.TakeFrom(copy, copied.Bytes())
	delta := copied.MergeFrom(h.tree) - captured
	h.tree = copied
	h.safePoint = safePoint
	h.untrimmed = false
	if dropReason == "" {
		for i, k := range rebase {
			delta += copied.Rebase(k, safePoint, bases[i])
		}
		p.settle(h, need, delta)
	} else {
		p.settle(h, 0, delta)
	}
	// Not readable if a key could not be rebased (the engine evicts it),
	// nor if the data plane stopped capturing its writes while it loaded (a
	// write over capacity dropped it: its eviction is on its way, and the
	// copy lacks that write and every later one).
	h.readable = dropReason == "" && h.capturing
	if dropReason != "" && p.limits.OnDrop != nil {
		p.limits.OnDrop(h.Region, h.Gen, dropReason)
	}
	p.touch(h) // a fresh region is not the least recently read
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

// Release lets go of h's data: its share leaves the account unless a
// snapshot still holds it. h must be unpublished. Releasing twice is
// harmless.
func (p *Plane) Release(h *Handle) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.charge != nil {
		h.charge.LetGo(false, h.share())
		h.charge = nil
	}
	h.tree = nil
	p.unregister(h)
}

// ChargeCopy turns the bytes a loader kept for a copy (Reservation.Keep)
// into a charge held by the region the copy is for; each split sibling the
// copy is also handed to holds it too. Each installs its share (Activate
// takes it from this charge) or discards the copy, then lets go; what is
// left goes back to the account with the last of them.
func (p *Plane) ChargeCopy(kept int64) *Charge {
	c := p.newCharge(true)
	c.bytes = kept
	return c
}

// MemSnapshot is a read-only view of a region's cached data, with a disk
// snapshot of the same moment for reads at or below its safe point.
type MemSnapshot struct {
	Tree *memstore.Tree
	// Charge is the data's charge, which the snapshot holds as a reader:
	// LetGo(true, 0) when it is released.
	Charge    *Charge
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
	if !h.readable || h.tree == nil || h.charge == nil {
		return MemSnapshot{}, false
	}
	disk, err := p.NewDiskSnapshot()
	if err != nil {
		return MemSnapshot{}, false
	}
	h.charge.Hold(true)
	return MemSnapshot{Tree: h.tree.Copy(), Charge: h.charge, SafePoint: h.safePoint, Disk: disk}, true
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

// Stats of a handle for the debug view: bytes is its share of the account
// (the versions in its range; a split child shares the rest of its tree
// with its siblings).
func (h *Handle) Stats() (bytes int64, versions int, safePoint uint64) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.tree != nil {
		bytes, versions = h.share(), h.tree.Len()
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
	p.writeSeq.Add(1) // odd: the batch is becoming visible
	defer p.writeSeq.Add(1)
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
				return string(evictreason.ReadError)
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
		return string(evictreason.MemoryLimitReached)
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
	if h.charge != nil && h.tree != nil {
		if h.readable {
			// One allocation for the whole family, charged once: the first
			// child takes the parent's hold, each other child adds one.
			out[0].charge = h.charge
			for _, c := range out[1:] {
				c.charge = h.charge
				h.charge.Hold(false)
			}
		} else {
			// Each child's trimmed capture moves from the parent's charge
			// to its own (the account does not change); the parent gives
			// back what no child kept.
			var kept int64
			for _, c := range out {
				c.charge = p.newCharge(false)
				c.charge.TakeFrom(h.charge, c.tree.Bytes())
				kept += c.tree.Bytes()
			}
			h.charge.LetGo(false, h.share()-kept)
		}
		h.charge = nil
		p.register(out...)
	}
	p.unregister(h)
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
// reports whether it is done.
func (p *Plane) TrimStep(h *Handle, max int) (done bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.tree == nil || !h.untrimmed {
		return true
	}
	// What a child trims is in a sibling's range: charged through the
	// sibling (or let go with it), never through this child.
	_, done = h.tree.Trim(h.Region.Start, h.Region.End, max)
	if done {
		h.untrimmed = false
	}
	return done
}
