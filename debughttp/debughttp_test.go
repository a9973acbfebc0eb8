package debughttp_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/debughttp"
	"github.com/regioncache/regioncache/internal/testutil"
)

var region = regioncache.Region{ID: 7, Version: 2, Start: []byte("a"), End: []byte("z")}

// engine returns an engine with region 7 [a, z) active, read once from
// memory and held by one snapshot.
func engine(t *testing.T, opts regioncache.Options) *regioncache.Engine {
	t.Helper()
	e := testutil.Open(t, opts)
	b := new(regioncache.Batch)
	for i := 0; i < 10; i++ {
		b.Put([]byte(fmt.Sprintf("k%d", i)), 10, []byte("v"))
	}
	if err := e.Write(b); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Load(region); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := testutil.Hooks(e).WaitRegionState(ctx, region.ID, regioncache.Active); err != nil {
		t.Fatal(err)
	}
	if g, err := e.Get([]byte("k1"), 20); err != nil || g.Source != regioncache.FromMemory {
		t.Fatalf("get: %+v %v", g, err)
	}
	if _, err := e.Get([]byte("zz"), 20); err != nil { // from disk, not cached
		t.Fatal(err)
	}
	s, err := e.Snapshot(region, 20)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Release)
	return e
}

func get(t *testing.T, h http.Handler, method, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec
}

func TestRegions(t *testing.T) {
	before := time.Now()
	e := engine(t, regioncache.Options{})
	rec := get(t, debughttp.Handler(e), "GET", "/debug/regions")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, content type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	// The wire format, as a person or a script sees it.
	var raw struct {
		Regions []map[string]any `json:"regions"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	if len(raw.Regions) != 1 {
		t.Fatalf("regions: %s", rec.Body)
	}
	for _, k := range []string{"id", "version", "gen", "start", "end", "state", "since", "loaded_at", "safe_point",
		"memory_bytes", "versions", "snapshots", "last_read", "reads_since_last_read"} {
		if _, ok := raw.Regions[0][k]; !ok {
			t.Errorf("region has no %q: %s", k, rec.Body)
		}
	}
	var body debughttp.Regions
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	r := body.Regions[0]
	switch {
	case r.ID != 7 || r.Version != 2 || r.Start != "a" || r.End != "z" || r.State != "active":
		t.Errorf("region: %+v", r)
	case r.MemoryBytes <= 0 || r.Versions != 10 || r.Snapshots != 1:
		t.Errorf("data: %+v", r)
	case r.LoadedAt == nil || r.LoadedAt.Before(before) || r.Since.Before(before):
		t.Errorf("times: loaded at %v, since %v, test began %v", r.LoadedAt, r.Since, before)
	case r.LastRead <= 0 || r.ReadsSince < 0:
		t.Errorf("last read %d, reads since %d", r.LastRead, r.ReadsSince)
	}
}

func TestStats(t *testing.T) {
	e := engine(t, regioncache.Options{Capacity: 1 << 20, Loaders: 3})
	rec := get(t, debughttp.Handler(e), "GET", "/debug/stats")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var s debughttp.Stats
	if err := json.Unmarshal(rec.Body.Bytes(), &s); err != nil {
		t.Fatal(err)
	}
	m, err := e.Metrics()
	if err != nil {
		t.Fatal(err)
	}
	want := debughttp.Memory{UsedBytes: m.Memory.Used, CapacityBytes: 1 << 20, EvictThresholdBytes: (1 << 20) / 100 * 90, StopLoadThresholdBytes: (1 << 20) / 100 * 80}
	switch {
	case s.Counters["loads_completed"] != 1 || s.Counters["reads_memory"] != 1 || s.Counters["reads_disk"] != 1:
		t.Errorf("counters: %v", s.Counters)
	case s.Reads["memory"] != 1 || s.Reads["disk"] != 1 || s.Reads["mixed"] != 0 || s.DiskReads["not_cached"] != 1:
		t.Errorf("reads: %v, disk reads %v", s.Reads, s.DiskReads)
	case s.Memory != want || s.Memory.UsedBytes <= 0:
		t.Errorf("memory: %+v, want %+v", s.Memory, want)
	case s.Regions["active"] != 1 || s.Regions["pending"] != 0 || len(s.Regions) != 6:
		t.Errorf("regions by state: %v", s.Regions)
	case s.SnapshotsHeld["memory"] != 1 || s.SnapshotsHeld["disk"] != 0 || s.Loaders != 3:
		t.Errorf("snapshots %v, loaders %d", s.SnapshotsHeld, s.Loaders)
	}
}

func TestRouting(t *testing.T) {
	e := engine(t, regioncache.Options{})
	h := debughttp.Handler(e)
	for _, c := range []struct {
		method, path string
		code         int
	}{
		{"GET", "/debug/", http.StatusOK},
		{"HEAD", "/debug/stats", http.StatusOK},
		{"POST", "/debug/regions", http.StatusMethodNotAllowed},
		{"GET", "/debug/nothing", http.StatusNotFound},
		{"GET", "/regions", http.StatusNotFound},
	} {
		if rec := get(t, h, c.method, c.path); rec.Code != c.code {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, rec.Code, c.code)
		}
	}
	// Mounted on a host's mux under /debug/.
	mux := http.NewServeMux()
	mux.Handle("/debug/", h)
	if rec := get(t, mux, "GET", "/debug/regions"); rec.Code != http.StatusOK {
		t.Errorf("mounted: %d", rec.Code)
	}
}

// TestServe runs the server on a loopback port, scrapes /metrics and
// /debug/stats, then stops it through its context.
func TestServe(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := engine(t, regioncache.Options{Registerer: reg})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- debughttp.ServeListener(ctx, ln, e, reg) }()
	base := "http://" + ln.Addr().String()

	metrics := fetch(t, base+"/metrics")
	for _, want := range []string{`regioncache_regions{state="active"} 1`, `regioncache_reads_total{source="memory"} 1`,
		`regioncache_load_duration_seconds_count{outcome="completed"} 1`, "regioncache_memory_bytes "} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	var s debughttp.Stats
	if err := json.Unmarshal([]byte(fetch(t, base+"/debug/stats")), &s); err != nil {
		t.Fatal(err)
	}
	if s.Regions["active"] != 1 {
		t.Errorf("/debug/stats: %+v", s)
	}
	if !strings.Contains(fetch(t, base+"/"), "/debug/regions") {
		t.Error("/ does not lead to the debug index")
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve after cancel: %v", err)
	}
	if _, err := http.Get(base + "/debug/stats"); err == nil {
		t.Error("server still answers after its context ended")
	}
}

func fetch(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}

func TestServeAddr(t *testing.T) {
	e := engine(t, regioncache.Options{})
	// An address it cannot listen on is an error at once.
	if err := debughttp.Serve(context.Background(), "127.0.0.1:-1", e, nil); err == nil {
		t.Error("Serve on a bad address returned nil")
	}
	// A context already ended: it listens, shuts down, returns nil.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := debughttp.Serve(ctx, "127.0.0.1:0", e, nil); err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("Serve with an ended context: %v", err)
	}
}
