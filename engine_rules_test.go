package regioncache_test

// Tests of issue #2's lifecycle rules against the real engine: Pebble in
// memory, real actors, failpoints to hold work at a known step, and waits on
// conditions (never sleeps, never timings). Every engine a test opens records
// its state transitions and logs; at the end the rig checks that each
// transition is in the allowed table, that every incarnation's history is a
// chain starting at absent, and that no actor panicked unless the test
// injected the panic.

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
	"github.com/regioncache/regioncache/internal/mvcc"
)

// ruleWait bounds every wait; it only turns a hang into a failure.
const ruleWait = 30 * time.Second

const (
	fpBeforeCopy   = "load/before-copy"
	fpAfterCopy    = "load/after-copy"
	fpBeforeDelete = "evict/before-delete"
)

// --- logs and transitions -------------------------------------------------------

// ruleLog keeps the engine's log lines (zerolog JSON).
type ruleLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *ruleLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	l.lines = append(l.lines, string(p))
	l.mu.Unlock()
	return len(p), nil
}

func (l *ruleLog) matching(substr string) []string {
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

type ruleEdge struct{ from, to regioncache.State }

// ruleAllowed is the transition table as the engine reports it (a
// replaced pending region is reported as pending -> absent for the old
// incarnation and absent -> pending for the new one).
var ruleAllowed = map[ruleEdge]bool{
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

type ruleVersion struct {
	value string
	tomb  bool
}

// ruleModel is every version the test wrote: the answer any read must give.
type ruleModel map[string]map[uint64]ruleVersion

func (m ruleModel) apply(muts []mvcc.Mutation) {
	for _, mu := range muts {
		vs := m[string(mu.Key)]
		if vs == nil {
			vs = map[uint64]ruleVersion{}
			m[string(mu.Key)] = vs
		}
		vs[mu.Ts] = ruleVersion{value: string(mu.Value), tomb: mu.Tombstone}
	}
}

func (m ruleModel) clone() ruleModel {
	out := ruleModel{}
	for k, vs := range m {
		out[k] = map[uint64]ruleVersion{}
		for ts, v := range vs {
			out[k][ts] = v
		}
	}
	return out
}

func (m ruleModel) get(key string, ts uint64) (string, bool) {
	best, found := uint64(0), false
	for vts := range m[key] {
		if vts <= ts && (!found || vts > best) {
			best, found = vts, true
		}
	}
	if !found || m[key][best].tomb {
		return "", false
	}
	return m[key][best].value, true
}

func (m ruleModel) keys() []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (m ruleModel) scan(start, end []byte, ts uint64, limit int) []regioncache.KV {
	var out []regioncache.KV
	for _, k := range m.keys() {
		if bytes.Compare([]byte(k), start) < 0 || (len(end) > 0 && bytes.Compare([]byte(k), end) >= 0) {
			continue
		}
		if v, ok := m.get(k, ts); ok {
			out = append(out, regioncache.KV{Key: []byte(k), Value: []byte(v)})
			if limit > 0 && len(out) == limit {
				break
			}
		}
	}
	return out
}

// versionsIn is how many versions (delete markers included) lie in r.
func (m ruleModel) versionsIn(r regioncache.Region) int64 {
	var n int64
	for k, vs := range m {
		if r.Contains([]byte(k)) {
			n += int64(len(vs))
		}
	}
	return n
}

// probeTs is every interesting read timestamp: each written ts, its
// neighbours, and the extremes.
func (m ruleModel) probeTs() []uint64 {
	set := map[uint64]bool{1: true, mvcc.MaxTS: true}
	for _, vs := range m {
		for ts := range vs {
			set[ts], set[ts+1] = true, true
			if ts > 1 {
				set[ts-1] = true
			}
		}
	}
	var out []uint64
	for ts := range set {
		out = append(out, ts)
	}
	slices.Sort(out)
	return out
}

// --- the rig: one engine, its history and its model --------------------------------

type ruleRig struct {
	t     *testing.T
	e     *regioncache.Engine
	ctx   context.Context
	log   *ruleLog
	model ruleModel

	mu          sync.Mutex
	transitions []regioncache.Transition
	hook        atomic.Pointer[func(regioncache.Transition)]
	// allowPanics is set by tests that inject a panic.
	allowPanics bool
}

func newRuleRig(t *testing.T, loaders int) *ruleRig {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ruleWait)
	r := &ruleRig{t: t, ctx: ctx, log: &ruleLog{}, model: ruleModel{}}
	logger := zerolog.New(r.log).Level(zerolog.DebugLevel)
	e, err := regioncache.Open(regioncache.Options{Loaders: loaders, Logger: &logger, OnTransition: r.record})
	if err != nil {
		t.Fatal(err)
	}
	r.e = e
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

func (r *ruleRig) record(tr regioncache.Transition) {
	r.mu.Lock()
	r.transitions = append(r.transitions, tr)
	r.mu.Unlock()
	if h := r.hook.Load(); h != nil {
		(*h)(tr)
	}
}

func (r *ruleRig) history() []regioncache.Transition {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.transitions)
}

// checkHistory verifies the transitions and the logs of the whole test.
func (r *ruleRig) checkHistory() {
	t := r.t
	type incKey struct{ id, gen uint64 }
	last := map[incKey]regioncache.State{}
	for i, tr := range r.history() {
		if !ruleAllowed[ruleEdge{tr.From, tr.To}] {
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
	if !r.allowPanics {
		if p := r.log.matching("actor panicked"); len(p) > 0 {
			t.Errorf("an actor panicked:\n%s", strings.Join(p, "\n"))
		}
	}
}

func (r *ruleRig) write(muts ...mvcc.Mutation) {
	r.t.Helper()
	b := new(regioncache.Batch)
	for _, m := range muts {
		if m.Tombstone {
			b.Delete(m.Key, m.Ts)
		} else {
			b.Put(m.Key, m.Ts, m.Value)
		}
	}
	if err := r.e.Write(b); err != nil {
		r.t.Fatalf("Write: %v", err)
	}
	r.model.apply(muts)
}

func rput(key string, ts uint64, value string) mvcc.Mutation {
	return mvcc.Mutation{Key: []byte(key), Ts: ts, Value: []byte(value)}
}

func rdel(key string, ts uint64) mvcc.Mutation {
	return mvcc.Mutation{Key: []byte(key), Ts: ts, Tombstone: true}
}

// fillRange writes n keys prefix+"%03d" with versions at ts 10 and 20, a
// delete marker at 30 on every fourth key and a put at 40 after it on every
// eighth, plus keys with 0x00 and 0xFF bytes and one key just outside.
func (r *ruleRig) fillRange(prefix string, n int) {
	r.t.Helper()
	var muts []mvcc.Mutation
	for i := 0; i < n; i++ {
		k := fmt.Sprintf("%s%03d", prefix, i)
		muts = append(muts, rput(k, 10, "a-"+k), rput(k, 20, "b-"+k))
		if i%4 == 0 {
			muts = append(muts, rdel(k, 30))
		}
		if i%8 == 0 {
			muts = append(muts, rput(k, 40, "c-"+k))
		}
	}
	muts = append(muts, rput(prefix, 5, "bare"), rput(prefix+"\x00", 12, "nul"), rput(prefix+"\x00\x00", 22, "nulnul"),
		rput(prefix+"\xff\xff", 35, "ff"), rdel(prefix+"\xff\xff", 36), rput(prefix+"\xff\xff", 37, "ff-again"))
	r.write(muts...)
}

func rreg(id, version uint64, start, end string) regioncache.Region {
	r := regioncache.Region{ID: id, Version: version, Start: []byte(start)}
	if end != "" {
		r.End = []byte(end)
	}
	return r
}

func (r *ruleRig) load(reg regioncache.Region) regioncache.LoadOutcome {
	r.t.Helper()
	out, err := r.e.Load(reg)
	if err != nil {
		r.t.Fatalf("Load(%s): %v", reg, err)
	}
	return out
}

func (r *ruleRig) mustLoad(reg regioncache.Region, want regioncache.LoadOutcome) {
	r.t.Helper()
	if out := r.load(reg); out != want {
		r.t.Fatalf("Load(%s) = %s, want %s", reg, out, want)
	}
}

// rejected asserts a typed load rejection and returns it.
func (r *ruleRig) rejected(reg regioncache.Region, reason string) *regioncache.LoadRejectedError {
	r.t.Helper()
	out, err := r.e.Load(reg)
	var lr *regioncache.LoadRejectedError
	if !errors.As(err, &lr) || !errors.Is(err, regioncache.ErrLoadRejected) {
		r.t.Fatalf("Load(%s) = %s, %v; want a *LoadRejectedError", reg, out, err)
	}
	if reason != "" && lr.Reason != reason {
		r.t.Fatalf("Load(%s) rejected for %q (%s), want %q", reg, lr.Reason, lr.Detail, reason)
	}
	return lr
}

func (r *ruleRig) evict(reg regioncache.Region) []regioncache.Region {
	r.t.Helper()
	out, err := r.e.Evict(reg, "manual")
	if err != nil {
		r.t.Fatalf("Evict(%s): %v", reg, err)
	}
	return out
}

func (r *ruleRig) fp(name, action string) {
	r.t.Helper()
	if err := r.e.Failpoint(name, action); err != nil {
		r.t.Fatalf("Failpoint(%s, %s): %v", name, action, err)
	}
}

func (r *ruleRig) waitPaused(name string, n int) {
	r.t.Helper()
	if err := r.e.WaitFailpointPaused(r.ctx, name, n); err != nil {
		r.t.Fatalf("waiting for %d paused at %s: %v", n, name, err)
	}
}

func (r *ruleRig) waitState(id uint64, s regioncache.State) {
	r.t.Helper()
	if err := r.e.WaitRegionState(r.ctx, id, s); err != nil {
		r.t.Fatalf("waiting for region %d to be %s (it is %s): %v", id, s, r.e.RegionState(id), err)
	}
}

func (r *ruleRig) waitIdle() {
	r.t.Helper()
	if err := r.e.WaitIdle(r.ctx); err != nil {
		r.t.Fatalf("WaitIdle: %v (stats %+v)", err, r.e.Stats())
	}
}

func (r *ruleRig) wantState(id uint64, s regioncache.State) {
	r.t.Helper()
	if got := r.e.RegionState(id); got != s {
		r.t.Fatalf("region %d is %s, want %s", id, got, s)
	}
}

func (r *ruleRig) counter(name string) int64 {
	r.t.Helper()
	v, ok := r.e.Counter(name)
	if !ok {
		r.t.Fatalf("no counter %q", name)
	}
	return v
}

// wantCounters asserts the named counters.
func (r *ruleRig) wantCounters(want map[string]int64) {
	r.t.Helper()
	for name, v := range want {
		if got := r.counter(name); got != v {
			r.t.Errorf("counter %s = %d, want %d (all: %v)", name, got, v, r.e.Stats().Counters)
		}
	}
}

func (r *ruleRig) wantMemory(want int64) {
	r.t.Helper()
	if got := r.e.MemoryBytes(); got != want {
		r.t.Fatalf("MemoryBytes = %d, want %d", got, want)
	}
}

func (r *ruleRig) mustCheck() {
	r.t.Helper()
	diffs, err := r.e.Check()
	if err != nil {
		r.t.Fatalf("Check: %v", err)
	}
	for _, d := range diffs {
		r.t.Errorf("Check difference: %s", d)
	}
}

// anySource accepts every read source.
const anySource = regioncache.Source(255)

// checkGets reads every key of the model inside reg (and the keys just outside
// it) at every probe ts and compares with the model; inside reg, reads above
// minMemTs must come from want.
func (r *ruleRig) checkGets(reg regioncache.Region, want regioncache.Source, minMemTs uint64) {
	r.t.Helper()
	keys := append(r.model.keys(), string(reg.Start)+"\x00\x01", "zz-never-written")
	for _, k := range keys {
		for _, ts := range r.model.probeTs() {
			g, err := r.e.Get([]byte(k), ts)
			if err != nil {
				r.t.Fatalf("Get(%q, %d): %v", k, ts, err)
			}
			wv, wok := r.model.get(k, ts)
			if g.Found != wok || string(g.Value) != wv {
				r.t.Fatalf("Get(%q, %d) = %q found=%v from %s, want %q found=%v", k, ts, g.Value, g.Found, g.Source, wv, wok)
			}
			if want != anySource && reg.Contains([]byte(k)) && ts > minMemTs && g.Source != want {
				r.t.Fatalf("Get(%q, %d) served from %s (%s), want %s", k, ts, g.Source, g.Reason, want)
			}
		}
	}
}

// checkScans scans reg (and a range wider than it) at every probe ts with
// several limits and compares with the model.
func (r *ruleRig) checkScans(reg regioncache.Region, want regioncache.Source, minMemTs uint64) {
	r.t.Helper()
	ranges := [][2][]byte{{reg.Start, reg.End}, {nil, nil}}
	for _, rg := range ranges {
		for _, ts := range r.model.probeTs() {
			for _, limit := range []int{0, 1, 3} {
				got, err := r.e.Scan(rg[0], rg[1], ts, limit)
				if err != nil {
					r.t.Fatalf("Scan: %v", err)
				}
				wantKVs := r.model.scan(rg[0], rg[1], ts, limit)
				if !sameKVs(got.Pairs, wantKVs) {
					r.t.Fatalf("Scan(%q, %q, %d, %d) = %s from %s, want %s", rg[0], rg[1], ts, limit,
						fmtKVs(got.Pairs), got.Source, fmtKVs(wantKVs))
				}
				if want != anySource && bytes.Equal(rg[0], reg.Start) && ts > minMemTs && got.Source != want {
					r.t.Fatalf("Scan of %s at %d served from %s (%s), want %s", reg, ts, got.Source, got.Reason, want)
				}
			}
		}
	}
}

func sameKVs(a, b []regioncache.KV) bool {
	return slices.EqualFunc(a, b, func(x, y regioncache.KV) bool {
		return bytes.Equal(x.Key, y.Key) && bytes.Equal(x.Value, y.Value)
	})
}

func fmtKVs(kvs []regioncache.KV) string {
	var parts []string
	for _, kv := range kvs {
		parts = append(parts, fmt.Sprintf("%q=%q", kv.Key, kv.Value))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// regionStatus returns the Stats entry of region id.
func (r *ruleRig) regionStatus(id uint64) (regioncache.RegionStat, bool) {
	for _, s := range r.e.Stats().Regions {
		if s.Region.ID == id {
			return s, true
		}
	}
	return regioncache.RegionStat{}, false
}

// stateOf is everything a rejected request must not change.
type ruleState struct {
	regions  string
	memory   int64
	counters map[string]int64
}

func (r *ruleRig) snapshotState() ruleState {
	st := r.e.Stats()
	var regs []string
	for _, s := range st.Regions {
		regs = append(regs, fmt.Sprintf("%s:%s:%d", s.Region, s.State, s.Snapshots))
	}
	c := st.Counters
	delete(c, "loads_requested")
	delete(c, "loads_rejected")
	delete(c, "reads_memory")
	delete(c, "reads_disk")
	return ruleState{regions: strings.Join(regs, ", "), memory: st.MemoryBytes, counters: c}
}

func (r *ruleRig) wantUnchanged(before ruleState, what string) {
	r.t.Helper()
	after := r.snapshotState()
	if after.regions != before.regions || after.memory != before.memory || !mapsEqual(after.counters, before.counters) {
		r.t.Fatalf("%s changed the engine:\n before %+v\n after  %+v", what, before, after)
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

// blockLoader makes the only loader of a Loaders: 1 engine busy: a blocker
// region's copy is paused at load/before-copy. Any other load stays pending
// until unblock. The blocker lives in ["a", "b").
func (r *ruleRig) blockLoader() (blocker regioncache.Region, unblock func()) {
	r.t.Helper()
	blocker = rreg(900, 1, "a", "b")
	r.write(rput("a-blocker", 1, "x"))
	r.fp(fpBeforeCopy, "pause")
	r.mustLoad(blocker, regioncache.LoadAccepted)
	r.waitPaused(fpBeforeCopy, 1)
	r.waitState(blocker.ID, regioncache.Loading)
	return blocker, func() {
		r.t.Helper()
		r.fp(fpBeforeCopy, "resume")
		r.waitState(blocker.ID, regioncache.Active)
	}
}

// --- rule 1: loads are deduplicated ------------------------------------------------

// TestRule1_SeedIncident17487 replays tikv#17487: a second load of the same
// region (same id and version) arrives while the first one's loader is
// paused at load/before-copy. There must be one copy, and the region must
// end active with exactly the disk's data.
func TestRule1_SeedIncident17487(t *testing.T) {
	r := newRuleRig(t, 0)
	reg := rreg(409114, 214, "k", "l")
	r.fillRange("k", 40)
	r.fillRange("j", 5) // outside the region
	r.fillRange("l", 5) // outside the region
	want := r.model.versionsIn(reg)

	r.fp(fpBeforeCopy, "pause")
	r.mustLoad(reg, regioncache.LoadAccepted)
	r.waitPaused(fpBeforeCopy, 1)
	r.waitState(reg.ID, regioncache.Loading)
	r.mustLoad(reg, regioncache.LoadDeduplicated) // 10 ms later in the incident
	r.wantState(reg.ID, regioncache.Loading)
	r.wantCounters(map[string]int64{"loads_requested": 2, "loads_started": 1, "loads_deduplicated": 1})
	if got := r.counter("loads_started"); got != 1 {
		t.Fatalf("a second copy started: loads_started = %d", got)
	}

	r.fp(fpBeforeCopy, "resume")
	r.waitState(reg.ID, regioncache.Active)
	r.waitIdle()
	r.wantCounters(map[string]int64{
		"loads_requested": 2, "loads_started": 1, "loads_deduplicated": 1, "loads_completed": 1,
		"loads_failed": 0, "loads_canceled": 0, "keys_loaded": want,
	})
	// Every key read from memory equals the disk's answer: the model, the
	// cross-check, and the same reads again from disk after eviction.
	r.checkGets(reg, regioncache.FromMemory, 0)
	r.checkScans(reg, regioncache.FromMemory, 0)
	r.mustCheck()
	r.evict(reg)
	r.waitState(reg.ID, regioncache.Absent)
	r.checkGets(reg, regioncache.FromDisk, 0)
	r.checkScans(reg, regioncache.FromDisk, 0)
	r.wantMemory(0)
}

// TestRule1_DeduplicatedInEveryPhase repeats a load while the region is
// pending, loading (paused before and after the copy) and active.
func TestRule1_DeduplicatedInEveryPhase(t *testing.T) {
	for _, phase := range []string{"pending", "loading/before-copy", "loading/after-copy", "active"} {
		t.Run(phase, func(t *testing.T) {
			r := newRuleRig(t, 1)
			reg := rreg(7, 3, "k", "l")
			r.fillRange("k", 30)
			startsBefore := int64(0)
			var finish func()
			switch phase {
			case "pending":
				_, unblock := r.blockLoader()
				startsBefore = 1
				r.mustLoad(reg, regioncache.LoadAccepted)
				r.wantState(reg.ID, regioncache.Pending)
				finish = unblock
			case "loading/before-copy", "loading/after-copy":
				fp := strings.TrimPrefix(phase, "loading/")
				fp = "load/" + fp
				r.fp(fp, "pause")
				r.mustLoad(reg, regioncache.LoadAccepted)
				r.waitPaused(fp, 1)
				r.waitState(reg.ID, regioncache.Loading)
				finish = func() { r.fp(fp, "resume") }
			case "active":
				r.mustLoad(reg, regioncache.LoadAccepted)
				r.waitState(reg.ID, regioncache.Active)
				finish = func() {}
			}
			stateBefore := r.e.RegionState(reg.ID)
			for i := 0; i < 3; i++ {
				r.mustLoad(reg, regioncache.LoadDeduplicated)
				r.wantState(reg.ID, stateBefore)
			}
			r.wantCounters(map[string]int64{"loads_deduplicated": 3, "loads_rejected": 0})
			finish()
			r.waitState(reg.ID, regioncache.Active)
			r.waitIdle()
			r.wantCounters(map[string]int64{"loads_started": startsBefore + 1, "loads_completed": startsBefore + 1})
			r.checkGets(reg, regioncache.FromMemory, 0)
			r.mustCheck()
		})
	}
}

// TestRule1_ConcurrentLoadsStartOneCopy fires many identical loads at once,
// in several rounds (with an eviction in between), so the duplicates reach
// the engine at every possible moment of the first one's life.
func TestRule1_ConcurrentLoadsStartOneCopy(t *testing.T) {
	r := newRuleRig(t, 0)
	reg := rreg(5, 1, "k", "l")
	r.fillRange("k", 50)
	const rounds, callers, perCaller = 8, 8, 4
	for round := 1; round <= rounds; round++ {
		var accepted, deduped atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make(chan error, callers*perCaller)
		for c := 0; c < callers; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for i := 0; i < perCaller; i++ {
					out, err := r.e.Load(reg)
					switch {
					case err != nil:
						errs <- err
					case out == regioncache.LoadAccepted:
						accepted.Add(1)
					default:
						deduped.Add(1)
					}
				}
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d: Load: %v", round, err)
		}
		if accepted.Load() != 1 || deduped.Load() != callers*perCaller-1 {
			t.Fatalf("round %d: %d accepted, %d deduplicated; want 1 and %d", round, accepted.Load(), deduped.Load(), callers*perCaller-1)
		}
		r.waitState(reg.ID, regioncache.Active)
		r.wantCounters(map[string]int64{
			"loads_started": int64(round), "loads_completed": int64(round),
			"keys_loaded":        int64(round) * r.model.versionsIn(reg),
			"loads_deduplicated": int64(round) * (callers*perCaller - 1),
		})
		r.checkGets(reg, regioncache.FromMemory, 0)
		r.evict(reg)
		r.waitState(reg.ID, regioncache.Absent)
	}
	r.wantMemory(0)
}

// --- rule 2: refused loads change nothing ----------------------------------------

func TestRule2_OverlapsAreRejected(t *testing.T) {
	t.Run("active", func(t *testing.T) {
		r := newRuleRig(t, 0)
		held := rreg(1, 1, "c", "f")
		r.fillRange("d", 10)
		r.mustLoad(held, regioncache.LoadAccepted)
		r.waitState(held.ID, regioncache.Active)
		before := r.snapshotState()
		// Distinct ids: a refused load still tells the engine the id's
		// version, which would make a later lower version stale.
		for _, reg := range []regioncache.Region{
			rreg(10, 1, "e", "h"), rreg(11, 1, "a", "d"), rreg(12, 1, "a", ""), rreg(13, 9, "d", "e"), rreg(14, 1, "c", "f"),
			rreg(15, 1, "e", "f\x00"),
		} {
			lr := r.rejected(reg, "overlap")
			if lr.Conflict == nil || lr.Conflict.ID != held.ID {
				t.Fatalf("Load(%s): conflict %v, want region %d", reg, lr.Conflict, held.ID)
			}
			r.wantUnchanged(before, fmt.Sprintf("rejected Load(%s)", reg))
		}
		r.wantCounters(map[string]int64{"loads_rejected": 6})
		// Adjacent ranges do not overlap: ends are exclusive.
		r.mustLoad(rreg(20, 1, "a", "c"), regioncache.LoadAccepted)
		r.mustLoad(rreg(21, 1, "f", "g"), regioncache.LoadAccepted)
		r.waitIdle()
		r.checkGets(held, regioncache.FromMemory, 0)
	})
	t.Run("loading", func(t *testing.T) {
		r := newRuleRig(t, 0)
		held := rreg(1, 1, "c", "f")
		r.fillRange("d", 10)
		r.fp(fpBeforeCopy, "pause")
		r.mustLoad(held, regioncache.LoadAccepted)
		r.waitPaused(fpBeforeCopy, 1)
		r.waitState(held.ID, regioncache.Loading)
		before := r.snapshotState()
		r.rejected(rreg(2, 5, "e", "z"), "overlap")
		r.wantUnchanged(before, "rejected load over a loading region")
		r.fp(fpBeforeCopy, "resume")
		r.waitState(held.ID, regioncache.Active)
		r.wantCounters(map[string]int64{"loads_started": 1, "loads_rejected": 1})
	})
	t.Run("pending same or newer version", func(t *testing.T) {
		r := newRuleRig(t, 1)
		_, unblock := r.blockLoader()
		held := rreg(1, 3, "c", "f")
		r.mustLoad(held, regioncache.LoadAccepted)
		r.wantState(held.ID, regioncache.Pending)
		before := r.snapshotState()
		r.rejected(rreg(2, 3, "e", "g"), "overlap") // same version: not older
		r.rejected(rreg(3, 2, "b", "d"), "overlap") // older
		r.wantUnchanged(before, "rejected loads over a pending region")
		unblock()
		r.waitState(held.ID, regioncache.Active)
	})
}

// TestRule2_OlderPendingOverlapIsReplaced: an overlapping pending region with
// an older version gives way to the new load.
func TestRule2_OlderPendingOverlapIsReplaced(t *testing.T) {
	r := newRuleRig(t, 1)
	r.fillRange("d", 10)
	_, unblock := r.blockLoader()
	old := rreg(1, 1, "c", "f")
	r.mustLoad(old, regioncache.LoadAccepted)
	r.wantState(old.ID, regioncache.Pending)
	newer := rreg(2, 2, "e", "h")
	r.mustLoad(newer, regioncache.LoadAccepted)
	r.wantState(newer.ID, regioncache.Pending)
	// (That the old one is gone as soon as Load returns is checked, and
	// currently skipped, in TestRule2_ReplacementVisibleWhenLoadReturns.)
	r.waitState(old.ID, regioncache.Absent)
	unblock()
	r.waitState(newer.ID, regioncache.Active)
	r.waitIdle()
	r.wantState(old.ID, regioncache.Absent)
	r.wantCounters(map[string]int64{"loads_started": 2, "loads_completed": 2, "loads_rejected": 0})
	r.checkGets(newer, regioncache.FromMemory, 0)
	r.mustCheck()
}

// TestRule2_ReplacementVisibleWhenLoadReturns: the supersede of an older
// overlapping pending region is part of the load's effect, so it must be on
// the board when Load returns (the Board's contract); otherwise a repeat of
// the old load is answered "deduplicated" from the stale board although the
// old region will never load.
func TestRule2_ReplacementVisibleWhenLoadReturns(t *testing.T) {
	for round := 0; round < 20; round++ {
		func() {
			r := newRuleRig(t, 1)
			_, unblock := r.blockLoader()
			defer unblock()
			old := rreg(1, 1, "c", "f")
			r.mustLoad(old, regioncache.LoadAccepted)
			r.mustLoad(rreg(2, 2, "e", "h"), regioncache.LoadAccepted)
			if got := r.e.RegionState(old.ID); got != regioncache.Absent {
				t.Errorf("round %d: superseded region is %s when the replacing Load returns", round, got)
			}
			out, err := r.e.Load(old)
			if !errors.Is(err, regioncache.ErrLoadRejected) {
				t.Errorf("round %d: repeat of the superseded load = %s, %v; want an overlap rejection", round, out, err)
			}
		}()
	}
}

// TestRule2_NewerVersionOfPendingRegionReplacesIt: the same id, pending at an
// older version, is replaced; only the newest version is ever copied.
func TestRule2_NewerVersionOfPendingRegionReplacesIt(t *testing.T) {
	r := newRuleRig(t, 1)
	r.fillRange("d", 10)
	_, unblock := r.blockLoader()
	r.mustLoad(rreg(1, 1, "c", "f"), regioncache.LoadAccepted)
	r.mustLoad(rreg(1, 2, "c", "e"), regioncache.LoadAccepted)
	final := rreg(1, 3, "d", "e")
	r.mustLoad(final, regioncache.LoadAccepted)
	r.mustLoad(final, regioncache.LoadDeduplicated)
	r.rejected(rreg(1, 2, "c", "e"), "stale_version")
	if s, ok := r.regionStatus(1); !ok || s.Region.Version != 3 || s.State != regioncache.Pending {
		t.Fatalf("region 1 is %+v, want pending at version 3", s)
	}
	unblock()
	r.waitState(1, regioncache.Active)
	r.waitIdle()
	if s, _ := r.regionStatus(1); s.Region.Version != 3 || !bytes.Equal(s.Region.Start, []byte("d")) {
		t.Fatalf("region 1 active as %s, want version 3 [d, e)", s.Region)
	}
	r.wantCounters(map[string]int64{"loads_started": 2, "loads_completed": 2, "keys_loaded": 1 + r.model.versionsIn(final)})
	r.checkGets(final, regioncache.FromMemory, 0)
	r.mustCheck()
}

// TestRule2_EvictedIncarnationRefusesLoads covers the three evicted states.
// A load of the same id (any version, any range) or overlapping the range is
// refused with a typed error and changes nothing; once the region is absent
// the load works.
func TestRule2_EvictedIncarnationRefusesLoads(t *testing.T) {
	for _, state := range []regioncache.State{regioncache.LoadingCanceled, regioncache.PendingEvict, regioncache.Evicting} {
		t.Run(state.String(), func(t *testing.T) {
			r := newRuleRig(t, 0)
			reg := rreg(1, 5, "k", "l")
			r.fillRange("k", 20)
			var snap *regioncache.Snapshot
			var finish func()
			switch state {
			case regioncache.LoadingCanceled:
				r.fp(fpBeforeCopy, "pause")
				r.mustLoad(reg, regioncache.LoadAccepted)
				r.waitPaused(fpBeforeCopy, 1)
				r.evict(reg)
				finish = func() { r.fp(fpBeforeCopy, "resume") }
			case regioncache.PendingEvict:
				r.mustLoad(reg, regioncache.LoadAccepted)
				r.waitState(reg.ID, regioncache.Active)
				var err error
				if snap, err = r.e.Snapshot(reg, 50); err != nil {
					t.Fatal(err)
				}
				r.evict(reg)
				finish = snap.Release
			case regioncache.Evicting:
				r.mustLoad(reg, regioncache.LoadAccepted)
				r.waitState(reg.ID, regioncache.Active)
				r.fp(fpBeforeDelete, "pause")
				r.evict(reg)
				r.waitPaused(fpBeforeDelete, 1)
				finish = func() { r.fp(fpBeforeDelete, "resume") }
			}
			r.wantState(reg.ID, state)
			before := r.snapshotState()
			r.rejected(reg, "evicting")
			r.wantUnchanged(before, "load of the same incarnation")
			// Another version of the id, elsewhere: still refused.
			r.rejected(rreg(1, 6, "x", "y"), "")
			r.wantUnchanged(before, "load of the id at a newer version")
			// Another id over the range: an overlap.
			r.rejected(rreg(2, 9, "k5", "m"), "overlap")
			r.wantUnchanged(before, "overlapping load of another id")
			r.wantCounters(map[string]int64{"loads_rejected": 3})

			finish()
			r.waitState(reg.ID, regioncache.Absent)
			r.wantMemory(0)
			r.mustLoad(rreg(1, 6, "k", "l"), regioncache.LoadAccepted)
			r.waitState(reg.ID, regioncache.Active)
			r.checkGets(reg, regioncache.FromMemory, 0)
		})
	}
}

// TestRule2_OtherVersionsOfActiveRegion: an older version is stale; a newer
// one is refused with a typed error. (See the report: the engine now also
// evicts the held region on a newer version, which rule 2's "changes
// nothing" does not allow; the test records what happens.)
func TestRule2_OtherVersionsOfActiveRegion(t *testing.T) {
	r := newRuleRig(t, 0)
	reg := rreg(1, 5, "k", "l")
	r.fillRange("k", 10)
	r.mustLoad(reg, regioncache.LoadAccepted)
	r.waitState(reg.ID, regioncache.Active)
	before := r.snapshotState()
	r.rejected(rreg(1, 4, "k", "l"), "stale_version")
	r.wantUnchanged(before, "load of an older version")

	r.rejected(rreg(1, 6, "k", "m"), "version_mismatch")
	r.waitIdle()
	if after := r.snapshotState(); after.regions != before.regions {
		t.Logf("rule 2 deviation: a refused load of a newer version changed the engine: %s -> %s", before.regions, after.regions)
	}
	r.wantCounters(map[string]int64{"loads_rejected": 2, "loads_started": 1})
}

// --- rule 3: evicting a loading region ---------------------------------------------

func TestRule3_EvictWhileLoading(t *testing.T) {
	for _, fp := range []string{fpBeforeCopy, fpAfterCopy} {
		t.Run(fp, func(t *testing.T) {
			r := newRuleRig(t, 0)
			reg := rreg(1, 1, "k", "l")
			r.fillRange("k", 40)
			r.fp(fp, "pause")
			r.mustLoad(reg, regioncache.LoadAccepted)
			r.waitPaused(fp, 1)
			r.write(rput("k001", 50, "captured"), rdel("k002", 50)) // captured by the load
			mem := r.e.MemoryBytes()
			if fp == fpAfterCopy && mem == 0 {
				t.Fatal("a finished copy is not counted in MemoryBytes")
			}

			evicted := r.evict(reg)
			if len(evicted) != 1 || evicted[0].ID != reg.ID {
				t.Fatalf("Evict reached %v", evicted)
			}
			r.wantState(reg.ID, regioncache.LoadingCanceled)
			// Only the load job moves it on: more evictions and a GC do not.
			r.evict(reg)
			if err := r.e.GC(5); err != nil {
				t.Fatal(err)
			}
			r.wantState(reg.ID, regioncache.LoadingCanceled)
			r.wantMemory(mem) // counted until released
			// Partial data is never readable; writes go to Pebble only.
			r.write(rput("k003", 60, "after-evict"))
			r.wantMemory(mem)
			r.checkGets(reg, regioncache.FromDisk, 0)
			r.checkScans(reg, regioncache.FromDisk, 0)
			if s, err := r.e.Snapshot(reg, 70); err != nil || s.Info().Source != regioncache.FromDisk {
				t.Fatalf("snapshot of a loading_canceled region: %+v, %v", s, err)
			} else {
				s.Release()
			}

			r.fp(fp, "resume")
			r.waitState(reg.ID, regioncache.Absent)
			r.waitIdle()
			r.wantCounters(map[string]int64{"loads_started": 1, "loads_canceled": 1, "loads_completed": 0, "loads_failed": 0,
				"keys_loaded": 0})
			r.wantMemory(0)
			r.checkGets(reg, regioncache.FromDisk, 0)

			// The id is free again.
			r.mustLoad(reg, regioncache.LoadAccepted)
			r.waitState(reg.ID, regioncache.Active)
			r.checkGets(reg, regioncache.FromMemory, 5)
			r.mustCheck()
		})
	}
}

// TestRule3_EvictPendingRegion: a pending region holds no loader and no
// data; evicting it makes it absent at once and it is never copied.
func TestRule3_EvictPendingRegion(t *testing.T) {
	r := newRuleRig(t, 1)
	r.fillRange("k", 10)
	_, unblock := r.blockLoader()
	reg := rreg(1, 1, "k", "l")
	r.mustLoad(reg, regioncache.LoadAccepted)
	r.evict(reg)
	r.wantState(reg.ID, regioncache.Absent)
	unblock()
	r.waitIdle()
	r.wantState(reg.ID, regioncache.Absent)
	r.wantCounters(map[string]int64{"loads_started": 1, "loads_completed": 1, "evictions": 1})
	r.checkGets(reg, regioncache.FromDisk, 0)
}

// TestRule3_EvictRacingLoadCompletion evicts right after each load without
// waiting, so the eviction meets the region pending, loading or active,
// while a reader checks every answer. The load job always has the last word.
func TestRule3_EvictRacingLoadCompletion(t *testing.T) {
	r := newRuleRig(t, 2)
	regs := []regioncache.Region{rreg(1, 1, "k", "l"), rreg(2, 1, "m", "n")}
	r.fillRange("k", 60)
	r.fillRange("m", 60)
	frozen := r.model.clone()
	stop := make(chan struct{})
	readerErr := make(chan error, 1)
	go func() {
		defer close(readerErr)
		keys := frozen.keys()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			k := keys[i%len(keys)]
			ts := []uint64{15, 25, 35, mvcc.MaxTS}[i%4]
			g, err := r.e.Get([]byte(k), ts)
			if err != nil {
				readerErr <- err
				return
			}
			if wv, wok := frozen.get(k, ts); g.Found != wok || string(g.Value) != wv {
				readerErr <- fmt.Errorf("Get(%q, %d) = %q %v from %s, want %q %v", k, ts, g.Value, g.Found, g.Source, wv, wok)
				return
			}
		}
	}()
	for round := 0; round < 40; round++ {
		for _, reg := range regs {
			r.mustLoad(reg, regioncache.LoadAccepted)
		}
		for _, reg := range regs {
			r.evict(reg)
		}
		for _, reg := range regs {
			r.waitState(reg.ID, regioncache.Absent)
		}
	}
	close(stop)
	if err := <-readerErr; err != nil {
		t.Fatal(err)
	}
	r.waitIdle()
	r.wantMemory(0)
	started, completed := r.counter("loads_started"), r.counter("loads_completed")
	canceled, failed := r.counter("loads_canceled"), r.counter("loads_failed")
	if failed != 0 || started != completed+canceled {
		t.Fatalf("loads started %d = completed %d + canceled %d + failed %d does not add up", started, completed, canceled, failed)
	}
	if ev := r.counter("evictions"); ev != 80 {
		t.Fatalf("evictions = %d, want 80", ev)
	}
	t.Logf("of 80 loads: %d started (%d completed, %d canceled)", started, completed, canceled)
}

// --- rule 4: evicting an active region ----------------------------------------------

func TestRule4_EvictActiveWithoutSnapshots(t *testing.T) {
	r := newRuleRig(t, 0)
	reg := rreg(1, 1, "k", "l")
	r.fillRange("k", 30)
	r.mustLoad(reg, regioncache.LoadAccepted)
	r.waitState(reg.ID, regioncache.Active)
	if r.e.MemoryBytes() == 0 {
		t.Fatal("an active region is not counted in MemoryBytes")
	}
	if got := r.evict(reg); len(got) != 1 {
		t.Fatalf("Evict reached %v", got)
	}
	r.waitState(reg.ID, regioncache.Absent)
	r.wantMemory(0)
	r.wantCounters(map[string]int64{"evictions": 1})
	r.checkGets(reg, regioncache.FromDisk, 0)
	h := r.history()
	var path []string
	for _, tr := range h {
		path = append(path, tr.To.String())
	}
	if got := strings.Join(path, ","); got != "pending,loading,active,evicting,absent" {
		t.Fatalf("transitions %s", got)
	}
}

// TestRule4_SnapshotHoldsEvictedData: a snapshot taken while active keeps
// answering after eviction, including for values overwritten after it was
// taken; the region stays pending_evict and its memory counted until the
// snapshot is released.
func TestRule4_SnapshotHoldsEvictedData(t *testing.T) {
	r := newRuleRig(t, 0)
	reg := rreg(1, 1, "k", "l")
	r.fillRange("k", 20)
	r.write(rput("k-over", 10, "original"), rput("k-gone", 10, "here"))
	r.mustLoad(reg, regioncache.LoadAccepted)
	r.waitState(reg.ID, regioncache.Active)

	const snapTs = 45
	snap, err := r.e.Snapshot(reg, snapTs)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Info().Source != regioncache.FromMemory {
		t.Fatalf("snapshot of an active region served from %s", snap.Info().Source)
	}
	view := r.model.clone()
	// Overwrite after the snapshot, while still active: an exact
	// overwrite of a version, a newer version below the snapshot's ts and
	// a delete marker.
	r.write(rput("k-over", 10, "overwritten"), rput("k-over", 20, "newer"), rdel("k-gone", 15), rput("k-new", 5, "new"))
	mem := r.e.MemoryBytes()

	r.evict(reg)
	r.wantState(reg.ID, regioncache.PendingEvict)
	r.waitIdle() // pending_evict held by a snapshot is settled
	r.wantState(reg.ID, regioncache.PendingEvict)
	if s, _ := r.regionStatus(reg.ID); s.Snapshots != 1 {
		t.Fatalf("region holds %d snapshots, want 1", s.Snapshots)
	}
	r.wantMemory(mem)
	r.write(rput("k-over", 30, "after-evict")) // Pebble only
	r.wantMemory(mem)

	checkSnapshot := func() {
		t.Helper()
		for _, k := range view.keys() {
			if !reg.Contains([]byte(k)) {
				continue
			}
			for _, ts := range []uint64{0, 11, 25, snapTs, 100} {
				g, err := snap.Get([]byte(k), ts)
				if err != nil {
					t.Fatalf("snapshot Get(%q, %d): %v", k, ts, err)
				}
				readTs := ts
				if ts == 0 {
					readTs = snapTs
				}
				wv, wok := view.get(k, readTs)
				if g.Found != wok || string(g.Value) != wv || g.Source != regioncache.FromMemory {
					t.Fatalf("snapshot Get(%q, %d) = %q %v from %s, want %q %v from memory", k, ts, g.Value, g.Found, g.Source, wv, wok)
				}
			}
		}
		for _, limit := range []int{0, 2} {
			sc, err := snap.Scan(nil, nil, 0, limit)
			if err != nil {
				t.Fatal(err)
			}
			if want := view.scan(reg.Start, reg.End, snapTs, limit); !sameKVs(sc.Pairs, want) {
				t.Fatalf("snapshot Scan = %s, want %s", fmtKVs(sc.Pairs), fmtKVs(want))
			}
		}
		if _, err := snap.Get([]byte("z"), 0); !errors.Is(err, regioncache.ErrOutOfRange) {
			t.Fatalf("snapshot Get outside its region: %v", err)
		}
	}
	checkSnapshot()
	// The live engine sees the overwrites, from disk.
	if g, _ := r.e.Get([]byte("k-over"), snapTs); string(g.Value) != "after-evict" || g.Source != regioncache.FromDisk {
		t.Fatalf("live Get(k-over) = %q from %s", g.Value, g.Source)
	}
	r.rejected(reg, "evicting")

	snap.Release()
	r.waitState(reg.ID, regioncache.Absent)
	r.wantMemory(0)
	if _, err := snap.Get([]byte("k-over"), 0); !errors.Is(err, regioncache.ErrReleased) {
		t.Fatalf("Get through a released snapshot: %v", err)
	}
	snap.Release() // idempotent
	r.mustLoad(reg, regioncache.LoadAccepted)
	r.waitState(reg.ID, regioncache.Active)
	r.checkGets(reg, regioncache.FromMemory, 0)
	r.mustCheck()
}

// TestRule4_LastSnapshotReleaseEndsEviction: with two snapshots, the first
// release leaves the region pending_evict.
func TestRule4_LastSnapshotReleaseEndsEviction(t *testing.T) {
	r := newRuleRig(t, 0)
	reg := rreg(1, 1, "k", "l")
	r.fillRange("k", 10)
	r.mustLoad(reg, regioncache.LoadAccepted)
	r.waitState(reg.ID, regioncache.Active)
	s1, err := r.e.Snapshot(reg, 25)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := r.e.Snapshot(reg, 35)
	if err != nil {
		t.Fatal(err)
	}
	mem := r.e.MemoryBytes()
	r.evict(reg)
	r.wantState(reg.ID, regioncache.PendingEvict)
	s1.Release()
	s1.Release()
	// Release is asynchronous, but its message is in the region actor's
	// mailbox when it returns; a second eviction (ignored by a
	// pending_evict region) is answered only after the actor has taken
	// it, so it orders the check after the release.
	r.evict(reg)
	r.wantState(reg.ID, regioncache.PendingEvict)
	if st, _ := r.regionStatus(reg.ID); st.Snapshots != 1 {
		t.Fatalf("region holds %d snapshots after one release, want 1", st.Snapshots)
	}
	r.wantMemory(mem)
	if g, err := s2.Get([]byte("k001"), 0); err != nil || string(g.Value) != "b-k001" {
		t.Fatalf("remaining snapshot: %+v %v", g, err)
	}
	s2.Release()
	r.waitState(reg.ID, regioncache.Absent)
	r.wantMemory(0)
}

// TestRule4_BeforeDelete: evict/before-delete paused keeps the region
// evicting (memory counted) until resume; error and panic there still end
// absent with the memory released.
func TestRule4_BeforeDelete(t *testing.T) {
	for _, action := range []string{"pause", "error", "panic"} {
		for _, held := range []bool{false, true} {
			name := action
			if held {
				name += "/after-snapshot-release"
			}
			t.Run(name, func(t *testing.T) {
				r := newRuleRig(t, 0)
				r.allowPanics = action == "panic"
				reg := rreg(1, 1, "k", "l")
				r.fillRange("k", 20)
				r.mustLoad(reg, regioncache.LoadAccepted)
				r.waitState(reg.ID, regioncache.Active)
				var snap *regioncache.Snapshot
				if held {
					var err error
					if snap, err = r.e.Snapshot(reg, 50); err != nil {
						t.Fatal(err)
					}
				}
				mem := r.e.MemoryBytes()
				r.fp(fpBeforeDelete, action)
				r.evict(reg)
				if held {
					r.wantState(reg.ID, regioncache.PendingEvict)
					snap.Release()
				}
				if action == "pause" {
					r.waitPaused(fpBeforeDelete, 1)
					r.waitState(reg.ID, regioncache.Evicting)
					r.wantMemory(mem)
					r.checkGets(reg, regioncache.FromDisk, 0)
					r.write(rput("k005", 60, "while-evicting")) // Pebble only
					r.wantMemory(mem)
					r.rejected(reg, "evicting")
					r.wantState(reg.ID, regioncache.Evicting)
					r.fp(fpBeforeDelete, "resume")
				}
				r.waitState(reg.ID, regioncache.Absent)
				r.waitIdle()
				r.wantMemory(0)
				r.fp(fpBeforeDelete, "off")
				if action == "panic" && len(r.log.matching("actor panicked")) == 0 {
					t.Error("the injected panic was not logged")
				}
				// The engine goes on: the region loads and evicts again.
				r.mustLoad(reg, regioncache.LoadAccepted)
				r.waitState(reg.ID, regioncache.Active)
				r.checkGets(reg, regioncache.FromMemory, 0)
				r.evict(reg)
				r.waitState(reg.ID, regioncache.Absent)
				r.wantMemory(0)
			})
		}
	}
}

// --- rule 5: stale and unfit messages ------------------------------------------------

// TestRule5_ReplacedIncarnationsNeverStart: a pending incarnation replaced
// twice while its loader request is queued; only the last one is copied and
// the earlier ones' requests and grants are dropped.
func TestRule5_ReplacedIncarnationsNeverStart(t *testing.T) {
	r := newRuleRig(t, 1)
	r.fillRange("k", 20)
	_, unblock := r.blockLoader()
	for v := uint64(1); v <= 3; v++ {
		r.mustLoad(rreg(1, v, "k", "l"), regioncache.LoadAccepted)
	}
	// An overlapping newer region of another id replaces it too.
	last := rreg(2, 4, "k", "k5")
	r.mustLoad(last, regioncache.LoadAccepted)
	r.waitState(1, regioncache.Absent)
	unblock()
	r.waitState(last.ID, regioncache.Active)
	r.waitIdle()
	r.wantState(1, regioncache.Absent)
	r.wantCounters(map[string]int64{"loads_started": 2, "loads_completed": 2, "keys_loaded": 1 + r.model.versionsIn(last)})
	// Each incarnation of id 1 was one pending life that never loaded.
	gens := map[uint64][]string{}
	for _, tr := range r.history() {
		if tr.Region.ID == 1 {
			gens[tr.Gen] = append(gens[tr.Gen], tr.From.String()+">"+tr.To.String())
		}
	}
	if len(gens) != 3 {
		t.Fatalf("region 1 had %d incarnations, want 3: %v", len(gens), gens)
	}
	for g, path := range gens {
		if strings.Join(path, ",") != "absent>pending,pending>absent" {
			t.Fatalf("region 1 gen %d went %v", g, path)
		}
	}
	r.checkGets(last, regioncache.FromMemory, 0)
	r.mustCheck()
}

// TestRule5_UnfitRequestsAreHarmless sends requests that do not fit the
// region's state; each is refused, ignored or served from disk, nothing
// panics and the engine keeps working.
func TestRule5_UnfitRequestsAreHarmless(t *testing.T) {
	r := newRuleRig(t, 0)
	reg := rreg(1, 5, "k", "l")
	r.fillRange("k", 20)

	// Absent region: eviction reaches nothing, snapshots come from disk.
	if got := r.evict(reg); len(got) != 0 {
		t.Fatalf("Evict of an absent region reached %v", got)
	}
	s, err := r.e.Snapshot(reg, 25)
	if err != nil || s.Info().Source != regioncache.FromDisk || s.Info().Reason != regioncache.NotCached {
		t.Fatalf("snapshot of an absent region: %+v %v", s.Info(), err)
	}
	s.Release()
	s.Release()
	if err := r.e.GC(3); err != nil { // nothing active
		t.Fatal(err)
	}

	// Loading region: snapshots from disk, GC ignored.
	r.fp(fpBeforeCopy, "pause")
	r.mustLoad(reg, regioncache.LoadAccepted)
	r.waitPaused(fpBeforeCopy, 1)
	s, err = r.e.Snapshot(reg, 25)
	if err != nil || s.Info().Source != regioncache.FromDisk {
		t.Fatalf("snapshot of a loading region: %+v %v", s.Info(), err)
	}
	s.Release()
	if err := r.e.GC(4); err != nil {
		t.Fatal(err)
	}
	r.waitState(reg.ID, regioncache.Loading)
	r.fp(fpBeforeCopy, "resume")
	r.waitState(reg.ID, regioncache.Active)

	// Active region: snapshots at the wrong version or below the safe
	// point come from disk, with the reason.
	for _, tc := range []struct {
		r      regioncache.Region
		ts     uint64
		reason regioncache.DiskReason
	}{
		{rreg(1, 4, "k", "l"), 25, regioncache.VersionMismatch},
		{rreg(1, 6, "k", "l"), 25, regioncache.VersionMismatch},
		{reg, 4, regioncache.TooOldRead},
		{rreg(2, 1, "k", "l"), 25, regioncache.NotCached},
	} {
		s, err := r.e.Snapshot(tc.r, tc.ts)
		if err != nil || s.Info().Source != regioncache.FromDisk || s.Info().Reason != tc.reason {
			t.Fatalf("Snapshot(%s, %d) = %+v, %v; want disk (%s)", tc.r, tc.ts, s.Info(), err, tc.reason)
		}
		g, err := s.Get([]byte("k001"), 0)
		if wv, wok := r.model.get("k001", tc.ts); err != nil || g.Found != wok || string(g.Value) != wv {
			t.Fatalf("disk snapshot Get = %+v %v, want %q", g, err, wv)
		}
		s.Release()
	}
	// Repeated evictions: the second one meets an evicting region, which
	// logs and ignores it.
	r.fp(fpBeforeDelete, "pause")
	r.evict(reg)
	r.waitPaused(fpBeforeDelete, 1)
	r.evict(reg)
	r.wantState(reg.ID, regioncache.Evicting)
	if len(r.log.matching("event ignored")) == 0 {
		t.Error("the ignored eviction was not logged")
	}
	r.fp(fpBeforeDelete, "resume")
	r.waitState(reg.ID, regioncache.Absent)
	r.wantCounters(map[string]int64{"loads_failed": 0, "loads_rejected": 0})
	r.wantMemory(0)
	// Still working.
	r.mustLoad(reg, regioncache.LoadAccepted)
	r.waitState(reg.ID, regioncache.Active)
	r.checkGets(reg, regioncache.FromMemory, 4)
	r.mustCheck()
}

// --- rule 6: no write is lost by a load -----------------------------------------------

func TestRule6_WritesDuringLoad(t *testing.T) {
	for _, phase := range []string{fpBeforeCopy, fpAfterCopy, "pending"} {
		t.Run(phase, func(t *testing.T) {
			loaders := 0
			if phase == "pending" {
				loaders = 1
			}
			r := newRuleRig(t, loaders)
			reg := rreg(1, 1, "k", "l")
			r.fillRange("k", 30)
			var resume func()
			if phase == "pending" {
				_, unblock := r.blockLoader()
				r.mustLoad(reg, regioncache.LoadAccepted)
				r.wantState(reg.ID, regioncache.Pending)
				resume = unblock
			} else {
				r.fp(phase, "pause")
				r.mustLoad(reg, regioncache.LoadAccepted)
				r.waitPaused(phase, 1)
				r.waitState(reg.ID, regioncache.Loading)
				resume = func() { r.fp(phase, "resume") }
			}
			// Every kind of write, in several batches, one spanning the
			// region's edges.
			r.write(rput("k000", 50, "new-version"), rput("k001", 20, "exact-overwrite"), rdel("k002", 50))
			r.write(rput("k-brand-new", 7, "fresh"), rdel("k004", 20), rput("k004", 60, "back"))
			r.write(rput("j-outside", 50, "o"), rput("k\x00", 50, "inside-nul"), rput("l-outside", 50, "o"),
				rput("k\xff\xff\xff", 70, "last"))
			for i := 0; i < 20; i++ {
				r.write(rput(fmt.Sprintf("k%03d", i), uint64(100+i), fmt.Sprintf("burst-%d", i)))
			}
			r.checkGets(reg, regioncache.FromDisk, 0)
			resume()
			r.waitState(reg.ID, regioncache.Active)
			r.waitIdle()
			r.checkGets(reg, regioncache.FromMemory, 0)
			r.checkScans(reg, regioncache.FromMemory, 0)
			r.mustCheck()
			// And after activation, writes keep landing in memory.
			r.write(rput("k010", 200, "post"), rdel("k011", 200))
			r.checkGets(reg, regioncache.FromMemory, 0)
			r.mustCheck()
		})
	}
}

// TestRule6_ConcurrentWriterDuringLoad: a writer keeps committing while the
// region is paused before its copy, paused after it, copying in between and
// active; nothing it wrote is missing. The test asks the writer for a number
// of further commits at each phase, so every phase certainly sees writes.
func TestRule6_ConcurrentWriterDuringLoad(t *testing.T) {
	r := newRuleRig(t, 0)
	reg := rreg(1, 1, "k", "l")
	r.fillRange("k", 200)
	type milestone struct {
		n    int
		done chan struct{}
	}
	ask := make(chan milestone)
	var mu sync.Mutex
	var written []mvcc.Mutation
	stop := make(chan struct{})
	writerErr := make(chan error, 1)
	go func() {
		defer close(writerErr)
		var pending *milestone
		due := 0
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case m := <-ask:
				pending, due = &m, i+m.n
			default:
			}
			if pending != nil && i >= due {
				close(pending.done)
				pending = nil
			}
			muts := []mvcc.Mutation{rput(fmt.Sprintf("k%03d", i%200), uint64(1000+i), fmt.Sprintf("w%d", i))}
			if i%7 == 0 {
				muts = append(muts, rdel(fmt.Sprintf("k%03d", (i*13)%200), uint64(1000+i)))
			}
			if i%11 == 0 {
				muts = append(muts, rput(fmt.Sprintf("j%03d", i), 5, "outside"))
			}
			b := new(regioncache.Batch)
			for _, m := range muts {
				if m.Tombstone {
					b.Delete(m.Key, m.Ts)
				} else {
					b.Put(m.Key, m.Ts, m.Value)
				}
			}
			if err := r.e.Write(b); err != nil {
				writerErr <- err
				return
			}
			mu.Lock()
			written = append(written, muts...)
			mu.Unlock()
		}
	}()
	moreWrites := func(n int) {
		t.Helper()
		m := milestone{n: n, done: make(chan struct{})}
		select {
		case ask <- m:
		case <-r.ctx.Done():
			t.Fatal("writer gone")
		}
		select {
		case <-m.done:
		case <-r.ctx.Done():
			t.Fatal("writer stalled")
		}
	}
	moreWrites(20) // before the load
	r.fp(fpBeforeCopy, "pause")
	r.fp(fpAfterCopy, "pause")
	r.mustLoad(reg, regioncache.LoadAccepted)
	r.waitPaused(fpBeforeCopy, 1)
	moreWrites(50) // loading, before the copy
	r.fp(fpBeforeCopy, "resume")
	r.waitPaused(fpAfterCopy, 1)
	moreWrites(50) // loading, copy done
	r.fp(fpAfterCopy, "resume")
	r.waitState(reg.ID, regioncache.Active)
	moreWrites(50) // active
	close(stop)
	if err := <-writerErr; err != nil {
		t.Fatal(err)
	}
	r.model.apply(written)
	t.Logf("%d versions written concurrently with the load", len(written))
	r.mustCheck()
	// Every version the writer committed, read at its own ts, and every key
	// at a few more.
	seen := map[string]bool{}
	for _, m := range written {
		probe := []uint64{m.Ts}
		if !seen[string(m.Key)] {
			seen[string(m.Key)] = true
			probe = append(probe, 25, 999, mvcc.MaxTS)
		}
		for _, ts := range probe {
			k := string(m.Key)
			g, err := r.e.Get(m.Key, ts)
			wv, wok := r.model.get(k, ts)
			if err != nil || g.Found != wok || string(g.Value) != wv {
				t.Fatalf("Get(%q, %d) = %+v %v, want %q %v", k, ts, g, err, wv, wok)
			}
			if reg.Contains(m.Key) && g.Source != regioncache.FromMemory {
				t.Fatalf("Get(%q, %d) from %s", k, ts, g.Source)
			}
		}
	}
	for _, ts := range []uint64{25, 999, 1100, mvcc.MaxTS} {
		got, err := r.e.Scan(reg.Start, reg.End, ts, 0)
		if want := r.model.scan(reg.Start, reg.End, ts, 0); err != nil || !sameKVs(got.Pairs, want) || got.Source != regioncache.FromMemory {
			t.Fatalf("Scan at %d = %s from %s, %v; want %s", ts, fmtKVs(got.Pairs), got.Source, err, fmtKVs(want))
		}
	}
}

// TestRule6_WritesOutsideLoadingOrActiveGoToPebbleOnly: writes to a region
// that is absent, pending, loading_canceled, pending_evict or evicting do not
// touch memory, and reads see them from disk.
func TestRule6_WritesOutsideLoadingOrActiveGoToPebbleOnly(t *testing.T) {
	r := newRuleRig(t, 1)
	reg := rreg(1, 1, "k", "l")
	r.fillRange("k", 10)
	ts := uint64(100)
	writeAndCheck := func(state string) {
		t.Helper()
		mem := r.e.MemoryBytes()
		ts++
		r.write(rput("k001", ts, state), rdel("k002", ts), rput("k-"+state, ts, state))
		if got := r.e.MemoryBytes(); got != mem {
			t.Fatalf("a write to a %s region changed MemoryBytes %d -> %d", state, mem, got)
		}
		g, err := r.e.Get([]byte("k001"), ts)
		if err != nil || string(g.Value) != state || g.Source != regioncache.FromDisk {
			t.Fatalf("Get after a write to a %s region = %+v %v", state, g, err)
		}
	}
	writeAndCheck("absent")
	_, unblock := r.blockLoader()
	r.mustLoad(reg, regioncache.LoadAccepted)
	writeAndCheck("pending")
	unblock()
	r.waitState(reg.ID, regioncache.Active)

	snap, err := r.e.Snapshot(reg, 500)
	if err != nil {
		t.Fatal(err)
	}
	r.evict(reg)
	r.wantState(reg.ID, regioncache.PendingEvict)
	writeAndCheck("pending_evict")
	r.fp(fpBeforeDelete, "pause")
	snap.Release()
	r.waitPaused(fpBeforeDelete, 1)
	r.waitState(reg.ID, regioncache.Evicting)
	writeAndCheck("evicting")
	r.fp(fpBeforeDelete, "resume")
	r.waitState(reg.ID, regioncache.Absent)

	r.fp(fpBeforeCopy, "pause")
	r.mustLoad(reg, regioncache.LoadAccepted)
	r.waitPaused(fpBeforeCopy, 1)
	r.evict(reg)
	r.wantState(reg.ID, regioncache.LoadingCanceled)
	writeAndCheck("loading_canceled")
	r.fp(fpBeforeCopy, "resume")
	r.waitState(reg.ID, regioncache.Absent)
	r.evict(rreg(900, 1, "a", "b")) // the blocker
	r.waitIdle()
	r.wantMemory(0)
	r.checkGets(reg, regioncache.FromDisk, 0)
}

// --- rule 7: failed loads end cleanly ----------------------------------------------

func TestRule7_FailedLoadsEndCleanly(t *testing.T) {
	for _, fp := range []string{fpBeforeCopy, fpAfterCopy} {
		for _, action := range []string{"error", "panic", "pause-then-error"} {
			t.Run(fp+"/"+action, func(t *testing.T) {
				r := newRuleRig(t, 1) // one loader: it must come back
				r.allowPanics = action == "panic"
				reg := rreg(1, 1, "k", "l")
				r.fillRange("k", 30)
				if action == "pause-then-error" {
					r.fp(fp, "pause")
				} else {
					r.fp(fp, action)
				}
				r.mustLoad(reg, regioncache.LoadAccepted)
				if action == "pause-then-error" {
					r.waitPaused(fp, 1)
					r.fp(fp, "error")
				}
				r.waitState(reg.ID, regioncache.Absent)
				r.waitIdle()
				r.wantCounters(map[string]int64{"loads_started": 1, "loads_failed": 1, "loads_completed": 0, "keys_loaded": 0})
				r.wantMemory(0)
				r.checkGets(reg, regioncache.FromDisk, 0)
				if action == "panic" && len(r.log.matching("actor panicked")) == 0 {
					t.Error("the loader's panic was not logged")
				}

				r.fp(fp, "off")
				r.mustLoad(reg, regioncache.LoadAccepted)
				r.waitState(reg.ID, regioncache.Active)
				r.wantCounters(map[string]int64{"loads_started": 2, "loads_failed": 1, "loads_completed": 1,
					"keys_loaded": r.model.versionsIn(reg)})
				r.checkGets(reg, regioncache.FromMemory, 0)
				r.mustCheck()
			})
		}
	}
}

// TestRule7_LoaderSurvivesRepeatedPanics: more panics in a row than
// protoactor's default restart budget (10 in 10 s); the single loader must
// still be there afterwards.
func TestRule7_LoaderSurvivesRepeatedPanics(t *testing.T) {
	r := newRuleRig(t, 1)
	r.allowPanics = true
	reg := rreg(1, 1, "k", "l")
	r.fillRange("k", 5)
	r.fp(fpBeforeCopy, "panic")
	const panics = 12
	for i := 1; i <= panics; i++ {
		r.mustLoad(reg, regioncache.LoadAccepted)
		r.waitState(reg.ID, regioncache.Absent)
		r.waitIdle()
		if got := r.counter("loads_failed"); got != int64(i) {
			t.Fatalf("after panic %d: loads_failed = %d", i, got)
		}
	}
	r.fp(fpBeforeCopy, "off")
	r.mustLoad(reg, regioncache.LoadAccepted)
	r.waitState(reg.ID, regioncache.Active)
	r.wantCounters(map[string]int64{"loads_failed": panics, "loads_completed": 1})
	if r.e.MemoryBytes() <= 0 {
		t.Fatal("active region not accounted")
	}
	r.checkGets(reg, regioncache.FromMemory, 0)
}

// --- rule 8: nothing waits for a copy ------------------------------------------------

// TestRule8_PausedCopiesBlockNothing: with both loaders paused before their
// copies, loads still return at once and every operation on an active region
// completes.
func TestRule8_PausedCopiesBlockNothing(t *testing.T) {
	r := newRuleRig(t, 2)
	active := rreg(1, 1, "k", "l")
	r.fillRange("k", 30)
	r.fillRange("m", 10)
	r.fillRange("p", 10)
	r.mustLoad(active, regioncache.LoadAccepted)
	r.waitState(active.ID, regioncache.Active)

	r.fp(fpBeforeCopy, "pause")
	b, c, d := rreg(2, 1, "m", "n"), rreg(3, 1, "p", "q"), rreg(4, 1, "s", "t")
	r.mustLoad(b, regioncache.LoadAccepted) // returns although its copy cannot run
	r.mustLoad(c, regioncache.LoadAccepted)
	r.waitPaused(fpBeforeCopy, 2) // both loaders are stuck
	r.mustLoad(d, regioncache.LoadAccepted)
	r.wantState(d.ID, regioncache.Pending)

	// The active region serves everything, from memory.
	r.write(rput("k001", 90, "while-paused"), rdel("k003", 90))
	r.checkGets(active, regioncache.FromMemory, 0)
	r.checkScans(active, regioncache.FromMemory, 0)
	snap, err := r.e.Snapshot(active, 95)
	if err != nil || snap.Info().Source != regioncache.FromMemory {
		t.Fatalf("snapshot: %+v %v", snap, err)
	}
	if g, err := snap.Get([]byte("k001"), 0); err != nil || string(g.Value) != "while-paused" {
		t.Fatalf("snapshot Get = %+v %v", g, err)
	}
	snap.Release()
	if err := r.e.GC(15); err != nil {
		t.Fatal(err)
	}
	r.mustCheck()
	// The loading regions answer from disk.
	r.checkGets(b, regioncache.FromDisk, 0)
	// Evicting another region works too.
	r.evict(active)
	r.waitState(active.ID, regioncache.Absent)

	r.fp(fpBeforeCopy, "resume")
	for _, reg := range []regioncache.Region{b, c, d} {
		r.waitState(reg.ID, regioncache.Active)
	}
	r.waitIdle()
	r.checkGets(b, regioncache.FromMemory, 15)
	r.mustCheck()
}

// TestRule8_ReadsDoNotQueueBehindTheSupervisor holds the supervisor inside
// a transition callback (which the options forbid; here it is the tool that
// proves the point) and reads and writes an active region meanwhile.
func TestRule8_ReadsDoNotQueueBehindTheSupervisor(t *testing.T) {
	r := newRuleRig(t, 0)
	active := rreg(1, 1, "k", "l")
	r.fillRange("k", 20)
	r.mustLoad(active, regioncache.LoadAccepted)
	r.waitState(active.ID, regioncache.Active)

	blocked, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock) // before Close, even if the test fails
	hook := func(tr regioncache.Transition) {
		if tr.Region.ID == 99 && tr.To == regioncache.Pending {
			close(blocked)
			<-release
		}
	}
	r.hook.Store(&hook)
	loadDone := make(chan error, 1)
	go func() {
		_, err := r.e.Load(rreg(99, 1, "x", "y"))
		loadDone <- err
	}()
	select {
	case <-blocked:
	case <-r.ctx.Done():
		t.Fatal("the supervisor never reached the transition")
	}
	// The supervisor is stuck; the data path is not.
	r.write(rput("k002", 80, "supervisor-busy"))
	r.checkGets(active, regioncache.FromMemory, 0)
	r.checkScans(active, regioncache.FromMemory, 0)
	_ = r.e.Stats()
	r.wantState(active.ID, regioncache.Active)
	select {
	case err := <-loadDone:
		t.Fatalf("Load returned (%v) while the supervisor was held", err)
	default:
	}
	unblock()
	select {
	case err := <-loadDone:
		if err != nil {
			t.Fatal(err)
		}
	case <-r.ctx.Done():
		t.Fatal("Load did not return after the supervisor was released")
	}
	r.hook.Store(nil)
	r.waitState(99, regioncache.Active)
}

// --- reads: memory and disk agree --------------------------------------------------

// TestReadsIdenticalFromMemoryAndDisk reads every key at every interesting
// ts, and scans with limits, before the load (disk), after it (memory),
// across the region's edge (both) and around a GC safe point.
func TestReadsIdenticalFromMemoryAndDisk(t *testing.T) {
	r := newRuleRig(t, 0)
	reg := rreg(1, 1, "k", "l")
	r.fillRange("k", 25)
	r.fillRange("j", 5)
	r.fillRange("l", 5)
	r.write(rdel("k-only-marker", 10), rput("k-del-put-del", 1, "1"), rdel("k-del-put-del", 2), rput("k-del-put-del", 3, "3"),
		rdel("k-del-put-del", 4), rput("\x00", 3, "lowest"), rput("\xff\xff", 3, "highest"))

	r.checkGets(reg, regioncache.FromDisk, 0)
	r.checkScans(reg, regioncache.FromDisk, 0)
	r.mustLoad(reg, regioncache.LoadAccepted)
	r.waitState(reg.ID, regioncache.Active)
	r.checkGets(reg, regioncache.FromMemory, 0)
	r.checkScans(reg, regioncache.FromMemory, 0)
	wide, err := r.e.Scan([]byte("j"), []byte("m"), 25, 0)
	if err != nil || wide.Source != regioncache.FromBoth {
		t.Fatalf("scan across the region's edges: source %s, %v", wide.Source, err)
	}
	r.mustCheck()

	// GC: reads at or below the safe point go to disk, above it to memory,
	// and every answer is unchanged.
	const sp = 20
	if err := r.e.GC(sp); err != nil {
		t.Fatal(err)
	}
	r.checkGets(reg, regioncache.FromMemory, sp)
	r.checkScans(reg, regioncache.FromMemory, sp)
	g, err := r.e.Get([]byte("k001"), sp)
	if err != nil || g.Source != regioncache.FromDisk || g.Reason != regioncache.TooOldRead {
		t.Fatalf("read at the safe point: %+v %v", g, err)
	}
	r.mustCheck()

	// A load after GC gets the same answers too.
	r.evict(reg)
	r.waitState(reg.ID, regioncache.Absent)
	r.mustLoad(reg, regioncache.LoadAccepted)
	r.waitState(reg.ID, regioncache.Active)
	r.checkGets(reg, regioncache.FromMemory, sp)
	r.checkScans(reg, regioncache.FromMemory, sp)
	r.mustCheck()
}

// TestSnapshotsFromDiskAreIsolated: a disk snapshot (region not cached) does
// not see later writes either.
func TestSnapshotsFromDiskAreIsolated(t *testing.T) {
	r := newRuleRig(t, 0)
	reg := rreg(1, 1, "k", "l")
	r.fillRange("k", 10)
	view := r.model.clone()
	s, err := r.e.Snapshot(reg, 100)
	if err != nil || s.Info().Source != regioncache.FromDisk {
		t.Fatalf("%+v %v", s, err)
	}
	defer s.Release()
	r.write(rput("k001", 50, "later"), rdel("k000", 50))
	for _, k := range []string{"k000", "k001", "k002"} {
		g, err := s.Get([]byte(k), 0)
		wv, wok := view.get(k, 100)
		if err != nil || g.Found != wok || string(g.Value) != wv {
			t.Fatalf("disk snapshot Get(%q) = %+v %v, want %q", k, g, err, wv)
		}
	}
	sc, err := s.Scan(nil, nil, 0, 0)
	if err != nil || !sameKVs(sc.Pairs, view.scan(reg.Start, reg.End, 100, 0)) {
		t.Fatalf("disk snapshot Scan = %s, %v", fmtKVs(sc.Pairs), err)
	}
}

// --- API edges: invalid input, Close -----------------------------------------------

func TestInvalidRegionsAndTimestamps(t *testing.T) {
	r := newRuleRig(t, 0)
	for _, bad := range []regioncache.Region{
		rreg(0, 1, "a", "b"), rreg(1, 0, "a", "b"), rreg(1, 1, "b", "a"), rreg(1, 1, "b", "b"),
	} {
		if _, err := r.e.Load(bad); !errors.Is(err, regioncache.ErrInvalidRegion) {
			t.Errorf("Load(%s) = %v, want ErrInvalidRegion", bad, err)
		}
		if _, err := r.e.Evict(bad, "manual"); !errors.Is(err, regioncache.ErrInvalidRegion) {
			t.Errorf("Evict(%s) = %v, want ErrInvalidRegion", bad, err)
		}
		if _, err := r.e.Snapshot(bad, 5); !errors.Is(err, regioncache.ErrInvalidRegion) {
			t.Errorf("Snapshot(%s) = %v, want ErrInvalidRegion", bad, err)
		}
	}
	ok := rreg(1, 1, "a", "b")
	if _, err := r.e.Get([]byte("a"), 0); !errors.Is(err, regioncache.ErrInvalidTimestamp) {
		t.Errorf("Get at ts 0: %v", err)
	}
	if _, err := r.e.Scan(nil, nil, 0, 0); !errors.Is(err, regioncache.ErrInvalidTimestamp) {
		t.Errorf("Scan at ts 0: %v", err)
	}
	if err := r.e.Put([]byte("a"), 0, []byte("v")); !errors.Is(err, regioncache.ErrInvalidTimestamp) {
		t.Errorf("Put at ts 0: %v", err)
	}
	if err := r.e.Write(new(regioncache.Batch).Put([]byte("a"), 1, nil).Delete([]byte("b"), 0)); !errors.Is(err, regioncache.ErrInvalidTimestamp) {
		t.Errorf("batch with a ts 0: %v", err)
	}
	if g, _ := r.e.Get([]byte("a"), 5); g.Found {
		t.Error("a batch with an invalid timestamp was partly written")
	}
	if _, err := r.e.Snapshot(ok, 0); !errors.Is(err, regioncache.ErrInvalidTimestamp) {
		t.Errorf("Snapshot at ts 0: %v", err)
	}
	if err := r.e.Failpoint("no/such", "pause"); err == nil {
		t.Error("unknown failpoint accepted")
	}
	if err := r.e.Failpoint(fpBeforeCopy, "sometimes"); err == nil {
		t.Error("unknown failpoint action accepted")
	}
	r.wantCounters(map[string]int64{"loads_requested": 0, "loads_rejected": 0})
	if len(r.e.Stats().Regions) != 0 {
		t.Errorf("invalid requests left regions: %+v", r.e.Stats().Regions)
	}
	if _, err := regioncache.Open(regioncache.Options{Loaders: -1}); !errors.Is(err, regioncache.ErrInvalidOptions) {
		t.Errorf("Open with negative loaders: %v", err)
	}
}

func TestAPIAfterClose(t *testing.T) {
	e, err := regioncache.Open(regioncache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	reg := rreg(1, 1, "a", "b")
	if err := e.Put([]byte("a1"), 1, []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), ruleWait)
	defer cancel()
	checks := map[string]error{}
	checks["Write"] = e.Write(new(regioncache.Batch).Put([]byte("a"), 1, nil))
	checks["Put"] = e.Put([]byte("a"), 1, nil)
	checks["Delete"] = e.Delete([]byte("a"), 1)
	_, checks["Get"] = e.Get([]byte("a"), 1)
	_, checks["Scan"] = e.Scan(nil, nil, 1, 0)
	_, checks["Load"] = e.Load(reg)
	_, checks["Evict"] = e.Evict(reg, "manual")
	checks["GC"] = e.GC(1)
	_, checks["Snapshot"] = e.Snapshot(reg, 1)
	_, checks["Check"] = e.Check()
	checks["WaitRegionState"] = e.WaitRegionState(ctx, 1, regioncache.Active)
	for name, err := range checks {
		if !errors.Is(err, regioncache.ErrClosed) {
			t.Errorf("%s after Close = %v, want ErrClosed", name, err)
		}
	}
	// Nothing is in flight after Close, so WaitIdle may report idle.
	if err := e.WaitIdle(ctx); err != nil && !errors.Is(err, regioncache.ErrClosed) {
		t.Errorf("WaitIdle after Close = %v", err)
	}
	// Read-only views still answer without panicking.
	_ = e.Stats()
	_ = e.MemoryBytes()
	_ = e.RegionState(1)
}

// TestWaitFailpointPausedAfterClose: like every other wait, it must end when
// the engine closes instead of running until its context does.
func TestWaitFailpointPausedAfterClose(t *testing.T) {
	e, err := regioncache.Open(regioncache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), ruleWait)
	defer cancel()
	if err := e.WaitFailpointPaused(ctx, fpBeforeCopy, 1); !errors.Is(err, regioncache.ErrClosed) {
		t.Fatalf("WaitFailpointPaused after Close = %v, want ErrClosed", err)
	}
}

// TestCloseWithPausedFailpoints: Close returns while work is paused at each
// failpoint, and snapshots released after Close are harmless.
func TestCloseWithPausedFailpoints(t *testing.T) {
	for _, fp := range []string{fpBeforeCopy, fpAfterCopy, fpBeforeDelete} {
		t.Run(fp, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), ruleWait)
			defer cancel()
			e, err := regioncache.Open(regioncache.Options{})
			if err != nil {
				t.Fatal(err)
			}
			reg, other := rreg(1, 1, "k", "l"), rreg(2, 1, "m", "n")
			for _, k := range []string{"k1", "k2", "m1"} {
				if err := e.Put([]byte(k), 5, []byte("v")); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := e.Load(other); err != nil {
				t.Fatal(err)
			}
			if err := e.WaitRegionState(ctx, other.ID, regioncache.Active); err != nil {
				t.Fatal(err)
			}
			memSnap, err := e.Snapshot(other, 10)
			if err != nil || memSnap.Info().Source != regioncache.FromMemory {
				t.Fatalf("memory snapshot: %v", err)
			}
			diskSnap, err := e.Snapshot(rreg(3, 1, "x", "y"), 10)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.Failpoint(fp, "pause"); err != nil {
				t.Fatal(err)
			}
			if fp == fpBeforeDelete {
				if _, err := e.Load(reg); err != nil {
					t.Fatal(err)
				}
				if err := e.WaitRegionState(ctx, reg.ID, regioncache.Active); err != nil {
					t.Fatal(err)
				}
				if _, err := e.Evict(reg, "manual"); err != nil {
					t.Fatal(err)
				}
			} else if _, err := e.Load(reg); err != nil {
				t.Fatal(err)
			}
			if err := e.WaitFailpointPaused(ctx, fp, 1); err != nil {
				t.Fatal(err)
			}
			closed := make(chan error, 1)
			go func() { closed <- e.Close() }()
			select {
			case err := <-closed:
				if err != nil {
					t.Errorf("Close: %v", err)
				}
			case <-ctx.Done():
				t.Fatal("Close hung with a paused failpoint")
			}
			memSnap.Release()
			diskSnap.Release()
			memSnap.Release()
			if _, err := e.Load(reg); !errors.Is(err, regioncache.ErrClosed) {
				t.Errorf("Load after Close: %v", err)
			}
		})
	}
}

// TestSnapshotReadsAfterClose: a snapshot still held when the engine closes
// must answer or return an error; it must not panic.
func TestSnapshotReadsAfterClose(t *testing.T) {
	e, err := regioncache.Open(regioncache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Put([]byte("k1"), 1, []byte("v")); err != nil {
		t.Fatal(err)
	}
	s, err := e.Snapshot(rreg(1, 1, "k", "l"), 5) // not cached: a disk snapshot
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	defer s.Release()
	for name, read := range map[string]func() error{
		"Get":  func() error { _, err := s.Get([]byte("k1"), 0); return err },
		"Scan": func() error { _, err := s.Scan(nil, nil, 0, 0); return err },
	} {
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("snapshot %s after Close panicked: %v", name, p)
				}
			}()
			if err := read(); err != nil && !errors.Is(err, regioncache.ErrClosed) {
				t.Errorf("snapshot %s after Close = %v, want a value or ErrClosed", name, err)
			}
		}()
	}
}

// TestCallsRacingClose: calls in flight when Close starts either complete or
// return ErrClosed; none panics or hangs.
func TestCallsRacingClose(t *testing.T) {
	e, err := regioncache.Open(regioncache.Options{})
	if err != nil {
		t.Fatal(err)
	}
	reg := rreg(1, 1, "k", "l")
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				var err error
				switch i % 6 {
				case 0:
					err = e.Put([]byte(fmt.Sprintf("k%d", i%20)), uint64(i+1), []byte("v"))
				case 1:
					_, err = e.Get([]byte("k1"), uint64(i+1))
				case 2:
					_, err = e.Load(reg)
					if errors.Is(err, regioncache.ErrLoadRejected) {
						err = nil
					}
				case 3:
					_, err = e.Evict(reg, "manual")
				case 4:
					_, err = e.Scan(nil, nil, uint64(i+1), 5)
				case 5:
					var s *regioncache.Snapshot
					if s, err = e.Snapshot(reg, uint64(i+1)); err == nil {
						s.Release()
					}
				}
				if errors.Is(err, regioncache.ErrClosed) {
					return
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	if err := e.Put([]byte("k0"), 1, []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("call racing Close: %v", err)
	}
}

// TestStatsPerRegionMemory: Stats reports each region's memory, and the
// regions' memory adds up to the total.
func TestStatsPerRegionMemory(t *testing.T) {
	r := newRuleRig(t, 0)
	a, b := rreg(1, 1, "k", "l"), rreg(2, 1, "m", "n")
	r.fillRange("k", 20)
	r.fillRange("m", 5)
	r.mustLoad(a, regioncache.LoadAccepted)
	r.mustLoad(b, regioncache.LoadAccepted)
	r.waitState(a.ID, regioncache.Active)
	r.waitState(b.ID, regioncache.Active)
	st := r.e.Stats()
	var sum int64
	for _, s := range st.Regions {
		if s.MemoryBytes <= 0 {
			t.Errorf("region %s reports %d bytes", s.Region, s.MemoryBytes)
		}
		sum += s.MemoryBytes
	}
	if sum != st.MemoryBytes {
		t.Errorf("regions add up to %d bytes, total is %d", sum, st.MemoryBytes)
	}
}
