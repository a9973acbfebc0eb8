package lifecycle

import (
	"fmt"

	"github.com/regioncache/regioncache/internal/counters"
	"github.com/regioncache/regioncache/internal/mvcc"
)

// Incarnation names one life of a region: its descriptor and a generation the
// engine issues once per accepted load. Every load job and every reply about
// it carries the incarnation, so a reply meant for an earlier life is
// recognised and ignored (tikv#17487 was a reply applied to the wrong life).
type Incarnation struct {
	Region mvcc.Region
	Gen    uint64
}

func (i Incarnation) String() string { return fmt.Sprintf("%s gen %d", i.Region, i.Gen) }

// Machine is the whole lifecycle state of one region id.
type Machine struct {
	State     State
	Inc       Incarnation
	Snapshots int    // memory snapshots held on this incarnation's data
	SafePoint uint64 // reads at or below it are served from disk
	Reason    string // why it is being evicted, while it is
}

// Event is what can happen to a region. Each concrete type below is one.
type Event interface{ eventName() string }

// Load asks for the region to be loaded; Gen is the generation to use if the
// request starts a new incarnation.
type Load struct {
	Region mvcc.Region
	Gen    uint64
}

// LoaderGranted says a loader is reserved for the incarnation Gen.
type LoaderGranted struct{ Gen uint64 }

// LoadResult is how a load job ended.
type LoadResult uint8

const (
	// CopyComplete: every key was copied.
	CopyComplete LoadResult = iota
	// CopyFailed: the disk engine failed, the loader panicked or memory ran out.
	CopyFailed
	// CopyAbandoned: the job saw it was canceled and stopped early.
	CopyAbandoned
)

// LoadFinished says the job for incarnation Gen ended.
type LoadFinished struct {
	Gen    uint64
	Result LoadResult
	Err    error
	// SafePoint is the engine's GC safe point when the copy is installed.
	SafePoint uint64
}

// Split narrows the incarnation to the first of its children after a split
// in the host; the others (Children[1:], with generations Gens[1:]) start
// their own lives in the same state, from the same data. Children[0] keeps
// the region id and the generation, so the load job in flight still
// belongs to it.
type Split struct {
	Children []mvcc.Region
	Gens     []uint64
}

// Supersede drops pending incarnation Gen: a newer overlapping region replaces it.
type Supersede struct{ Gen uint64 }

// Evict asks for the region to leave memory.
type Evict struct{ Reason string }

// SnapshotAcquire asks for a memory snapshot at Ts of the incarnation Version.
type SnapshotAcquire struct {
	Version uint64
	Ts      uint64
}

// SnapshotRelease drops one memory snapshot of incarnation Gen.
type SnapshotRelease struct{ Gen uint64 }

// MemoryReleased says the evicted incarnation Gen's memory is gone.
type MemoryReleased struct{ Gen uint64 }

// AdvanceSafePoint raises the safe point of an active region (GC).
type AdvanceSafePoint struct{ SafePoint uint64 }

func (Load) eventName() string             { return "load" }
func (LoaderGranted) eventName() string    { return "loader_granted" }
func (LoadFinished) eventName() string     { return "load_finished" }
func (Evict) eventName() string            { return "evict" }
func (SnapshotAcquire) eventName() string  { return "snapshot_acquire" }
func (SnapshotRelease) eventName() string  { return "snapshot_release" }
func (MemoryReleased) eventName() string   { return "memory_released" }
func (AdvanceSafePoint) eventName() string { return "advance_safe_point" }
func (Supersede) eventName() string        { return "supersede" }
func (Split) eventName() string            { return "split" }

// EventName returns a short name of the event for logs.
func EventName(e Event) string { return e.eventName() }

// Effect is work the actor must perform after a step, in order.
type Effect uint8

const (
	// RequestLoader queues a load job for the incarnation with the loader pool.
	RequestLoader Effect = iota + 1
	// CancelLoaderRequest withdraws the queued job of the previous incarnation.
	CancelLoaderRequest
	// DeclineLoader hands back a loader granted to a stale incarnation.
	DeclineLoader
	// StartCopy starts capturing writes and gives the job to the granted loader.
	StartCopy
	// CancelCopy stops capturing writes and tells the running job to stop early.
	CancelCopy
	// Activate installs the copy and serves reads from memory.
	Activate
	// DiscardCopy drops what a finished job copied.
	DiscardCopy
	// Unpublish stops serving reads and capturing writes from memory.
	Unpublish
	// ReleaseMemory releases the incarnation's data (through evict/before-delete).
	ReleaseMemory
	// TakeSnapshot captures a memory snapshot for the requester.
	TakeSnapshot
	// RunGC drops versions below the new safe point.
	RunGC
	// DropStaleCopy drops what a job of an earlier incarnation copied.
	DropStaleCopy
	// SplitData hands each child its share of the data.
	SplitData
)

var effectNames = [...]string{"", "request_loader", "cancel_loader_request", "decline_loader", "start_copy",
	"cancel_copy", "activate", "discard_copy", "unpublish", "release_memory", "take_snapshot", "run_gc", "drop_stale_copy", "split_data"}

func (e Effect) String() string {
	if int(e) < len(effectNames) && e != 0 {
		return effectNames[e]
	}
	return fmt.Sprintf("effect(%d)", uint8(e))
}

// Outcome says what a step did with its event.
type Outcome uint8

const (
	// Applied: the event was taken.
	Applied Outcome = iota
	// Deduplicated: a load of the incarnation already held; nothing changed.
	Deduplicated
	// Rejected: refused; nothing changed; Result.Reject says why.
	Rejected
	// Ignored: the event does not fit the state or incarnation; nothing changed.
	Ignored
	// NotCached: a snapshot must be served from disk; Result.Reject says why.
	NotCached
)

// RejectReason says why a load or a memory snapshot was refused.
type RejectReason uint8

const (
	NoReject RejectReason = iota
	// RejectOverlap: the range overlaps another region the engine holds
	// that is not on its way out.
	RejectOverlap
	// RejectEvicting: the region id's incarnation, or a region of another
	// id the range overlaps, is on its way out (retryable).
	RejectEvicting
	// RejectVersion: the descriptor's version differs from the held one.
	RejectVersion
	// RejectStale: the descriptor is older than one the engine has seen.
	RejectStale
	// RejectMemory: memory is above the stop-load threshold.
	RejectMemory
	// RejectNotActive: the region is not active (snapshot from disk).
	RejectNotActive
	// RejectTooOld: the read ts is at or below the safe point (snapshot from disk).
	RejectTooOld
)

var rejectNames = [...]string{"", "overlap", "evicting", "version_mismatch", "stale_version", "memory_limit", "not_cached", "too_old_read"}

func (r RejectReason) String() string {
	if int(r) < len(rejectNames) {
		return rejectNames[r]
	}
	return fmt.Sprintf("reject(%d)", uint8(r))
}

// JobPart is what one region made of the end of the load job it belongs
// to. A job has one region when it starts; a split while it runs gives it
// more (every child shares the one copy), so the job's end is counted once,
// from every part: see JobEnd.
type JobPart uint8

const (
	// NoJobPart: the step did not end this region's part of a load job.
	NoJobPart JobPart = iota
	// JobActivated: the copy became readable in this region.
	JobActivated
	// JobCanceled: the region was evicted while the job ran.
	JobCanceled
	// JobFailed: the job failed (disk error, loader panic, memory).
	JobFailed
)

var jobPartNames = [...]string{"none", "activated", "canceled", "failed"}

func (p JobPart) String() string {
	if int(p) < len(jobPartNames) {
		return jobPartNames[p]
	}
	return fmt.Sprintf("job_part(%d)", uint8(p))
}

// JobEnd names the counter that counts a load job's end, from how many of
// its regions activated the copy, were canceled, or saw the job fail. The
// rule (one job ends exactly once, whatever its split children do):
// completed if the copy became readable in at least one region; else
// failed if the job failed; else canceled (every region was evicted).
func JobEnd(activated, canceled, failed int) counters.Name {
	switch {
	case activated > 0:
		return counters.LoadsCompleted
	case failed > 0:
		return counters.LoadsFailed
	default:
		return counters.LoadsCanceled
	}
}

// SplitChild is the machine of a child that a split of parent starts (every
// child but the first, which continues the parent's own machine): the
// parent's state and safe point, and the snapshots taken on the parent
// before the split that are still held. Those snapshots read the child's
// range too ("historical" snapshots), so the child counts them: evicted, it
// stays pending_evict until they are released.
func SplitChild(parent Machine, child mvcc.Region, gen uint64, heldSnapshots int) Machine {
	return Machine{State: parent.State, Inc: Incarnation{Region: child, Gen: gen}, SafePoint: parent.SafePoint, Snapshots: heldSnapshots}
}

// Result is the outcome of one step.
type Result struct {
	Next    Machine
	Effects []Effect
	Outcome Outcome
	Reject  RejectReason
	// Counter names the spec counter this step increments, if any. The end
	// of a load job is not among them: it is the job's (Job and JobEnd).
	Counters []counters.Name
	// Job is what this region made of its load job's end, when the step
	// ended its part.
	Job JobPart
	// Why explains an Ignored or Rejected outcome for the log.
	Why string
}
