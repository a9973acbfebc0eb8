package memstore_test

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/regioncache/regioncache/internal/memstore"
	"github.com/regioncache/regioncache/internal/mvcc"
)

// disk is the plainest MVCC store there is, standing for the disk engine
// in the store's model test: key -> ts -> version, nothing ever dropped.
type disk map[string]map[uint64]mvcc.Version

func (d disk) set(v mvcc.Version) {
	vs := d[string(v.Key)]
	if vs == nil {
		vs = map[uint64]mvcc.Version{}
		d[string(v.Key)] = vs
	}
	c := mvcc.Version{Key: bytes.Clone(v.Key), Ts: v.Ts, Tombstone: v.Tombstone}
	if !v.Tombstone {
		c.Value = bytes.Clone(v.Value)
	}
	vs[v.Ts] = c
}

func (d disk) clone() disk {
	out := disk{}
	for k, vs := range d {
		out[k] = map[uint64]mvcc.Version{}
		for ts, v := range vs {
			out[k][ts] = v
		}
	}
	return out
}

// newest is the newest version of key at or below ts.
func (d disk) newest(key string, ts uint64) (mvcc.Version, bool) {
	var best mvcc.Version
	found := false
	for vts, v := range d[key] {
		if vts <= ts && (!found || vts > best.Ts) {
			best, found = v, true
		}
	}
	return best, found
}

func (d disk) get(key string, ts uint64) (string, bool) {
	v, ok := d.newest(key, ts)
	if !ok || v.Tombstone {
		return "", false
	}
	return string(v.Value), true
}

func (d disk) scan(start, end string, ts uint64) []string {
	var keys []string
	for k := range d {
		if k >= start && (end == "" || k < end) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var out []string
	for _, k := range keys {
		if v, ok := d.get(k, ts); ok {
			out = append(out, k+"="+v)
		}
	}
	return out
}

// sortedVersions lists every version of [start, end) in run order.
func (d disk) sortedVersions(start, end string) []mvcc.Version {
	var out []mvcc.Version
	for k, vs := range d {
		if k < start || (end != "" && k >= end) {
			continue
		}
		for _, v := range vs {
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(a, b mvcc.Version) int {
		if c := bytes.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		return cmp.Compare(b.Ts, a.Ts)
	})
	return out
}

// buildRun loads versions into a run as a loader does.
func buildRun(t *testing.T, vs []mvcc.Version, safePoint uint64, reserve memstore.ReserveFunc) *memstore.Run {
	t.Helper()
	b := memstore.NewRunBuilder(safePoint, reserve)
	for _, v := range vs {
		if _, err := b.Add(v.Key, v.Ts, v.Value, v.Tombstone); err != nil {
			t.Fatal(err)
		}
	}
	r, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func scanStrings(v *memstore.View, start, end string, ts uint64) []string {
	var out []string
	v.Scan([]byte(start), []byte(end), ts, func(k, val []byte) bool {
		out = append(out, string(k)+"="+string(val))
		return true
	})
	return out
}

// held is a snapshot view with the disk it must keep answering as.
type held struct {
	view      *memstore.View
	disk      disk
	safePoint uint64
	lo, hi    string
}

// storeRig runs one random history against a store and the disk model.
type storeRig struct {
	t         *testing.T
	rng       *rand.Rand
	disk      disk
	store     *memstore.Store
	lo, hi    string
	safePoint uint64
	ts        uint64
	snaps     []held
	// account is the reserved bytes of every run alive, as the data plane
	// would account them: each run once, whatever its holders.
	account int64
	runs    map[*memstore.Run]bool
	pending *pendingCompaction
}

type pendingCompaction struct {
	from      *memstore.View
	safePoint uint64
}

func (r *storeRig) reserve(n int64) error { r.account += n; return nil }

func (r *storeRig) dropRun(run *memstore.Run) {
	if run == nil {
		return
	}
	if !r.runs[run] {
		r.t.Fatalf("a run freed twice or never built")
	}
	delete(r.runs, run)
	r.account -= run.Bytes()
}

func (r *storeRig) key() string { return fmt.Sprintf("k%02d", r.rng.IntN(40)) }

func (r *storeRig) inRange(k string) bool { return k >= r.lo && (r.hi == "" || k < r.hi) }

// write applies a batch as the data plane does: the versions above the safe
// point are written as one batch; the keys written at or below it are
// rebased from the disk as the batch left it.
func (r *storeRig) write(batch ...mvcc.Version) {
	var set []mvcc.Mutation
	var rebase [][]byte
	var bases []*mvcc.Version
	var need int64
	for _, v := range batch {
		r.disk.set(v)
	}
	for _, v := range batch {
		if !r.inRange(string(v.Key)) {
			continue
		}
		if v.Ts > r.safePoint {
			set = append(set, v)
			need += memstore.VersionBytes(v.Key, v.Value, v.Tombstone)
			continue
		}
		rebase = append(rebase, v.Key)
		need += memstore.HideBytes(v.Key)
		if base, ok := r.disk.newest(string(v.Key), r.safePoint); ok {
			bases = append(bases, &base)
			need += memstore.VersionBytes(base.Key, base.Value, base.Tombstone)
		} else {
			bases = append(bases, nil)
		}
	}
	before := r.store.WriteBytes()
	d := r.store.Write(set)
	d += r.store.Rebase(rebase, r.safePoint, bases)
	if grew := r.store.WriteBytes() - before; grew != d || grew > need {
		r.t.Fatalf("a batch of %d versions changed the write layer's account by %d (returned %d), %d reserved", len(batch), grew, d, need)
	}
}

// batch is 1 to 6 versions from gen; now and then the same key and ts
// twice, the later winning as on disk.
func (r *storeRig) batch(gen func() mvcc.Version) []mvcc.Version {
	out := make([]mvcc.Version, 1+r.rng.IntN(6))
	for i := range out {
		out[i] = gen()
		if i > 0 && r.rng.IntN(8) == 0 {
			out[i].Key, out[i].Ts = out[i-1].Key, out[i-1].Ts
		}
	}
	return out
}

func (r *storeRig) check(v *memstore.View, d disk, sp uint64, lo, hi, when string) {
	r.t.Helper()
	for i := 0; i < 6; i++ {
		k := r.key()
		if k < lo || (hi != "" && k >= hi) {
			continue
		}
		ts := sp + 1 + uint64(r.rng.IntN(int(r.ts-sp)+2))
		got, gok := v.Get([]byte(k), ts)
		want, wok := d.get(k, ts)
		if gok != wok || string(got) != want {
			r.t.Fatalf("%s: Get(%s, %d) = %q %v, want %q %v", when, k, ts, got, gok, want, wok)
		}
	}
	// Keys outside every key's common prefix, and a proper prefix of it.
	for _, k := range []string{"", "a", "k", "k0", "k9~", "z"} {
		if _, ok := v.Get([]byte(k), r.ts+1); ok {
			r.t.Fatalf("%s: Get(%q) found a key never written", when, k)
		}
	}
	ts := sp + 1 + uint64(r.rng.IntN(int(r.ts-sp)+2))
	start, end := r.key(), r.key()
	if start > end {
		start, end = end, start
	}
	start = max(start, lo)
	if hi != "" && end > hi {
		end = hi
	}
	if r.rng.IntN(4) == 0 {
		end = hi
	}
	if got, want := scanStrings(v, start, end, ts), d.scan(start, end, ts); !slices.Equal(got, want) {
		r.t.Fatalf("%s: Scan(%s, %s, %d) = %v, want %v", when, start, end, ts, got, want)
	}
	r.checkAppendScan(v, d, start, end, ts, when)
	// Every version the view shows is the disk's; every disk version above
	// the safe point is shown.
	shown := map[string]bool{}
	v.Versions([]byte(lo), []byte(hi), func(mv mvcc.Version) bool {
		dv, ok := d[string(mv.Key)][mv.Ts]
		if !ok || dv.Tombstone != mv.Tombstone || !bytes.Equal(dv.Value, mv.Value) {
			r.t.Fatalf("%s: the view holds %s@%d (%q, delete %v), the disk %+v", when, mv.Key, mv.Ts, mv.Value, mv.Tombstone, dv)
		}
		shown[fmt.Sprintf("%s@%d", mv.Key, mv.Ts)] = true
		return true
	})
	for _, dv := range d.sortedVersions(lo, hi) {
		if dv.Ts > sp && !shown[fmt.Sprintf("%s@%d", dv.Key, dv.Ts)] {
			r.t.Fatalf("%s: the view lacks %s@%d", when, dv.Key, dv.Ts)
		}
	}
}

// checkAppendScan: AppendScan appends what Scan finds, up to a limit that
// counts what dst held already, steps over as many versions as Scan
// stopping there, and returns copies the caller owns: capped, and free to
// overwrite without changing the view.
func (r *storeRig) checkAppendScan(v *memstore.View, d disk, start, end string, ts uint64, when string) {
	r.t.Helper()
	var dst []mvcc.KV
	if r.rng.IntN(2) == 0 {
		dst = []mvcc.KV{{Key: []byte("held"), Value: []byte("before")}}
	}
	held := len(dst)
	want := d.scan(start, end, ts)
	limit := r.rng.IntN(5) // 0: no limit
	if limit > 0 {
		want = want[:min(limit, len(want))]
		limit += held
	}
	seen := 0
	wantStepped := v.Scan([]byte(start), []byte(end), ts, func(k, val []byte) bool {
		seen++
		return limit == 0 || seen < limit-held
	})
	out, stepped := v.AppendScan(dst, []byte(start), []byte(end), ts, limit)
	if held > 0 && (len(out) < held || string(out[0].Key) != "held" || string(out[0].Value) != "before") {
		r.t.Fatalf("%s: AppendScan lost the pairs dst held: %q", when, out)
	}
	var got []string
	for _, kv := range out[held:] {
		if cap(kv.Key) != len(kv.Key) || cap(kv.Value) != len(kv.Value) {
			r.t.Fatalf("%s: AppendScan returned %q=%q with room after it (caps %d, %d)", when, kv.Key, kv.Value, cap(kv.Key), cap(kv.Value))
		}
		got = append(got, string(kv.Key)+"="+string(kv.Value))
	}
	if !slices.Equal(got, want) {
		r.t.Fatalf("%s: AppendScan(%s, %s, %d, limit %d) = %v, want %v", when, start, end, ts, limit, got, want)
	}
	if stepped != wantStepped {
		r.t.Fatalf("%s: AppendScan(%s, %s, %d, limit %d) stepped over %d versions, Scan %d", when, start, end, ts, limit, stepped, wantStepped)
	}
	for _, kv := range out[held:] {
		for i := range kv.Key {
			kv.Key[i] = '!'
		}
		for i := range kv.Value {
			kv.Value[i] = '!'
		}
	}
	if again, all := scanStrings(v, start, end, ts), d.scan(start, end, ts); !slices.Equal(again, all) {
		r.t.Fatalf("%s: overwriting AppendScan's pairs changed the view: %v, want %v", when, again, all)
	}
}

func (r *storeRig) finishCompaction() {
	p := r.pending
	r.pending = nil
	run, err := memstore.Compact(p.from, p.safePoint, r.reserve, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	r.runs[run] = true
	old, _, ok := r.store.Install(p.from, run)
	if !ok {
		r.dropRun(run.Release())
	} else {
		r.dropRun(old.Release())
	}
	r.dropRun(p.from.Release())
}

// TestStoreAgainstModel drives 120 random histories (batches above and
// below the safe point, versions written again at their ts, within a batch
// and across batches, GC, snapshots, splits) against a store and a plain
// map, with compactions started and installed at random points, and checks
// reads, versions, snapshots, the account and the write layer's invariants
// after every step.
func TestStoreAgainstModel(t *testing.T) {
	for seed := uint64(1); seed <= 120; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runStoreModel(t, seed) })
	}
}

func runStoreModel(t *testing.T, seed uint64) {
	r := &storeRig{t: t, rng: rand.New(rand.NewPCG(seed, 7)), disk: disk{}, runs: map[*memstore.Run]bool{}}
	if seed%2 == 1 {
		// Odd histories let compactions share their base run's arena
		// whenever they may (the model's runs are far below the size
		// from which the engine shares).
		defer memstore.SetShareMinVersions(1)()
	}
	// The loaded data: a few versions per key, GC'd at the load's safe point.
	for i := 0; i < 200; i++ {
		r.ts++
		v := mvcc.Version{Key: []byte(r.key()), Ts: r.ts, Value: []byte(fmt.Sprint("v", r.ts))}
		if r.rng.IntN(6) == 0 {
			v.Value, v.Tombstone = nil, true
		}
		r.disk.set(v)
	}
	r.safePoint = uint64(r.rng.IntN(100))
	run := buildRun(t, r.disk.sortedVersions("", ""), r.safePoint, r.reserve)
	r.runs[run] = true
	r.store = memstore.NewStore()
	r.store.SetBase(run, nil, nil)
	r.check(&r.store.View, r.disk, r.safePoint, r.lo, r.hi, "after load")

	for step := 0; step < 150; step++ {
		when := fmt.Sprintf("seed %d step %d", seed, step)
		switch op := r.rng.IntN(20); {
		case op < 9: // a batch above the safe point
			r.write(r.batch(func() mvcc.Version {
				r.ts++
				v := mvcc.Version{Key: []byte(r.key()), Ts: r.ts, Value: []byte(fmt.Sprint("w", r.ts))}
				if r.rng.IntN(5) == 0 {
					v.Value, v.Tombstone = nil, true
				}
				return v
			})...)
		case op < 11: // a batch at or below the safe point, some of it above
			if r.safePoint == 0 {
				continue
			}
			r.write(r.batch(func() mvcc.Version {
				v := mvcc.Version{Key: []byte(r.key()), Ts: 1 + uint64(r.rng.IntN(int(r.safePoint))), Value: []byte(fmt.Sprint("old", step))}
				if r.rng.IntN(3) == 0 {
					r.ts++
					v.Ts = r.ts
				}
				if r.rng.IntN(4) == 0 {
					v.Value, v.Tombstone = nil, true
				}
				return v
			})...)
		case op < 13: // GC: the safe point advances
			r.safePoint = max(r.safePoint, r.ts-uint64(r.rng.IntN(20)))
			r.store.GCWrites(r.safePoint)
		case op < 15: // a compaction starts, or the one running ends
			if r.pending == nil {
				r.pending = &pendingCompaction{from: r.store.Snapshot(), safePoint: r.safePoint}
			} else {
				r.finishCompaction()
			}
		case op < 17: // a snapshot is taken, or the oldest released
			if r.rng.IntN(2) == 0 || len(r.snaps) == 0 {
				r.snaps = append(r.snaps, held{view: r.store.Snapshot(), disk: r.disk.clone(), safePoint: r.safePoint, lo: r.lo, hi: r.hi})
			} else {
				r.dropRun(r.snaps[0].view.Release())
				r.snaps = r.snaps[1:]
			}
		case op < 18: // a split: the store keeps one side, sharing the run
			mid := r.key()
			if mid <= r.lo || (r.hi != "" && mid >= r.hi) {
				continue
			}
			lo, hi := r.lo, mid
			if r.rng.IntN(2) == 0 {
				lo, hi = mid, r.hi
			}
			child := r.store.Split([]byte(lo), []byte(hi))
			sibling := r.store.Split([]byte(r.lo), []byte(r.hi)) // stands for the other child, dropped at once
			r.dropRun(sibling.Release())
			r.dropRun(r.store.Release())
			r.store, r.lo, r.hi = child, lo, hi
			if r.pending != nil {
				// A compaction of the parent ends after the split: it
				// installs into the child, bounded to the child's range.
				r.finishCompaction()
			}
		case op < 19: // versions already written (loaded or not), written again with a new value
			vs := r.disk.sortedVersions(r.lo, r.hi)
			if len(vs) == 0 {
				continue
			}
			r.write(r.batch(func() mvcc.Version {
				v := vs[r.rng.IntN(len(vs))]
				v = mvcc.Version{Key: v.Key, Ts: v.Ts, Value: []byte(fmt.Sprint("again", step))}
				if r.rng.IntN(4) == 0 {
					v.Value, v.Tombstone = nil, true
				}
				return v
			})...)
		default:
		}
		r.check(&r.store.View, r.disk, r.safePoint, r.lo, r.hi, when)
		for i, s := range r.snaps {
			r.check(s.view, s.disk, s.safePoint, s.lo, s.hi, fmt.Sprintf("%s snapshot %d", when, i))
		}
		r.checkAccount(when)
		if err := memstore.CheckWriteLayer(r.store); err != nil {
			t.Fatalf("%s: %v", when, err)
		}
	}
	if r.pending != nil {
		r.finishCompaction()
	}
	for _, s := range r.snaps {
		r.dropRun(s.view.Release())
	}
	r.dropRun(r.store.Release())
	if r.account != 0 || len(r.runs) != 0 {
		t.Fatalf("after every holder let go: %d bytes and %d runs still accounted", r.account, len(r.runs))
	}
}

// checkAccount: what the builders reserved is what the live runs hold.
func (r *storeRig) checkAccount(when string) {
	r.t.Helper()
	var sum int64
	for run := range r.runs {
		if run.Refs() <= 0 {
			r.t.Fatalf("%s: a run with %d holders is still accounted", when, run.Refs())
		}
		sum += run.Bytes()
	}
	if sum != r.account {
		r.t.Fatalf("%s: runs hold %d bytes, %d accounted", when, sum, r.account)
	}
}

func TestRunBuilderRefusesDisorderAndStopsAtItsReservation(t *testing.T) {
	b := memstore.NewRunBuilder(0, nil)
	if _, err := b.Add([]byte("b"), 5, []byte("x"), false); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct {
		key string
		ts  uint64
	}{{"a", 9}, {"b", 5}, {"b", 6}} {
		if _, err := b.Add([]byte(bad.key), bad.ts, nil, false); !errors.Is(err, memstore.ErrOutOfOrder) {
			t.Errorf("Add(%s, %d) after (b, 5): %v, want ErrOutOfOrder", bad.key, bad.ts, err)
		}
	}

	full := errors.New("full")
	var used int64
	const capacity = 64 << 10
	b = memstore.NewRunBuilder(0, func(n int64) error {
		if used+n > capacity {
			return full
		}
		used += n
		return nil
	})
	var err error
	for i := 0; err == nil; i++ {
		_, err = b.Add([]byte(fmt.Sprintf("key%08d", i)), 1, bytes.Repeat([]byte("v"), 100), false)
		if used > capacity {
			t.Fatalf("reserved %d bytes past a capacity of %d", used, capacity)
		}
	}
	if !errors.Is(err, full) {
		t.Fatalf("a build past its reservation: %v", err)
	}
	b.Abort()
	if used != 0 {
		t.Fatalf("an aborted build keeps %d bytes reserved", used)
	}
}

func TestRunBytesAreExact(t *testing.T) {
	var reserved int64
	b := memstore.NewRunBuilder(0, func(n int64) error { reserved += n; return nil })
	for i := 0; i < 100_000; i++ {
		key := []byte(fmt.Sprintf("key%08d", i/3))
		if _, err := b.Add(key, uint64(10-i%3), bytes.Repeat([]byte{'v'}, 1+i%200), i%50 == 0); err != nil {
			t.Fatal(err)
		}
	}
	run, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if run.Bytes() != reserved || run.Len() != 100_000 || run.Refs() != 1 {
		t.Fatalf("run: %d bytes (reserved %d), %d versions, %d refs", run.Bytes(), reserved, run.Len(), run.Refs())
	}
	// Keys are stored once for all their versions: the arena holds about
	// a third of the keys' bytes plus the values.
	var logical int64
	for i := 0; i < 100_000; i++ {
		logical += 1 + int64(i%200)
	}
	logical += int64(100_000/3+1) * 11
	if over := float64(run.Bytes()) / float64(logical+32*100_000); over > 1.05 || over < 1 {
		t.Fatalf("run bytes %d for %d bytes of data and index (%.3f)", run.Bytes(), logical+32*100_000, over)
	}
}

// TestViewsReadWhileTheOwnerWritesAndCompacts reads snapshot views from
// several goroutines while the owner writes, compacts and installs (run
// with -race): a view never changes, whatever the store does.
func TestViewsReadWhileTheOwnerWritesAndCompacts(t *testing.T) {
	d := disk{}
	for i := 0; i < 2000; i++ {
		d.set(mvcc.Version{Key: []byte(fmt.Sprintf("k%04d", i%500)), Ts: uint64(1 + i), Value: []byte(fmt.Sprint(i))})
	}
	s := memstore.NewStore()
	s.SetBase(buildRun(t, d.sortedVersions("", ""), 0, nil), nil, nil)
	const readers = 4
	done := make(chan error, readers)
	for g := 0; g < readers; g++ {
		view, want := s.Snapshot(), d.scan("", "", 1<<40)
		go func() {
			var err error
			for i := 0; i < 200 && err == nil; i++ {
				if got := scanStrings(view, "", "", 1<<40); !slices.Equal(got, want) {
					err = fmt.Errorf("a view changed: %d pairs, want %d", len(got), len(want))
				}
			}
			view.Release()
			done <- err
		}()
	}
	ts := uint64(5000)
	for round := 0; round < 20; round++ {
		var batch []mvcc.Mutation
		for i := 0; i < 300; i++ {
			ts++
			batch = append(batch, mvcc.Version{Key: []byte(fmt.Sprintf("k%04d", (i*7+round)%600)), Ts: ts, Value: []byte("new")})
			if len(batch) == 30 {
				s.Write(batch)
				batch = nil
			}
		}
		from := s.Snapshot()
		run, err := memstore.Compact(from, ts-100, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		old, _, ok := s.Install(from, run)
		if !ok {
			t.Fatal("install refused with no other install in between")
		}
		old.Release()
		from.Release()
	}
	for g := 0; g < readers; g++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// TestCompactionSharesTheArenaOnlyWhenItKeepsIt: folding writes into a
// large run that GC leaves whole copies the index and the written bytes, not
// the run's keys and values; a compaction whose GC drops base versions, or
// of a split child's part of a run, copies what it keeps, so the memory of
// what it drops is freed.
func TestCompactionSharesTheArenaOnlyWhenItKeepsIt(t *testing.T) {
	const keys = 20_000
	value := bytes.Repeat([]byte{'v'}, 100)
	var vs []mvcc.Version
	for i := 0; i < keys; i++ {
		k := []byte(fmt.Sprintf("key%021d", i))
		vs = append(vs, mvcc.Version{Key: k, Ts: 20, Value: value}, mvcc.Version{Key: k, Ts: 10, Value: value})
	}
	base := buildRun(t, vs, 0, nil)
	s := memstore.NewStore()
	s.SetBase(base, nil, nil)
	var written []mvcc.Mutation
	for i := 0; i < keys; i += 10 {
		written = append(written, mvcc.Version{Key: []byte(fmt.Sprintf("key%021d", i)), Ts: 30, Value: []byte("new")})
	}
	s.Write(written)
	compact := func(v *memstore.View, safePoint uint64) (*memstore.Run, int64) {
		var reserved int64
		run, err := memstore.Compact(v, safePoint, func(n int64) error { reserved += n; return nil }, nil)
		if err != nil {
			t.Fatal(err)
		}
		if run.Bytes() != reserved {
			t.Fatalf("run holds %d bytes, %d reserved", run.Bytes(), reserved)
		}
		return run, reserved
	}
	// Writes only (GC at 5 drops nothing): shared.
	from := s.Snapshot()
	shared, _ := compact(from, 5)
	if want := 2*keys + keys/10; shared.Len() != want {
		t.Fatalf("shared run: %d versions, want %d", shared.Len(), want)
	}
	if g := shared.Garbage(); g != 0 {
		t.Fatalf("shared run: %d bytes of garbage, want none", g)
	}
	// It reads the base's keys and values where they are, and holds
	// beyond the base only the index records it adds and the written bytes.
	if !memstore.ArenaShared(base, shared) {
		t.Fatal("a compaction that keeps its whole base run copied its arena")
	}
	if extra, limit := shared.Bytes()-base.Bytes(), int64((shared.Len()-base.Len())*32+keys/10*4+512); extra > limit {
		t.Fatalf("shared run: %d bytes beyond the base's %d, want at most %d", extra, base.Bytes(), limit)
	}
	wantAll := scanStrings(from, "", "", 1<<40)
	old, _, ok := s.Install(from, shared)
	if !ok {
		t.Fatal("install refused")
	}
	old.Release()
	from.Release()
	if got := scanStrings(&s.View, "", "", 1<<40); !slices.Equal(got, wantAll) {
		t.Fatalf("after the shared compaction: %d pairs, want %d", len(got), len(wantAll))
	}
	for _, ts := range []uint64{15, 25, 35} {
		for _, i := range []int{0, 1, 10, keys - 1} {
			k := []byte(fmt.Sprintf("key%021d", i))
			got, found := s.Get(k, ts)
			want := string(value)
			if ts > 30 && i%10 == 0 {
				want = "new"
			}
			if !found || string(got) != want {
				t.Fatalf("get %s at %d: %q %v, want %q", k, ts, got, found, want)
			}
		}
	}
	// GC at 25 drops every ts-10 version: copied, and much smaller.
	from = s.Snapshot()
	gced, _ := compact(from, 25)
	from.Release()
	if memstore.ArenaShared(shared, gced) || gced.Garbage() != 0 || gced.Len() != keys+keys/10 || gced.Bytes() >= shared.Bytes()*2/3 {
		t.Fatalf("GC'd run: %d versions, %d bytes (shared run %d), %d garbage", gced.Len(), gced.Bytes(), shared.Bytes(), gced.Garbage())
	}
	// A split child's part of the run: copied, its own size.
	child := s.Split([]byte(fmt.Sprintf("key%021d", keys/2)), nil)
	from = child.Snapshot()
	part, _ := compact(from, 5)
	from.Release()
	if memstore.ArenaShared(shared, part) || part.Bytes() >= shared.Bytes()*2/3 {
		t.Fatalf("a half's run holds %d bytes of the whole's %d", part.Bytes(), shared.Bytes())
	}
	child.Release()
	for _, r := range []*memstore.Run{gced, part} {
		r.Release()
	}
}

// TestRecordPrefixesFollowWhatTheKeysShare: a builder told the region's
// bounds takes record prefixes after what the bounds share, but when the
// keys share more (wide bounds, dense keys) the prefixes would all be equal
// and every probe would read the arena; the run then takes them after what
// its keys share.
func TestRecordPrefixesFollowWhatTheKeysShare(t *testing.T) {
	for _, c := range []struct {
		start, end, want string
	}{
		{"t/", "t0", "t/000000000000000000"},                                         // wide bounds: the keys' own prefix
		{"t/000000000000000000000", "t/000000000000000000:", "t/000000000000000000"}, // tight bounds: theirs
		{"", "", "t/000000000000000000"},                                             // unbounded
	} {
		b := memstore.NewRunBuilder(0, nil)
		b.Within([]byte(c.start), []byte(c.end))
		for i := 0; i < 1000; i++ {
			if _, err := b.Add([]byte(fmt.Sprintf("t/%021d", i)), 5, []byte("v"), false); err != nil {
				t.Fatal(err)
			}
		}
		run, err := b.Finish()
		if err != nil {
			t.Fatal(err)
		}
		if got := string(memstore.CommonPrefix(run)); got != c.want {
			t.Errorf("within [%q, %q): prefixes after %q, want after %q", c.start, c.end, got, c.want)
		}
		s := memstore.NewStore()
		s.SetBase(run, nil, nil)
		for _, i := range []int{0, 1, 500, 999} {
			if v, ok := s.Get([]byte(fmt.Sprintf("t/%021d", i)), 9); !ok || string(v) != "v" {
				t.Fatalf("within [%q, %q): key %d not found", c.start, c.end, i)
			}
		}
	}
}

// TestItemsOfEveryLengthReadBack: keys and values of the lengths where the
// arena's encoding changes (a one- and a two-byte length, the longest a
// record's address holds and past it, an item in a chunk of its own) read
// back exactly through Get, Scan, AppendScan and Versions, in a loaded run
// and in a compaction of it over a write layer that shares its arena.
func TestItemsOfEveryLengthReadBack(t *testing.T) {
	defer memstore.SetShareMinVersions(1)()
	lengths := []int{0, 1, 127, 128, 129, 4094, 4095, 4096, 16383, 16384, 70_000, 300_000}
	d := disk{}
	var vs []mvcc.Version
	for i, n := range lengths {
		for j, m := range []int{1, 127, 128, 4095, 5000} {
			key := append(bytes.Repeat([]byte{'k'}, m), fmt.Sprintf("%02d", i)...)
			v := mvcc.Version{Key: key, Ts: uint64(10 - j), Value: bytes.Repeat([]byte{byte('a' + j)}, n)}
			vs = append(vs, v)
			d.set(v)
		}
	}
	slices.SortFunc(vs, func(a, b mvcc.Version) int {
		if c := bytes.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		return cmp.Compare(b.Ts, a.Ts)
	})
	s := memstore.NewStore()
	s.SetBase(buildRun(t, vs, 0, nil), nil, nil)
	verify := func(when string) {
		t.Helper()
		for _, v := range vs {
			got, ok := s.Get(v.Key, v.Ts)
			if !ok || !bytes.Equal(got, v.Value) {
				t.Fatalf("%s: Get(%d-byte key, %d) = %d bytes %v, want %d", when, len(v.Key), v.Ts, len(got), ok, len(v.Value))
			}
		}
		for ts := uint64(5); ts <= 11; ts++ {
			want := d.scan("", "", ts)
			if got := scanStrings(&s.View, "", "", ts); !slices.Equal(got, want) {
				t.Fatalf("%s: Scan at %d differs from the model", when, ts)
			}
			out, _ := s.AppendScan(nil, nil, nil, ts, 0)
			got := make([]string, len(out))
			for i, kv := range out {
				got[i] = string(kv.Key) + "=" + string(kv.Value)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("%s: AppendScan at %d differs from the model", when, ts)
			}
		}
		var i int
		s.Versions(nil, nil, func(v mvcc.Version) bool {
			if w := vs[i]; !bytes.Equal(v.Key, w.Key) || v.Ts != w.Ts || !bytes.Equal(v.Value, w.Value) {
				t.Fatalf("%s: version %d is %d-byte key at %d, want %d-byte key at %d", when, i, len(v.Key), v.Ts, len(w.Key), w.Ts)
			}
			i++
			return true
		})
	}
	verify("loaded")
	// A write, then a compaction that shares the loaded run's arena.
	w := mvcc.Version{Key: []byte("kk00"), Ts: 20, Value: bytes.Repeat([]byte{'w'}, 4095)}
	s.Write([]mvcc.Mutation{w})
	d.set(w)
	vs = append([]mvcc.Version{w}, vs...)
	slices.SortFunc(vs, func(a, b mvcc.Version) int {
		if c := bytes.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		return cmp.Compare(b.Ts, a.Ts)
	})
	from := s.Snapshot()
	run, err := memstore.Compact(from, 0, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !memstore.ArenaShared(from.Base(), run) {
		t.Fatal("the compaction copied the run instead of sharing its arena")
	}
	old, _, ok := s.Install(from, run)
	if !ok {
		t.Fatal("install refused")
	}
	old.Release()
	from.Release()
	verify("compacted")
}

// TestSeeksThroughTheFence: a run large enough for its seeks to go through
// the fence (every 64th record's prefix), with keys that share their first
// 8 bytes after the common prefix (equal record prefixes across many fence
// entries) and keys with up to 300 versions (one key across several
// entries), answers Get and AppendScan from every kind of start as the
// model does, within the whole run and within a split child's bounds.
func TestSeeksThroughTheFence(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	d := disk{}
	var keys []string
	for i := 0; i < 400; i++ {
		k := fmt.Sprintf("k%04d", i*10)
		if i%3 == 0 {
			k = fmt.Sprintf("k0000same%04d", i) // the same 8 bytes after "k"
		}
		keys = append(keys, k)
		versions := 1 + rng.IntN(8)
		if i%50 == 0 {
			versions = 300
		}
		for v := 0; v < versions; v++ {
			ver := mvcc.Version{Key: []byte(k), Ts: uint64(1 + rng.IntN(1000)), Value: []byte(fmt.Sprint(k, "@", v))}
			if rng.IntN(10) == 0 {
				ver.Value, ver.Tombstone = nil, true
			}
			d.set(ver)
		}
	}
	vs := d.sortedVersions("", "")
	run := buildRun(t, vs, 0, nil)
	if run.Len() < 1000 || memstore.FenceLen(run) < run.Len()/64 {
		t.Fatalf("%d versions, %d fence entries", run.Len(), memstore.FenceLen(run))
	}
	// Every seek a read can make (at each version, just above and below
	// it, and just after its key), over the whole run and random parts of
	// it, lands where a plain binary search does.
	for _, v := range vs {
		for _, probe := range []struct {
			key []byte
			ts  uint64
		}{{v.Key, v.Ts}, {v.Key, v.Ts + 1}, {v.Key, v.Ts - 1}, {v.Key, mvcc.MaxTS}, {append(bytes.Clone(v.Key), 0), mvcc.MaxTS}} {
			lo, hi := 0, run.Len()
			if rng.IntN(2) == 0 {
				lo = rng.IntN(run.Len())
				hi = lo + rng.IntN(run.Len()-lo+1)
			}
			if fenced, plain := memstore.SeekBothWays(run, probe.key, probe.ts, lo, hi); fenced != plain {
				t.Fatalf("seek(%q, %d) in [%d, %d): %d through the fence, %d without", probe.key, probe.ts, lo, hi, fenced, plain)
			}
		}
	}
	for _, bounds := range [][2]string{{"", ""}, {"k0000same0100", "k2500"}} {
		s := memstore.NewStore()
		s.SetBase(run.Ref(), []byte(bounds[0]), []byte(bounds[1]))
		starts := append([]string{"", "a", "k", "k0000", "k0000same", "k0000same9999", "k00001", "k9999", "z"}, keys...)
		for _, start := range starts {
			for _, suffix := range []string{"", "\x00", "0"} {
				start := start + suffix
				ts := uint64(1 + rng.IntN(1001))
				lo, hi := max(start, bounds[0]), bounds[1]
				if hi != "" && lo >= hi {
					continue
				}
				want, wok := d.get(start, ts)
				if start < bounds[0] || (hi != "" && start >= hi) {
					want, wok = "", false
				}
				if got, ok := s.Get([]byte(start), ts); ok != wok || string(got) != want {
					t.Fatalf("bounds %q: Get(%q, %d) = %q %v, want %q %v", bounds, start, ts, got, ok, want, wok)
				}
				wantScan := d.scan(lo, hi, ts)
				limit := 1 + rng.IntN(20)
				wantScan = wantScan[:min(limit, len(wantScan))]
				out, _ := s.AppendScan(nil, []byte(start), []byte(hi), ts, limit)
				var got []string
				for _, kv := range out {
					got = append(got, string(kv.Key)+"="+string(kv.Value))
				}
				if !slices.Equal(got, wantScan) {
					t.Fatalf("bounds %q: AppendScan(%q, %q, %d, %d) = %v, want %v", bounds, start, hi, ts, limit, got, wantScan)
				}
			}
		}
		s.Release()
	}
	run.Release()
}
