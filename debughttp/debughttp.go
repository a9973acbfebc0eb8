// Package debughttp lets a person look inside a running engine over HTTP.
// Handler serves, as JSON:
//
//	GET /debug/regions   every held region: id, version, start and end (as
//	                     event logs write keys: text, or 0x-hex),
//	                     state and since when, safe point, memory, versions,
//	                     held snapshots, loaded at, last read
//	GET /debug/stats     the spec's counters, reads by source and reason,
//	                     memory and its limits, regions by state, snapshots
//	GET /debug/          an index of the above (and /metrics, under Serve)
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
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/mvcc"
)

// Region is one region in GET /debug/regions.
type Region struct {
	ID      uint64 `json:"id"`
	Version uint64 `json:"version"`
	Gen     uint64 `json:"gen"`
	// Start and End are keys as event logs write them: printable text as
	// is, anything else as "0x" and hex; End "" is unbounded.
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
func Handler(e *regioncache.Engine) http.Handler { return handler(e, false) }

// handler is Handler, with /metrics listed in the index when it is served
// beside it.
func handler(e *regioncache.Engine, withMetrics bool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/regions", func(w http.ResponseWriter, _ *http.Request) {
		if m, ok := metricsOf(w, e); ok {
			writeJSON(w, regionsOf(m))
		}
	})
	mux.HandleFunc("GET /debug/stats", func(w http.ResponseWriter, _ *http.Request) {
		if m, ok := metricsOf(w, e); ok {
			writeJSON(w, statsOf(m, e.Options()))
		}
	})
	mux.HandleFunc("GET /debug/{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, index)
		if withMetrics {
			fmt.Fprint(w, metricsLine)
		}
	})
	return mux
}

const index = `regioncache debug
  /debug/regions  every held region (JSON)
  /debug/stats    counters, reads, memory and limits (JSON)
`

// metricsLine is the index's line for /metrics, when it is served.
const metricsLine = "  /metrics        Prometheus metrics\n"

// metricsOf reads e's metrics, answering 503 once e is closed.
func metricsOf(w http.ResponseWriter, e *regioncache.Engine) (regioncache.Metrics, bool) {
	m, err := e.Metrics()
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return m, false
	}
	return m, true
}

// regionsOf is what GET /debug/regions answers.
func regionsOf(m regioncache.Metrics) Regions {
	out := Regions{Regions: make([]Region, 0, len(m.Regions))}
	for _, d := range m.Regions {
		r := Region{
			ID: d.Region.ID, Version: d.Region.Version, Gen: d.Gen,
			Start: mvcc.KeyText(d.Region.Start), End: endText(d.Region.End),
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

func endText(k []byte) string {
	if len(k) == 0 {
		return "" // unbounded
	}
	return mvcc.KeyText(k)
}

// statsOf is what GET /debug/stats answers.
func statsOf(m regioncache.Metrics, o regioncache.Options) Stats {
	out := Stats{
		Counters: m.Counters(),
		Reads: map[string]int64{
			regioncache.FromMemory.String(): m.Reads.Memory, regioncache.FromDisk.String(): m.Reads.Disk,
			regioncache.FromBoth.String(): m.Reads.Mixed,
		},
		DiskReads: map[string]int64{
			regioncache.NotCached.String(): m.Reads.NotCached, regioncache.VersionMismatch.String(): m.Reads.VersionMismatch,
			regioncache.TooOldRead.String(): m.Reads.TooOldRead,
		},
		Memory: Memory{
			UsedBytes: m.Memory.Used, CapacityBytes: m.Memory.Capacity,
			EvictThresholdBytes: m.Memory.EvictThreshold, StopLoadThresholdBytes: m.Memory.StopLoadThreshold,
		},
		Regions:       map[string]int{},
		SnapshotsHeld: map[string]int64{regioncache.FromMemory.String(): m.Snapshots.Memory, regioncache.FromDisk.String(): m.Snapshots.Disk},
		SafePoint:     m.SafePoint,
		Loaders:       o.Loaders,
	}
	for _, s := range regioncache.States() {
		if s != regioncache.Absent {
			out.Regions[s.String()] = 0
		}
	}
	for _, r := range m.Regions {
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

// ShutdownTimeout bounds how long Serve waits, once its context ends, for
// the requests whose handlers are running to finish.
const ShutdownTimeout = 5 * time.Second

// Serve listens on addr and serves e's debug handler at /debug/ and, when
// reg is not nil, reg's metrics at /metrics, until ctx ends; then it shuts
// down (see ServeListener) and returns nil. It returns an error if it
// cannot listen or the server fails.
func Serve(ctx context.Context, addr string, e *regioncache.Engine, reg *prometheus.Registry) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("regioncache: debughttp: %w", err)
	}
	return ServeListener(ctx, ln, e, reg)
}

// ServeListener is Serve on a listener the caller opened (for example on
// 127.0.0.1:0, to learn the port first); it closes ln.
//
// When ctx ends it stops accepting, lets the requests being handled finish
// (for at most ShutdownTimeout), then closes every connection left: idle
// ones, and those of clients that sent part of a request and stalled, which
// nothing could finish. It returns nil then; ErrHandlersCut when a handler
// was still running at the timeout.
func ServeListener(ctx context.Context, ln net.Listener, e *regioncache.Engine, reg *prometheus.Registry) error {
	var handlers inflight
	srv := &http.Server{Handler: handlers.wrap(Mux(e, reg)), ReadHeaderTimeout: 10 * time.Second}
	ctx, cancel := context.WithCancel(ctx) // also ends the shutdown goroutine if Serve fails
	defer cancel()
	stopped := make(chan error, 1)
	go func() {
		<-ctx.Done()
		// Shutdown closes the listener and the idle connections at once and
		// returns when every connection is idle; a stalled half request never
		// becomes idle, so the wait is for the handlers only.
		done := make(chan error, 1)
		go func() { done <- srv.Shutdown(context.WithoutCancel(ctx)) }()
		timeout := time.NewTimer(ShutdownTimeout)
		defer timeout.Stop()
		var err error
		select {
		case err = <-done: // every connection went idle and was closed
		case <-handlers.idle():
			err = srv.Close() // only connections without a running handler are left
			<-done
		case <-timeout.C:
			_ = srv.Close()
			<-done
			err = ErrHandlersCut
		}
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		stopped <- err
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		_ = srv.Close()
		return fmt.Errorf("regioncache: debughttp: %w", err)
	}
	return <-stopped
}

// ErrHandlersCut: a request handler was still running ShutdownTimeout after
// the server was asked to stop, and its connection was closed under it.
var ErrHandlersCut = errors.New("regioncache: debughttp: a request was still being handled at the shutdown timeout; its connection was closed")

// inflight counts the running handlers.
type inflight struct {
	mu      sync.Mutex
	n       int
	waiters []chan struct{}
}

func (f *inflight) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.n++
		f.mu.Unlock()
		defer f.done()
		h.ServeHTTP(w, r)
	})
}

func (f *inflight) done() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n--
	if f.n == 0 {
		for _, c := range f.waiters {
			close(c)
		}
		f.waiters = nil
	}
}

// idle returns a channel closed once no handler runs.
func (f *inflight) idle() <-chan struct{} {
	c := make(chan struct{})
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == 0 {
		close(c)
	} else {
		f.waiters = append(f.waiters, c)
	}
	return c
}

// Mux is the handler Serve serves: Handler(e) at /debug/, reg's metrics
// at /metrics (when reg is not nil) and / redirected to /debug/.
func Mux(e *regioncache.Engine, reg *prometheus.Registry) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/debug/", handler(e, reg != nil))
	if reg != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	}
	mux.Handle("GET /{$}", http.RedirectHandler("/debug/", http.StatusFound))
	return mux
}
