package memstore_test

import (
	"bytes"
	"cmp"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/regioncache/regioncache/internal/memstore"
	"github.com/regioncache/regioncache/internal/mvcc"
)

// --- reference model -----------------------------------------------------------

// model is the plainest possible MVCC store: key -> ts -> version.
type model map[string]map[uint64]mvcc.Version

func (m model) set(v mvcc.Version) {
	vs := m[string(v.Key)]
	if vs == nil {
		vs = map[uint64]mvcc.Version{}
		m[string(v.Key)] = vs
	}
	c := mvcc.Version{Key: bytes.Clone(v.Key), Ts: v.Ts, Tombstone: v.Tombstone}
	if !v.Tombstone {
		c.Value = bytes.Clone(v.Value)
	}
	vs[v.Ts] = c
}

func (m model) clone() model {
	out := model{}
	for k, vs := range m {
		out[k] = map[uint64]mvcc.Version{}
		for ts, v := range vs {
			out[k][ts] = v
		}
	}
	return out
}

// versions lists every version in tree order (key asc, ts desc).
func (m model) versions() []mvcc.Version {
	var out []mvcc.Version
	for _, vs := range m {
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

func (m model) get(key []byte, ts uint64) ([]byte, bool) {
	var best *mvcc.Version
	for vts, v := range m[string(key)] {
		if vts <= ts && (best == nil || vts > best.Ts) {
			v := v
			best = &v
		}
	}
	if best == nil || best.Tombstone {
		return nil, false
	}
	return best.Value, true
}

type kv struct{ key, value string }

func (m model) scan(start, end []byte, ts uint64) []kv {
	var keys []string
	for k := range m {
		if bytes.Compare([]byte(k), start) >= 0 && (len(end) == 0 || bytes.Compare([]byte(k), end) < 0) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var out []kv
	for _, k := range keys {
		if v, ok := m.get([]byte(k), ts); ok {
			out = append(out, kv{k, string(v)})
		}
	}
	return out
}

// gc drops, for keys in [start, end), every version older than the newest at
// or below sp, and that one too if it is a delete marker.
func (m model) gc(start, end []byte, sp uint64) int {
	dropped := 0
	for k, vs := range m {
		if bytes.Compare([]byte(k), start) < 0 || (len(end) > 0 && bytes.Compare([]byte(k), end) >= 0) {
			continue
		}
		var base *mvcc.Version
		for ts, v := range vs {
			if ts <= sp && (base == nil || ts > base.Ts) {
				v := v
				base = &v
			}
		}
		if base == nil {
			continue
		}
		for ts := range vs {
			if ts < base.Ts || (ts == base.Ts && base.Tombstone) {
				delete(vs, ts)
				dropped++
			}
		}
		if len(vs) == 0 {
			delete(m, k)
		}
	}
	return dropped
}

func (m model) bytes() int64 {
	var n int64
	for _, v := range m.versions() {
		n += int64(len(v.Key)+len(v.Value)) + memstore.EntryOverhead
	}
	return n
}

// --- helpers ----------------------------------------------------------------------

func treeVersions(t *memstore.Tree, start, end []byte) []mvcc.Version {
	var out []mvcc.Version
	t.Versions(start, end, func(v mvcc.Version) bool {
		c := mvcc.Version{Key: bytes.Clone(v.Key), Ts: v.Ts, Tombstone: v.Tombstone}
		if !v.Tombstone {
			c.Value = bytes.Clone(v.Value)
		}
		out = append(out, c)
		return true
	})
	return out
}

func treeScan(t *memstore.Tree, start, end []byte, ts uint64) []kv {
	var out []kv
	t.Scan(start, end, ts, func(k, v []byte) bool {
		out = append(out, kv{string(k), string(v)})
		return true
	})
	return out
}

func sameVersions(a, b []mvcc.Version) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i].Key, b[i].Key) || a[i].Ts != b[i].Ts || a[i].Tombstone != b[i].Tombstone ||
			(!a[i].Tombstone && !bytes.Equal(a[i].Value, b[i].Value)) {
			return false
		}
	}
	return true
}

// checkAgainst compares the whole tree with the model: versions, bytes, len.
func checkAgainst(t *testing.T, label string, tr *memstore.Tree, m model) {
	t.Helper()
	got, want := treeVersions(tr, nil, nil), m.versions()
	if !sameVersions(got, want) {
		t.Fatalf("%s: versions differ\n got %v\nwant %v", label, got, want)
	}
	if tr.Len() != len(want) {
		t.Fatalf("%s: Len = %d, want %d", label, tr.Len(), len(want))
	}
	if tr.Bytes() != m.bytes() {
		t.Fatalf("%s: Bytes = %d, want %d", label, tr.Bytes(), m.bytes())
	}
}

func put(k string, ts uint64, v string) mvcc.Version {
	return mvcc.Version{Key: []byte(k), Ts: ts, Value: []byte(v)}
}

func del(k string, ts uint64) mvcc.Version {
	return mvcc.Version{Key: []byte(k), Ts: ts, Tombstone: true}
}

func build(vs ...mvcc.Version) (*memstore.Tree, model) {
	tr, m := memstore.New(), model{}
	for _, v := range vs {
		tr.Set(v)
		m.set(v)
	}
	return tr, m
}

func seedRNG(t *testing.T) *rand.Rand {
	t.Helper()
	seed := rand.Uint64()
	if s := os.Getenv("MEMSTORE_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("MEMSTORE_SEED: %v", err)
		}
		seed = v
	}
	t.Logf("seed %d (rerun with MEMSTORE_SEED=%d)", seed, seed)
	return rand.New(rand.NewPCG(seed, 0xC0FFEE))
}

// --- table-driven semantics ------------------------------------------------------

// The data every table below reads: a has three versions ending in a delete
// marker, b one version, c a delete marker below a put, "" (the empty key)
// and 0x00/0xFF keys exercise the byte order.
var fixture = []mvcc.Version{
	put("a", 10, "a10"), put("a", 20, "a20"), del("a", 30),
	put("b", 15, "b15"),
	del("c", 5), put("c", 8, "c8"),
	put("", 1, "empty"),
	put("a\x00", 12, "a0"), put("\xff", 3, "ff"),
}

func TestGetTable(t *testing.T) {
	tr, _ := build(fixture...)
	for _, tc := range []struct {
		key   string
		ts    uint64
		want  string
		found bool
	}{
		{"a", 9, "", false},
		{"a", 10, "a10", true},
		{"a", 19, "a10", true},
		{"a", 20, "a20", true},
		{"a", 29, "a20", true},
		{"a", 30, "", false},
		{"a", mvcc.MaxTS, "", false},
		{"b", 14, "", false},
		{"b", 15, "b15", true},
		{"b", mvcc.MaxTS, "b15", true},
		{"c", 4, "", false},
		{"c", 5, "", false},
		{"c", 7, "", false},
		{"c", 8, "c8", true},
		{"", 1, "empty", true},
		{"", 0, "", false},
		{"a\x00", 12, "a0", true},
		{"a\x00", 11, "", false},
		{"\xff", 100, "ff", true},
		{"d", mvcc.MaxTS, "", false},
		{"\x00", mvcc.MaxTS, "", false},
	} {
		v, ok := tr.Get([]byte(tc.key), tc.ts)
		if ok != tc.found || string(v) != tc.want {
			t.Errorf("Get(%q, %d) = %q, %v; want %q, %v", tc.key, tc.ts, v, ok, tc.want, tc.found)
		}
	}
	// A nil key reads the empty key.
	if v, ok := tr.Get(nil, 5); !ok || string(v) != "empty" {
		t.Errorf("Get(nil) = %q, %v", v, ok)
	}
}

func TestScanTable(t *testing.T) {
	tr, _ := build(fixture...)
	for _, tc := range []struct {
		start, end string
		ts         uint64
		want       []kv
	}{
		{"", "", 25, []kv{{"", "empty"}, {"a", "a20"}, {"a\x00", "a0"}, {"b", "b15"}, {"c", "c8"}, {"\xff", "ff"}}},
		{"", "", 30, []kv{{"", "empty"}, {"a\x00", "a0"}, {"b", "b15"}, {"c", "c8"}, {"\xff", "ff"}}},
		{"", "", 9, []kv{{"", "empty"}, {"c", "c8"}, {"\xff", "ff"}}},
		{"a", "b", 25, []kv{{"a", "a20"}, {"a\x00", "a0"}}},
		{"a", "a\x00", 25, []kv{{"a", "a20"}}},
		{"a\x00", "c", 25, []kv{{"a\x00", "a0"}, {"b", "b15"}}},
		{"b", "", 7, []kv{{"\xff", "ff"}}},
		{"d", "e", mvcc.MaxTS, nil},
		{"", "", 0, nil},
	} {
		got := treeScan(tr, []byte(tc.start), []byte(tc.end), tc.ts)
		if !slices.Equal(got, tc.want) {
			t.Errorf("Scan(%q, %q, %d) = %q, want %q", tc.start, tc.end, tc.ts, got, tc.want)
		}
	}
	// The callback stops the scan.
	n := 0
	tr.Scan(nil, nil, mvcc.MaxTS, func(k, v []byte) bool { n++; return n < 2 })
	if n != 2 {
		t.Errorf("scan went on after the callback said stop: %d calls", n)
	}
}

func TestGCTable(t *testing.T) {
	for _, tc := range []struct {
		sp      uint64
		dropped int
		left    []mvcc.Version
	}{
		{0, 0, nil},
		{4, 0, nil},
		{5, 1, []mvcc.Version{del("a", 30), put("a", 20, "a20"), put("a", 10, "a10"), put("c", 8, "c8")}},
		{8, 1, []mvcc.Version{del("a", 30), put("a", 20, "a20"), put("a", 10, "a10"), put("c", 8, "c8")}},
		{25, 2, []mvcc.Version{del("a", 30), put("a", 20, "a20"), put("c", 8, "c8")}},
		{30, 4, []mvcc.Version{put("c", 8, "c8")}},
		{mvcc.MaxTS, 4, []mvcc.Version{put("c", 8, "c8")}},
	} {
		t.Run(fmt.Sprint(tc.sp), func(t *testing.T) {
			vs := []mvcc.Version{put("a", 10, "a10"), put("a", 20, "a20"), del("a", 30), del("c", 5), put("c", 8, "c8")}
			tr, m := build(vs...)
			before := tr.Bytes()
			dropped, delta := tr.GC(tc.sp)
			if dropped != tc.dropped {
				t.Errorf("dropped %d, want %d", dropped, tc.dropped)
			}
			if tr.Bytes() != before+delta {
				t.Errorf("delta %d does not match Bytes %d -> %d", delta, before, tr.Bytes())
			}
			if tc.left != nil && !sameVersions(treeVersions(tr, nil, nil), tc.left) {
				t.Errorf("left %v, want %v", treeVersions(tr, nil, nil), tc.left)
			}
			m.gc(nil, nil, tc.sp)
			checkAgainst(t, "after GC", tr, m)
			// A read above the safe point sees what it saw before.
			full, _ := build(vs...)
			for _, k := range []string{"a", "c"} {
				for ts := tc.sp + 1; ts <= tc.sp+40 && ts > tc.sp; ts++ {
					v1, ok1 := tr.Get([]byte(k), ts)
					v2, ok2 := full.Get([]byte(k), ts)
					if ok1 != ok2 || !bytes.Equal(v1, v2) {
						t.Fatalf("Get(%s, %d) after GC(%d) = %q %v, before %q %v", k, ts, tc.sp, v1, ok1, v2, ok2)
					}
				}
			}
		})
	}
}

func TestSetReplacesAndAccounts(t *testing.T) {
	tr := memstore.New()
	d1 := tr.Set(put("k", 5, "v1"))
	if d1 != int64(len("k")+len("v1"))+memstore.EntryOverhead || tr.Bytes() != d1 {
		t.Fatalf("Set delta %d, Bytes %d", d1, tr.Bytes())
	}
	d2 := tr.Set(put("k", 5, "longer value"))
	if d2 != int64(len("longer value")-len("v1")) || tr.Len() != 1 {
		t.Fatalf("replacing delta %d, Len %d", d2, tr.Len())
	}
	d3 := tr.Set(mvcc.Version{Key: []byte("k"), Ts: 5, Tombstone: true, Value: []byte("ignored")})
	if d3 != -int64(len("longer value")) || tr.Bytes() != int64(1)+memstore.EntryOverhead {
		t.Fatalf("marker delta %d, Bytes %d", d3, tr.Bytes())
	}
	// Set copies its input.
	key, val := []byte("x"), []byte("value")
	tr.Set(mvcc.Version{Key: key, Ts: 1, Value: val})
	key[0], val[0] = 'y', 'V'
	if v, ok := tr.Get([]byte("x"), 1); !ok || string(v) != "value" {
		t.Fatalf("Set aliases its input: %q %v", v, ok)
	}
}

func TestMergeFrom(t *testing.T) {
	dst, m := build(put("a", 10, "old"), put("b", 1, "b"))
	src, _ := build(put("a", 10, "new!"), del("a", 20), put("c", 3, "c"))
	before := dst.Bytes()
	delta := dst.MergeFrom(src)
	m.set(put("a", 10, "new!"))
	m.set(del("a", 20))
	m.set(put("c", 3, "c"))
	checkAgainst(t, "merged", dst, m)
	if dst.Bytes() != before+delta {
		t.Fatalf("delta %d, Bytes %d -> %d", delta, before, dst.Bytes())
	}
	// src is unchanged.
	if src.Len() != 3 {
		t.Fatalf("src Len %d", src.Len())
	}
}

// --- random operations against the model ----------------------------------------

func randKey(rng *rand.Rand) []byte {
	alphabet := []byte{0x00, 'a', 'b', 0xFF}
	k := make([]byte, rng.IntN(3))
	for i := range k {
		k[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return k
}

func randBound(rng *rand.Rand) []byte {
	if rng.IntN(4) == 0 {
		return nil
	}
	return randKey(rng)
}

type frozen struct {
	tree *memstore.Tree
	m    model
}

func TestRandomOpsAgainstModel(t *testing.T) {
	rng := seedRNG(t)
	tr, m := memstore.New(), model{}
	var views []frozen
	for step := 0; step < 4000; step++ {
		label := fmt.Sprintf("step %d", step)
		switch op := rng.IntN(20); {
		case op < 10:
			v := mvcc.Version{Key: randKey(rng), Ts: 1 + rng.Uint64N(12)}
			if rng.IntN(4) == 0 {
				v.Tombstone = true
			} else {
				v.Value = []byte(fmt.Sprintf("v%d", step))
			}
			before := tr.Bytes()
			if d := tr.Set(v); tr.Bytes() != before+d {
				t.Fatalf("%s: Set delta %d, Bytes %d -> %d", label, d, before, tr.Bytes())
			}
			m.set(v)
		case op < 13:
			key, ts := randKey(rng), rng.Uint64N(15)
			v, ok := tr.Get(key, ts)
			wv, wok := m.get(key, ts)
			if ok != wok || !bytes.Equal(v, wv) {
				t.Fatalf("%s: Get(%x, %d) = %q %v, want %q %v", label, key, ts, v, ok, wv, wok)
			}
		case op < 16:
			start, end, ts := randBound(rng), randBound(rng), rng.Uint64N(15)
			if got, want := treeScan(tr, start, end, ts), m.scan(start, end, ts); !slices.Equal(got, want) {
				t.Fatalf("%s: Scan(%x, %x, %d) = %q, want %q", label, start, end, ts, got, want)
			}
		case op < 17:
			sp := rng.Uint64N(12)
			before := tr.Bytes()
			dropped, delta := tr.GC(sp)
			if want := m.gc(nil, nil, sp); dropped != want {
				t.Fatalf("%s: GC(%d) dropped %d, want %d", label, sp, dropped, want)
			}
			if tr.Bytes() != before+delta {
				t.Fatalf("%s: GC delta %d, Bytes %d -> %d", label, delta, before, tr.Bytes())
			}
		case op < 19:
			views = append(views, frozen{tr.Copy(), m.clone()})
		default:
			checkAgainst(t, label, tr, m)
		}
	}
	checkAgainst(t, "end", tr, m)
	// Every view still holds exactly what the tree held when it was taken.
	for i, v := range views {
		checkAgainst(t, fmt.Sprintf("view %d", i), v.tree, v.m)
	}
}

// --- Copy isolation ----------------------------------------------------------------

func TestCopyIsolation(t *testing.T) {
	tr, m := build(fixture...)
	view := tr.Copy()
	frozenModel := m.clone()
	// Every kind of change to the original.
	tr.Set(put("a", 20, "changed"))
	tr.Set(put("new", 1, "n"))
	tr.Set(del("b", 40))
	tr.GC(25)
	tr.MergeFrom(func() *memstore.Tree { s, _ := build(put("b", 15, "merged")); return s }())
	checkAgainst(t, "view after changes", view, frozenModel)
	if v, ok := view.Get([]byte("a"), 25); !ok || string(v) != "a20" {
		t.Fatalf("view Get(a, 25) = %q %v", v, ok)
	}
	// A view of a view is isolated from later changes too.
	view2 := tr.Copy()
	snap := treeVersions(view2, nil, nil)
	tr.Set(put("zz", 1, "z"))
	if !sameVersions(treeVersions(view2, nil, nil), snap) {
		t.Fatal("second view changed")
	}
}

// TestCopyConcurrentReads is for the race detector: a view is read from other
// goroutines while its origin keeps changing.
func TestCopyConcurrentReads(t *testing.T) {
	tr, m := build(fixture...)
	view := tr.Copy()
	want := m.versions()
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for r := 0; r < 3; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 300; i++ {
				if !sameVersions(treeVersions(view, nil, nil), want) {
					errs <- "view changed under a reader"
					return
				}
				if v, ok := view.Get([]byte("b"), 20); !ok || string(v) != "b15" {
					errs <- fmt.Sprintf("view Get(b) = %q %v", v, ok)
					return
				}
				treeScan(view, nil, nil, 25)
			}
		}()
	}
	for i := 0; i < 2000; i++ {
		tr.Set(put(fmt.Sprintf("k%d", i%50), uint64(i), "x"))
		if i%100 == 0 {
			tr.GC(uint64(i))
		}
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// --- Builder -------------------------------------------------------------------------

func TestBuilderMatchesSet(t *testing.T) {
	rng := seedRNG(t)
	m := model{}
	for i := 0; i < 3000; i++ {
		v := mvcc.Version{Key: []byte(fmt.Sprintf("key%04d", rng.IntN(800))), Ts: 1 + rng.Uint64N(20)}
		if rng.IntN(5) == 0 {
			v.Tombstone = true
		} else {
			v.Value = bytes.Repeat([]byte{byte(i)}, rng.IntN(300)) // > one slab in total
		}
		m.set(v)
	}
	// A value above a quarter slab takes the separate-allocation path.
	m.set(put("huge", 1, string(bytes.Repeat([]byte("h"), 100<<10))))
	b := memstore.NewBuilder()
	var sum int64
	for _, v := range m.versions() {
		// The builder must copy: reuse one buffer for every key and value.
		kb := append(make([]byte, 0, 64), v.Key...)
		vb := append(make([]byte, 0, 64), v.Value...)
		size, err := b.Add(kb, v.Ts, vb, v.Tombstone)
		if err != nil {
			t.Fatal(err)
		}
		if want := int64(len(v.Key)+len(v.Value)) + memstore.EntryOverhead; size != want {
			t.Fatalf("Add(%q@%d) size %d, want %d", v.Key, v.Ts, size, want)
		}
		sum += size
		for i := range kb {
			kb[i] = '!'
		}
		for i := range vb {
			vb[i] = '!'
		}
	}
	tr := b.Tree()
	checkAgainst(t, "built", tr, m)
	if tr.Bytes() != sum {
		t.Fatalf("Bytes %d, sum of Add sizes %d", tr.Bytes(), sum)
	}
	// The built tree is an ordinary tree: it takes writes and GC.
	tr.Set(put("key0001", 100, "later"))
	m.set(put("key0001", 100, "later"))
	tr.GC(10)
	m.gc(nil, nil, 10)
	checkAgainst(t, "built then changed", tr, m)
}

func TestBuilderRejectsOutOfOrder(t *testing.T) {
	for _, tc := range []struct {
		name   string
		first  mvcc.Version
		second mvcc.Version
	}{
		{"smaller key", put("b", 1, "x"), put("a", 1, "y")},
		{"same version twice", put("a", 5, "x"), put("a", 5, "y")},
		{"older then newer ts", put("a", 5, "x"), put("a", 7, "y")},
		{"prefix after longer", put("ab", 1, "x"), put("a", 1, "y")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := memstore.NewBuilder()
			if _, err := b.Add(tc.first.Key, tc.first.Ts, tc.first.Value, false); err != nil {
				t.Fatal(err)
			}
			if _, err := b.Add(tc.second.Key, tc.second.Ts, tc.second.Value, false); err == nil {
				t.Fatal("out-of-order Add accepted")
			}
			// The rejected version was not added; the builder goes on.
			if _, err := b.Add([]byte("zzz"), 1, []byte("z"), false); err != nil {
				t.Fatal(err)
			}
			tr := b.Tree()
			if tr.Len() != 2 {
				t.Fatalf("Len %d, want 2", tr.Len())
			}
			if v, ok := tr.Get(tc.first.Key, tc.first.Ts); !ok || string(v) != "x" {
				t.Fatalf("first version lost: %q %v", v, ok)
			}
		})
	}
}

// --- GCRange and Trim ------------------------------------------------------------

func TestGCRangeAgainstModel(t *testing.T) {
	rng := seedRNG(t)
	for round := 0; round < 200; round++ {
		tr, m := memstore.New(), model{}
		for i := 0; i < 40; i++ {
			v := mvcc.Version{Key: randKey(rng), Ts: 1 + rng.Uint64N(10), Value: []byte{byte(i)}, Tombstone: rng.IntN(4) == 0}
			tr.Set(v)
			m.set(v)
		}
		start, end, sp := randBound(rng), randBound(rng), rng.Uint64N(12)
		before := tr.Bytes()
		dropped, delta := tr.GCRange(start, end, sp)
		if want := m.gc(start, end, sp); dropped != want {
			t.Fatalf("round %d: GCRange(%x, %x, %d) dropped %d, want %d", round, start, end, sp, dropped, want)
		}
		if tr.Bytes() != before+delta {
			t.Fatalf("round %d: delta %d, Bytes %d -> %d", round, delta, before, tr.Bytes())
		}
		checkAgainst(t, fmt.Sprintf("round %d", round), tr, m)
	}
}

func TestTrimInSteps(t *testing.T) {
	rng := seedRNG(t)
	for round := 0; round < 200; round++ {
		tr, m := memstore.New(), model{}
		for i := 0; i < 40; i++ {
			v := mvcc.Version{Key: randKey(rng), Ts: 1 + rng.Uint64N(10), Value: []byte{byte(i)}, Tombstone: rng.IntN(4) == 0}
			tr.Set(v)
			m.set(v)
		}
		start, end := randBound(rng), randBound(rng)
		if len(end) > 0 && bytes.Compare(start, end) >= 0 {
			continue
		}
		view := tr.Copy() // a split sibling still shares the tree
		viewModel := m.clone()
		for k := range m {
			if bytes.Compare([]byte(k), start) < 0 || (len(end) > 0 && bytes.Compare([]byte(k), end) >= 0) {
				delete(m, k)
			}
		}
		step := 1 + rng.IntN(5)
		for i := 0; ; i++ {
			if i > 100 {
				t.Fatalf("round %d: Trim(max=%d) never finished", round, step)
			}
			before := tr.Bytes()
			delta, done := tr.Trim(start, end, step)
			if tr.Bytes() != before+delta {
				t.Fatalf("round %d: Trim delta %d, Bytes %d -> %d", round, delta, before, tr.Bytes())
			}
			if delta < -int64(step)*(memstore.EntryOverhead+8) {
				t.Fatalf("round %d: one Trim step of %d dropped %d bytes", round, step, -delta)
			}
			if done {
				break
			}
		}
		checkAgainst(t, fmt.Sprintf("round %d trimmed [%x, %x)", round, start, end), tr, m)
		checkAgainst(t, fmt.Sprintf("round %d view", round), view, viewModel)
	}
}
