package memstore

// Micro-benchmarks of the cached-region structure, on the data shape of the
// engine benchmarks (24-byte keys, 100-byte values, one version per key):
//
//	go test ./memstore -run '^$' -bench . -benchtime 3x
//
// BenchmarkEntryOverhead measures what EntryOverhead claims.

import (
	"encoding/binary"
	"math/rand/v2"
	"runtime"
	"testing"
	"unsafe"

	"github.com/regioncache/regioncache/internal/mvcc"
)

const (
	benchKeyLen   = 24
	benchValueLen = 100
)

// benchKey is key i: "bk/" and 21 decimal digits, so keys sort by i.
func benchKey(dst []byte, i int) []byte {
	dst = append(dst[:0], "bk/"...)
	var d [benchKeyLen - 3]byte
	for j := len(d) - 1; j >= 0; j-- {
		d[j] = byte('0' + i%10)
		i /= 10
	}
	return append(dst, d[:]...)
}

func benchValue(dst []byte, i int) []byte {
	var w [8]byte
	dst = dst[:benchValueLen]
	for j := 0; j < benchValueLen; j += 8 {
		binary.LittleEndian.PutUint64(w[:], uint64(i)*0x9e3779b97f4a7c15+uint64(j))
		copy(dst[j:], w[:])
	}
	return dst
}

// buildTree builds a tree of n versions (one per key) through Builder, the
// loader's path.
func buildTree(tb testing.TB, n int) *Tree {
	b := NewBuilder()
	k := make([]byte, 0, benchKeyLen)
	v := make([]byte, benchValueLen+8)
	for i := 0; i < n; i++ {
		if _, err := b.Add(benchKey(k, i), 10, benchValue(v, i), false); err != nil {
			tb.Fatal(err)
		}
	}
	return b.Tree()
}

// BenchmarkBuilderLoad: one op builds a 100k-version tree from sorted input
// (what a loader does after decoding, without Pebble).
func BenchmarkBuilderLoad(b *testing.B) {
	const n = 100_000
	b.SetBytes(n * (benchKeyLen + benchValueLen))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if t := buildTree(b, n); t.Len() != n {
			b.Fatalf("%d versions", t.Len())
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/version")
}

// BenchmarkTreeGet: one op is a Get of a random key of a 1M-version tree.
func BenchmarkTreeGet(b *testing.B) {
	const n = 1_000_000
	t := buildTree(b, n)
	r := rand.New(rand.NewPCG(1, 2))
	keys := make([][]byte, 1<<16)
	for i := range keys {
		keys[i] = benchKey(nil, r.IntN(n))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, ok := t.Get(keys[i%len(keys)], 20); !ok {
			b.Fatal("not found")
		}
	}
}

// BenchmarkTreeSet: one op sets a new version of a random key of a
// 1M-version tree (the write path of an active region).
func BenchmarkTreeSet(b *testing.B) {
	const n = 1_000_000
	t := buildTree(b, n)
	r := rand.New(rand.NewPCG(3, 4))
	v := make([]byte, benchValueLen+8)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		x := r.IntN(n)
		t.Set(mvcc.Version{Key: benchKey(nil, x), Ts: uint64(100 + i), Value: benchValue(v, x)})
	}
}

// BenchmarkTreeScan100: one op visits 100 keys from a random start.
func BenchmarkTreeScan100(b *testing.B) {
	const n = 1_000_000
	t := buildTree(b, n)
	r := rand.New(rand.NewPCG(5, 6))
	keys := make([][]byte, 1<<16)
	for i := range keys {
		keys[i] = benchKey(nil, r.IntN(n-100))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		seen := 0
		t.Scan(keys[i%len(keys)], nil, 20, func(k, v []byte) bool { seen++; return seen < 100 })
	}
}

func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkEntryOverhead measures the heap a version really costs beyond
// its key and value bytes: Builder (sorted bulk load, the loader's path)
// and Set (random inserts, the write path), for 1M versions with 24-byte
// keys and 100-byte values. The slab bytes (keys and values, copied into
// 256 KiB slabs) are computed and subtracted, leaving the B-tree's own cost
// per entry. Compare with EntryOverhead, which memory accounting charges.
func BenchmarkEntryOverhead(b *testing.B) {
	const n = 1_000_000
	logical := float64(n * (benchKeyLen + benchValueLen))
	slabs := float64((n*(benchKeyLen+benchValueLen) + slabSize - 1) / slabSize * slabSize)
	b.Run("builder", func(b *testing.B) {
		var perEntry, btreePerEntry float64
		for i := 0; i < b.N; i++ {
			before := liveHeap()
			t := buildTree(b, n)
			after := liveHeap()
			growth := float64(after) - float64(before)
			perEntry = (growth - logical) / n
			btreePerEntry = (growth - slabs) / n
			runtime.KeepAlive(t)
		}
		b.ReportMetric(perEntry, "overhead-B/entry")
		b.ReportMetric(btreePerEntry, "btree-B/entry")
		b.ReportMetric(float64(unsafe.Sizeof(entry{})), "item-B")
		b.ReportMetric(EntryOverhead, "claimed-B/entry")
	})
	b.Run("set", func(b *testing.B) {
		var perEntry float64
		r := rand.New(rand.NewPCG(7, 8))
		perm := r.Perm(n)
		k := make([]byte, 0, benchKeyLen)
		v := make([]byte, benchValueLen+8)
		for i := 0; i < b.N; i++ {
			before := liveHeap()
			t := New()
			for _, x := range perm {
				t.Set(mvcc.Version{Key: benchKey(k, x), Ts: 10, Value: benchValue(v, x)})
			}
			after := liveHeap()
			// Set clones key and value: two small allocations (size classes
			// 24 and 112 bytes) instead of slab space.
			perEntry = (float64(after) - float64(before) - logical) / n
			runtime.KeepAlive(t)
		}
		b.ReportMetric(perEntry, "overhead-B/entry")
		b.ReportMetric(EntryOverhead, "claimed-B/entry")
	})
}
