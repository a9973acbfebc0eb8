package regioncache

import (
	"errors"
	"unsafe"

	"github.com/regioncache/regioncache/actors"
	"github.com/regioncache/regioncache/internal/dataplane"
	"github.com/regioncache/regioncache/internal/diskengine"
	"github.com/regioncache/regioncache/internal/lifecycle"
	"github.com/regioncache/regioncache/internal/mvcc"
)

// The types a host handles are defined here, so that go doc shows their
// fields; the engine's internals have their own, converted at the API's
// edge (a Region converts to and from the internal descriptor for free:
// the two have the same fields).

// Region describes a key range [Start, End) of the host's key space (End
// empty: unbounded) with an id and a version that rises on every split or
// merge, as a TiKV region descriptor does.
type Region struct {
	ID      uint64
	Version uint64
	Start   []byte
	End     []byte
}

// Validate reports whether the descriptor can describe a range: id and
// version positive, Start below End (unless End is empty). A failure
// matches ErrInvalidRegion.
func (r Region) Validate() error { return mvcc.Region(r).Validate() }

// Contains reports whether key lies in [Start, End).
func (r Region) Contains(key []byte) bool { return mvcc.Region(r).Contains(key) }

// Overlaps reports whether the two ranges share a key.
func (r Region) Overlaps(o Region) bool { return mvcc.Region(r).Overlaps(mvcc.Region(o)) }

// Clone returns a copy that shares no memory with r.
func (r Region) Clone() Region { return Region(mvcc.Region(r).Clone()) }

func (r Region) String() string { return mvcc.Region(r).String() }

func publicRegions(rs []mvcc.Region) []Region {
	if rs == nil {
		return nil
	}
	out := make([]Region, len(rs))
	for i, r := range rs {
		out[i] = Region(r)
	}
	return out
}

// State is where a region is in its life (see ARCHITECTURE.md for the
// transitions). Its String is the event-log spec's name.
type State uint8

// The region states. (They are numbered as the engine's state machine
// numbers them; TestRootConstantsMatchInternal checks it.)
const (
	// Absent: the engine holds nothing for the region.
	Absent State = iota
	// Pending: a load was requested and waits for a loader.
	Pending
	// Loading: a loader is copying the region; writes to it are captured.
	Loading
	// Active: loaded; reads above the safe point are served from memory.
	Active
	// LoadingCanceled: evicted while loading; the copy is being abandoned.
	LoadingCanceled
	// PendingEvict: evicted while held snapshots still read its data.
	PendingEvict
	// Evicting: its memory is being released.
	Evicting
)

func (s State) String() string { return lifecycle.State(s).String() }

// Evicted reports whether the region is on its way out (loading_canceled,
// pending_evict, evicting): a load of it is refused until it is absent.
func (s State) Evicted() bool { return lifecycle.State(s).Evicted() }

// Settled reports whether nothing is in flight for the region (absent,
// active or pending_evict).
func (s State) Settled() bool { return lifecycle.State(s).Settled() }

// States returns every region state, Absent first.
func States() []State {
	out := make([]State, len(lifecycle.States))
	for i, s := range lifecycle.States {
		out[i] = State(s)
	}
	return out
}

// Source says where a read was served from. Its String is the metrics'
// label: "disk", "memory", "mixed".
type Source uint8

// Read sources.
const (
	// FromDisk: the disk engine answered.
	FromDisk Source = iota
	// FromMemory: the cache answered.
	FromMemory
	// FromBoth: a scan crossed cached and uncached ranges.
	FromBoth
)

func (s Source) String() string { return dataplane.Source(s).String() }

// DiskReason says why a read went to disk (zero for a read served wholly
// from memory). Its String is the metrics' label.
type DiskReason uint8

// Reasons a read went to disk.
const (
	// NotCached: no active region holds the key.
	NotCached DiskReason = iota + 1
	// VersionMismatch: the region is cached at another version.
	VersionMismatch
	// TooOldRead: the read ts is at or below the region's safe point.
	TooOldRead
)

func (r DiskReason) String() string { return dataplane.DiskReason(r).String() }

// cached is the DiskReason of a read served wholly from memory.
const cached = DiskReason(dataplane.Cached)

// KV is a key and the value visible at the read's ts.
type KV struct {
	Key, Value []byte
}

// publicKVs is the data plane's pairs as the API's, without a copy: KV has
// the fields of diskengine.KV, so a pointer to one converts to a pointer to
// the other (the conversion does not compile if they ever differ). The
// pairs are the caller's: every read copies them out of the store.
func publicKVs(kvs []diskengine.KV) []KV {
	if kvs == nil {
		return nil
	}
	return unsafe.Slice((*KV)(unsafe.SliceData(kvs)), len(kvs))
}

// Transition is one region state change, as reported to
// Options.OnTransition.
type Transition struct {
	Region Region
	// Gen is the region's incarnation: it rises every time the engine
	// starts tracking the region anew (a load after it was gone, or a
	// child of a split or merge).
	Gen      uint64
	From, To State
	// Cause says what made the change, for people (logs, the demo's
	// timeline): for example "load", "loader_granted", "load_finished",
	// "evict (manual)", "split of region 1 v1 [\"a\", \"m\")". It is not
	// a stable vocabulary: test From and To, not Cause.
	Cause string
}

func publicTransition(t actors.Transition) Transition {
	return Transition{Region: Region(t.Region), Gen: t.Gen, From: State(t.From), To: State(t.To), Cause: t.Cause}
}

// Difference is one way an active region's cached data disagrees with
// disk, as Check reports it.
type Difference struct {
	Region Region
	Key    []byte
	Ts     uint64
	// Memory and Disk describe the version on each side ("absent" when
	// missing).
	Memory, Disk string
}

func (d Difference) String() string { return dataplane.Difference(d.internal()).String() }

func (d Difference) internal() dataplane.Difference {
	return dataplane.Difference{Region: mvcc.Region(d.Region), Key: d.Key, Ts: d.Ts, Memory: d.Memory, Disk: d.Disk}
}

// RegionMismatchError is ErrRegionMismatch with the descriptor given and the
// one the engine holds.
type RegionMismatchError struct {
	Given, Held Region
}

func (e *RegionMismatchError) Error() string {
	return (&mvcc.MismatchError{Given: mvcc.Region(e.Given), Held: mvcc.Region(e.Held)}).Error()
}

// Is makes errors.Is(err, ErrRegionMismatch) true.
func (e *RegionMismatchError) Is(target error) bool { return target == ErrRegionMismatch }

// publicErr turns the internal mismatch error into the root's, keeping the
// text and whatever wrapped it.
func publicErr(err error) error {
	var me *mvcc.MismatchError
	if err == nil || !errors.As(err, &me) {
		return err
	}
	pub := &RegionMismatchError{Given: Region(me.Given), Held: Region(me.Held)}
	if err == error(me) {
		return pub
	}
	return &wrappedMismatch{err: err, pub: pub}
}

// wrappedMismatch is a wrapped internal mismatch error, seen as the root's.
type wrappedMismatch struct {
	err error
	pub *RegionMismatchError
}

func (w *wrappedMismatch) Error() string   { return w.err.Error() }
func (w *wrappedMismatch) Unwrap() []error { return []error{w.pub, w.err} }
