// Package debughttp lets a person look inside a running engine over HTTP.
// Handler serves, as JSON:
//
//	GET /debug/regions   every held region: id, version, start and end (hex),
//	                     state and since when, safe point, memory, versions,
//	                     held snapshots, loaded at, last read
//	GET /debug/stats     the spec's counters, reads by source and reason,
//	                     memory and its limits, regions by state, snapshots
//	GET /debug/          an index of the above
//
// The host mounts it where it likes, typically under /debug/ of its own mux:
//
//	mux.Handle("/debug/", debughttp.Handler(engine))
//
// Serve runs a whole server for a demo or a sidecar: the handler at /debug/
// and Prometheus metrics at /metrics, until its context ends.
package debughttp

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/lifecycle"
)

// Region is one region in GET /debug/regions.
type Region struct {
	ID      uint64 `json:"id"`
	Version uint64 `json:"version"`
	Gen     uint64 `json:"gen"`
	// Start and End are hex; End "" is unbounded.
	Start string    `json:"start"`
	End   string    `json:"end"`
	State string    `json:"state"`
	Since time.Time `json:"since"`
	// LoadedAt is when the data became readable from memory; null before.
	LoadedAt    *time.Time `json:"loaded_at"`
	SafePoint   uint64     `json:"safe_point"`
	MemoryBytes int64      `json:"memory_bytes"`
	Versions    int        `json:"versions"`
	Snapshots   int        `json:"snapshots"`
	// LastRead is the process's read clock at the region's last read from
	// memory (a count of memory reads, not a time; 0: none), and
	// ReadsSince the memory reads served since: 0 is the region read last.
	LastRead   int64 `json:"last_read"`
	ReadsSince int64 `json:"reads_since_last_read"`
}

// Regions is the body of GET /debug/regions.
type Regions struct {
	Regions []Region `json:"regions"`
}

// Memory is memory use and its limits, in bytes.
type Memory struct {
	UsedBytes              int64 `json:"used_bytes"`
	CapacityBytes          int64 `json:"capacity_bytes"`
	EvictThresholdBytes    int64 `json:"evict_threshold_bytes"`
	StopLoadThresholdBytes int64 `json:"stop_load_threshold_bytes"`
}

// Stats is the body of GET /debug/stats.
type Stats struct {
	// Counters are the spec's counters (loads_requested, ..., keys_loaded).
	Counters map[string]int64 `json:"counters"`
	// Reads by source: memory, disk, mixed (a scan across both).
	Reads map[string]int64 `json:"reads"`
	// DiskReads by reason: not_cached, version_mismatch, too_old_read.
	DiskReads map[string]int64 `json:"disk_reads"`
	Memory    Memory           `json:"memory"`
	// Regions counts held regions by state.
	Regions map[string]int `json:"regions"`
	// SnapshotsHeld by source: memory, disk.
	SnapshotsHeld map[string]int64 `json:"snapshots_held"`
	SafePoint     uint64           `json:"safe_point"`
	Loaders       int              `json:"loaders"`
}

// Handler returns the debug handler of e. It serves the full paths
// /debug/regions, /debug/stats and /debug/ (mount it at "/debug/" without
// stripping the prefix); only GET and HEAD are allowed.
func Handler(e *regioncache.Engine) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/regions", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, RegionsOf(e))
	})
	mux.HandleFunc("GET /debug/stats", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, StatsOf(e))
	})
	mux.HandleFunc("GET /debug/{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, index)
	})
	return mux
}

const index = `regioncache debug
  /debug/regions  every held region (JSON)
  /debug/stats    counters, reads, memory and limits (JSON)
`

// RegionsOf is what GET /debug/regions answers.
func RegionsOf(e *regioncache.Engine) Regions {
	details := e.RegionDetails()
	out := Regions{Regions: make([]Region, 0, len(details))}
	for _, d := range details {
		r := Region{
			ID: d.Region.ID, Version: d.Region.Version, Gen: d.Gen,
			Start: hex.EncodeToString(d.Region.Start), End: hex.EncodeToString(d.Region.End),
			State: d.State.String(), Since: d.Since, SafePoint: d.SafePoint,
			MemoryBytes: d.MemoryBytes, Versions: d.Versions, Snapshots: d.Snapshots,
			LastRead: d.LastRead, ReadsSince: d.ReadsSince,
		}
		if !d.LoadedAt.IsZero() {
			t := d.LoadedAt
			r.LoadedAt = &t
		}
		out.Regions = append(out.Regions, r)
	}
	return out
}

// StatsOf is what GET /debug/stats answers.
func StatsOf(e *regioncache.Engine) Stats {
	st := e.Stats()
	o := e.Options()
	reads := e.ReadCounts()
	mem, disk := e.SnapshotsHeld()
	out := Stats{
		Counters: st.Counters,
		Reads: map[string]int64{
			regioncache.FromMemory.String(): reads.Memory, regioncache.FromDisk.String(): reads.Disk,
			regioncache.FromBoth.String(): reads.Mixed,
		},
		DiskReads: map[string]int64{
			regioncache.NotCached.String(): reads.NotCached, regioncache.VersionMismatch.String(): reads.VersionMismatch,
			regioncache.TooOldRead.String(): reads.TooOldRead,
		},
		Memory: Memory{
			UsedBytes: st.MemoryBytes, CapacityBytes: o.Capacity,
			EvictThresholdBytes: o.EvictThreshold, StopLoadThresholdBytes: o.StopLoadThreshold,
		},
		Regions:       map[string]int{},
		SnapshotsHeld: map[string]int64{regioncache.FromMemory.String(): mem, regioncache.FromDisk.String(): disk},
		SafePoint:     e.SafePoint(),
		Loaders:       o.Loaders,
	}
	for _, s := range lifecycle.States {
		if s != lifecycle.Absent {
			out.Regions[s.String()] = 0
		}
	}
	for _, r := range st.Regions {
		out.Regions[r.State.String()]++
	}
	return out
}

func writeJSON(w http.ResponseWriter, v any) {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(append(body, '\n'))
}

// ShutdownTimeout bounds how long Serve waits for requests in flight once
// its context ends.
const ShutdownTimeout = 5 * time.Second

// Serve listens on addr and serves e's debug handler at /debug/ and, when
// reg is not nil, reg's metrics at /metrics, until ctx ends; then it shuts
// down gracefully and returns nil. It returns an error if it cannot listen
// or the server fails.
func Serve(ctx context.Context, addr string, e *regioncache.Engine, reg *prometheus.Registry) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("debughttp: %w", err)
	}
	return ServeListener(ctx, ln, e, reg)
}

// ServeListener is Serve on a listener the caller opened (for example on
// 127.0.0.1:0, to learn the port first); it closes ln.
func ServeListener(ctx context.Context, ln net.Listener, e *regioncache.Engine, reg *prometheus.Registry) error {
	srv := &http.Server{Handler: Mux(e, reg), ReadHeaderTimeout: 10 * time.Second}
	ctx, cancel := context.WithCancel(ctx) // also ends the shutdown goroutine if Serve fails
	defer cancel()
	stopped := make(chan error, 1)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
		defer cancel()
		stopped <- srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		_ = srv.Close()
		return fmt.Errorf("debughttp: %w", err)
	}
	return <-stopped
}

// Mux is the handler Serve serves: Handler(e) at /debug/, reg's metrics
// at /metrics (when reg is not nil) and / redirected to /debug/.
func Mux(e *regioncache.Engine, reg *prometheus.Registry) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/debug/", Handler(e))
	if reg != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	}
	mux.Handle("GET /{$}", http.RedirectHandler("/debug/", http.StatusFound))
	return mux
}
