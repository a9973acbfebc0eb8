// Package testutil is the engine's test harness, shared by the root
// package's tests, tests/ and the benchmarks: an engine opened for a test and
// closed by its cleanup (Open, NewRig), a recorder of every state transition
// checked against the allowed table when the test ends, the engine's log
// lines, a reference model of what was written, and assertions over reads,
// states, counters and memory. Leak checks are in package leaktest.
//
// Tests use real Pebble (in memory), real actors and failpoints to hold work
// at a known step, and wait on conditions; nothing here sleeps.
package testutil

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/failpoint"
	"github.com/regioncache/regioncache/internal/mvcc"
	"github.com/regioncache/regioncache/internal/testutil/reference"
)

// Wait bounds every wait; it only turns a hang into a failure.
const Wait = 30 * time.Second

// The failpoints, short.
const (
	FPBeforeCopy   = failpoint.LoadBeforeCopy
	FPAfterCopy    = failpoint.LoadAfterCopy
	FPBeforeDelete = failpoint.EvictBeforeDelete
)

// --- logs and transitions -------------------------------------------------------

// LogLines keeps the engine's log lines (zerolog JSON).
type LogLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *LogLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.lines = append(l.lines, string(p))
	l.mu.Unlock()
	return len(p), nil
}

func (l *LogLines) Matching(substr string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, s := range l.lines {
		if strings.Contains(s, substr) {
			out = append(out, s)
		}
	}
	return out
}

type Edge struct{ From, To regioncache.State }

// AllowedTransitions is the transition table (ARCHITECTURE.md, "Life of a
// region") as the engine reports it (a
// replaced pending region is reported as pending -> absent for the old
// incarnation and absent -> pending for the new one).
var AllowedTransitions = map[Edge]bool{
	{regioncache.Absent, regioncache.Pending}:          true,
	{regioncache.Pending, regioncache.Loading}:         true,
	{regioncache.Pending, regioncache.Absent}:          true,
	{regioncache.Loading, regioncache.Active}:          true,
	{regioncache.Loading, regioncache.LoadingCanceled}: true,
	{regioncache.Loading, regioncache.Absent}:          true,
	{regioncache.LoadingCanceled, regioncache.Absent}:  true,
	{regioncache.Active, regioncache.PendingEvict}:     true,
	{regioncache.Active, regioncache.Evicting}:         true,
	{regioncache.PendingEvict, regioncache.Evicting}:   true,
	{regioncache.Evicting, regioncache.Absent}:         true,
}

// --- reference model of what was written ---------------------------------------------

// Model is every version the test wrote, in the reference store (package
// reference, which the randomized tests of tests/internal/model render against too):
// the answer any read must give.
type Model struct{ s *reference.Store }

// NewModel returns an empty model.
func NewModel() Model { return Model{s: reference.NewStore()} }

// Apply records the mutations of one written batch.
func (m Model) Apply(muts []mvcc.Mutation) {
	for _, mu := range muts {
		m.s.Apply(mu.Key, mu.Ts, mu.Value, mu.Tombstone)
	}
}

// Clone returns a copy of the model that later writes do not change (what
// a snapshot taken now must keep answering); it can be read while the rig
// writes.
func (m Model) Clone() Model { return Model{s: m.s.Clone()} }

// Get returns the newest value of key at or below ts.
func (m Model) Get(key string, ts uint64) (string, bool) {
	val, ok := m.s.Get([]byte(key), ts)
	return string(val), ok
}

// Scan returns up to limit (0: no limit) visible pairs of [start, end) at ts.
func (m Model) Scan(start, end []byte, ts uint64, limit int) []regioncache.KV {
	var out []regioncache.KV
	for _, kv := range m.s.Scan(start, end, ts, limit) {
		out = append(out, regioncache.KV{Key: kv.Key, Value: kv.Value})
	}
	return out
}

// Keys is every key written, in order.
func (m Model) Keys() []string { return m.s.Keys() }

// VersionsIn is how many versions (delete markers included) lie in r.
func (m Model) VersionsIn(r regioncache.Region) int64 { return m.s.DistinctVersions(r.Start, r.End) }

// ProbeTs is every interesting read timestamp: each written ts, its
// neighbours, and the extremes.
func (m Model) ProbeTs() []uint64 {
	out := []uint64{1, mvcc.MaxTS}
	for _, ts := range m.s.Timestamps() {
		out = append(out, ts, ts+1)
		if ts > 1 {
			out = append(out, ts-1)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// --- the rig: one engine, its history and its model --------------------------------

type Rig struct {
	T     testing.TB
	E     *regioncache.Engine
	Ctx   context.Context // ends after Wait, or when the test ends
	Log   *LogLines
	Model Model

	mu          sync.Mutex
	transitions []regioncache.Transition
	// Hook, if set, is called with every transition after it is recorded.
	Hook atomic.Pointer[func(regioncache.Transition)]
	// AllowPanics is set by tests that inject a panic: the end-of-test check
	// then accepts "actor panicked" log lines.
	AllowPanics bool
}

// NewRig opens an engine with loaders loaders whose transitions and logs the
// rig records. When the test ends the engine is closed, every transition is
// checked against AllowedTransitions, each incarnation's history must be a
// chain from absent, and no actor may have panicked unless AllowPanics.
func NewRig(t testing.TB, loaders int) *Rig {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Wait)
	r := &Rig{T: t, Ctx: ctx, Log: &LogLines{}, Model: NewModel()}
	logger := zerolog.New(r.Log).Level(zerolog.DebugLevel)
	e, err := regioncache.Open(regioncache.Options{Loaders: loaders, Logger: &logger, OnTransition: r.Record})
	if err != nil {
		t.Fatal(err)
	}
	r.E = e
	// Cleanups run last-in first-out: close, then check the history.
	t.Cleanup(cancel)
	t.Cleanup(r.checkHistory)
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return r
}

// Record is the rig's OnTransition.
func (r *Rig) Record(tr regioncache.Transition) {
	r.mu.Lock()
	r.transitions = append(r.transitions, tr)
	r.mu.Unlock()
	if h := r.Hook.Load(); h != nil {
		(*h)(tr)
	}
}

func (r *Rig) History() []regioncache.Transition {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.transitions)
}

// checkHistory verifies the transitions and the logs of the whole test.
func (r *Rig) checkHistory() {
	t := r.T
	type incKey struct{ id, gen uint64 }
	last := map[incKey]regioncache.State{}
	for i, tr := range r.History() {
		if !AllowedTransitions[Edge{tr.From, tr.To}] {
			t.Errorf("transition #%d %s gen %d: %s -> %s (%s) is not in the allowed table", i, tr.Region, tr.Gen, tr.From, tr.To, tr.Cause)
		}
		k := incKey{tr.Region.ID, tr.Gen}
		prev, seen := last[k]
		if !seen {
			prev = regioncache.Absent
		}
		if tr.From != prev {
			t.Errorf("transition #%d %s gen %d: from %s, but its last state was %s", i, tr.Region, tr.Gen, tr.From, prev)
		}
		last[k] = tr.To
	}
	if !r.AllowPanics {
		if p := r.Log.Matching("actor panicked"); len(p) > 0 {
			t.Errorf("an actor panicked:\n%s", strings.Join(p, "\n"))
		}
	}
}

func (r *Rig) Write(muts ...mvcc.Mutation) {
	r.T.Helper()
	b := new(regioncache.Batch)
	for _, m := range muts {
		if m.Tombstone {
			b.Delete(m.Key, m.Ts)
		} else {
			b.Put(m.Key, m.Ts, m.Value)
		}
	}
	if err := r.E.Write(b); err != nil {
		r.T.Fatalf("Write: %v", err)
	}
	r.Model.Apply(muts)
}

func Put(key string, ts uint64, value string) mvcc.Mutation {
	return mvcc.Mutation{Key: []byte(key), Ts: ts, Value: []byte(value)}
}

func Del(key string, ts uint64) mvcc.Mutation {
	return mvcc.Mutation{Key: []byte(key), Ts: ts, Tombstone: true}
}

// FillRange writes n keys prefix+"%03d" with versions at ts 10 and 20, a
// delete marker at 30 on every fourth key and a put at 40 after it on every
// eighth, plus keys with 0x00 and 0xFF bytes and one key just outside.
func (r *Rig) FillRange(prefix string, n int) {
	r.T.Helper()
	var muts []mvcc.Mutation
	for i := 0; i < n; i++ {
		k := fmt.Sprintf("%s%03d", prefix, i)
		muts = append(muts, Put(k, 10, "a-"+k), Put(k, 20, "b-"+k))
		if i%4 == 0 {
			muts = append(muts, Del(k, 30))
		}
		if i%8 == 0 {
			muts = append(muts, Put(k, 40, "c-"+k))
		}
	}
	muts = append(muts, Put(prefix, 5, "bare"), Put(prefix+"\x00", 12, "nul"), Put(prefix+"\x00\x00", 22, "nulnul"),
		Put(prefix+"\xff\xff", 35, "ff"), Del(prefix+"\xff\xff", 36), Put(prefix+"\xff\xff", 37, "ff-again"))
	r.Write(muts...)
}

func Reg(id, version uint64, start, end string) regioncache.Region {
	r := regioncache.Region{ID: id, Version: version, Start: []byte(start)}
	if end != "" {
		r.End = []byte(end)
	}
	return r
}

func (r *Rig) Load(reg regioncache.Region) regioncache.LoadOutcome {
	r.T.Helper()
	out, err := r.E.Load(reg)
	if err != nil {
		r.T.Fatalf("Load(%s): %v", reg, err)
	}
	return out
}

func (r *Rig) MustLoad(reg regioncache.Region, want regioncache.LoadOutcome) {
	r.T.Helper()
	if out := r.Load(reg); out != want {
		r.T.Fatalf("Load(%s) = %s, want %s", reg, out, want)
	}
}

// rejected asserts a typed load rejection and returns it.
func (r *Rig) Rejected(reg regioncache.Region, reason string) *regioncache.LoadRejectedError {
	r.T.Helper()
	out, err := r.E.Load(reg)
	var lr *regioncache.LoadRejectedError
	if !errors.As(err, &lr) || !errors.Is(err, regioncache.ErrLoadRejected) {
		r.T.Fatalf("Load(%s) = %s, %v; want a *LoadRejectedError", reg, out, err)
	}
	if reason != "" && lr.Reason != reason {
		r.T.Fatalf("Load(%s) rejected for %q (%s), want %q", reg, lr.Reason, lr.Detail, reason)
	}
	return lr
}

func (r *Rig) Evict(reg regioncache.Region) []regioncache.Region {
	r.T.Helper()
	out, err := r.E.Evict(reg, "manual")
	if err != nil {
		r.T.Fatalf("Evict(%s): %v", reg, err)
	}
	return out
}

func (r *Rig) FP(name failpoint.Name, action string) {
	r.T.Helper()
	if err := Hooks(r.E).Failpoint(name, action); err != nil {
		r.T.Fatalf("Failpoint(%s, %s): %v", name, action, err)
	}
}

func (r *Rig) WaitPaused(name failpoint.Name, n int) {
	r.T.Helper()
	if err := Hooks(r.E).WaitFailpointPaused(r.Ctx, name, n); err != nil {
		r.T.Fatalf("waiting for %d paused at %s: %v", n, name, err)
	}
}

func (r *Rig) WaitState(id uint64, s regioncache.State) {
	r.T.Helper()
	if err := Hooks(r.E).WaitRegionState(r.Ctx, id, s); err != nil {
		r.T.Fatalf("waiting for region %d to be %s (it is %s): %v", id, s, r.E.RegionState(id), err)
	}
}

func (r *Rig) WaitIdle() {
	r.T.Helper()
	if err := r.E.WaitIdle(r.Ctx); err != nil {
		r.T.Fatalf("WaitIdle: %v (stats %+v)", err, Metrics(r.T, r.E))
	}
}

func (r *Rig) WantState(id uint64, s regioncache.State) {
	r.T.Helper()
	if got := r.E.RegionState(id); got != s {
		r.T.Fatalf("region %d is %s, want %s", id, got, s)
	}
}

func (r *Rig) Counter(name string) int64 {
	r.T.Helper()
	v, err := Metrics(r.T, r.E).Counter(name)
	if err != nil {
		r.T.Fatal(err)
	}
	return v
}

// WantCounters asserts the named counters.
func (r *Rig) WantCounters(want map[string]int64) {
	r.T.Helper()
	for name, v := range want {
		if got := r.Counter(name); got != v {
			r.T.Errorf("counter %s = %d, want %d (all: %v)", name, got, v, Metrics(r.T, r.E).Counters())
		}
	}
}

func (r *Rig) WantMemory(want int64) {
	r.T.Helper()
	if got := Metrics(r.T, r.E).Memory.Used; got != want {
		r.T.Fatalf("MemoryBytes = %d, want %d", got, want)
	}
}

func (r *Rig) MustCheck() {
	r.T.Helper()
	diffs, err := r.E.Check()
	if err != nil {
		r.T.Fatalf("Check: %v", err)
	}
	for _, d := range diffs {
		r.T.Errorf("Check difference: %s", d)
	}
}

// AnySource accepts every read source.
const AnySource = regioncache.Source(255)

// CheckGets reads every key of the model inside reg (and the keys just outside
// it) at every probe ts and compares with the model; inside reg, reads above
// minMemTs must come from want.
func (r *Rig) CheckGets(reg regioncache.Region, want regioncache.Source, minMemTs uint64) {
	r.T.Helper()
	keys := append(r.Model.Keys(), string(reg.Start)+"\x00\x01", "zz-never-written")
	for _, k := range keys {
		for _, ts := range r.Model.ProbeTs() {
			g, err := r.E.Get([]byte(k), ts)
			if err != nil {
				r.T.Fatalf("Get(%q, %d): %v", k, ts, err)
			}
			wv, wok := r.Model.Get(k, ts)
			if g.Found != wok || string(g.Value) != wv {
				r.T.Fatalf("Get(%q, %d) = %q found=%v from %s, want %q found=%v", k, ts, g.Value, g.Found, g.Source, wv, wok)
			}
			if want != AnySource && reg.Contains([]byte(k)) && ts > minMemTs && g.Source != want {
				r.T.Fatalf("Get(%q, %d) served from %s (%s), want %s", k, ts, g.Source, g.Reason, want)
			}
		}
	}
}

// CheckScans scans reg (and a range wider than it) at every probe ts with
// several limits and compares with the model.
func (r *Rig) CheckScans(reg regioncache.Region, want regioncache.Source, minMemTs uint64) {
	r.T.Helper()
	ranges := [][2][]byte{{reg.Start, reg.End}, {nil, nil}}
	for _, rg := range ranges {
		for _, ts := range r.Model.ProbeTs() {
			for _, limit := range []int{0, 1, 3} {
				got, err := r.E.Scan(rg[0], rg[1], ts, limit)
				if err != nil {
					r.T.Fatalf("Scan: %v", err)
				}
				wantKVs := r.Model.Scan(rg[0], rg[1], ts, limit)
				if !SameKVs(got.Pairs, wantKVs) {
					r.T.Fatalf("Scan(%q, %q, %d, %d) = %s from %s, want %s", rg[0], rg[1], ts, limit,
						FmtKVs(got.Pairs), got.Source, FmtKVs(wantKVs))
				}
				if want != AnySource && bytes.Equal(rg[0], reg.Start) && ts > minMemTs && got.Source != want {
					r.T.Fatalf("Scan of %s at %d served from %s (%s), want %s", reg, ts, got.Source, got.Reason, want)
				}
			}
		}
	}
}

func SameKVs(a, b []regioncache.KV) bool {
	return slices.EqualFunc(a, b, func(x, y regioncache.KV) bool {
		return bytes.Equal(x.Key, y.Key) && bytes.Equal(x.Value, y.Value)
	})
}

func FmtKVs(kvs []regioncache.KV) string {
	var parts []string
	for _, kv := range kvs {
		parts = append(parts, fmt.Sprintf("%q=%q", kv.Key, kv.Value))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// RegionStatus returns the Stats entry of region id.
func (r *Rig) RegionStatus(id uint64) (regioncache.RegionMetrics, bool) {
	for _, s := range Metrics(r.T, r.E).Regions {
		if s.Region.ID == id {
			return s, true
		}
	}
	return regioncache.RegionMetrics{}, false
}

// EngineState is everything a rejected request must not change.
type EngineState struct {
	Regions  string
	Memory   int64
	Counters map[string]int64
}

// SnapshotState returns the engine's state now, to compare after a request
// that must change nothing.
func (r *Rig) SnapshotState() EngineState {
	st := Metrics(r.T, r.E)
	var regs []string
	for _, s := range st.Regions {
		regs = append(regs, fmt.Sprintf("%s:%s:%d", s.Region, s.State, s.Snapshots))
	}
	c := st.Counters()
	delete(c, "loads_requested")
	delete(c, "loads_rejected")
	delete(c, "reads_memory")
	delete(c, "reads_disk")
	return EngineState{Regions: strings.Join(regs, ", "), Memory: st.Memory.Used, Counters: c}
}

func (r *Rig) WantUnchanged(before EngineState, what string) {
	r.T.Helper()
	after := r.SnapshotState()
	if after.Regions != before.Regions || after.Memory != before.Memory || !mapsEqual(after.Counters, before.Counters) {
		r.T.Fatalf("%s changed the engine:\n before %+v\n after  %+v", what, before, after)
	}
}

func mapsEqual(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// BlockLoader makes the only loader of a Loaders: 1 engine busy: a blocker
// region's copy is paused at load/before-copy. Any other load stays pending
// until unblock. The blocker lives in ["a", "b").
func (r *Rig) BlockLoader() (blocker regioncache.Region, unblock func()) {
	r.T.Helper()
	blocker = Reg(900, 1, "a", "b")
	r.Write(Put("a-blocker", 1, "x"))
	r.FP(FPBeforeCopy, "pause")
	r.MustLoad(blocker, regioncache.LoadAccepted)
	r.WaitPaused(FPBeforeCopy, 1)
	r.WaitState(blocker.ID, regioncache.Loading)
	return blocker, func() {
		r.T.Helper()
		r.FP(FPBeforeCopy, "resume")
		r.WaitState(blocker.ID, regioncache.Active)
	}
}

// --- rule 1: loads are deduplicated ------------------------------------------------

// TestRule1_SeedIncident17487 replays tikv#17487: a second load of the same
// region (same id and version) arrives while the first one's loader is
// paused at load/before-copy. There must be one copy, and the region must
// end active with exactly the disk's data.
