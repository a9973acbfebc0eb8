// Package messages declares every message the engine's actors exchange: the
// requests the public API sends to the supervisor, what the supervisor
// forwards to region actors, the load-job protocol between region actors and
// loaders, and the reports region actors send back. Messages are plain
// pointer structs; they never cross a process boundary.
//
// It is the engine's actor layer, importable because the product's layout
// keeps it at the top level, but with no compatibility promise to importers:
// embed package regioncache instead.
package messages

import (
	"context"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/regioncache/regioncache/internal/dataplane"
	"github.com/regioncache/regioncache/internal/lifecycle"
	"github.com/regioncache/regioncache/internal/memstore"
	"github.com/regioncache/regioncache/internal/mvcc"
)

// Failable is a request whose waiting caller must be answered even if the
// actor handling it panics: the panic middleware calls Fail.
type Failable interface{ Fail(err error) }

// Reply carries the answer to one API request back to its caller. It is
// buffered so that answering never blocks an actor.
type Reply[T any] chan T

// NewReply returns a reply channel with room for the one answer.
func NewReply[T any]() Reply[T] { return make(chan T, 1) }

// Outcome is the answer to a request that steps a region's machine.
type Outcome struct {
	Outcome lifecycle.Outcome
	Reject  lifecycle.RejectReason
	Why     string
	// Conflict is the region a rejected load overlaps, if that is why.
	Conflict *mvcc.Region
	Err      error
	// Snapshot answers a SnapshotAcquire.
	Snapshot *SnapshotGranted
	// Prev is the state the step started from.
	Prev lifecycle.State
	// Split carries the children's data after a split of a loading or
	// active region.
	Split *SplitResult
}

// SplitResult is what a split region hands to its new siblings.
type SplitResult struct {
	// Handles[i] is Children[i]'s data; Handles[0] stays with the source.
	Handles   []*dataplane.Handle
	Children  []mvcc.Region
	Gens      []uint64
	State     lifecycle.State
	SafePoint uint64
	// Holds are the memory snapshots the source held: each covers every
	// child, and holds the new ones too unless released meanwhile.
	Holds []*SnapshotHolders
	// Tally is the load job the children share, when the source was loading.
	Tally *JobTally
}

// SplitRegion reports a split in the host.
type SplitRegion struct {
	Source mvcc.Region
	Into   []mvcc.Region
	Reply  Reply[error]
}

func (m *SplitRegion) Fail(err error) { m.Reply <- err }

// MergeRegions reports a merge in the host.
type MergeRegions struct {
	Sources []mvcc.Region
	Into    mvcc.Region
	Reply   Reply[error]
}

func (m *MergeRegions) Fail(err error) { m.Reply <- err }

// Sync asks the supervisor to answer once it has handled every message
// queued for it before this one (its mailbox is first in, first out). A
// region actor reports a step before it starts the work the step causes, so
// a caller that saw that work (paused at a failpoint) and then syncs sees
// the step on the Board.
type Sync struct{ Reply Reply[struct{}] }

// MemoryPressure says memory reached the evict threshold. Done, if set, is
// called once the evictions it causes are taken.
type MemoryPressure struct{ Done func() }

// FamilyCopyDone hands the end of a load job to the siblings split from its
// region while it ran; the supervisor forwards a CopyDone to each.
type FamilyCopyDone struct {
	Siblings []SiblingCopy
	Result   lifecycle.LoadResult
	Err      error
	// Tally counts the job's end; a sibling that can no longer be told
	// counts as canceled.
	Tally *JobTally
}

// SiblingCopy is one sibling's share of a finished job.
type SiblingCopy struct {
	RegionID, Gen uint64
	// Run is the copied base run the siblings share (nil: none), with a
	// hold on its charge taken for this sibling (RunHeld).
	Run     *memstore.Run
	RunHeld bool
	// Copy is the job's reservation, which the sibling holds until it has
	// installed or discarded its share.
	Copy *dataplane.Charge
}

// --- API -> supervisor ---------------------------------------------------

// LoadRegion asks for a region to be loaded.
type LoadRegion struct {
	Region mvcc.Region
	Reply  Reply[Outcome]
	// Done, if set, is called once the load is answered: the engine counts
	// loads it asks for on its own (a merged region loaded again) as work
	// in flight until the region's state shows them.
	Done func()
}

func (m *LoadRegion) Fail(err error) {
	m.Reply <- Outcome{Err: err}
	if m.Done != nil {
		m.Done()
	}
}

// DeclareRegions tells the supervisor the host's region table (or part of
// it): what automatic load and evict may choose from. It loads nothing.
type DeclareRegions struct {
	Regions []mvcc.Region
	Reply   Reply[error]
}

func (m *DeclareRegions) Fail(err error) { m.Reply <- err }

// EvictRegion asks for every cached region overlapping Region's range, or
// having its id, to be evicted.
type EvictRegion struct {
	Region mvcc.Region
	Reason string
	Reply  Reply[EvictOutcome]
	// Done, if set, is called once the eviction is taken (or failed): the
	// engine counts evictions it starts on its own as work in flight.
	Done func()
}

func (m *EvictRegion) Fail(err error) {
	m.Reply <- EvictOutcome{Err: err}
	if m.Done != nil {
		m.Done()
	}
}

// EvictOutcome lists the regions an eviction reached.
type EvictOutcome struct {
	Evicted []mvcc.Region
	Err     error
}

// AcquireSnapshot asks for a memory snapshot of region at ts.
type AcquireSnapshot struct {
	Region mvcc.Region
	Ts     uint64
	Reply  Reply[SnapshotGranted]
}

func (m *AcquireSnapshot) Fail(err error) { m.Reply <- SnapshotGranted{Err: err} }

// SnapshotGranted answers AcquireSnapshot. When OK is false the caller reads
// from disk for Reason.
type SnapshotGranted struct {
	OK     bool
	Reason lifecycle.RejectReason
	View   dataplane.MemSnapshot
	// Holders are the regions to send ReleaseSnapshot to.
	Holders *SnapshotHolders
	Err     error
}

// ReleaseSnapshot drops one memory snapshot from incarnation Gen, which
// holds it (Holders says which snapshot).
type ReleaseSnapshot struct {
	Gen     uint64
	Holders *SnapshotHolders
}

// SnapshotReleased tells the supervisor a region has taken a
// ReleaseSnapshot (its step, if any, was reported just before): the
// release is no longer in flight.
type SnapshotReleased struct{}

// GCRegions raises every active region's safe point.
type GCRegions struct {
	SafePoint uint64
	Reply     Reply[error]
}

func (m *GCRegions) Fail(err error) { m.Reply <- err }

// --- supervisor -> region actor --------------------------------------------

// Step delivers a lifecycle event to a region actor. Done, when set, runs in
// the supervisor after it has recorded the step, so a caller is answered only
// once the engine's published state includes the step.
type Step struct {
	Event lifecycle.Event
	Done  func(Outcome)
	// Retry is the original request, handed back if the actor has already
	// reached absent and the supervisor must route it again.
	Retry any
}

// --- region actor -> supervisor --------------------------------------------

// Stepped reports one step of a region's machine to the supervisor, which
// records the new state, then runs Done.
type Stepped struct {
	From          *actor.PID
	Inc, Prev     lifecycle.Incarnation
	FromState, To lifecycle.State
	Cause         string
	Done          func(Outcome)
	Outcome       Outcome
	Snapshots     int
	// Handle is the incarnation's data, for least-recently-read eviction.
	Handle *dataplane.Handle
}

// RetryRequest hands a request back to the supervisor: the actor it reached
// was already absent.
type RetryRequest struct{ Request any }

// --- load-job protocol -----------------------------------------------------

// Job is one load of one incarnation. The canceled flag lets the region
// actor tell a running copy to stop early without a message.
type Job struct {
	Inc      lifecycle.Incarnation
	Region   *actor.PID
	Handle   *dataplane.Handle
	Snapshot dataplane.DiskSnapshot
	Canceled atomic.Bool
	Ctx      context.Context
	// SafePoint is the engine's GC safe point when the copy started: the
	// loader keeps only what a GC at it keeps (installing the copy GCs it
	// again at the safe point of that moment, never a lower one).
	SafePoint uint64
}

// RequestLoader queues a load job with the loader pool.
type RequestLoader struct {
	Inc    lifecycle.Incarnation
	Region *actor.PID
}

// CancelLoaderRequest withdraws a queued, not yet granted request.
type CancelLoaderRequest struct{ RegionID, Gen uint64 }

// LoaderGrant reserves a loader for an incarnation. The pool sends it to the
// supervisor, which forwards it only to a region still pending in that
// incarnation, and declines it otherwise.
type LoaderGrant struct {
	RegionID, Gen uint64
	Worker        *actor.PID
}

// LoaderDeclined gives a granted loader back to the pool unused.
type LoaderDeclined struct{ Worker *actor.PID }

// Copy gives a job to the granted loader.
type Copy struct{ Job *Job }

// CopyDone reports the end of a job to its region actor.
type CopyDone struct {
	Gen    uint64
	Result lifecycle.LoadResult
	Err    error
	// Run is the copy, when Result is CopyComplete; its bytes (Accounted,
	// exactly Run.Bytes()) are on the account under Copy until a region
	// installs it.
	Run       *memstore.Run
	Accounted int64
	Keys      int
	// RunHeld: Run already has a charge and this message carries a hold on
	// it (a split sibling's share of the copy), which its region keeps
	// (Activate) or lets go (dataplane.DropRun).
	RunHeld bool
	// Copy is the charge of Accounted, set by the region the job was for
	// (dataplane.ChargeCopy) or, for a split sibling, by the supervisor.
	Copy *dataplane.Charge
}

// CompactionNeeded tells a region actor (through the supervisor, which
// knows its actor) that a write took its write layer past its limit.
type CompactionNeeded struct{ RegionID, Gen uint64 }

// CompactionDone hands a compaction's result to the region actor that
// started it, the only one that changes the region's data: the new base run
// (nil on failure, with Err) built from From.
type CompactionDone struct {
	Gen  uint64
	From *memstore.View
	Run  *memstore.Run
	Err  error
}

// LoaderIdle tells the pool a loader finished its job.
type LoaderIdle struct{ Worker *actor.PID }

// MemoryReleased reports that an evicted incarnation's memory is gone.
type MemoryReleased struct{ Gen uint64 }

// Messages that can legitimately arrive after their receiver stopped (the
// engine closing while work is in flight) are not dead-letter noise. The
// marker also keeps protoactor from starting its dead-letter log throttle.
func (*CopyDone) IgnoreDeadLetterLogging()            {}
func (*CompactionNeeded) IgnoreDeadLetterLogging()    {}
func (*LoaderIdle) IgnoreDeadLetterLogging()          {}
func (*LoaderDeclined) IgnoreDeadLetterLogging()      {}
func (*MemoryReleased) IgnoreDeadLetterLogging()      {}
func (*Stepped) IgnoreDeadLetterLogging()             {}
func (*FamilyCopyDone) IgnoreDeadLetterLogging()      {}
func (*ReleaseSnapshot) IgnoreDeadLetterLogging()     {}
func (*SnapshotReleased) IgnoreDeadLetterLogging()    {}
func (*Step) IgnoreDeadLetterLogging()                {}
func (*RetryRequest) IgnoreDeadLetterLogging()        {}
func (*LoaderGrant) IgnoreDeadLetterLogging()         {}
func (*RequestLoader) IgnoreDeadLetterLogging()       {}
func (*CancelLoaderRequest) IgnoreDeadLetterLogging() {}
