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
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/regioncache/regioncache/internal/diskengine"
	"github.com/regioncache/regioncache/internal/evictreason"
	"github.com/regioncache/regioncache/internal/failpoint"
	"github.com/regioncache/regioncache/internal/memstore"
	"github.com/regioncache/regioncache/internal/mvcc"
	"github.com/regioncache/regioncache/internal/rangeindex"
)

// Plane is the data path of one engine.
type Plane struct {
	db *diskengine.DB

	// readClock ticks once per read served from memory (see ReadClock).
	readClock atomic.Int64

	// commitMu orders Pebble commits with capture start, activation,
	// unpublishing and memory snapshots. Holders never wait for an actor.
	commitMu sync.Mutex
	routes   *rangeindex.Index[*Handle] // guarded by commitMu
	// writeSeq is odd while a write is between its Pebble commit and the
	// end of its application to memory (both under commitMu). A read that
	// ends while it is odd may have seen part of that batch, so it waits
	// for the write before it returns (see awaitWrite).
	writeSeq atomic.Uint64
	// published is an immutable copy of routes that readers search.
	published atomic.Pointer[rangeindex.Index[*Handle]]

	acct   *Account
	limits Limits
	// jobs counts background work on cached data in flight (compactions);
	// jobsIdle is called when it drops to zero.
	jobs     atomic.Int64
	jobsIdle atomic.Pointer[func()]
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

	// fps are the engine's failpoints (nil: none); the data path has one,
	// failpoint.ActivateRebaseRead.
	fps *failpoint.Set
}

// SetFailpoints gives the plane the engine's failpoints; call it before the
// plane serves anything.
func (p *Plane) SetFailpoints(fps *failpoint.Set) { p.fps = fps }

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
	// OnPressure is called when memory reaches EvictThreshold. It must not block.
	OnPressure func()
	// OnCompact is told that a write took a region's write layer past its
	// limit: its owner should compact it (once until InstallCompaction or
	// CompactionView re-arms the signal). It must not block.
	OnCompact func(region mvcc.Region, gen uint64)
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
		routes: rangeindex.New(func(h *Handle) ([]byte, []byte) { return h.Region.Start, h.Region.End }),
		snaps:  make(map[*diskSnap]struct{}),

		charges: make(map[*Charge]struct{}),
		handles: make(map[*Handle]struct{}),
	}
	p.published.Store(p.routes.Copy())
	return p
}

// MemoryUsed is the accounted bytes of every cached version, including copies
// in progress and data kept for snapshots, until actually released. It is
// never negative.
func (p *Plane) MemoryUsed() int64 { return p.acct.Used() }

// BeginJob counts a background job on cached data (a compaction) as in
// flight: the engine is not idle until EndJob.
func (p *Plane) BeginJob() { p.jobs.Add(1) }

// EndJob ends a job BeginJob counted.
func (p *Plane) EndJob() {
	if p.jobs.Add(-1) == 0 {
		if f := p.jobsIdle.Load(); f != nil {
			(*f)()
		}
	}
}

// Jobs is the number of background jobs in flight.
func (p *Plane) Jobs() int64 { return p.jobs.Load() }

// OnJobsIdle sets what EndJob calls when no job is left in flight (the
// engine's idle waiters look again). It must not block.
func (p *Plane) OnJobsIdle(f func()) { p.jobsIdle.Store(&f) }

// Account is the memory account every cached byte is reserved from.
func (p *Plane) Account() *Account { return p.acct }

// Handle is the cached data of one region incarnation.
type Handle struct {
	Region mvcc.Region
	Gen    uint64

	mu        sync.RWMutex
	capturing bool // writes to the region are applied here
	readable  bool // reads above safePoint are served from store
	// dropReason says why a write stopped capturing the region's writes on
	// its own (an evictreason); "" while it captures, or when an
	// eviction stopped it.
	dropReason string
	store      *memstore.Store
	safePoint  uint64
	// charge is the allocation the store's write layer is charged to,
	// shared with split siblings and snapshots; nil before capture and after
	// release. The base run has a charge of its own (runCharge), held by
	// every store and view that holds the run.
	charge *Charge
	// compactAsked: OnCompact was called for the handle and no compaction
	// has ended since (a write over the limit asks once).
	compactAsked atomic.Bool

	lastRead atomic.Int64 // a logical clock of reads, for least-recently-read eviction
}

// NewHandle returns an empty handle for an incarnation.
func NewHandle(r mvcc.Region, gen uint64) *Handle {
	return &Handle{Region: r, Gen: gen, store: memstore.NewStore()}
}

// settle charges a change of delta bytes to h's write layer, for which
// reserved bytes were reserved first (0 for a change that only shrinks);
// h.mu held.
func (p *Plane) settle(h *Handle, reserved, delta int64) {
	if h.charge == nil {
		p.acct.Release(reserved)
		return
	}
	h.charge.Settle(reserved, delta)
}

// share is the bytes of h's write layer charge only h can read (its write
// layer); h.mu held. Base runs are charged apart, once per run.
func (h *Handle) share() int64 {
	if h.store == nil {
		return 0
	}
	return h.store.WriteBytes()
}

// runCharge is the charge of a base run: one per run, created by the first
// holder with the bytes the run's builder reserved, held by every store and
// view holding the run, and off the account when the last lets go.
func runCharge(r *memstore.Run) *Charge {
	c, _ := r.Account().(*Charge)
	return c
}

// chargeRun gives a freshly built run (its bytes already reserved on the
// account, outside any charge) a charge held once, by the caller.
func (p *Plane) chargeRun(r *memstore.Run) {
	c := p.newCharge(false)
	c.run = true
	c.Settle(r.Bytes(), r.Bytes())
	r.SetAccount(c)
}

// ChargeRunFromCopy gives a loaded run its charge, held once by the
// caller: the run's bytes move from the copy's charge (the account does not
// change).
func (p *Plane) ChargeRunFromCopy(run *memstore.Run, copy *Charge) {
	c := p.newCharge(false)
	c.run = true
	c.TakeFrom(copy, run.Bytes())
	run.SetAccount(c)
}

// HoldRun adds a holder to a run's charge (a split sibling's share of a
// copy, handed on before it installs it).
func (p *Plane) HoldRun(r *memstore.Run) { holdRun(r) }

// holdRun adds a holder (a store or a view) to a run's charge.
func holdRun(r *memstore.Run) {
	if c := runCharge(r); c != nil {
		c.Hold(false)
	}
}

// DropRun lets go of one hold on a base run; the last holder's release
// takes its bytes off the account.
func (p *Plane) DropRun(r *memstore.Run) {
	if c := runCharge(r); c != nil {
		c.LetGo(false, 0)
	}
}

// ReleaseView lets go of a view's hold on its base run (a snapshot
// released, a compaction's source done with): views hold it as readers.
func (p *Plane) ReleaseView(v *memstore.View) {
	if v == nil {
		return
	}
	if c := runCharge(v.Base()); c != nil {
		c.LetGo(true, 0)
	}
	v.Release()
}

// releaseStore lets go of a store's hold on its base run (a region holds
// it as a holder, not a reader).
func (p *Plane) releaseStore(s *memstore.Store) {
	p.DropRun(s.Base())
	s.Release()
}

// holdRunAsReader adds a view (snapshot, compaction source) to a run's
// charge.
func holdRunAsReader(r *memstore.Run) {
	if c := runCharge(r); c != nil {
		c.Hold(true)
	}
}

// Reserve is the memstore.ReserveFunc of compactions: a positive n is
// reserved from the account (refused past the capacity), a negative n is
// given back.
func (p *Plane) Reserve(n int64) error {
	if n < 0 {
		p.acct.Release(-n)
		return nil
	}
	return p.acct.Reserve(n)
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

// findLocked returns the handle in rt whose range contains key, or nil.
func findLocked(rt *rangeindex.Index[*Handle], key []byte) *Handle {
	h, _ := rt.Containing(key)
	return h
}

func (p *Plane) publishLocked() { p.published.Store(p.routes.Copy()) }

// BeginCapture publishes h so that every write committed from now on is
// applied to it, and returns a disk snapshot holding everything committed
// before: together they are exactly the region's data.
func (p *Plane) BeginCapture(h *Handle) (DiskSnapshot, error) {
	p.commitMu.Lock()
	defer p.commitMu.Unlock()
	var conflict *Handle
	p.routes.Overlapping(h.Region.Start, h.Region.End, func(o *Handle) bool {
		conflict = o
		return false
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
		h.charge.Settle(0, h.store.WriteBytes())
	}
	h.mu.Unlock()
	p.register(h)
	p.routes.Set(h)
	p.publishLocked()
	return snap, nil
}

// Activate installs a completed copy as the handle's base run (bounded to
// its region: a region split while it loaded keeps its share), under the
// writes captured during the load, and serves reads above safePoint from it
// from now on. The run's bytes, reserved by its loader, move from the
// copy's charge (ChargeCopy; nil when the copy is empty) to the run's own
// charge, which the first sibling to install it creates and the others
// hold; the caller lets go of the copy's charge afterwards.
//
// It returns "" when the region is readable, else why it is not (an
// evictreason: "read_error" or "memory_limit_reached"), and the caller must
// evict it before it reports the region active: a key captured during the
// load could not be rebased (the disk read failed, or the capacity refused
// the bytes), or a write over capacity stopped capturing the region's writes
// while it loaded (the copy lacks that write and every later one). readErr
// is the disk's error when the reason is "read_error", for the caller to log.
func (p *Plane) Activate(h *Handle, run *memstore.Run, runHeld bool, copy *Charge, safePoint uint64) (dropReason string, readErr error) {
	p.commitMu.Lock()
	defer p.commitMu.Unlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.store == nil {
		if runHeld {
			p.DropRun(run)
		}
		return "", nil
	}
	if run != nil && run.Len() > 0 {
		if runHeld {
			run.Ref() // the hold taken for this sibling becomes the store's
		} else {
			p.ChargeRunFromCopy(run, copy)
		}
	} else {
		run = nil // nothing copied: no base to hold (its bytes go back with the copy's charge)
	}
	h.store.SetBase(run, h.Region.Start, h.Region.End)
	// The copy was GC'd at the load's safe point; writes captured during
	// the load at or below safePoint may sit under a version GC dropped:
	// rebase those keys, reserving what their disk versions (and the marks
	// that hide the base's versions) will add first.
	var rebase [][]byte
	if safePoint > 0 {
		rebase = h.store.WrittenKeysAtOrBelow(safePoint)
	}
	bases, need, err := p.basesLocked(rebase, safePoint)
	switch {
	case !h.capturing:
		dropReason = h.dropReason
		if dropReason == "" {
			dropReason = string(evictreason.MemoryLimitReached)
		}
	case err != nil:
		dropReason, readErr = string(evictreason.ReadError), err
	case p.acct.Reserve(need) != nil:
		dropReason = string(evictreason.MemoryLimitReached)
	}
	if h.charge == nil {
		h.charge = p.newCharge(false)
		p.register(h)
	}
	h.safePoint = safePoint
	if dropReason == "" {
		before := h.store.WriteBytes()
		h.store.Rebase(rebase, safePoint, bases)
		p.settle(h, need, h.store.WriteBytes()-before)
	}
	h.readable = dropReason == ""
	p.touch(h) // a fresh region is not the least recently read
	p.checkPressure()
	return dropReason, readErr
}

// Unpublish stops serving reads from h and applying writes to it. Its memory
// stays accounted until Release.
func (p *Plane) Unpublish(h *Handle) {
	p.commitMu.Lock()
	defer p.commitMu.Unlock()
	if cur, ok := p.routes.Get(h.Region.Start); ok && cur == h {
		p.routes.Delete(h.Region.Start)
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
	if h.store != nil {
		p.releaseStore(h.store)
		h.store = nil
	}
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
	// View holds the base run's charge until ReleaseView(View).
	View *memstore.View
	// Charge is the write layer's charge, which the snapshot holds as a
	// reader: LetGo(true, 0) when it is released.
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
	if !h.readable || h.store == nil || h.charge == nil {
		return MemSnapshot{}, false
	}
	disk, err := p.NewDiskSnapshot()
	if err != nil {
		return MemSnapshot{}, false
	}
	h.charge.Hold(true)
	v := h.store.Snapshot()
	holdRunAsReader(v.Base())
	return MemSnapshot{View: v, Charge: h.charge, SafePoint: h.safePoint, Disk: disk}, true
}

// GC raises an active region's safe point and drops the written versions
// no read above it sees. It returns whether the region needs a compaction
// (its base run holds versions GC would drop, or its write layer does, or
// is past its limit): the base run never changes, so the owner compacts it
// off the write path (CompactionView, InstallCompaction).
func (p *Plane) GC(h *Handle, safePoint uint64) (compact bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.store == nil || !h.readable {
		return false
	}
	if safePoint > h.safePoint {
		h.safePoint = safePoint
	}
	_, delta := h.store.GCWrites(h.safePoint)
	p.settle(h, 0, delta)
	return h.store.NeedsCompaction(h.safePoint)
}

// NeedsCompaction says whether an active region's store should be compacted.
func (p *Plane) NeedsCompaction(h *Handle) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.store != nil && h.readable && h.store.NeedsCompaction(h.safePoint)
}

// CompactionView returns what a compaction of an active region starts from:
// a view of its store (holding its base run until ReleaseView) and the safe
// point to GC at. ok is false when the region serves no reads.
func (p *Plane) CompactionView(h *Handle) (v *memstore.View, safePoint uint64, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.compactAsked.Store(true) // a write over the limit needs no second signal meanwhile
	if h.store == nil || !h.readable {
		return nil, 0, false
	}
	v = h.store.Snapshot()
	holdRunAsReader(v.Base())
	return v, h.safePoint, true
}

// InstallCompaction swaps the run a compaction built from `from` in as the
// handle's base run, atomically for readers: a read sees the old base and
// write layer, or the new ones. The new run's bytes, reserved by the
// compaction, become its charge; the old run's charge loses this holder,
// and leaves the account when its last holder (a snapshot, a split
// sibling) lets go. The write layer entries folded into the run leave the
// write layer's charge (deferred while a snapshot reads them). When the
// handle is released or its store changed base meanwhile, the new run is
// dropped instead. It releases from, re-arms the write signal and returns
// whether the run was installed.
func (p *Plane) InstallCompaction(h *Handle, from *memstore.View, run *memstore.Run) (installed bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	defer p.ReleaseView(from)
	h.compactAsked.Store(false)
	drop := func() {
		if run != nil {
			p.acct.Release(run.Bytes()) // reserved by the compaction, never charged
		}
	}
	if h.store == nil || run == nil {
		drop()
		return false
	}
	install := run
	if run.Len() == 0 {
		install = nil // nothing kept: no run to hold
	}
	before := h.store.WriteBytes()
	old, _, ok := h.store.Install(from, install)
	if !ok {
		drop()
		return false
	}
	if install == nil {
		drop()
	} else {
		p.chargeRun(install)
	}
	p.DropRun(old)
	p.settle(h, 0, h.store.WriteBytes()-before)
	return true
}

// Stats of a handle for the debug view and eviction estimates: the bytes
// are its write layer plus its part of its base run (the run's bytes
// divided among the holders of its charge that are not snapshots, so that
// split siblings sharing a run add up to it once).
func (h *Handle) Stats() (bytes int64, versions int, safePoint uint64) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.store != nil {
		bytes, versions = h.store.WriteBytes(), h.store.Len()
		if run := h.store.Base(); run != nil {
			holders := 1
			if c := runCharge(run); c != nil {
				n, readers := c.Holders()
				holders = max(1, n-readers)
			}
			bytes += run.Bytes() / int64(holders)
		}
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
	var dropped, compact []*Handle
	for _, s := range route(rt, muts) {
		s.h.mu.Lock()
		if s.h.capturing && s.h.store != nil {
			if reason := p.applyLocked(s.h, s.muts); reason != "" {
				// The region stops serving from memory now, atomically with
				// this commit, and is evicted; reads go to disk and stay exact.
				s.h.capturing, s.h.readable, s.h.dropReason = false, false, reason
				dropped = append(dropped, s.h)
				drops = append(drops, Drop{Region: s.h.Region, Gen: s.h.Gen, Reason: reason})
			} else if s.h.readable && p.limits.OnCompact != nil &&
				s.h.store.WriteLen() > memstore.WriteLimit(s.h.store.Base().Len()) && s.h.compactAsked.CompareAndSwap(false, true) {
				compact = append(compact, s.h)
			}
		}
		s.h.mu.Unlock()
	}
	for _, h := range compact {
		p.limits.OnCompact(h.Region, h.Gen)
	}
	p.checkPressure()
	if len(dropped) > 0 {
		for _, h := range dropped {
			if cur, ok := p.routes.Get(h.Region.Start); ok && cur == h {
				p.routes.Delete(h.Region.Start)
			}
		}
		p.publishLocked()
	}
	return durable, drops, nil
}

// share is the part of a batch that goes to one region.
type share struct {
	h    *Handle
	muts []mvcc.Mutation
}

// route splits a batch by the regions of rt that hold its keys, in the
// batch's order. A key in the same region as the one before costs a range
// check, not a lookup; a batch all in one region is its own share, without
// a copy.
func route(rt *rangeindex.Index[*Handle], muts []mvcc.Mutation) []share {
	var last *Handle
	find := func(key []byte) *Handle {
		if last != nil && last.Region.Contains(key) {
			return last
		}
		if h := findLocked(rt, key); h != nil {
			last = h
			return h
		}
		return nil
	}
	first := find(muts[0].Key)
	i := 1
	for i < len(muts) && find(muts[i].Key) == first {
		i++
	}
	if i == len(muts) {
		if first == nil {
			return nil
		}
		return []share{{h: first, muts: muts}}
	}
	var shares []share
	for _, m := range muts {
		h := find(m.Key)
		if h == nil {
			continue
		}
		k := slices.IndexFunc(shares, func(s share) bool { return s.h == h })
		if k < 0 {
			shares = append(shares, share{h: h})
			k = len(shares) - 1
		}
		shares[k].muts = append(shares[k].muts, m)
	}
	return shares
}

// applyLocked applies a region's share of a batch to its handle (commit
// lock and h.mu held), reserving first what it can add: each new version's
// full size (as if none replaced one), and for a write at or below the safe
// point the disk version its key is rebased to and the mark that hides the
// base run's versions of it. It returns "" when applied,
// else why the region must stop serving from memory, with nothing applied
// or reserved: "memory_limit_reached" (the reservation would pass
// Capacity) or "read_error".
func (p *Plane) applyLocked(h *Handle, muts []mvcc.Mutation) (dropReason string) {
	var need int64
	set := muts
	var rebase [][]byte
	var bases []*mvcc.Version // the disk's version of each key in rebase
	for i, m := range muts {
		if h.readable && m.Ts <= h.safePoint {
			if rebase == nil {
				// Not every version is set: the batch's own slice cannot be.
				set = slices.Clone(muts[:i])
			}
			b, err := p.baseLocked(m.Key, h.safePoint)
			if err != nil {
				return string(evictreason.ReadError)
			}
			if b != nil {
				need += memstore.VersionBytes(b.Key, b.Value, b.Tombstone)
			}
			need += memstore.HideBytes(m.Key)
			rebase, bases = append(rebase, m.Key), append(bases, b)
			continue
		}
		if rebase != nil {
			set = append(set, m)
		}
		need += memstore.VersionBytes(m.Key, m.Value, m.Tombstone)
	}
	if p.acct.Reserve(need) != nil {
		return string(evictreason.MemoryLimitReached)
	}
	before := h.store.WriteBytes()
	h.store.Write(set)
	h.store.Rebase(rebase, h.safePoint, bases)
	p.settle(h, need, h.store.WriteBytes()-before)
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

// basesLocked is baseLocked for each key, and the bytes rebasing them adds
// at most (the bases and the marks hiding the base run's versions).
func (p *Plane) basesLocked(keys [][]byte, safePoint uint64) (bases []*mvcc.Version, need int64, err error) {
	for _, k := range keys {
		if p.fps != nil {
			if err := p.fps.Eval(context.Background(), failpoint.ActivateRebaseRead); err != nil {
				return nil, 0, fmt.Errorf("reading %q at or below %d to rebase it: %w", k, safePoint, err)
			}
		}
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

// Split replaces h by handles for the children, in the same state, without
// copying: every child holds h's base run (one more holder of its charge,
// bounded to the child's range) and takes its part of h's write layer. An
// active parent's children share its write layer charge (charged once); a
// loading parent's children each take their part of what was captured.
// h is retired.
func (p *Plane) Split(h *Handle, children []mvcc.Region, gens []uint64) []*Handle {
	p.commitMu.Lock()
	defer p.commitMu.Unlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*Handle, len(children))
	for i, r := range children {
		c := &Handle{Region: r, Gen: gens[i], capturing: h.capturing, readable: h.readable, safePoint: h.safePoint}
		if h.store != nil {
			c.store = h.store.Split(r.Start, r.End)
			holdRun(c.store.Base())
		}
		out[i] = c
	}
	if h.charge != nil && h.store != nil {
		if h.readable {
			// One allocation for the whole family, charged once: the first
			// child takes the parent's hold, each other child adds one.
			out[0].charge = h.charge
			for _, c := range out[1:] {
				c.charge = h.charge
				h.charge.Hold(false)
			}
		} else {
			// Each child's part of the capture moves from the parent's
			// charge to its own (the account does not change); the parent
			// gives back what no child kept.
			var kept int64
			for _, c := range out {
				c.charge = p.newCharge(false)
				c.charge.TakeFrom(h.charge, c.store.WriteBytes())
				kept += c.store.WriteBytes()
			}
			h.charge.LetGo(false, h.share()-kept)
		}
		h.charge = nil
		p.register(out...)
	}
	if h.store != nil {
		p.releaseStore(h.store) // the children hold the run now
		h.store = nil
	}
	p.unregister(h)
	h.capturing, h.readable = false, false
	if cur, ok := p.routes.Get(h.Region.Start); ok && cur == h {
		p.routes.Delete(h.Region.Start)
		for _, c := range out {
			if c.capturing || c.readable {
				p.routes.Set(c)
			}
		}
		p.publishLocked()
	}
	return out
}

// DiscardCompaction drops a compaction's result that will not be installed:
// the bytes it reserved for run (never charged) go back, and from's hold on
// the base run goes.
func (p *Plane) DiscardCompaction(from *memstore.View, run *memstore.Run) {
	if run != nil {
		p.acct.Release(run.Bytes())
	}
	p.ReleaseView(from)
}
