// Package regioncache is an in-memory cache of hot key ranges (regions) of a
// multi-version disk engine (Pebble), after TiKV's In-Memory Engine, built
// so that its region lifecycle cannot race.
//
// A host opens an Engine and routes through it:
//
//   - its writes: Write a Batch of versions (key, ts, value or delete
//     marker), durable as Options.Durability says;
//   - its region table: Load a region into memory, Evict it, tell of Split,
//     Merge and GC, or DeclareRegions and let AutoLoadEvict choose;
//   - its reads at a ts: Get, Scan, NewIter (a streaming Iterator) and
//     Snapshot (a view as of its ts, until Release).
//
// Reads are served from memory where the key's region is active and the
// read is above its safe point, else from disk; the answer is the same
// either way, and ReadInfo says which. Load returns at once: the copy runs
// behind, and reads go to disk until it is done. Memory is bounded by
// Options.Capacity. Metrics is everything the engine counts and holds, in
// one value; Options.Registerer exports it to Prometheus, package debughttp
// serves it as JSON, Options.OnTransition hears every region state change,
// and Options.Logger gets the logs. Options.Pebble tunes the disk engine;
// package config reads Options from a JSON or TOML file.
//
// Engine and Snapshot are safe for concurrent use; an Iterator is not.
// Errors start with "regioncache:"
// and match the Err variables below with errors.Is. Example_embedding is a
// whole embedding; ARCHITECTURE.md is the map of the inside.
package regioncache

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/cockroachdb/pebble/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/regioncache/regioncache/actors"
	"github.com/regioncache/regioncache/internal/actorlog"
	"github.com/regioncache/regioncache/internal/counters"
	"github.com/regioncache/regioncache/internal/dataplane"
	"github.com/regioncache/regioncache/internal/diskengine"
	"github.com/regioncache/regioncache/internal/failpoint"
	"github.com/regioncache/regioncache/internal/heat"
	"github.com/regioncache/regioncache/internal/metrics"
	"github.com/regioncache/regioncache/internal/mvcc"
	"github.com/regioncache/regioncache/internal/validate"
	"github.com/regioncache/regioncache/messages"
	"github.com/regioncache/regioncache/regionactor"
)

// Defaults.
const (
	// DefaultLoaders is how many regions are copied into memory at once.
	DefaultLoaders = 2
	// DefaultCapacity is the hard limit on cached data: 1 GiB.
	DefaultCapacity = 1 << 30
	// DefaultEvictThresholdPercent of capacity starts evicting the least
	// recently read regions.
	DefaultEvictThresholdPercent = 90
	// DefaultStopLoadThresholdPercent of capacity makes new loads fail
	// without starting; eviction stops below it.
	DefaultStopLoadThresholdPercent = 80
)

// Options configure an engine. The zero value is a working engine with its
// disk engine in memory.
type Options struct {
	// Dir is the disk engine's directory; empty keeps it in memory.
	Dir string
	// Durability is when Write returns by default (zero: DurabilitySync, a
	// write is on stable storage before Write returns); a Batch can say
	// otherwise. See Durability for the trade-off.
	Durability Durability
	// Loaders bounds how many loads copy at once (default DefaultLoaders).
	Loaders int
	// Capacity is the hard limit on cached data in bytes (default
	// DefaultCapacity): a load that would pass it fails and releases what
	// it copied; a write that would pass it evicts the written region
	// (reason memory_limit_reached). Memory in use never exceeds it.
	Capacity int64
	// EvictThreshold in bytes (default 90% of Capacity): when a write or a
	// finished load leaves memory at or above it, the least recently read
	// active regions are evicted until it is below StopLoadThreshold.
	// Memory that a copy or a compaction in progress reserves does not
	// evict anything: a copy that would pass Capacity fails (the load
	// fails, loads_failed) and the regions already held stay.
	EvictThreshold int64
	// StopLoadThreshold in bytes (default 80% of Capacity): a load starting
	// at or above it fails without copying.
	StopLoadThreshold int64
	// Pebble tunes the disk engine: a template of Pebble options (block
	// cache: CacheSize or a shared Cache; MemTableSize, MaxOpenFiles, L0
	// thresholds, Levels, compaction concurrency, an EventListener, ...)
	// that Open copies and completes, never changing the template. Nil:
	// Pebble's defaults. Open owns, and refuses a template that sets: FS
	// and Lock (Dir decides where the data lives), Logger and
	// LoggerAndTracer (use Logger below), a Comparer other than Pebble's
	// default (the engine's keys are ordered bytewise), ReadOnly and
	// DisableWAL (writes must be durable as Durability says).
	Pebble *pebble.Options
	// Logger receives the engine's logs, protoactor's and Pebble's included,
	// at the logger's own level; nil: none.
	Logger *zerolog.Logger
	// Registerer, if set, gets the engine's Prometheus metrics (all named
	// regioncache_*) at Open; Close unregisters them. Nil: no metrics and no
	// cost. Two engines on one registry need distinct labels:
	// prometheus.WrapRegistererWith.
	Registerer prometheus.Registerer
	// ActorSystem is the host's actor system to run in; nil: the engine
	// makes its own.
	ActorSystem *actor.ActorSystem
	// OnTransition, if set, is called for every region state change, in
	// order, from one goroutine, and for the region that keeps its id
	// through a split (same state, new version and range: From == To). It
	// must not block or call the engine.
	OnTransition func(Transition)
	// AutoLoadEvict loads hot regions and evicts cold ones on its own (off
	// by default).
	AutoLoadEvict AutoLoadEvict
}

// AutoLoadEvict configures automatic load and evict. The regions it chooses
// from are those the engine knows of: declared by the host
// (Engine.DeclareRegions) or heard of in load, split and merge events. Reads
// through the engine are its only input. Every Interval a round runs:
//
//   - each region's heat is its reads, the past halved every round;
//   - active regions that served no read in the round and whose heat fell
//     below one read are evicted (reason auto_evict);
//   - regions read from disk whose reads stepped over at least
//     AmplificationThreshold versions per returned key are loaded, hottest
//     first, at most MaxLoadsPerRound, while their expected size fits below
//     the stop-load threshold; a region that does not fit displaces the
//     coldest active regions (auto_evict) if it is more than twice as hot as
//     each. Loads start as the memory they need is released.
//
// A load copies only the versions that reads above the safe point can see.
type AutoLoadEvict struct {
	Enabled bool
	// Interval between rounds (default DefaultAutoInterval); rounds can
	// also be run on demand with Engine.RunAutoLoadEvict.
	Interval time.Duration
	// AmplificationThreshold (default DefaultAmplificationThreshold).
	AmplificationThreshold float64
	// MaxLoadsPerRound (default DefaultMaxLoadsPerRound) bounds the loads a
	// round plans; memory bounds them first (loads start only while their
	// expected size fits below the stop-load threshold), and at most Loaders
	// copy at once.
	MaxLoadsPerRound int
}

// Automatic load and evict defaults. The interval is TiKV's; 256 loads a
// round (was 16) let a cold cache of a few hundred hot regions fill in one
// round instead of sixteen, since memory and the loader pool already bound
// how much a round loads and how fast (BENCHMARKS.md, demo workload).
const (
	DefaultAutoInterval           = 5 * time.Minute
	DefaultAmplificationThreshold = 10
	DefaultMaxLoadsPerRound       = 256
)

// Errors.
var (
	// ErrClosed: the engine is closed.
	ErrClosed = errors.New("regioncache: engine closed")
	// ErrLoadRejected: a load was refused; see *LoadRejectedError.
	ErrLoadRejected = errors.New("regioncache: load rejected")
	// ErrInvalidRegion: a region descriptor cannot describe a range.
	ErrInvalidRegion = mvcc.ErrInvalidRegion
	// ErrInvalidTimestamp: timestamps must be positive.
	ErrInvalidTimestamp = errors.New("regioncache: timestamp must be positive")
	// ErrLocked: Open's directory is in use by another engine (another
	// process, or one of this process not closed).
	ErrLocked = diskengine.ErrLocked
	// ErrInvalidOptions: Open was given settings that cannot work.
	ErrInvalidOptions = errors.New("regioncache: invalid options")
	// ErrRegionMismatch: a descriptor has the id and version of a region
	// the engine holds but another range; the call changed nothing. See
	// *RegionMismatchError.
	ErrRegionMismatch = mvcc.ErrRegionMismatch
	// ErrInvalidSplit and ErrInvalidMerge: descriptors that cannot be a
	// split or a merge.
	ErrInvalidSplit = errors.New("regioncache: invalid split")
	ErrInvalidMerge = errors.New("regioncache: invalid merge")
	// ErrNilBatch: Write was given no batch.
	ErrNilBatch = errors.New("regioncache: Write of a nil *Batch")
	// ErrBatchTooLarge: a batch over MaxBatchBytes; split it.
	ErrBatchTooLarge = errors.New("regioncache: batch too large")
	// ErrOutOfRange: a snapshot read outside the snapshot's region.
	ErrOutOfRange = errors.New("regioncache: key outside the snapshot's region")
	// ErrAboveSnapshotTs: a read through a snapshot at a ts above the
	// snapshot's, which cannot know what was written after it was taken.
	ErrAboveSnapshotTs = errors.New("regioncache: read above the snapshot's ts")
	// ErrReleased: a read through a released snapshot.
	ErrReleased = errors.New("regioncache: snapshot released")
	// ErrIterClosed: a positioning call on a closed iterator.
	ErrIterClosed = errors.New("regioncache: iterator closed")
	// ErrUnknownCounter: a counter name the event-log spec does not have.
	ErrUnknownCounter = errors.New("regioncache: unknown counter")
	// ErrMemoryAccount: a memory account that disagrees with the data it
	// accounts for; see CheckMemory.
	ErrMemoryAccount = errors.New("regioncache: memory account disagrees with the cached data")
)

// LoadRejectedError says why a load was refused. It matches ErrLoadRejected.
type LoadRejectedError struct {
	Region Region
	// Reason is one of "overlap", "evicting", "version_mismatch",
	// "stale_version", "memory_limit". "evicting" is retryable and changed
	// nothing: the load meets a region on its way out (loading_canceled,
	// pending_evict, evicting), by id (an older version of the same id) or
	// by range (another id), as TiKV's load_region answers Evicting; the
	// same load is accepted once that region is absent. "overlap" is a held
	// region of another id that is not being evicted.
	Reason string
	// Conflict is the held region the load overlaps, for "overlap" and for
	// "evicting" by range.
	Conflict *Region
	Detail   string
}

func (e *LoadRejectedError) Error() string {
	return fmt.Sprintf("regioncache: load of %s rejected (%s): %s", e.Region, e.Reason, e.Detail)
}

// Is makes errors.Is(err, ErrLoadRejected) true.
func (e *LoadRejectedError) Is(target error) bool { return target == ErrLoadRejected }

// Engine is a running cache.
type Engine struct {
	opts      Options
	log       zerolog.Logger
	db        *diskengine.DB
	plane     *dataplane.Plane
	system    *actor.ActorSystem
	sup       *actors.Supervisor
	fps       *failpoint.Set
	counters  *counters.Set
	heat      *heat.Tracker
	reads     readCounts      // reads by source and disk reason
	snapsHeld [3]atomic.Int64 // live Snapshots by Source
	metrics   *metrics.Metrics
	safePoint atomic.Uint64
	ctx       context.Context
	cancel    context.CancelFunc
	life      sync.RWMutex // held shared by every call; Close takes it whole
	closed    bool
	closeOnce sync.Once
	closeErr  error
}

// Open starts an engine: the disk engine, the supervisor, its loaders.
func Open(opts Options) (*Engine, error) {
	if err := opts.ensureDefaults(); err != nil {
		return nil, err
	}
	log := zerolog.Nop()
	if opts.Logger != nil {
		log = *opts.Logger
	}
	db, err := diskengine.Open(diskengine.Options{Dir: opts.Dir, Logger: pebbleLogger(opts.Logger), Pebble: opts.Pebble})
	if err != nil {
		return nil, err
	}
	e := &Engine{opts: opts, log: log, db: db, fps: failpoint.NewSet(), counters: &counters.Set{}, heat: &heat.Tracker{}}
	if opts.AutoLoadEvict.Enabled {
		e.heat.Enable()
	}
	e.plane = dataplane.New(db, dataplane.Limits{
		Capacity: opts.Capacity, StopLoad: opts.StopLoadThreshold, EvictThreshold: opts.EvictThreshold,
		OnPressure: func() {
			e.sup.Board.Begin(1)
			e.system.Root.Send(e.sup.PID, &messages.MemoryPressure{Done: func() { e.sup.Board.Done(1) }})
		},
		OnCompact: func(r mvcc.Region, gen uint64) {
			e.system.Root.Send(e.sup.PID, &messages.CompactionNeeded{RegionID: r.ID, Gen: gen})
		},
		OnAccountError: func(what string) { log.Error().Str("what", what).Msg("memory account error") },
	})
	e.plane.SetFailpoints(e.fps)
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.system = opts.ActorSystem
	if e.system == nil {
		e.system = actorlog.NewActorSystem(log)
	}
	var timings regionactor.Timings
	if opts.Registerer != nil {
		e.metrics = metrics.New(e.metricsSample)
		timings = e.metrics
	}
	e.sup = actors.Start(e.system.Root, actors.Deps{
		Plane: e.plane, Failpoints: e.fps, Counters: e.counters, Log: log, Ctx: e.ctx,
		Loaders: opts.Loaders, SafePoint: e.safePoint.Load, OnTransition: onTransition(opts.OnTransition), Timings: timings,
		Auto: actors.AutoLoadEvict{
			Enabled: opts.AutoLoadEvict.Enabled, Interval: opts.AutoLoadEvict.Interval, Heat: e.heat,
			AmplificationThreshold: opts.AutoLoadEvict.AmplificationThreshold, MaxLoadsPerRound: opts.AutoLoadEvict.MaxLoadsPerRound,
		},
	})
	if e.metrics != nil {
		if err := opts.Registerer.Register(e.metrics); err != nil {
			e.metrics = nil
			_ = e.Close()
			return nil, fmt.Errorf("%w: registering metrics (two engines on one registry need distinct labels): %w", ErrInvalidOptions, err)
		}
	}
	return e, nil
}

// ensureMemoryDefaults fills in and checks the memory limits.
func (o *Options) ensureMemoryDefaults() error {
	for _, l := range []struct {
		name  string
		bytes int64
	}{{"capacity", o.Capacity}, {"evict threshold", o.EvictThreshold}, {"stop-load threshold", o.StopLoadThreshold}} {
		if l.bytes < 0 {
			return fmt.Errorf("%w: %s %d is negative (memory limits are byte counts)", ErrInvalidOptions, l.name, l.bytes)
		}
	}
	if o.Capacity == 0 {
		o.Capacity = DefaultCapacity
	}
	if err := validate.Int("capacity", o.Capacity, 1, MaxCapacity); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidOptions, err)
	}
	if o.EvictThreshold == 0 {
		o.EvictThreshold = o.Capacity / 100 * DefaultEvictThresholdPercent
	}
	if o.StopLoadThreshold == 0 {
		o.StopLoadThreshold = o.Capacity / 100 * DefaultStopLoadThresholdPercent
		if o.StopLoadThreshold > o.EvictThreshold {
			o.StopLoadThreshold = o.EvictThreshold
		}
	}
	switch {
	case o.EvictThreshold > o.Capacity:
		return fmt.Errorf("%w: evict threshold %d is above capacity %d", ErrInvalidOptions, o.EvictThreshold, o.Capacity)
	case o.StopLoadThreshold > o.Capacity:
		return fmt.Errorf("%w: stop-load threshold %d is above capacity %d", ErrInvalidOptions, o.StopLoadThreshold, o.Capacity)
	case o.StopLoadThreshold > o.EvictThreshold:
		return fmt.Errorf("%w: stop-load threshold %d is above evict threshold %d (eviction would never get below it)",
			ErrInvalidOptions, o.StopLoadThreshold, o.EvictThreshold)
	}
	return nil
}

// CloseTimeout bounds how long Close waits for the actors to stop.
const CloseTimeout = 2 * time.Minute

// Close stops every actor and closes the disk engine. Calls in progress
// finish first; later calls return ErrClosed. Paused failpoints are released.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		if e.metrics != nil {
			e.opts.Registerer.Unregister(e.metrics)
		}
		e.cancel() // paused work and waits stop waiting
		e.sup.Close()
		e.life.Lock()
		e.closed = true
		e.life.Unlock()
		// protoactor's PoisonFuture gives up after a fixed 10 s; a host with
		// a million region actors needs longer, so wait for the supervisor's
		// termination ourselves, with a bound of our own.
		select {
		case <-e.sup.Stop(e.system.Root):
		case <-time.After(CloseTimeout):
			e.closeErr = fmt.Errorf("regioncache: actors still stopping after %s", CloseTimeout)
			// Pebble must not close under a loader still reading it.
			return
		}
		e.plane.CloseSnapshots()
		if err := e.db.Close(); err != nil && e.closeErr == nil {
			e.closeErr = err
		}
	})
	return e.closeErr
}

// enter starts a call; the returned func ends it.
func (e *Engine) enter() (func(), error) {
	e.life.RLock()
	if e.closed {
		e.life.RUnlock()
		return nil, ErrClosed
	}
	return e.life.RUnlock, nil
}

// request sends msg to the supervisor and waits for its reply.
func request[T any](e *Engine, msg any, reply messages.Reply[T]) (T, error) {
	e.system.Root.Send(e.sup.PID, msg)
	select {
	case r := <-reply:
		return r, nil
	case <-e.ctx.Done():
		var zero T
		return zero, ErrClosed
	}
}

// onTransition hands the host's callback the root's Transition.
func onTransition(f func(Transition)) func(actors.Transition) {
	if f == nil {
		return nil
	}
	return func(t actors.Transition) { f(publicTransition(t)) }
}
