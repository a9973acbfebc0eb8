package regioncache

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/rs/zerolog"

	"github.com/regioncache/regioncache/internal/dataplane"
	"github.com/regioncache/regioncache/internal/lifecycle"
	"github.com/regioncache/regioncache/internal/metrics"
)

// This file is what the engine shows of itself: read counts, held
// snapshots, per-region details (for package debughttp) and the sample its
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
	if src != FromMemory && why != dataplane.Cached && int(why) < len(r.byReason) {
		r.byReason[why].Add(1)
	}
}

// ReadCounts are the reads the engine served (Get, Scan and reads through
// snapshots) since Open.
type ReadCounts struct {
	// By source: Mixed is a scan that crossed cached and uncached ranges.
	Memory, Disk, Mixed int64
	// Reads (disk or mixed) by why they went to disk.
	NotCached, VersionMismatch, TooOldRead int64
}

// ReadCounts returns the read counts.
func (e *Engine) ReadCounts() ReadCounts {
	r := &e.reads
	return ReadCounts{
		Memory: r.bySource[FromMemory].Load(), Disk: r.bySource[FromDisk].Load(), Mixed: r.bySource[FromBoth].Load(),
		NotCached: r.byReason[NotCached].Load(), VersionMismatch: r.byReason[VersionMismatch].Load(),
		TooOldRead: r.byReason[TooOldRead].Load(),
	}
}

// SnapshotsHeld returns how many snapshots the host holds (taken and not
// released), served from memory and from disk.
func (e *Engine) SnapshotsHeld() (memory, disk int64) {
	return e.snapsHeld[FromMemory].Load(), e.snapsHeld[FromDisk].Load()
}

// RegionDetail is what the engine knows of one held region.
type RegionDetail struct {
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
	// LastRead is the process's read clock (dataplane.ReadClock: a count of
	// reads served from memory, not a time) at the region's last read from
	// memory, or at its activation; 0: none. ReadsSince is how many reads
	// from memory the process served since, so 0 is the region read last.
	// A wall-clock time would cost every memory read a clock reading.
	LastRead   int64
	ReadsSince int64
}

// RegionDetails returns every held region, ordered by start key.
func (e *Engine) RegionDetails() []RegionDetail {
	all := e.sup.Board.All()
	now := dataplane.ReadClock()
	out := make([]RegionDetail, 0, len(all))
	for _, s := range all {
		d := RegionDetail{Region: s.Region, Gen: s.Gen, State: s.State, Since: s.Since, LoadedAt: s.LoadedAt, Snapshots: s.Snapshots}
		if h := s.Handle; h != nil {
			d.MemoryBytes, d.Versions, d.SafePoint = h.Stats()
			if d.LastRead = h.LastRead(); d.LastRead > 0 {
				d.ReadsSince = max(now-d.LastRead, 0)
			}
		}
		out = append(out, d)
	}
	return out
}

// metricsEvictReasons are the eviction reasons the metrics label as such;
// any other a host passes to Evict is labelled "other".
var metricsEvictReasons = append(append([]string(nil), EvictReasons...), "missed_change")

// metricsSample is what the Prometheus collector reads at scrape time.
func (e *Engine) metricsSample() metrics.Sample {
	byState := make(map[string]int64, len(lifecycle.States))
	for _, st := range lifecycle.States {
		if st != Absent {
			byState[st.String()] = 0
		}
	}
	for _, s := range e.sup.Board.All() {
		byState[s.State.String()]++
	}
	reads := e.ReadCounts()
	mem, disk := e.SnapshotsHeld()
	return metrics.Sample{
		RegionsByState:    byState,
		MemoryBytes:       e.plane.MemoryUsed(),
		Capacity:          e.opts.Capacity,
		EvictThreshold:    e.opts.EvictThreshold,
		StopLoadThreshold: e.opts.StopLoadThreshold,
		Counters:          e.counterMap(),
		ReadsBySource: map[string]int64{
			FromMemory.String(): reads.Memory, FromDisk.String(): reads.Disk, FromBoth.String(): reads.Mixed,
		},
		DiskReadsByReason: map[string]int64{
			NotCached.String(): reads.NotCached, VersionMismatch.String(): reads.VersionMismatch, TooOldRead.String(): reads.TooOldRead,
		},
		SnapshotsHeld: map[string]int64{FromMemory.String(): mem, FromDisk.String(): disk},
		SafePoint:     e.safePoint.Load(),
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
