package tests

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/internal/failpoint"
	"github.com/regioncache/regioncache/internal/testutil"
	"github.com/regioncache/regioncache/internal/testutil/leaktest"
)

// TestConcurrentLinearizable runs writers, readers, scanners, snapshotters,
// loaders and evicters, a splitter/merger evolving the host's region table,
// GC and failpoint chaos against one engine at once (run it under -race),
// then checks:
//
//   - every group of keys always written together by one batch is a
//     linearizable multi-key register (porcupine) over its batches and its
//     reads at a timestamp above every write: reads through Get, through
//     Scan, and through snapshots, a snapshot read counting as a read at some
//     moment while the snapshot was being taken. Groups are single keys,
//     twin keys (adjacent, one region) and spread groups of three keys in
//     different regions, so a read of one key of a batch that returns it
//     obliges every later read of another key of it to see it, whether
//     each is served from memory or disk;
//   - a snapshot is one moment for all its keys: twin keys always written
//     together by one batch always read the same through it, and its Scan
//     agrees with its Gets;
//   - reads at a past timestamp below every write still in flight (at or
//     below the GC safe point too) answer exactly the newest version at or
//     below it;
//   - between phases, once the goroutines stopped, failpoints are off and the
//     engine is idle, Engine.Check finds memory equal to disk.
func TestConcurrentLinearizable(t *testing.T) {
	for _, c := range []struct {
		name     string
		capacity int64
	}{{"roomy", 0}, {"pressure", 40 << 10}} {
		t.Run(c.name, func(t *testing.T) {
			leaktest.Check(t)
			seed := uint64(time.Now().UnixNano())
			if *flagSeed != 0 {
				seed = *flagSeed
			}
			t.Logf("seed %d (rerun with -seed=%d)", seed, seed)
			runConcurrent(t, seed, c.capacity)
		})
	}
}

// Register model for porcupine: per group of keys written together, the
// visible value of each key is that of the batch with the highest ts (every
// batch has a unique ts and writes every key of its group), a read at a ts
// above every write sees it.
type regIn struct {
	group int
	slot  int    // the key's place in its group, for reads
	key   string // for reads; a write names its group's first key
	write bool
	ts    uint64
	found bool
	value string
}

// maxGroup is the most keys a group has.
const maxGroup = 3

// groupState is a group's registers, one per key (comparable, as porcupine
// wants its states).
type groupState [maxGroup]regState

type regOut struct {
	found bool
	value string
}

type regState struct {
	ts    uint64
	found bool
	value string
}

var registerModel = porcupine.Model{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		by := map[int][]porcupine.Operation{}
		var groups []int
		for _, op := range h {
			g := op.Input.(regIn).group
			if _, ok := by[g]; !ok {
				groups = append(groups, g)
			}
			by[g] = append(by[g], op)
		}
		sort.Ints(groups)
		out := make([][]porcupine.Operation, 0, len(groups))
		for _, g := range groups {
			out = append(out, by[g])
		}
		return out
	},
	Init: func() any { return groupState{} },
	Step: func(state, input, output any) (bool, any) {
		s, in := state.(groupState), input.(regIn)
		if in.write {
			for i := range s {
				if in.ts > s[i].ts {
					s[i] = regState{ts: in.ts, found: in.found, value: in.value}
				}
			}
			return true, s
		}
		out, cur := output.(regOut), s[in.slot]
		return out.found == cur.found && (!out.found || out.value == cur.value), s
	},
	DescribeOperation: func(input, output any) string {
		in := input.(regIn)
		if in.write {
			return fmt.Sprintf("write group %d (%q...)@%d found=%v %q", in.group, in.key, in.ts, in.found, in.value)
		}
		o := output.(regOut)
		return fmt.Sprintf("read %q -> found=%v %q", in.key, o.found, o.value)
	},
}

type history struct {
	mu    sync.Mutex
	start time.Time
	ops   []porcupine.Operation
}

func (h *history) now() int64 { return time.Since(h.start).Nanoseconds() }

func (h *history) add(client int, in regIn, out regOut, call, ret int64) {
	h.mu.Lock()
	h.ops = append(h.ops, porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret})
	h.mu.Unlock()
}

// versionLog is every write, recorded before it is committed, for the
// historical reads.
type versionLog struct {
	mu   sync.Mutex
	vers map[string][]regState
}

func (v *versionLog) add(key string, s regState) {
	v.mu.Lock()
	v.vers[key] = append(v.vers[key], s)
	v.mu.Unlock()
}

// tsOf is the ts of the write of value to key (values are unique per batch).
func (v *versionLog) tsOf(key, value string) uint64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, s := range v.vers[key] {
		if s.found && s.value == value {
			return s.ts
		}
	}
	return 0
}

func (v *versionLog) at(key string, ts uint64) regOut {
	v.mu.Lock()
	defer v.mu.Unlock()
	var best regState
	for _, s := range v.vers[key] {
		if s.ts <= ts && s.ts > best.ts {
			best = s
		}
	}
	return regOut{found: best.found, value: best.value}
}

type concurrentRun struct {
	t      *testing.T
	e      *regioncache.Engine
	host   *hostTable
	oracle *tsOracle
	hist   *history
	vlog   *versionLog
	single []string // keys written alone
	pairs  []string // keys written with their twin (key + "\x00") in one batch
	groups [][]string
	slots  map[string]keySlot // every key's group and place in it
	all    []string           // every key, sorted
	seed   uint64
	failed atomic.Bool
	ops    atomic.Int64
}

func (r *concurrentRun) errorf(format string, args ...any) {
	r.failed.Store(true)
	r.t.Errorf(format, args...)
}

func runConcurrent(t *testing.T, seed uint64, capacity int64) int64 {
	e, err := regioncache.Open(regioncache.Options{Capacity: capacity, Loaders: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	r := &concurrentRun{t: t, e: e, oracle: newTsOracle(), hist: &history{start: time.Now()},
		vlog: &versionLog{vers: map[string][]regState{}}, seed: seed}
	var bounds [][]byte
	for i := 0; i < 12; i++ {
		r.single = append(r.single, fmt.Sprintf("a%02d", i))
	}
	for i := 0; i < 6; i++ {
		r.pairs = append(r.pairs, fmt.Sprintf("p%02d", i))
	}
	for _, k := range r.single {
		r.all = append(r.all, k)
		bounds = append(bounds, []byte(k))
	}
	for _, k := range r.pairs {
		r.all = append(r.all, k, k+"\x00")
		bounds = append(bounds, []byte(k))
	}
	// Spread groups: three keys far apart, so that one batch usually spans
	// regions that are cached and not.
	var spread [][]string
	for i := 0; i < 4; i++ {
		g := []string{fmt.Sprintf("b%02d", i), fmt.Sprintf("q%02d", i), fmt.Sprintf("y%02d", i)}
		spread = append(spread, g)
		for _, k := range g {
			r.all = append(r.all, k)
			bounds = append(bounds, []byte(k))
		}
	}
	slices.SortFunc(bounds, bytes.Compare)
	sort.Strings(r.all)
	for _, k := range r.single {
		r.groups = append(r.groups, []string{k})
	}
	for _, k := range r.pairs {
		r.groups = append(r.groups, []string{k, k + "\x00"})
	}
	r.groups = append(r.groups, spread...)
	r.slots = map[string]keySlot{}
	for g, keys := range r.groups {
		for i, k := range keys {
			r.slots[k] = keySlot{group: g, slot: i}
		}
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	r.host = newHostTable(bounds[1:], 3, rng)

	opsPerWorker := 150
	if testing.Short() {
		opsPerWorker = 60
	}
	for phase := 0; phase < 3 && !r.failed.Load(); phase++ {
		r.phase(phase, opsPerWorker)
		for _, fp := range failpoint.Names {
			if err := testutil.Hooks(e).Failpoint(fp, "off"); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		err := e.WaitIdle(ctx)
		cancel()
		if err != nil {
			t.Fatalf("phase %d: not idle 60s after the failpoints were turned off: %v (%v)", phase, err, testutil.Metrics(t, e).Regions)
		}
		diffs, err := e.Check()
		if err != nil || len(diffs) > 0 {
			t.Fatalf("phase %d: check: %v %v", phase, err, diffs)
		}
		if bad := append(checkAlways(e), checkIdle(e)...); len(bad) > 0 {
			t.Errorf("phase %d: idle engine: %v", phase, bad)
		}
		// Load every current region, so that the next phase starts with
		// cached data to race against.
		for _, reg := range r.host.current() {
			_, _ = e.Load(reg)
		}
	}
	t.Logf("%d engine calls, %d register operations; counters %v", r.ops.Load(), len(r.hist.ops), testutil.Metrics(t, e).Counters())
	switch porcupine.CheckOperationsTimeout(registerModel, r.hist.ops, 60*time.Second) {
	case porcupine.Illegal:
		t.Errorf("history of %d operations is not linearizable (seed %d)", len(r.hist.ops), seed)
		for _, part := range registerModel.Partition(r.hist.ops) {
			if porcupine.CheckOperations(registerModel, part) {
				continue
			}
			sort.Slice(part, func(i, j int) bool { return part[i].Call < part[j].Call })
			for _, op := range part {
				t.Logf("  [%d, %d] client %d: %s", op.Call, op.Return, op.ClientId, registerModel.DescribeOperation(op.Input, op.Output))
			}
			break
		}
	case porcupine.Unknown:
		t.Logf("linearizability check timed out: inconclusive")
	}
	// Final reads equal the register of each key.
	for _, k := range r.all {
		got, err := e.Get([]byte(k), farFuture)
		if err != nil {
			t.Fatal(err)
		}
		want := r.vlog.at(k, farFuture)
		if got.Found != want.found || string(got.Value) != want.value {
			t.Errorf("final read of %q: got found=%v %q, want found=%v %q", k, got.Found, got.Value, want.found, want.value)
		}
	}
	return r.ops.Load()
}

const farFuture = uint64(1) << 62

// phase runs the host-side workers (loads, evictions, splits and merges,
// paced) for n ops each, and the data workers (writes, reads, snapshots) as
// fast as they go until then, at most 3n ops each, with GC and failpoint
// chaos in the background.
func (r *concurrentRun) phase(phase, n int) {
	worker := 0
	stop := make(chan struct{})
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return r.failed.Load()
		}
	}
	var host, data, bg sync.WaitGroup
	spawn := func(wg *sync.WaitGroup, count int, fn func(id int, rng *rand.Rand, n int, stopped func() bool), n int) {
		for i := 0; i < count; i++ {
			worker++
			id := worker
			rng := rand.New(rand.NewPCG(r.seed, uint64(phase*100+id)))
			wg.Add(1)
			go func() {
				defer wg.Done()
				fn(id, rng, n, stopped)
			}()
		}
	}
	never := func() bool { return r.failed.Load() }
	background := func(fn func(rng *rand.Rand)) {
		spawn(&bg, 1, func(_ int, rng *rand.Rand, _ int, stopped func() bool) {
			for !stopped() {
				fn(rng)
			}
		}, 0)
	}
	spawn(&data, 3, r.writer, 3*n)
	spawn(&data, 2, r.reader, 3*n)
	spawn(&data, 1, r.snapshotter, 3*n)
	spawn(&data, 1, r.historian, 3*n)
	background(r.gc)
	background(r.chaos)
	for i := 0; i < 2; i++ {
		worker++
		id := worker
		rng := rand.New(rand.NewPCG(r.seed, uint64(phase*100+id)))
		host.Add(1)
		go func() { defer host.Done(); r.loadEvict(id, rng, n, never) }()
	}
	worker++
	rng := rand.New(rand.NewPCG(r.seed, uint64(phase*100+worker)))
	host.Add(1)
	go func() { defer host.Done(); r.splitMerge(worker, rng, n, never) }()
	host.Wait()
	close(stop)
	data.Wait()
	bg.Wait()
}

func (r *concurrentRun) writer(id int, rng *rand.Rand, n int, stopped func() bool) {
	for i := 0; i < n && !stopped(); i++ {
		r.ops.Add(1)
		b := new(regioncache.Batch)
		ts := r.oracle.begin()
		value := fmt.Sprintf("w%d.%d@%d", id, i, ts)
		del := rng.IntN(5) == 0
		var keys []string
		switch rng.IntN(6) {
		case 0, 1:
			keys = r.groups[len(r.single)+rng.IntN(len(r.groups)-len(r.single))] // twins or spread
		default:
			keys = []string{r.single[rng.IntN(len(r.single))]}
		}
		for _, k := range keys {
			if del {
				b.Delete([]byte(k), ts)
			} else {
				b.Put([]byte(k), ts, []byte(value))
			}
			r.vlog.add(k, regState{ts: ts, found: !del, value: valueIf(!del, value)})
		}
		call := r.hist.now()
		err := r.e.Write(b)
		ret := r.hist.now()
		r.oracle.end(ts)
		if err != nil {
			r.errorf("write: %v", err)
			return
		}
		r.hist.add(id, regIn{group: r.slots[keys[0]].group, key: keys[0], write: true, ts: ts, found: !del, value: valueIf(!del, value)}, regOut{}, call, ret)
	}
}

type keySlot struct{ group, slot int }

// readOf is the model's input for a read of key k.
func (r *concurrentRun) readOf(k string) regIn {
	s := r.slots[k]
	return regIn{group: s.group, slot: s.slot, key: k}
}

func valueIf(ok bool, v string) string {
	if ok {
		return v
	}
	return ""
}

func (r *concurrentRun) reader(id int, rng *rand.Rand, n int, stopped func() bool) {
	for i := 0; i < n && !stopped(); i++ {
		r.ops.Add(1)
		if rng.IntN(3) == 0 {
			// Read every key of a spread group one after the other, in a
			// random order: a key read after another must not be older.
			// Checked here directly too: porcupine can take long to prove
			// a history of many multi-key batches illegal.
			g := r.groups[len(r.groups)-1-rng.IntN(len(r.groups)-len(r.single)-len(r.pairs))]
			var newest uint64
			var newestKey string
			for _, j := range rng.Perm(len(g)) {
				call := r.hist.now()
				res, err := r.e.Get([]byte(g[j]), farFuture)
				ret := r.hist.now()
				if err != nil {
					r.errorf("get: %v", err)
					return
				}
				r.hist.add(id, r.readOf(g[j]), regOut{found: res.Found, value: string(res.Value)}, call, ret)
				if !res.Found {
					continue // a delete marker's batch is not known by its value
				}
				ts := r.vlog.tsOf(g[j], string(res.Value))
				if ts < newest {
					r.errorf("read %q saw the batch at ts %d after a read of %q saw the batch at ts %d, which wrote both (%s)",
						g[j], ts, newestKey, newest, res.Source)
					return
				}
				newest, newestKey = ts, g[j]
			}
			continue
		}
		if rng.IntN(2) > 0 {
			k := r.all[rng.IntN(len(r.all))]
			call := r.hist.now()
			res, err := r.e.Get([]byte(k), farFuture)
			ret := r.hist.now()
			if err != nil {
				r.errorf("get: %v", err)
				return
			}
			r.hist.add(id, r.readOf(k), regOut{found: res.Found, value: string(res.Value)}, call, ret)
			continue
		}
		// A scan of a few keys: each key it covers is read once.
		i0 := rng.IntN(len(r.all))
		i1 := min(len(r.all), i0+1+rng.IntN(5))
		start := []byte(r.all[i0])
		var end []byte
		if i1 < len(r.all) {
			end = []byte(r.all[i1])
		}
		call := r.hist.now()
		res, err := r.e.Scan(start, end, farFuture, 0)
		ret := r.hist.now()
		if err != nil {
			r.errorf("scan: %v", err)
			return
		}
		got := map[string]string{}
		for _, kv := range res.Pairs {
			got[string(kv.Key)] = string(kv.Value)
		}
		for _, k := range r.all[i0:i1] {
			v, ok := got[k]
			r.hist.add(id, r.readOf(k), regOut{found: ok, value: v}, call, ret)
		}
	}
}

// snapshotter takes snapshots of current and stale descriptors, holds them
// while the others go on, reads every key of the region through them and
// checks that they are one moment.
func (r *concurrentRun) snapshotter(id int, rng *rand.Rand, n int, stopped func() bool) {
	type held struct {
		s         *regioncache.Snapshot
		call, ret int64
	}
	var snaps []held
	check := func(h held) bool {
		reg := h.s.Region()
		gets := map[string]string{}
		for _, k := range r.all {
			if !reg.Contains([]byte(k)) {
				continue
			}
			res, err := h.s.Get([]byte(k), 0)
			if err != nil {
				r.errorf("snapshot get: %v", err)
				return false
			}
			if res.Found {
				gets[k] = string(res.Value)
			}
			r.hist.add(id, r.readOf(k), regOut{found: res.Found, value: string(res.Value)}, h.call, h.ret)
		}
		for _, p := range r.pairs {
			if reg.Contains([]byte(p)) {
				a, aok := gets[p]
				b, bok := gets[p+"\x00"]
				if a != b || aok != bok {
					r.errorf("snapshot of %v is not one moment: twin keys %q=%q(%v) and %q=%q(%v), written together",
						reg, p, a, aok, p+"\x00", b, bok)
				}
			}
		}
		sc, err := h.s.Scan(reg.Start, reg.End, 0, 0)
		if err != nil {
			r.errorf("snapshot scan: %v", err)
			return false
		}
		seen := 0
		for _, kv := range sc.Pairs {
			if v, ok := gets[string(kv.Key)]; !ok || v != string(kv.Value) {
				r.errorf("snapshot of %v: scan has %q=%q, get has %q (found %v)", reg, kv.Key, kv.Value, v, ok)
			}
			seen++
		}
		if seen != len(gets) {
			r.errorf("snapshot of %v: scan found %d keys, gets %d", reg, seen, len(gets))
		}
		return true
	}
	for i := 0; i < n && !stopped(); i++ {
		r.ops.Add(1)
		if len(snaps) < 3 && rng.IntN(2) == 0 {
			reg := r.host.pick(rng, 20)
			call := r.hist.now()
			s, err := r.e.Snapshot(reg, farFuture)
			ret := r.hist.now()
			if err != nil {
				r.errorf("snapshot: %v", err)
				return
			}
			snaps = append(snaps, held{s: s, call: call, ret: ret})
			continue
		}
		if len(snaps) == 0 {
			continue
		}
		j := rng.IntN(len(snaps))
		if !check(snaps[j]) {
			return
		}
		if rng.IntN(2) == 0 {
			snaps[j].s.Release()
			snaps = append(snaps[:j], snaps[j+1:]...)
		}
	}
	for _, h := range snaps {
		check(h)
		h.s.Release()
	}
}

// historian reads at a past timestamp below every write in flight, where the
// answer is known exactly, whether it is served from memory or disk.
func (r *concurrentRun) historian(id int, rng *rand.Rand, n int, stopped func() bool) {
	for i := 0; i < n && !stopped(); i++ {
		r.ops.Add(1)
		r.oracle.mu.Lock()
		low := r.oracle.clock + 1
		for ts := range r.oracle.inflight {
			low = min(low, ts)
		}
		r.oracle.mu.Unlock()
		if low <= 1 {
			continue
		}
		ts := 1 + rng.Uint64N(low-1)
		k := r.all[rng.IntN(len(r.all))]
		res, err := r.e.Get([]byte(k), ts)
		if err != nil {
			r.errorf("get: %v", err)
			return
		}
		want := r.vlog.at(k, ts)
		if res.Found != want.found || string(res.Value) != want.value {
			r.errorf("get %q at ts %d (safe point %d): got found=%v %q from %v, want found=%v %q",
				k, ts, r.e.SafePoint(), res.Found, res.Value, res.Source, want.found, want.value)
		}
	}
}

var evictReasonsForTest = []regioncache.EvictReason{regioncache.EvictManual, regioncache.EvictAutoEvict, regioncache.EvictMemoryLimitReached,
	regioncache.EvictBecomeFollower, regioncache.EvictMerge, regioncache.EvictApplySnapshot}

func (r *concurrentRun) loadEvict(id int, rng *rand.Rand, n int, stopped func() bool) {
	for i := 0; i < n && !stopped(); i++ {
		r.ops.Add(1)
		reg := r.host.pick(rng, 25)
		if rng.IntN(5) > 0 {
			if _, err := r.e.Load(reg); err != nil && !errors.Is(err, regioncache.ErrLoadRejected) {
				r.errorf("load %v: %v", reg, err)
				return
			}
			continue
		}
		if _, err := r.e.Evict(reg, evictReasonsForTest[rng.IntN(len(evictReasonsForTest))]); err != nil {
			r.errorf("evict %v: %v", reg, err)
			return
		}
		time.Sleep(time.Duration(rng.IntN(2000)) * time.Microsecond)
	}
}

func (r *concurrentRun) splitMerge(id int, rng *rand.Rand, n int, stopped func() bool) {
	for i := 0; i < n/3 && !stopped(); i++ {
		r.ops.Add(1)
		if err := r.host.change(r.e, rng); err != nil {
			r.errorf("%v", err)
			return
		}
		time.Sleep(time.Duration(2000+rng.IntN(6000)) * time.Microsecond)
	}
}

func (r *concurrentRun) gc(rng *rand.Rand) {
	r.ops.Add(1)
	if err := r.e.GC(r.oracle.safePoint(uint64(rng.IntN(20)))); err != nil {
		r.errorf("gc: %v", err)
	}
	time.Sleep(time.Duration(1+rng.IntN(3)) * time.Millisecond)
}

func (r *concurrentRun) chaos(rng *rand.Rand) {
	r.ops.Add(1)
	fp := failpoint.Names[rng.IntN(len(failpoint.Names))]
	actions := []string{"error", "panic", "delay:1ms", "off", "off", "off", "off", "pause"}
	a := actions[rng.IntN(len(actions))]
	if err := testutil.Hooks(r.e).Failpoint(fp, a); err != nil {
		r.errorf("failpoint: %v", err)
	}
	if a == "pause" {
		time.Sleep(time.Duration(1+rng.IntN(3)) * time.Millisecond)
		if err := testutil.Hooks(r.e).Failpoint(fp, "resume"); err != nil {
			r.errorf("failpoint: %v", err)
		}
	}
	time.Sleep(time.Duration(2+rng.IntN(10)) * time.Millisecond)
	if a != "off" {
		_ = testutil.Hooks(r.e).Failpoint(fp, "off")
	}
	time.Sleep(time.Duration(5+rng.IntN(20)) * time.Millisecond)
}
