package regioncache

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/regioncache/regioncache/internal/evictreason"
	"github.com/regioncache/regioncache/internal/lifecycle"
	"github.com/regioncache/regioncache/internal/mvcc"
	"github.com/regioncache/regioncache/messages"
)

// Batch is a set of versions written atomically. The zero value is an
// empty batch; so is a nil *Batch, whose Put and Delete return a new batch.
type Batch struct {
	muts       []mvcc.Mutation
	durability Durability
	size       int64 // upper bound of the bytes Pebble's batch will take
}

// MaxBatchBytes bounds a batch's size: its keys counted twice (their
// encoding may grow them) plus its values plus 32 bytes a version. Pebble
// refuses batches of 4 GiB and more; Write refuses one over this bound with
// ErrBatchTooLarge before anything is written.
const MaxBatchBytes = 4<<30 - 64<<20

// batchLimit is MaxBatchBytes; tests lower it.
var batchLimit int64 = MaxBatchBytes

func (b *Batch) add(m mvcc.Mutation) *Batch {
	if b == nil {
		b = new(Batch)
	}
	b.muts = append(b.muts, m)
	b.size += 2*int64(len(m.Key)) + int64(len(m.Value)) + 32
	return b
}

// Put adds a version of key at ts with value.
func (b *Batch) Put(key []byte, ts uint64, value []byte) *Batch {
	return b.add(mvcc.Mutation{Key: bytes.Clone(key), Ts: ts, Value: bytes.Clone(value)})
}

// Delete adds a delete marker of key at ts: reads at or above ts do not see
// older versions.
func (b *Batch) Delete(key []byte, ts uint64) *Batch {
	return b.add(mvcc.Mutation{Key: bytes.Clone(key), Ts: ts, Tombstone: true})
}

// Len is the number of versions in the batch.
func (b *Batch) Len() int {
	if b == nil {
		return 0
	}
	return len(b.muts)
}

// Write commits the batch to the disk engine, then applies it to every
// region that is loading or active. When it returns, every read sees it,
// it is on stable storage unless its durability says otherwise (see
// Durability), and a region the write stopped serving from memory (it
// would have passed Capacity) is already leaving the active state.
func (e *Engine) Write(b *Batch) error {
	exit, err := e.enter()
	if err != nil {
		return err
	}
	defer exit()
	if b == nil {
		return ErrNilBatch
	}
	if b.size > batchLimit {
		return fmt.Errorf("%w: %d versions, about %d bytes, over MaxBatchBytes (%d)", ErrBatchTooLarge, len(b.muts), b.size, batchLimit)
	}
	for _, m := range b.muts {
		if m.Ts == 0 {
			return fmt.Errorf("%w: key %s", ErrInvalidTimestamp, mvcc.FormatKey(m.Key))
		}
	}
	if !b.durability.valid() {
		return fmt.Errorf("%w: batch durability %s: want DurabilityDefault, DurabilitySync or DurabilityNoSync", ErrInvalidOptions, b.durability)
	}
	if len(b.muts) == 0 {
		return nil
	}
	drops, err := e.plane.Write(b.muts, e.syncs(b.durability))
	e.evictDropped(drops)
	return err
}

// Put writes one version.
func (e *Engine) Put(key []byte, ts uint64, value []byte) error {
	return e.Write(new(Batch).Put(key, ts, value))
}

// Delete writes one delete marker.
func (e *Engine) Delete(key []byte, ts uint64) error {
	return e.Write(new(Batch).Delete(key, ts))
}

// ReadInfo says where a read was served and, for disk, why.
type ReadInfo struct {
	Source Source
	// Reason is why the read (or part of a scan) went to disk.
	Reason DiskReason
}

// GetResult is the answer to Get.
type GetResult struct {
	// Value is a copy the caller owns, from memory and disk alike.
	Value []byte
	Found bool
	ReadInfo
}

// Get returns the newest version of key at or below ts; a delete marker
// hides older versions (Found false).
func (e *Engine) Get(key []byte, ts uint64) (GetResult, error) {
	exit, err := e.enter()
	if err != nil {
		return GetResult{}, err
	}
	defer exit()
	if ts == 0 {
		return GetResult{}, ErrInvalidTimestamp
	}
	v, ok, src, why, err := e.plane.Get(key, ts)
	if err != nil {
		return GetResult{}, err
	}
	info := ReadInfo{Source: Source(src), Reason: DiskReason(why)}
	e.countRead(info.Source, info.Reason)
	e.heat.Record(key, 1, 1)
	return GetResult{Value: v, Found: ok, ReadInfo: info}, nil
}

// countRead counts one read.
func (e *Engine) countRead(src Source, why DiskReason) { e.reads.count(src, why) }

// ScanResult is the answer to Scan.
type ScanResult struct {
	// Pairs are copies that belong to the caller, from memory and disk
	// alike: they stay valid and unchanged whatever the engine does next,
	// and the caller may keep or modify them.
	Pairs []KV
	ReadInfo
}

// Scan returns up to limit (0 or less: no limit) visible keys of [start, end) at ts in
// key order; end empty means unbounded. A scan crossing cached and uncached
// ranges is served piecewise and reports FromBoth. start at or above a
// non-empty end is the empty range: Scan returns no keys and a nil error, so
// that a caller paging through a range by moving start up to end needs no
// special case (the event-log format refuses such a scan op instead: a log
// is checked input, where reversed bounds can only be a mistake).
func (e *Engine) Scan(start, end []byte, ts uint64, limit int) (ScanResult, error) {
	exit, err := e.enter()
	if err != nil {
		return ScanResult{}, err
	}
	defer exit()
	if ts == 0 {
		return ScanResult{}, ErrInvalidTimestamp
	}
	if len(end) > 0 && bytes.Compare(start, end) >= 0 {
		return ScanResult{}, nil
	}
	kvs, src, why, stepped, err := e.plane.Scan(start, end, ts, limit)
	if err != nil {
		return ScanResult{}, err
	}
	info := ReadInfo{Source: Source(src), Reason: DiskReason(why)}
	e.countRead(info.Source, info.Reason)
	e.heat.Record(start, stepped, len(kvs))
	return ScanResult{Pairs: publicKVs(kvs), ReadInfo: info}, nil
}

// LoadOutcome says what a load request did.
type LoadOutcome uint8

const (
	// LoadRefused: the load was not taken; Load's error says why (the zero
	// value, so that an outcome read without its error never says accepted).
	LoadRefused LoadOutcome = iota
	// LoadAccepted: the region is now pending (or replaced an older pending version).
	LoadAccepted
	// LoadDeduplicated: the region was already pending, loading or active.
	LoadDeduplicated
)

func (o LoadOutcome) String() string {
	switch o {
	case LoadAccepted:
		return "accepted"
	case LoadDeduplicated:
		return "deduplicated"
	}
	return "refused"
}

// Load asks for a region to be copied into memory. It returns as soon as the
// request is decided, never waiting for the copy. Repeating it is harmless.
// A refusal is a *LoadRejectedError with outcome LoadRefused. A load of a
// newer version than a loading or active one is refused with Reason
// "version_mismatch": the host moved past the held version, so the engine
// evicts it (its range cannot be trusted), and the same Load succeeds once
// it is absent (WaitIdle, or RegionState).
func (e *Engine) Load(r Region) (LoadOutcome, error) {
	exit, err := e.enter()
	if err != nil {
		return LoadRefused, err
	}
	defer exit()
	if err := r.Validate(); err != nil {
		return LoadRefused, err
	}
	e.counters.LoadRequested()
	// A repeat of a load in flight or done is answered without a message;
	// the region actor would answer the same.
	if e.sup.Board.IsDuplicateLoad(mvcc.Region(r)) {
		e.counters.LoadDeduplicated()
		return LoadDeduplicated, nil
	}
	req := &messages.LoadRegion{Region: mvcc.Region(r.Clone()), Reply: messages.NewReply[messages.Outcome]()}
	out, err := request(e, req, req.Reply)
	if err != nil {
		return LoadRefused, err
	}
	if out.Err != nil {
		return LoadRefused, publicErr(out.Err)
	}
	switch out.Outcome {
	case lifecycle.Deduplicated:
		return LoadDeduplicated, nil
	case lifecycle.Rejected:
		return LoadRefused, &LoadRejectedError{Region: r, Reason: out.Reject.String(), Conflict: (*Region)(out.Conflict), Detail: out.Why}
	default:
		return LoadAccepted, nil
	}
}

// EvictReason says why the host evicts a region (after TiKV's EvictReason).
// Evict accepts exactly the constants below; the metrics label evictions by
// reason.
type EvictReason string

// The reasons a host may give Evict, with their names in the event-log
// spec and the metrics' labels.
const (
	EvictManual             = EvictReason(evictreason.Manual)             // "manual"
	EvictAutoEvict          = EvictReason(evictreason.AutoEvict)          // "auto_evict"
	EvictMemoryLimitReached = EvictReason(evictreason.MemoryLimitReached) // "memory_limit_reached"
	EvictBecomeFollower     = EvictReason(evictreason.BecomeFollower)     // "become_follower"
	EvictDeleteRange        = EvictReason(evictreason.DeleteRange)        // "delete_range"
	EvictPrepareMerge       = EvictReason(evictreason.PrepareMerge)       // "prepare_merge"
	EvictMerge              = EvictReason(evictreason.Merge)              // "merge"
	EvictDisabled           = EvictReason(evictreason.Disabled)           // "disabled"
	EvictApplySnapshot      = EvictReason(evictreason.ApplySnapshot)      // "apply_snapshot"
	EvictFlashback          = EvictReason(evictreason.Flashback)          // "flashback"
	EvictDestroyPeer        = EvictReason(evictreason.DestroyPeer)        // "destroy_peer"
	EvictIngestSST          = EvictReason(evictreason.IngestSST)          // "ingest_sst"
)

// EvictReasons returns every reason a host may give, in the event-log
// spec's order.
func EvictReasons() []EvictReason {
	out := make([]EvictReason, len(evictreason.Spec))
	for i, r := range evictreason.Spec {
		out[i] = EvictReason(r)
	}
	return out
}

// Evict drops from memory every held region that overlaps r's range or has
// its id, and returns the regions it reached once each has taken the
// eviction (their memory is released in the background). An empty reason is
// EvictManual; a reason that is not one of the constants is an error.
func (e *Engine) Evict(r Region, reason EvictReason) ([]Region, error) {
	exit, err := e.enter()
	if err != nil {
		return nil, err
	}
	defer exit()
	if err := r.Validate(); err != nil {
		return nil, err
	}
	if reason == "" {
		reason = EvictManual
	}
	if _, err := evictreason.Parse(string(reason)); err != nil {
		return nil, err
	}
	req := &messages.EvictRegion{Region: mvcc.Region(r.Clone()), Reason: string(reason), Reply: messages.NewReply[messages.EvictOutcome]()}
	out, err := request(e, req, req.Reply)
	if err != nil {
		return nil, err
	}
	return publicRegions(out.Evicted), publicErr(out.Err)
}

// GC raises the safe point: active regions drop the versions no read above
// it can see, and reads at or below it are served from disk. The safe point
// never goes down; held snapshots keep what they see. GC returns once every
// region has dropped them and the memory they took is off the account (or,
// where a held snapshot still reads it, deferred until its release, which
// takes it off); WaitIdle meanwhile waits for it. A safe point at or below
// the current one changes nothing and returns nil; so does 0, the safe point
// of an engine that never collected (no version is below it), so that a
// host can pass on whatever safe point it has, from its first.
func (e *Engine) GC(safePoint uint64) error {
	exit, err := e.enter()
	if err != nil {
		return err
	}
	defer exit()
	e.sup.Board.Begin(1)
	defer e.sup.Board.Done(1)
	for {
		cur := e.safePoint.Load()
		if safePoint <= cur || e.safePoint.CompareAndSwap(cur, safePoint) {
			break
		}
	}
	req := &messages.GCRegions{SafePoint: e.safePoint.Load(), Reply: messages.NewReply[error]()}
	res, err := request(e, req, req.Reply)
	if err != nil {
		return err
	}
	if res != nil {
		return publicErr(res)
	}
	if err := e.sup.Board.WaitJobs(e.ctx); err != nil {
		return ErrClosed
	}
	return nil
}

// SafePoint is the engine's GC safe point.
func (e *Engine) SafePoint() uint64 { return e.safePoint.Load() }

// RegionState returns the state of a region id (Absent when not held, and
// for every id once the engine is closed: a closed engine holds nothing).
func (e *Engine) RegionState(id uint64) State {
	if e.isClosed() {
		return Absent
	}
	return State(e.sup.Board.Get(id).State)
}

// WaitIdle blocks until no region is pending, loading, loading_canceled or
// evicting, none is pending_evict without a held snapshot, and no GC call or
// snapshot release is still on its way. An older incarnation of an id still
// being evicted counts too. Once idle, Metrics().Memory.Used is exactly what
// the held regions and snapshots account (see ARCHITECTURE.md, "Memory account").
// It returns ErrClosed once the engine is closed.
func (e *Engine) WaitIdle(ctx context.Context) error {
	if e.isClosed() {
		return ErrClosed
	}
	if err := e.sup.Board.WaitIdle(ctx); err != nil {
		return e.waitErr(ctx, err)
	}
	return nil
}

func (e *Engine) waitErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return ErrClosed
}

// Split tells the engine a region split in the host: source (its old
// version) became into, whose ranges partition it and one of which keeps its
// id. Cached data follows: children of an active region are active at once,
// sharing its data; children of a loading region become active when the one
// load job ends; a pending source is replaced by pending children. A stale
// split (older than a version already seen) is ignored.
func (e *Engine) Split(source Region, into []Region) error {
	exit, err := e.enter()
	if err != nil {
		return err
	}
	defer exit()
	if err := validateSplit(source, into); err != nil {
		return err
	}
	req := &messages.SplitRegion{Source: mvcc.Region(source.Clone()), Reply: messages.NewReply[error]()}
	for _, r := range into {
		req.Into = append(req.Into, mvcc.Region(r.Clone()))
	}
	res, err := request(e, req, req.Reply)
	if err != nil {
		return err
	}
	return publicErr(res)
}

// Merge tells the engine regions merged in the host: cached sources are
// evicted (reason merge) and, if any was active, into is loaded once their
// memory is released, unless it changes first.
func (e *Engine) Merge(sources []Region, into Region) error {
	exit, err := e.enter()
	if err != nil {
		return err
	}
	defer exit()
	if err := validateMerge(sources, into); err != nil {
		return err
	}
	req := &messages.MergeRegions{Into: mvcc.Region(into.Clone()), Reply: messages.NewReply[error]()}
	for _, r := range sources {
		req.Sources = append(req.Sources, mvcc.Region(r.Clone()))
	}
	res, err := request(e, req, req.Reply)
	if err != nil {
		return err
	}
	return publicErr(res)
}

// partition checks that parts, sorted by start, exactly tile [start, end).
func partition(parts []Region, start, end []byte) error {
	sorted := append([]Region(nil), parts...)
	sort.Slice(sorted, func(i, j int) bool { return bytes.Compare(sorted[i].Start, sorted[j].Start) < 0 })
	pos := start
	for i, p := range sorted {
		if err := p.Validate(); err != nil {
			return err
		}
		if !bytes.Equal(p.Start, pos) {
			return fmt.Errorf("%s does not start where the previous part ends", p)
		}
		if len(p.End) == 0 && i != len(sorted)-1 {
			return fmt.Errorf("%s is unbounded but not last", p)
		}
		pos = p.End
	}
	if !bytes.Equal(pos, end) {
		return fmt.Errorf("parts end at %s, not %s", mvcc.FormatEnd(pos), mvcc.FormatEnd(end))
	}
	return nil
}

// nestedError is an error about a part of a call (a split's source, a
// merge's target) whose own error says the rest: it matches both with
// errors.Is, and says "regioncache: " once.
type nestedError struct {
	outer error
	part  string
	inner error
}

func nested(outer error, part string, inner error) error {
	return &nestedError{outer: outer, part: part, inner: inner}
}

func (e *nestedError) Error() string {
	return e.outer.Error() + ": " + e.part + ": " + strings.TrimPrefix(e.inner.Error(), "regioncache: ")
}

func (e *nestedError) Unwrap() []error { return []error{e.outer, e.inner} }

func validateSplit(source Region, into []Region) error {
	if err := source.Validate(); err != nil {
		return nested(ErrInvalidSplit, "source", err)
	}
	if len(into) < 2 {
		return fmt.Errorf("%w: a split needs at least two parts", ErrInvalidSplit)
	}
	keeps := 0
	ids := map[uint64]bool{}
	for _, r := range into {
		if err := r.Validate(); err != nil {
			return nested(ErrInvalidSplit, "part", err)
		}
		if r.Version <= source.Version {
			return fmt.Errorf("%w: %s is not newer than the source", ErrInvalidSplit, r)
		}
		if ids[r.ID] {
			return fmt.Errorf("%w: id %d twice", ErrInvalidSplit, r.ID)
		}
		ids[r.ID] = true
		if r.ID == source.ID {
			keeps++
		}
	}
	if keeps != 1 {
		return fmt.Errorf("%w: exactly one part must keep the source's id", ErrInvalidSplit)
	}
	if err := partition(into, source.Start, source.End); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidSplit, err)
	}
	return nil
}

func validateMerge(sources []Region, into Region) error {
	if err := into.Validate(); err != nil {
		return nested(ErrInvalidMerge, "into", err)
	}
	if len(sources) < 2 {
		return fmt.Errorf("%w: a merge needs at least two sources", ErrInvalidMerge)
	}
	keeps := false
	ids := map[uint64]bool{}
	for _, r := range sources {
		if ids[r.ID] {
			return fmt.Errorf("%w: source id %d twice", ErrInvalidMerge, r.ID)
		}
		ids[r.ID] = true
		if r.Version >= into.Version {
			return fmt.Errorf("%w: %s is not older than the merged region", ErrInvalidMerge, r)
		}
		keeps = keeps || r.ID == into.ID
	}
	if !keeps {
		return fmt.Errorf("%w: the merged region must keep the id of a source", ErrInvalidMerge)
	}
	if err := partition(sources, into.Start, into.End); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidMerge, err)
	}
	return nil
}

// RunAutoLoadEvict runs one round of automatic load and evict now, whatever
// the interval, and returns once its loads and evictions are requested. It
// does nothing unless Options.AutoLoadEvict.Enabled.
func (e *Engine) RunAutoLoadEvict(ctx context.Context) error {
	exit, err := e.enter()
	if err != nil {
		return err
	}
	defer exit()
	select {
	case <-e.sup.RunAutoLoadEvict(e.system.Root):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-e.ctx.Done():
		return ErrClosed
	}
}
