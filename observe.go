package regioncache

import (
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/rs/zerolog"

	"github.com/regioncache/regioncache/internal/counters"
	"github.com/regioncache/regioncache/internal/lifecycle"
	"github.com/regioncache/regioncache/internal/metrics"
)

// This file is what the engine shows of itself: Metrics, and the sample its
// Prometheus collector reads at scrape time (package metrics).

// readCounts counts reads by source and, for reads that went to disk wholly
// or in part, by reason: one atomic increment or two per read.
type readCounts struct {
	bySource [3]atomic.Int64 // by Source
	byReason [4]atomic.Int64 // by DiskReason (Cached unused)
}

func (r *readCounts) count(src Source, why DiskReason) {
	if int(src) < len(r.bySource) {
		r.bySource[src].Add(1)
	}
	if src != FromMemory && why != cached && int(why) < len(r.byReason) {
		r.byReason[why].Add(1)
	}
}

// Metrics is a picture of the engine at one moment, everything it counts
// and holds in one value (as pebble's DB.Metrics). Counters count since Open.
type Metrics struct {
	// Regions is every held region, ordered by start key.
	Regions []RegionMetrics
	// Memory is the memory accounted to cached data (copies in progress and
	// data kept for snapshots included) and its limits, in bytes.
	Memory struct {
		Used, Capacity, EvictThreshold, StopLoadThreshold int64
	}
	// Loads counts load requests by what became of them, and the versions
	// completed loads copied into memory.
	Loads struct {
		Requested, Deduplicated, Rejected, Started, Completed, Canceled, Failed int64
		KeysLoaded                                                              int64
	}
	// Evictions counts regions evicted, for any reason.
	Evictions int64
	// Reads counts reads (Get, Scan, NewIter and reads through snapshots),
	// each once: by where it was served (Mixed is a scan that crossed cached
	// and uncached ranges) and, for reads that went to disk wholly or in
	// part, by why.
	Reads struct {
		Memory, Disk, Mixed                    int64
		NotCached, VersionMismatch, TooOldRead int64
	}
	// Snapshots held now (taken and not released), by where they read from.
	Snapshots struct {
		Memory, Disk int64
	}
	// SafePoint is the GC safe point: reads at or below it go to disk.
	SafePoint uint64
}

// RegionMetrics is what the engine knows of one held region.
type RegionMetrics struct {
	Region Region
	// Gen is the incarnation: it rises every time the region is loaded anew.
	Gen   uint64
	State State
	// Since is when the region entered State.
	Since time.Time
	// LoadedAt is when its data became readable from memory (zero until
	// then; a split child keeps its source's).
	LoadedAt time.Time
	// SafePoint: reads at or below it are served from disk.
	SafePoint uint64
	// MemoryBytes and Versions are of its cached data (0 while pending).
	MemoryBytes int64
	Versions    int
	// Snapshots is how many memory snapshots hold its data.
	Snapshots int
	// LastRead is the engine's read clock (a count of reads served from
	// memory, not a time) at the region's last read from memory, or at its
	// activation; 0: none. ReadsSince is how many reads from memory the
	// engine served since, so 0 is the region read last. A wall-clock time
	// would cost every memory read a clock reading.
	LastRead   int64
	ReadsSince int64
}

// Metrics returns the engine's metrics, or ErrClosed once it is closed.
func (e *Engine) Metrics() (Metrics, error) {
	exit, err := e.enter()
	if err != nil {
		return Metrics{}, err
	}
	defer exit()
	return e.metricsNow(), nil
}

func (e *Engine) metricsNow() Metrics {
	var m Metrics
	all := e.sup.Board.All()
	now := e.plane.ReadClock()
	m.Regions = make([]RegionMetrics, 0, len(all))
	for _, s := range all {
		d := RegionMetrics{Region: Region(s.Region), Gen: s.Gen, State: State(s.State), Since: s.Since, LoadedAt: s.LoadedAt, Snapshots: s.Snapshots}
		if h := s.Handle; h != nil {
			d.MemoryBytes, d.Versions, d.SafePoint = h.Stats()
			if d.LastRead = h.LastRead(); d.LastRead > 0 {
				d.ReadsSince = max(now-d.LastRead, 0)
			}
		}
		m.Regions = append(m.Regions, d)
	}
	m.Memory.Used, m.Memory.Capacity = e.plane.MemoryUsed(), e.opts.Capacity
	m.Memory.EvictThreshold, m.Memory.StopLoadThreshold = e.opts.EvictThreshold, e.opts.StopLoadThreshold
	c := e.counters.Snapshot()
	l := &m.Loads
	l.Requested, l.Deduplicated, l.Rejected, l.Started = c[counters.LoadsRequested], c[counters.LoadsDeduplicated], c[counters.LoadsRejected], c[counters.LoadsStarted]
	l.Completed, l.Canceled, l.Failed, l.KeysLoaded = c[counters.LoadsCompleted], c[counters.LoadsCanceled], c[counters.LoadsFailed], c[counters.KeysLoaded]
	m.Evictions = c[counters.Evictions]
	r := &e.reads
	m.Reads.Memory, m.Reads.Disk, m.Reads.Mixed = r.bySource[FromMemory].Load(), r.bySource[FromDisk].Load(), r.bySource[FromBoth].Load()
	m.Reads.NotCached, m.Reads.VersionMismatch = r.byReason[NotCached].Load(), r.byReason[VersionMismatch].Load()
	m.Reads.TooOldRead = r.byReason[TooOldRead].Load()
	m.Snapshots.Memory, m.Snapshots.Disk = e.snapsHeld[FromMemory].Load(), e.snapsHeld[FromDisk].Load()
	m.SafePoint = e.safePoint.Load()
	return m
}

// Counter returns a counter by the name the event-log spec gives it
// (loads_requested, loads_deduplicated, loads_rejected, loads_started,
// loads_completed, loads_canceled, loads_failed, evictions, reads_memory,
// reads_disk, keys_loaded); any other name is an error matching
// ErrUnknownCounter. reads_disk counts mixed scans too.
func (m Metrics) Counter(name string) (int64, error) {
	n, err := counters.Parse(name)
	if err != nil {
		return 0, fmt.Errorf("%w %q (want one of %s)", ErrUnknownCounter, name, strings.Join(counters.Names, ", "))
	}
	return m.counter(n), nil
}

func (m Metrics) counter(n counters.Name) int64 {
	switch n {
	case counters.LoadsRequested:
		return m.Loads.Requested
	case counters.LoadsDeduplicated:
		return m.Loads.Deduplicated
	case counters.LoadsRejected:
		return m.Loads.Rejected
	case counters.LoadsStarted:
		return m.Loads.Started
	case counters.LoadsCompleted:
		return m.Loads.Completed
	case counters.LoadsCanceled:
		return m.Loads.Canceled
	case counters.LoadsFailed:
		return m.Loads.Failed
	case counters.Evictions:
		return m.Evictions
	case counters.ReadsMemory:
		return m.Reads.Memory
	case counters.ReadsDisk:
		return m.Reads.Disk + m.Reads.Mixed
	default: // counters.KeysLoaded: Parse returns no other Name
		return m.Loads.KeysLoaded
	}
}

// Counters returns every spec counter by name (see Counter).
func (m Metrics) Counters() map[string]int64 {
	out := make(map[string]int64, len(counters.All))
	for _, n := range counters.All {
		out[n.String()] = m.counter(n)
	}
	return out
}

// metricsSample is what the Prometheus collector reads at scrape time.
func (e *Engine) metricsSample() metrics.Sample {
	m := e.metricsNow()
	byState := make(map[string]int64, len(lifecycle.States))
	for _, st := range lifecycle.States {
		if st != lifecycle.Absent {
			byState[st.String()] = 0
		}
	}
	for _, r := range m.Regions {
		byState[r.State.String()]++
	}
	return metrics.Sample{
		RegionsByState:    byState,
		MemoryBytes:       m.Memory.Used,
		Capacity:          m.Memory.Capacity,
		EvictThreshold:    m.Memory.EvictThreshold,
		StopLoadThreshold: m.Memory.StopLoadThreshold,
		Counters:          m.Counters(),
		ReadsBySource: map[string]int64{
			FromMemory.String(): m.Reads.Memory, FromDisk.String(): m.Reads.Disk, FromBoth.String(): m.Reads.Mixed,
		},
		DiskReadsByReason: map[string]int64{
			NotCached.String(): m.Reads.NotCached, VersionMismatch.String(): m.Reads.VersionMismatch, TooOldRead.String(): m.Reads.TooOldRead,
		},
		SnapshotsHeld: map[string]int64{FromMemory.String(): m.Snapshots.Memory, FromDisk.String(): m.Snapshots.Disk},
		SafePoint:     m.SafePoint,
	}
}

// pebbleLogger routes Pebble's messages into the host's logger (its
// informational chatter at debug level); nil keeps Pebble quiet.
func pebbleLogger(log *zerolog.Logger) pebble.Logger {
	if log == nil {
		return nil
	}
	return zerologPebble{log.With().Str("lib", "pebble").Logger()}
}

type zerologPebble struct{ log zerolog.Logger }

func (l zerologPebble) Infof(format string, args ...any) { l.log.Debug().Msgf(format, args...) }

func (l zerologPebble) Errorf(format string, args ...any) { l.log.Error().Msgf(format, args...) }

func (l zerologPebble) Fatalf(format string, args ...any) {
	// Pebble calls Fatalf for unrecoverable corruption; it must not go on.
	msg := fmt.Sprintf(format, args...)
	l.log.Error().Msg(msg)
	panic(msg)
}
